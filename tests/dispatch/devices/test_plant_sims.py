"""Plant-scale simulators behind the real Modbus client: a portfolio's MW assets keep their
ratings, follow setpoints and say what they can give (the small device models' registers
cannot hold them)."""

from __future__ import annotations

import asyncio
import time

import pytest

from dispatch.device import MapMismatchError
from dispatch.devices.faults import Fault
from dispatch.devices.modbus_sim import SimulatedDevice
from dispatch.devices.physics import Battery, Chp, Pv
from dispatch.devices.plant_sims import plant_model, power_sf
from dispatch.protocols.modbus import ModbusAdapter


def test_the_power_scale_factor_fits_a_fifth_over_the_rating_in_an_int16() -> None:
    assert power_sf(3_000) == 0  # 3.6 kW in W steps
    assert power_sf(25e6) == 3  # 30 MW in kW steps
    assert power_sf(34.5e6) == 4  # 41.4 MW does not fit kW steps


def run(scenario: object) -> None:
    asyncio.run(asyncio.wait_for(scenario, timeout=60))  # type: ignore[arg-type]


async def served(kind: str, physics: Battery | Pv | Chp) -> tuple[SimulatedDevice, ModbusAdapter]:
    model = plant_model(kind, 1, physics)
    model.preset(physics.target_mw)
    device = SimulatedDevice(f"{kind}-1", model)
    port = await device.start()
    return device, ModbusAdapter(f"{kind}-1", device.host, port, timeout_s=2.0)


@pytest.mark.parametrize(
    ("kind", "map_id", "setpoint", "rating"),
    [
        ("battery", "voltaris-grid-fw1", -18.5, 25.0),
        ("wind", "helion-heliopark-fw1", 12.0, 34.5),
        ("chp", "thermogen-kwk20-fw2", 3.0, 4.5),
    ],
)
def test_a_plant_is_identified_reports_its_rating_and_follows_a_setpoint(
    kind: str, map_id: str, setpoint: float, rating: float
) -> None:
    physics: Battery | Pv | Chp
    if kind == "battery":
        physics = Battery(25.0, -25.0, 50.0, ramp_mw_per_s=50.0, dead_time_s=0.0)
    elif kind == "wind":
        physics = Pv(34.5, profile=lambda _t: 0.6, ramp_mw_per_s=100.0, dead_time_s=0.0)
    else:
        physics = Chp(4.5, 2.0, ramp_mw_per_s=100.0, dead_time_s=0.0)
        physics.power_mw = physics.target_mw = 2.5
        physics.on = True

    async def scenario() -> None:
        device, adapter = await served(kind, physics)
        try:
            await adapter.identify()
            assert adapter.negotiated is not None
            assert adapter.negotiated.register_map.map_id == map_id
            ack = await adapter.write_setpoint(setpoint)
            assert ack.read_back_mw == pytest.approx(setpoint, abs=0.001 * rating)
            deadline = time.monotonic() + 10.0
            while abs(device.physical_power_mw() - setpoint) > 0.01 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            reading = await adapter.read()
            assert device.physical_power_mw() == pytest.approx(setpoint, abs=0.01)
            assert reading.power_mw == pytest.approx(setpoint, abs=0.001 * rating)
            if kind == "wind":  # what the weather allows now, not the rating
                assert reading.max_mw == pytest.approx(0.6 * rating, abs=0.001 * rating)
            else:
                assert reading.max_mw == pytest.approx(rating)
        finally:
            await adapter.close()
            await device.stop()

    run(scenario())


def test_a_plant_at_its_weather_limit_reports_that_limit_not_its_rating() -> None:
    physics = Pv(18.0, profile=lambda _t: 0.25, ramp_mw_per_s=100.0, dead_time_s=0.0)

    async def scenario() -> None:
        device, adapter = await served("pv", physics)
        try:
            await adapter.write_setpoint(18.0)  # uncurtailed
            await asyncio.sleep(0.2)
            reading = await adapter.read()
            assert reading.setpoint_mw == pytest.approx(18.0)
            assert reading.power_mw == pytest.approx(4.5, abs=0.01)
            assert reading.max_mw == pytest.approx(4.5, abs=0.01)
        finally:
            await adapter.close()
            await device.stop()

    run(scenario())


def test_a_scale_factor_changed_in_place_quarantines_the_plant() -> None:
    physics = Battery(10.0, -10.0, 20.0)

    async def scenario() -> None:
        device, adapter = await served("battery", physics)
        try:
            await adapter.identify()
            await adapter.read()
            device.inject(Fault.FIRMWARE_INPLACE)
            with pytest.raises(MapMismatchError, match="W_SF"):
                await adapter.read()
            assert adapter.quarantined is not None
        finally:
            await adapter.close()
            await device.stop()

    run(scenario())
