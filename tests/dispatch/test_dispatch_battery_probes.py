"""Lying batteries whose state of charge comes in 0.01 % steps, as over Modbus.

A fake meter that is a battery reports its setpoint while its power stays where the fault
froze it. Its lie is observable (`simulation.truth_sampler`) once the energy it claimed
and did not move reaches one step of the state of charge it reports (0.01 % of 5 kWh,
1.8 kW s); its own check (`crosscheck.SocCheck`) names it about one more step later. The
activation moves a 3 kW battery by a few hundred watts, so without a probe such a lie takes
4-18 s per step: batteries probed only every 10 s, and only with a flat partner in their
site, were named up to 22 s after their lie showed. Storage is now probed every 3 s, by
90 % of its rating (where both of a pair are sure of their link), with any member of its
site that can move (`PoolConfig.storage_probe_after_share`, `storage_probe_share`).

The fleet is the Modbus benchmark's in process on a virtual clock (the same every run),
with each battery's state of charge rounded to 0.01 % as the Modbus register gives it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest
import structlog

from dispatch.clock import VirtualClock
from dispatch.device import DeviceAdapter, Identity, Telemetry, WriteAck
from dispatch.simulation import SimulationOptions, modbus_like_fleet, parse_faults, run_fleet

SOC_STEP = 1e-4
"""SunSpec's ChaState in 0.01 % (the Modbus simulator's register) [0..1]."""


@pytest.fixture(autouse=True)
def _quiet_events() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))


class RoundedSoc:
    """`device` reporting its state of charge rounded to `SOC_STEP`, as over Modbus."""

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
        return replace(reading, soc=round(reading.soc / SOC_STEP) * SOC_STEP)

    async def write_setpoint(self, setpoint_mw: float) -> WriteAck:
        return await self.device.write_setpoint(setpoint_mw)

    async def close(self) -> None:
        await self.device.close()


def _run(seed: int) -> dict:
    options = SimulationOptions(
        assets=400, duration_s=60, faults=parse_faults("fake_meter:0.3@20s"), seed=seed
    )

    async def main() -> dict:
        clock = VirtualClock(options.start)
        fleet = [
            replace(member, adapter=RoundedSoc(member.adapter))
            for member in modbus_like_fleet(options, clock)
        ]
        return await run_fleet(options, fleet, clock)

    return asyncio.run(main())


@pytest.mark.parametrize("seed", [1, 3])
def test_lying_batteries_with_a_coarse_soc_are_named_soon_after_their_lie_shows(
    seed: int,
) -> None:
    # Before: 19 and 15 of the 120 fake meters later than 3 s, every one a battery, the
    # latest 19.6 and 21.6 s (seeds 1 and 3). Now 7 and 7, the latest 8.1 and 6.8 s.
    report = _run(seed)
    faults = report["faults"]
    assert len(faults) == 120
    assert all(f["detected_s"] is not None for f in faults)
    batteries = [f for f in faults if "-battery-" in f["asset"]]
    assert batteries
    late = [f for f in faults if f["detected_s"] > 3.0]
    assert len(late) <= 8
    assert max(f["detected_s"] for f in faults) <= 10.0
    assert report["unfaulted_failures"]["assets"] == 0  # nobody honest named
    assert report["truth"]["max_abs_mw"] <= report["truth"]["tolerance_mw"]
