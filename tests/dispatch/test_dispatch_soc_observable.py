"""A lying battery's fault is observable once its state of charge shows the lie.

A fake meter reports its setpoint while it holds its power. A battery's lie also moves its
state of charge away from what it reports, so the simulation's view of when the fault
became observable (`KpiRecorder.fault_seen`) counts from the moment the energy it lied
about reaches one step of the state of charge it reports: at once in process (exact), one
0.01 % step over Modbus. Before, a small battery's lie never showed to the physics view,
and its detection was counted from the detector's own window: 19 s after the lie began
was reported as 3 s.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from dispatch.clock import VirtualClock
from dispatch.devices.faults import Fault
from dispatch.devices.physics import Battery, Chp
from dispatch.inproc import InProcessDevice, limits_of
from dispatch.kpi import KpiRecorder
from dispatch.simulation import FleetMember, truth_sampler

START = datetime(2026, 6, 14, 12, tzinfo=UTC)


def battery_member(clock: VirtualClock, resolution: float) -> tuple[FleetMember, InProcessDevice]:
    """A 3 kW / 5 kWh battery at rest, reporting its state of charge in `resolution` steps."""
    physics = Battery(0.003, -0.003, 0.005, soc=0.5, ramp_mw_per_s=0.001)
    device = InProcessDevice("bat-1", physics, clock, "battery")
    device.soc_resolution = resolution
    member = FleetMember(device, limits_of(physics, 3.0), "battery", 0.005, lambda _k: 0.0, device)
    return member, device


@pytest.mark.parametrize(
    ("resolution", "seen_after_s"),
    [
        (0.0, 1.0),  # exact: the first tick with a lie
        (1e-4, 2.0),  # 0.5 Wh: 1.5 kW lie x 1.2 s, seen at the second tick after 1 s
    ],
)
def test_a_lying_battery_is_observable_when_its_soc_shows_the_lie(
    resolution: float, seen_after_s: float
) -> None:
    asyncio.run(_lying_battery(resolution, seen_after_s))


async def _lying_battery(resolution: float, seen_after_s: float) -> None:
    clock = VirtualClock(START)
    member, device = battery_member(clock, resolution)
    kpi = KpiRecorder(tolerance_mw=0.001)
    liars: set[str] = set()
    sample = truth_sampler([member], kpi, clock, liars=liars)
    device.inject(Fault.FAKE_METER)  # holds 0 MW from now on
    kpi.fault_injected("bat-1", "fake_meter", clock.now())
    liars.add("bat-1")
    sample(clock.now(), 0.0)
    await device.write_setpoint(0.0015)  # asked to discharge 1.5 kW: reports it, does not
    for _ in range(4):
        await clock.sleep_until(clock.now() + 1.0)
        sample(clock.now(), 0.0015)
    (fault,) = kpi.faults
    assert fault.seen_at == pytest.approx(seen_after_s)
    assert "bat-1" not in liars


def test_a_lying_chp_outside_any_site_stays_unseen_by_this_channel() -> None:
    asyncio.run(_lying_chp())


async def _lying_chp() -> None:
    clock = VirtualClock(START)
    physics = Chp(0.05, 0.02, ramp_mw_per_s=0.01)
    device = InProcessDevice("chp-1", physics, clock, "chp")
    member = FleetMember(device, limits_of(physics, 3.0), "chp", None, lambda _k: 0.03, device)
    kpi = KpiRecorder(tolerance_mw=0.001)
    sample = truth_sampler([member], kpi, clock, liars={"chp-1"})
    device.inject(Fault.FAKE_METER)
    kpi.fault_injected("chp-1", "fake_meter", clock.now())
    await device.write_setpoint(0.04)
    for _ in range(3):
        await clock.sleep_until(clock.now() + 1.0)
        sample(clock.now(), 0.04)
    assert kpi.faults[0].seen_at is None
