"""Fake meters on PV and CHP, found by their site meters, judged from the physics.

A fake meter is observable once its lie moves its site meter: the simulation sees that from
the devices' physics (`KpiRecorder.fault_seen`), so a lie the watch named only in a later
window no longer counts as found at once. The fleet here is the Modbus benchmark's
(3 kW batteries, 60 kW PV plants, 50 kW CHPs, kinds in turn, ten behind each meter), in
process on a virtual clock, so every run is the same.

What is still short of the goal (every fake meter named within 3 s of its first observable
lie): over seeds 1-8, 0 to 6 of 120 are named later or not within the run (17 of 960; over
seeds 1-6, 14 against 35 or more before PV plants and CHPs were probed with partners behind
other meters), no honest device named in any of them: liars frozen
in the middle of a probe, and small lies of other members within their bands that keep a
window from being steady.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace

import pytest
import structlog
from lossy_links import ModbusPaced

from dispatch.clock import VirtualClock
from dispatch.kpi import CROSS_CHECK, KpiRecorder
from dispatch.simulation import (
    SimulationOptions,
    modbus_like_fleet,
    parse_faults,
    run_fleet,
)


@pytest.fixture(autouse=True)
def _quiet_events() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))


def _run(options: SimulationOptions, *, paced: bool = False) -> dict:
    """The Modbus benchmark's fleet in process; `paced`: every request as slow as over
    Modbus and the state of charge in 0.01 % steps (`lossy_links.ModbusPaced`)."""

    async def main() -> dict:
        clock = VirtualClock(options.start)
        fleet = modbus_like_fleet(options, clock)
        if paced:
            rng = random.Random(options.seed + 100)
            fleet = [replace(m, adapter=ModbusPaced(m.adapter, clock, rng)) for m in fleet]
        return await run_fleet(options, fleet, clock)

    return asyncio.run(main())


def test_a_lie_named_in_a_later_window_counts_from_when_it_first_showed() -> None:
    # The watch says the lie began at 40 s (its window's first moved report) and names it
    # at 41 s; the physics says it moved the meter at 23 s. Before, this counted as found
    # within 1 s.
    kpi = KpiRecorder(tolerance_mw=0.3)
    kpi.started(0.0)
    kpi.fault_injected("pv-1", "fake_meter", 20.0)
    kpi.fault_seen("pv-1", 19.0)  # before the fault: not it
    kpi.fault_seen("pv-1", 23.0)
    kpi.fault_seen("pv-1", 30.0)  # the first one counts
    kpi.asset_failed("pv-1", 41.0, CROSS_CHECK, since=40.0, reason="site meter")
    (fault,) = kpi.report(1)["faults"]
    assert fault["observable_at_s"] == 23.0
    assert fault["detected_s"] == 18.0


def test_a_lie_the_detector_saw_first_counts_from_the_detector() -> None:
    # A battery's own state of charge gives it away before its site meter could.
    kpi = KpiRecorder(tolerance_mw=0.3)
    kpi.started(0.0)
    kpi.fault_injected("bat-1", "fake_meter", 20.0)
    kpi.fault_seen("bat-1", 30.0)
    kpi.asset_failed("bat-1", 22.5, CROSS_CHECK, since=21.0, reason="state of charge")
    (fault,) = kpi.report(1)["faults"]
    assert fault["observable_at_s"] == 21.0
    assert fault["detected_s"] == 1.5


def test_an_honest_fleet_of_the_modbus_benchmark_stays_within_tolerance_at_every_tick() -> None:
    # Every site's PV-CHP probing pairs started on the same tick: the PV cap drops at once,
    # the CHP ramps up after its dead time, and the fleet was 0.45-0.50 MW off (tolerance
    # 0.30 MW) at every start and end, RMS 0.17-0.21 MW with no fault at all.
    report = _run(SimulationOptions(assets=400, duration_s=60, seed=1))
    truth = report["truth"]
    assert truth["max_abs_mw"] <= truth["tolerance_mw"]
    assert truth["rms_mw"] <= 0.5 * truth["tolerance_mw"]
    assert report["unfaulted_failures"]["assets"] == 0


def test_fake_meters_on_a_third_of_the_modbus_benchmarks_fleet_are_named_and_nobody_else() -> None:
    # Before: 104 of 120 named, 47 of them (or never) later than 3 s after their lie first
    # moved the meter: CHPs probed by 4 kW with a 3 kW battery, liars frozen in the middle
    # of a probe that no window explained. Then 117 named, 112 within 3 s: a PV plant and
    # a CHP of one site probed together, both liars, made opposite unseen moves that
    # cancelled at their meter (now each is partnered behind another meter), and two lies
    # that cancelled at consecutive readings dropped the window (now explained first).
    options = SimulationOptions(
        assets=400, duration_s=60, faults=parse_faults("fake_meter:0.3@20s"), seed=1
    )
    report = _run(options)
    faults = report["faults"]
    assert len(faults) == 120
    named = [f for f in faults if f["detected_s"] is not None]
    assert all(f["evidence"].split(":")[0] == CROSS_CHECK for f in named)
    assert len(named) >= 119
    assert sum(f["detected_s"] <= 3.0 for f in named) >= 114
    assert report["fault_summary"]["fake_meter"]["p50_detected_s"] <= 2.0
    assert report["unfaulted_failures"]["assets"] == 0  # nobody else
    assert report["states"].get("degraded", 0) == len(named)
    assert report["truth"]["max_abs_mw"] <= report["truth"]["tolerance_mw"]


def test_over_modbus_timing_no_honest_device_is_named_and_every_liar_is() -> None:
    # With Modbus timing an honest CHP was named by its site meter (seed 7, a third of the
    # fleet fake meters): its probe returned, its report on its way from 50 to 30 kW at
    # one reading, just as a fake PV plant's report dropped by 20 kW unseen, and the
    # steadiness test forgave the reading where the CHP was mid-way
    # (`control.crosscheck._midway`). And a fake battery named by its state of charge as a
    # fake PV plant's lie showed took that lie with it into what it was taken to inject
    # (`SiteWatch._exclude`): the PV plant was named 26 s later (seed 5).
    options = SimulationOptions(
        assets=400, duration_s=60, faults=parse_faults("fake_meter:0.3@20s"), seed=7
    )
    report = _run(options, paced=True)
    assert report["unfaulted_failures"]["assets"] == 0, report["unfaulted_failures"]
    faults = report["faults"]
    assert len(faults) == 120
    # Every liar whose lie showed is named (all of them, here).
    assert all(f["detected_s"] is not None for f in faults if f["observable_at_s"] is not None)
    assert sum(f["detected_s"] is not None for f in faults) == 120
    # Storage rounds held 3 s: a round's move lasts until its lying batteries' claimed
    # energy is past what their state-of-charge check allows. Held 2 s, 11 liars (10 of
    # them batteries) were named later than 3 s after their lie showed; held 3 s, 4.
    late = [f["asset"] for f in faults if f["detected_s"] is not None and f["detected_s"] > 3.0]
    assert len(late) <= 5, late
    # The timing is Modbus's: the setpoint's acknowledgement takes most of a second.
    assert report["latency"]["setpoint_to_ack"]["p50_ms"] > 500


@pytest.mark.parametrize("seed", [4, 12, 14])
def test_over_modbus_timing_no_liar_is_left_unmoved_and_unnamed(seed: int) -> None:
    # Liars the pool stopped moving were never named. Seeds 4 and 14: a site watch left
    # with a wrong estimate of a lying battery it took out (named by its state of
    # charge) stayed unbalanced for good and asked for probes of honest members every few
    # seconds, while a fake CHP or PV plant of the site, flat at its setpoint, was never
    # moved (`SiteWatch._settle_excluded`). Seed 12: two fake CHPs whose site watch asked
    # for other members every few seconds for another reason; those went first (an
    # overdue member now goes before those asked for again, `PoolController._pairs`).
    # 119, 118 and 118 of 120 named before.
    options = SimulationOptions(
        assets=400, duration_s=60, faults=parse_faults("fake_meter:0.3@20s"), seed=seed
    )
    report = _run(options, paced=True)
    assert report["unfaulted_failures"]["assets"] == 0, report["unfaulted_failures"]
    unnamed = [f["asset"] for f in report["faults"] if f["detected_s"] is None]
    assert not unnamed, unnamed
