"""A battery whose state-of-charge check leans towards a lie asks for a probe of itself.

Over Modbus a battery's SoC comes in 0.01 % steps (1.8 kW s of a 5 kWh battery): a lie of
0.5-1 kW, what the activation moves a 3 kW battery by, needed 4-8 s to exceed one step
plus the check's slack, and smaller lies were named 10-30 s after they began, or when
some later move happened to make them larger. A window whose energy is off by more than a
share of the slack now leaves a doubt (`SocCheck.doubt`), the actor asks its pool to move
it the way the lie would grow (`PoolController.request_own_probe`), and a failure that
follows counts from the doubt's start, never from the probe (the probe must not make a lie
look younger than the evidence that called it).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import pytest
import structlog
from test_dispatch_pool_probes import LEVEL_MW, _site, _tick

from dispatch.clock import VirtualClock
from dispatch.control.crosscheck import SocCheck
from dispatch.device import DeviceAdapter, Identity, Telemetry, WriteAck
from dispatch.pool import PoolController
from dispatch.simulation import SimulationOptions, modbus_like_fleet, parse_faults, run_fleet

CAPACITY_MWH = 0.005
"""A 5 kWh battery: one 0.01 % step of its SoC is 1.8 kW s."""


def _soc_check() -> SocCheck:
    """The check of a 3 kW battery ramping 5 kW/s with a 60 W band."""
    return SocCheck(CAPACITY_MWH, 6e-5, max_mw=0.003, min_mw=-0.003, ramp_mw_per_s=0.005)


def _readings(lie_kw: list[float], real_kw: float = 1.0) -> list[tuple[float, float, float]]:
    """One reading a second: (t [s], reported power [MW], SoC rounded to 0.01 %) of a
    battery discharging `real_kw` [kW] at efficiency 1, reporting `lie_kw[k]` more."""
    stored = 0.5 * CAPACITY_MWH * 3600.0  # [MW s]
    out = []
    for k, lie in enumerate(lie_kw):
        out.append((float(k), (real_kw + lie) * 1e-3, round(stored / (CAPACITY_MWH * 3600), 4)))
        stored -= real_kw * 1e-3
    return out


@pytest.mark.parametrize("lie_kw", [0.3, -0.3])
def test_a_small_lie_leaves_doubts_leaning_its_way_before_it_fails(lie_kw: float) -> None:
    # 0.3 kW from the 5th reading on: the check fails 4-6 readings later; its doubts after
    # the lie began lean the lie's way (an honest battery's lean by one rounding or the
    # other, either way), the first at least one reading before the failure.
    check = _soc_check()
    doubts: list[tuple[float, float]] = []
    failed_t = None
    for t, power, soc in _readings([0.0] * 4 + [lie_kw] * 20):
        if check.observe(t, power, soc) is not None:
            failed_t = t
            break
        if check.doubt is not None and t >= 5.0:
            doubts.append((t, check.doubt[1]))
    assert failed_t is not None
    assert doubts
    assert all(lean == (1.0 if lie_kw > 0 else -1.0) for _, lean in doubts)
    assert doubts[0][0] < failed_t


def test_an_honest_battery_is_not_failed_by_its_rounded_soc() -> None:
    check = _soc_check()
    for t, power, soc in _readings([0.0] * 18):
        assert check.observe(t, power, soc) is None


def test_a_failure_after_a_probe_counts_from_the_doubt_not_from_the_probe() -> None:
    # The lie (0.4 kW) leaves a doubt; a probe is asked and moves the report by 2.5 kW
    # from the next reading on. The check fails within a few readings. Without the ask the
    # same readings fail with a window that starts at the probe (the lie looks 2 s old);
    # with it, from the doubt's start.
    lies = [0.0] * 4 + [0.4] * 30
    readings = _readings(lies)
    asked = _soc_check()
    doubt_at = None
    for t, power, soc in readings:
        assert asked.observe(t, power, soc) is None
        if asked.doubt is not None:
            doubt_at = t
            start = asked.doubt[0]
            asked.probe_asked(t, 5.0)
            break
    assert doubt_at is not None
    probed = _readings([*lies[: int(doubt_at) + 1], *([2.9] * 6)])[int(doubt_at) + 1 :]
    since = None
    for t, power, soc in probed:
        since = asked.observe(t, power, soc)
        if since is not None:
            break
    assert since is not None
    assert since <= start

    plain = _soc_check()
    for t, power, soc in readings[: int(doubt_at) + 1]:
        plain.observe(t, power, soc)
    younger = None
    for t, power, soc in probed:
        younger = plain.observe(t, power, soc)
        if younger is not None:
            break
    assert younger is not None
    assert younger > start  # what the probe would have flattered


@pytest.mark.parametrize("lean", [1.0, -1.0])
def test_an_own_ask_moves_the_battery_the_way_its_lie_would_grow(lean: float) -> None:
    pool, actors, board, clock = _site(6)
    _tick(pool, actors, board, clock)
    clock.t = 1.0
    pool.request_own_probe("bat-3", lean)
    moved = {
        a: sp for a, sp in _tick(pool, actors, board, clock).items() if abs(sp - LEVEL_MW) > 1e-6
    }
    assert "bat-3" in moved
    assert (moved["bat-3"] - LEVEL_MW) * lean > 0
    assert len(moved) == 2  # with one partner of its site, the other way
    assert sum(sp - LEVEL_MW for sp in moved.values()) == pytest.approx(0.0, abs=1e-9)


def test_an_own_ask_does_not_end_the_probe_that_runs() -> None:
    # A site watch's ask ends a running probe (its return tells twins apart); a battery's
    # own ask does not: the running probe is the move it asks for.
    pool, actors, board, clock = _site(6)
    _tick(pool, actors, board, clock)
    clock.t = 1.0
    pool.request_own_probe("bat-3", 1.0)
    first = _tick(pool, actors, board, clock)["bat-3"]
    clock.t = 2.0
    pool.request_own_probe("bat-3", 1.0)
    assert _tick(pool, actors, board, clock)["bat-3"] == pytest.approx(first)
    assert pool.probes == 2


class RoundedSoc:
    """An in-process battery whose SoC reads in 0.01 % steps, as its Modbus register
    (SunSpec model 124, `ChaState_SF` -2) gives it."""

    def __init__(self, device: DeviceAdapter) -> None:
        self.device = device
        self.asset_id = device.asset_id
        self.protocol = device.protocol

    async def identify(self) -> Identity:
        return await self.device.identify()

    async def read(self) -> Telemetry:
        reading = await self.device.read()
        if reading.soc is None:
            return reading
        return replace(reading, soc=round(reading.soc * 1e4) / 1e4)

    async def write_setpoint(self, setpoint_mw: float, *args: Any) -> WriteAck:
        return await self.device.write_setpoint(setpoint_mw, *args)

    async def close(self) -> None:
        await self.device.close()


def _run_rounded(seed: int) -> tuple[dict, dict[str, float]]:
    """The Modbus benchmark's fleet in process, SoC rounded, a third of it fake meters at
    20 s: the report and, per fake meter, when its lie began [s since the start] (from the
    physics: its report first off its real power by more than 0.12 kW)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    options = SimulationOptions(
        assets=400, duration_s=60, faults=parse_faults("fake_meter:0.3@20s"), seed=seed
    )
    began: dict[str, float] = {}

    async def main() -> dict:
        clock = VirtualClock(options.start)
        fleet = modbus_like_fleet(options, clock)
        devices = {m.adapter.asset_id: m.device for m in fleet}
        fleet = [replace(m, adapter=RoundedSoc(m.adapter)) if m.energy_mwh else m for m in fleet]
        start = clock.now()

        def watch(pool: PoolController) -> None:
            def lies(t: float, _target: float) -> None:
                for fault in pool.kpi.faults:
                    device = devices[fault.asset]
                    lie = device.metered_power_mw() - device.physical_power_mw()
                    if fault.asset not in began and t >= fault.injected_at and abs(lie) > 1.2e-4:
                        began[fault.asset] = t - start

            pool.observers.append(lies)

        return await run_fleet(options, fleet, clock, on_pool=watch)

    return asyncio.run(main()), began


def test_battery_fake_meters_with_a_rounded_soc_are_named_soon_after_their_lie_began() -> None:
    # Seed 6: before, 7 of the 40 lying batteries were named more than 3 s after their lie
    # began (the KPI counted them from the window their check judged, later still).
    report, began = _run_rounded(6)
    faults = report["faults"]
    assert all(f["detected_s"] is not None for f in faults)
    batteries = [f for f in faults if "battery" in f["asset"]]
    after = [f["observable_at_s"] + f["detected_s"] - began[f["asset"]] for f in batteries]
    assert sum(a > 3.0 for a in after) <= 2
    assert report["unfaulted_failures"]["assets"] == 0  # no honest device named
