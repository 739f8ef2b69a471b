"""The simulated site meter measures what the site really injects, not what assets say."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.device import DeviceRefusedError, DeviceTimeoutError
from dispatch.devices.physics import Battery, Chp, Pv
from dispatch.devices.site_meter import SiteMeter
from dispatch.inproc import Fault, InProcessDevice

T0 = datetime(2026, 6, 13, 10, 0, tzinfo=UTC)


class StepClock:
    """A `DispatchClock` the test moves by hand [s]."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def utc(self) -> datetime:
        return T0 + timedelta(seconds=self.t)

    async def sleep_until(self, t: float) -> None:
        self.t = max(self.t, t)


def site(clock: StepClock) -> tuple[list[InProcessDevice], SiteMeter]:
    pv = Pv(rated_mw=2.0, profile=lambda _t: 0.5, dead_time_s=0.0)
    chp = Chp(max_mw=1.0, min_load_mw=0.5, ramp_mw_per_s=1.0, dead_time_s=0.0)
    chp.power_mw = chp.target_mw = 0.8
    bat = Battery(1.0, -1.0, capacity_mwh=2.0, ramp_mw_per_s=1.0, dead_time_s=0.0)
    devices = [
        InProcessDevice("pv-1", pv, clock, "pv"),
        InProcessDevice("chp-1", chp, clock, "chp"),
        InProcessDevice("bat-1", bat, clock, "battery"),
    ]
    return devices, SiteMeter("site-1", devices, clock)


async def reported_sum(devices: list[InProcessDevice]) -> float:
    return sum([(await d.read()).power_mw for d in devices])


def test_meter_matches_assets_while_healthy_and_exposes_a_fake_meter() -> None:
    async def scenario() -> None:
        clock = StepClock()
        devices, meter = site(clock)
        await devices[2].write_setpoint(-0.6)
        clock.t += 5.0
        reading = await meter.read()
        assert reading.power_mw == pytest.approx(1.0 + 0.8 - 0.6)
        assert reading.at == T0 + timedelta(seconds=5.0)
        assert await reported_sum(devices) == pytest.approx(reading.power_mw)

        devices[1].inject(Fault.FAKE_METER)  # the CHP will claim whatever it is told
        await devices[1].write_setpoint(0.5)
        clock.t += 5.0
        claimed = await reported_sum(devices)
        measured = (await meter.read()).power_mw
        assert claimed == pytest.approx(1.0 + 0.5 - 0.6)
        assert measured == pytest.approx(1.0 + 0.8 - 0.6)  # the CHP never moved
        assert measured - claimed == pytest.approx(0.3)

    asyncio.run(scenario())


def test_meter_sees_a_trip_the_assets_cannot_report() -> None:
    async def scenario() -> None:
        clock = StepClock()
        devices, meter = site(clock)
        devices[0].inject(Fault.TRIP)
        clock.t += 1.0
        assert (await meter.read()).power_mw == pytest.approx(0.8)

    asyncio.run(scenario())


def test_a_silenced_meter_stops_answering_and_the_site_runs_on() -> None:
    async def scenario() -> None:
        clock = StepClock()
        _, meter = site(clock)
        assert (await meter.identify()).serial == "site-1"
        meter.inject("outage")
        with pytest.raises(DeviceTimeoutError):
            await meter.read()
        assert meter.physical_power_mw() == pytest.approx(1.8)
        meter.clear()
        assert (await meter.read()).power_mw == pytest.approx(1.8)
        with pytest.raises(DeviceRefusedError):
            await meter.write_setpoint(1.0)
        with pytest.raises(ValueError, match="silenced or tripped"):
            meter.inject(Fault.PARTIAL)

    asyncio.run(scenario())
