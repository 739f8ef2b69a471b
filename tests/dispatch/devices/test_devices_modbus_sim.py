"""The Modbus simulator over real TCP: one identity per device, its own unit id only, and
each fault kind as a Modbus client sees it against what the device physically does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException

from dispatch.devices import sim_registers as sr
from dispatch.devices.faults import Fault
from dispatch.devices.modbus_sim import SimulatedDevice, make_model
from dispatch.devices.site_meter import SiteMeter

GATEWAY_NO_RESPONSE, ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE = 0x0B, 1, 2, 3


class ManualClock:
    """An injectable clock [s] the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


@asynccontextmanager
async def served(
    kind: str, index: int = 1, clock: ManualClock | None = None, unit_id: int = 1
) -> AsyncIterator[SimulatedDevice]:
    model = make_model(kind, index)
    device = SimulatedDevice(
        f"sim-{kind}-{index}", model, clock=clock or ManualClock(), unit_id=unit_id
    )
    await device.start()
    try:
        yield device
    finally:
        await device.stop()


@asynccontextmanager
async def client_of(device: SimulatedDevice) -> AsyncIterator[AsyncModbusTcpClient]:
    client = AsyncModbusTcpClient(device.host, port=device.port, timeout=0.3, retries=0)
    assert await client.connect()
    try:
        yield client
    finally:
        client.close()


def exception_of(response: Any) -> int | None:
    """The Modbus exception code of a response, None if it is not an exception."""
    return response.exception_code if response.isError() else None


def s16(reg: int) -> int:
    return reg - 0x10000 if reg >= 0x8000 else reg


async def registers(client: AsyncModbusTcpClient, address: int, count: int = 1) -> list[int]:
    response = await client.read_holding_registers(address, count=count, device_id=1)
    assert not response.isError(), response
    return list(response.registers)


async def fc43(client: AsyncModbusTcpClient, device_id: int = 1) -> dict[int, str]:
    response = await client.read_device_information(read_code=1, device_id=device_id)
    assert not response.isError(), response
    return {k: v.decode() for k, v in response.information.items()}


async def sunspec_version(client: AsyncModbusTcpClient, device: SimulatedDevice) -> str:
    vr = await registers(client, device.model.image.bodies[1] + 40, 8)
    return b"".join(r.to_bytes(2, "big") for r in vr).rstrip(b"\0").decode()


async def battery_w(client: AsyncModbusTcpClient, device: SimulatedDevice) -> float:
    """Model 103 W [W], scaled by the W_SF the device reports now."""
    raw, sf = await registers(client, device.model.image.bodies[103] + sr.M103_W, 2)
    return s16(raw) * 10.0 ** s16(sf)


async def command_battery(client: AsyncModbusTcpClient, device: SimulatedDevice, pct: int) -> None:
    """Discharge at `pct` % of WChaMax (InOutWRte_SF -2), StorCtl_Mod = discharge."""
    sto = device.model.image.bodies[124]
    response = await client.write_registers(sto + sr.M124_STORCTL_MOD, [2], device_id=1)
    assert not response.isError()
    response = await client.write_registers(sto + sr.M124_OUTWRTE, [pct * 100], device_id=1)
    assert not response.isError()


# --- one identity per device -------------------------------------------------------------


def test_each_chp_answers_fc43_with_its_own_firmware() -> None:
    async def scenario() -> None:
        async with served("chp", 1) as one, served("chp", 2) as two:
            one.inject(Fault.FIRMWARE)
            await one.settled()  # rebooted with 9.0
            async with client_of(one) as a, client_of(two) as b:
                assert (await fc43(a))[2] == "9.0"
                assert await fc43(b) == {0: "Thermogen", 1: "KWK-Control 2", 2: "2.3.1"}
                specific = await b.read_device_information(read_code=4, object_id=2, device_id=1)
                assert specific.information == {2: b"2.3.1"}
                absent = await b.read_device_information(read_code=4, object_id=5, device_id=1)
                assert exception_of(absent) == ILLEGAL_ADDRESS

    run(scenario)


def test_each_sunspec_device_reports_its_own_model_1_and_no_fc43() -> None:
    async def scenario() -> None:
        async with served("battery", 1) as one, served("battery", 2) as two:
            one.inject(Fault.FIRMWARE)
            await one.settled()
            async with client_of(one) as a, client_of(two) as b:
                assert await sunspec_version(a, one) == "2.0.0"
                assert await sunspec_version(b, two) == "1.4.2"
                response = await b.read_device_information(read_code=1, device_id=1)
                assert exception_of(response) == ILLEGAL_FUNCTION

    run(scenario)


# --- its own unit id only ----------------------------------------------------------------


def test_only_its_own_unit_id_is_answered() -> None:
    async def scenario() -> None:
        async with served("chp", unit_id=7) as device, client_of(device) as client:
            ok = await client.read_holding_registers(0, count=8, device_id=7)
            assert not ok.isError()
            assert ok.registers[sr.CHP_MAX_KW] == 50
            for other in (1, 0, 255):
                refused = await client.read_holding_registers(0, count=8, device_id=other)
                assert exception_of(refused) == GATEWAY_NO_RESPONSE
                ident = await client.read_device_information(read_code=1, device_id=other)
                assert exception_of(ident) == GATEWAY_NO_RESPONSE
            write = await client.write_registers(sr.CHP_SETPOINT_KW, [40], device_id=1)
            assert exception_of(write) == GATEWAY_NO_RESPONSE
            assert device.writes == []

    run(scenario)


# --- faults: what the wire says, what the device does -------------------------------------


def test_trip_drops_to_zero_and_stops_answering_with_the_setpoint_still_held() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with served("battery", clock=clock) as device, client_of(device) as client:
            await command_battery(client, device, 80)
            clock.now += 5.0
            assert await battery_w(client, device) == pytest.approx(2400.0)
            device.inject(Fault.TRIP)
            clock.now += 5.0
            with pytest.raises(ModbusIOException):
                await client.read_holding_registers(40000, count=2, device_id=1)
            assert device.model.setpoint_mw() == pytest.approx(0.0024)  # registers still say so
            assert device.physical_power_mw() == 0.0
        async with served("battery", clock=clock) as device:
            device.inject(Fault.TRIP)
            device.clear()
            clock.now += 5.0
            assert device.physical_power_mw() == 0.0  # reset: idle until told

    run(scenario)


def test_silence_stops_answering_and_keeps_injecting() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with served("battery", clock=clock) as device, client_of(device) as client:
            await command_battery(client, device, 50)
            clock.now += 5.0
            device.inject("outage")
            assert device.fault is Fault.SILENCE
            with pytest.raises(ModbusIOException):
                await client.read_device_information(read_code=1, device_id=1)
            clock.now += 5.0
            assert device.physical_power_mw() == pytest.approx(0.0015)

    run(scenario)


@pytest.mark.parametrize(
    ("fault", "reported_w", "real_w"),
    [
        (Fault.ACK_NO_EXEC, 600.0, 600.0),
        (Fault.PARTIAL, 0.6 * 2700.0, 0.6 * 2700.0),
        (Fault.STUCK, 600.0, 600.0),
        (Fault.FAKE_METER, 2700.0, 600.0),
    ],
)
def test_faults_that_acknowledge_a_write_they_do_not_execute(
    fault: Fault, reported_w: float, real_w: float
) -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with served("battery", clock=clock) as device, client_of(device) as client:
            await command_battery(client, device, 20)
            clock.now += 5.0
            device.advance()
            soc = device.model.physics.soc
            device.inject(fault)
            await command_battery(client, device, 90)  # acknowledged...
            sto = device.model.image.bodies[124]
            assert await registers(client, sto + sr.M124_OUTWRTE) == [9000]  # ...read back
            clock.now += 60.0
            assert await battery_w(client, device) == pytest.approx(reported_w)
            assert device.physical_power_mw() * 1e6 == pytest.approx(real_w, rel=1e-3)
            # ChaState (0.01 %) follows the real power, whatever W says.
            cha = (await registers(client, sto + sr.M124_CHASTATE))[0]
            drop_per_w = 60.0 / 3600.0 / 0.95 / 0.005 * 1e-6
            assert cha == pytest.approx((soc - real_w * drop_per_w) * 10000, abs=1.0)
            if reported_w != real_w:
                assert cha != pytest.approx((soc - reported_w * drop_per_w) * 10000, abs=20.0)

    run(scenario)


def test_slow_ramp_ramps_at_a_tenth() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with served("battery", clock=clock) as device, client_of(device) as client:
            device.inject(Fault.SLOW_RAMP)
            await command_battery(client, device, 100)
            clock.now += 0.2  # dead time
            clock.now += 2.0  # 0.005 MW/s * 0.1 * 2 s = 1 kW
            assert await battery_w(client, device) == pytest.approx(1000.0)
            device.clear()
            clock.now += 1.0
            assert device.physical_power_mw() == pytest.approx(0.003)

    run(scenario)


def test_firmware_inplace_on_sunspec_changes_scale_factors_not_identity() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with served("battery", clock=clock) as device, client_of(device) as client:
            await command_battery(client, device, 50)
            clock.now += 5.0
            inv = device.model.image.bodies[103]
            raw_before, sf_before = await registers(client, inv + sr.M103_W, 2)
            device.inject(Fault.FIRMWARE_INPLACE)
            assert await sunspec_version(client, device) == "1.4.2"  # same session, same Vr
            raw_after, sf_after = await registers(client, inv + sr.M103_W, 2)
            assert (s16(sf_before), s16(sf_after)) == (0, -1)
            assert (raw_before, raw_after) == (1500, 15000)  # a reader with W_SF 0: 15 kW
            assert await battery_w(client, device) == pytest.approx(1500.0)
            sto = device.model.image.bodies[124]
            rte, rte_sf = await registers(client, sto + sr.M124_OUTWRTE, 1) + await registers(
                client, sto + sr.M124_INOUTWRTE_SF
            )
            assert (rte, s16(rte_sf)) == (500, -1)  # 50.0 %: the command re-encoded
            clock.now += 5.0
            assert device.physical_power_mw() == pytest.approx(0.0015)  # nothing moved
            # A write scaled for the old SF (-2) is 10x too much: refused as out of range.
            refused = await client.write_registers(sto + sr.M124_OUTWRTE, [5000], device_id=1)
            assert exception_of(refused) == ILLEGAL_VALUE
            device.clear()
            assert await registers(client, inv + sr.M103_W, 2) == [1500, 0]

    run(scenario)


def test_firmware_inplace_on_the_chp_scales_power_by_ten_behind_the_same_fc43() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with served("chp", clock=clock) as device, client_of(device) as client:
            write = await client.write_registers(sr.CHP_SETPOINT_KW, [40], device_id=1)
            assert not write.isError()
            clock.now += 5.0
            identity = await fc43(client)
            assert (await registers(client, 0, 2)) == [40, 40]
            device.inject(Fault.FIRMWARE_INPLACE)
            assert await fc43(client) == identity
            power, setpoint, _, _, _, max_kw = await registers(client, 0, 6)
            assert (power, setpoint, max_kw) == (400, 400, 50)  # 400 "kW" above a 50 kW max
            refused = await client.write_registers(sr.CHP_SETPOINT_KW, [30], device_id=1)
            assert exception_of(refused) == ILLEGAL_VALUE
            assert device.physical_power_mw() == pytest.approx(0.04)

    run(scenario)


def test_pv_fake_meter_reports_its_limit_and_inplace_rescales_it() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with served("pv", clock=clock) as device, client_of(device) as client:
            ctl, inv = device.model.image.bodies[123], device.model.image.bodies[103]
            clock.now += 5.0
            assert await registers(client, inv + sr.M103_W) == [4800]  # 48 kW, W_SF 1
            device.inject(Fault.FAKE_METER)
            response = await client.write_registers(
                ctl + sr.M123_WMAXLIMPCT, [500, 0, 0, 0, 1], device_id=1
            )
            assert not response.isError()
            clock.now += 5.0
            assert await registers(client, inv + sr.M103_W) == [3000]  # says 30 kW (50 %)
            assert device.physical_power_mw() == pytest.approx(0.048)  # does 48 kW
            device.inject(Fault.FIRMWARE_INPLACE)  # replaces the fake meter
            limit, lim_sf = await registers(client, ctl + sr.M123_WMAXLIMPCT) + await registers(
                client, ctl + sr.M123_WMAXLIMPCT_SF
            )
            assert (limit, s16(lim_sf)) == (5000, -2)
            raw, sf = await registers(client, inv + sr.M103_W, 2)
            assert (raw, s16(sf)) == (480, 2)

    run(scenario)


def test_clear_after_a_firmware_fault_restores_the_original_firmware() -> None:
    async def scenario() -> None:
        async with served("battery") as device:
            device.inject(Fault.FIRMWARE)
            device.clear()  # before the first reboot has even run: they go in turn
            await device.settled()
            async with client_of(device) as client:
                assert await sunspec_version(client, device) == "1.4.2"
                assert device.model.image.bodies[103] < device.model.image.bodies[124]

    run(scenario)


def test_once_cleared_a_stuck_device_follows_its_registers_and_a_site_meter_saw_it() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with served("battery", 1, clock) as bat, served("chp", 2, clock) as chp:
            meter = SiteMeter("site-1", [bat, chp])
            async with client_of(bat) as client:
                bat.inject(Fault.STUCK)
                await command_battery(client, bat, 100)
                clock.now += 5.0
                assert await battery_w(client, bat) == 0.0
                assert (await meter.read()).power_mw == 0.0
                bat.clear()
                clock.now += 5.0
                assert await battery_w(client, bat) == pytest.approx(3000.0)
                assert (await meter.read()).power_mw == pytest.approx(0.003)

    run(scenario)


@pytest.mark.parametrize("fault", list(Fault))
def test_any_fault_can_be_given_before_the_device_is_even_started(fault: Fault) -> None:
    async def scenario() -> None:
        clock = ManualClock()
        device = SimulatedDevice("sim-chp-1", make_model("chp", 1), clock=clock)
        device.model.physics.power_mw = device.model.physics.target_mw = 0.04
        device.inject(fault)  # t = 0: nobody has connected, nothing listens yet
        await device.start()
        try:
            await device.settled()
            async with client_of(device) as client:
                if fault in (Fault.TRIP, Fault.SILENCE):
                    with pytest.raises(ModbusIOException):
                        await client.read_holding_registers(0, count=8, device_id=1)
                else:
                    expected = "9.0" if fault is Fault.FIRMWARE else "2.3.1"
                    assert (await fc43(client))[2] == expected
            clock.now += 5.0
            idle = fault in (Fault.TRIP, Fault.FIRMWARE)  # tripped, or rebooted idle
            assert device.physical_power_mw() == (0.0 if idle else pytest.approx(0.04))
        finally:
            await device.stop()

    run(scenario)
