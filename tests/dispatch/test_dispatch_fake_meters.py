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

import pytest
import structlog

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


def _run(options: SimulationOptions) -> dict:
    async def main() -> dict:
        clock = VirtualClock(options.start)
        return await run_fleet(options, modbus_like_fleet(options, clock), clock)

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
