"""ModbusAdapter against the pymodbus simulators over real loopback sockets.

End to end per device model, firmware change while running, and every fault mode as the
adapter sees it. Fault tests use an injected clock so physics time is exact and fast.
"""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest
from protocols_sim_helpers import ManualClock, device_and_adapter, wait_for_power

from dispatch.device import (
    DeviceAdapter,
    DeviceRefusedError,
    DeviceTimeoutError,
    DeviceUnreachableError,
    MapMismatchError,
)
from dispatch.protocols.modbus import ModbusAdapter
from dispatch.protocols.points import LocalRefusalError
from dispatch.protocols.transport import ModbusRefusedError

# kind, map id, setpoint [MW], response time [s] (dead time + ramp + polling margin)
CASES = [
    ("battery", "voltaris-bx500-fw1", -0.002, 2.0),
    ("battery", "voltaris-bx500-fw1", 0.003, 2.0),
    ("pv", "helion-heliomax60-fw1", 0.03, 2.0),
    ("chp", "thermogen-kwk2-fw2", 0.04, 2.0),
]


@pytest.mark.parametrize(("kind", "map_id", "setpoint", "response_s"), CASES)
def test_identify_read_write_and_reach_setpoint(
    kind: str, map_id: str, setpoint: float, response_s: float
) -> None:
    async def scenario() -> None:
        async with device_and_adapter(kind) as (device, adapter):
            assert isinstance(adapter, DeviceAdapter)
            assert adapter.negotiated is not None
            assert adapter.negotiated.register_map.map_id == map_id
            identity = adapter.negotiated.identity
            assert (identity.vendor, identity.model) == (device.model.vendor, device.model.model)
            assert identity.serial
            before = await adapter.read()
            assert before.at.tzinfo is UTC
            assert before.max_mw is not None
            assert before.max_mw > 0
            ack = await adapter.write_setpoint(setpoint)
            assert ack.read_back_mw == pytest.approx(setpoint, rel=1e-3)
            assert ack.latency_s < 0.5
            assert device.writes, "the simulator saw no write"
            await wait_for_power(adapter, setpoint, response_s)
            assert device.power_mw == pytest.approx(setpoint, rel=0.02)
            after = await adapter.read()
            assert after.setpoint_mw == pytest.approx(setpoint, rel=1e-3)
            if kind == "battery":
                assert after.soc is not None
                assert 0.0 < after.soc < 1.0

    asyncio.run(scenario())


def test_firmware_change_while_running_quarantines_before_any_write() -> None:
    async def scenario() -> None:
        async with device_and_adapter("battery") as (device, adapter):
            await adapter.write_setpoint(0.001)
            await device.change_firmware("2.0.1")
            writes_before = len(device.writes)
            with pytest.raises(MapMismatchError, match=r"fw 1\.4\.2 .* fw 2\.0\.1"):
                await adapter.write_setpoint(0.002)
            assert adapter.quarantined
            with pytest.raises(MapMismatchError):
                await adapter.write_setpoint(0.002)  # stays quarantined
            with pytest.raises(MapMismatchError):
                await adapter.read()
            assert len(device.writes) == writes_before, "a write went through the old map"
            # An explicit identify() negotiates again and adopts the 2.x map.
            identity = await adapter.identify()
            assert identity.firmware == "2.0.1"
            assert adapter.negotiated is not None
            assert adapter.negotiated.register_map.map_id == "voltaris-bx500-fw2"
            await adapter.write_setpoint(-0.002)
            await wait_for_power(adapter, -0.002, 2.0)
            assert device.power_mw == pytest.approx(-0.002, rel=0.02)  # sign quirk undone

    asyncio.run(scenario())


def test_in_place_firmware_change_is_caught_by_the_cheap_check() -> None:
    """Vr changes without a reboot: the pre-write Vr check catches it; nothing is written."""

    async def scenario() -> None:
        async with device_and_adapter("battery", identity_check_s=0.0) as (device, adapter):
            device.model.set_firmware("1.5.0")
            with pytest.raises(MapMismatchError, match=r"1\.5\.0"):
                await adapter.write_setpoint(0.001)
            assert device.writes == []

    asyncio.run(scenario())


def test_unknown_firmware_is_refused_at_identify() -> None:
    async def scenario() -> None:
        with pytest.raises(MapMismatchError, match=r"firmware '3\.0\.0'"):
            async with device_and_adapter("battery", firmware="3.0.0"):
                pass

    asyncio.run(scenario())


def test_identity_check_costs_one_request_per_write() -> None:
    async def requests_per_write(check_s: float) -> int:
        async with device_and_adapter("battery", identity_check_s=check_s) as (device, adapter):
            await adapter.write_setpoint(0.001)
            start = device.requests
            await adapter.write_setpoint(0.002)
            return device.requests - start

    always = asyncio.run(requests_per_write(0.0))
    rarely = asyncio.run(requests_per_write(3600.0))
    assert always - rarely == 1


def test_silence_times_out_and_recovers() -> None:
    async def scenario() -> None:
        async with device_and_adapter("battery", timeout_s=0.2) as (device, adapter):
            device.set_silent(True)
            with pytest.raises(DeviceTimeoutError):
                await adapter.read()
            with pytest.raises(DeviceTimeoutError):
                await adapter.write_setpoint(0.001)  # reconnect + re-probe times out first
            assert device.writes == []
            device.set_silent(False)
            telemetry = await adapter.read()  # reconnects, re-probes, same fingerprint
            assert telemetry.power_mw == 0.0
            assert adapter.reprobes >= 1

    asyncio.run(scenario())


def test_ack_without_execution_is_acked_but_power_never_moves() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with device_and_adapter("battery", clock) as (device, adapter):
            device.faults.ack_without_execution = True
            ack = await adapter.write_setpoint(0.003)
            assert ack.read_back_mw == pytest.approx(0.003, rel=1e-3)
            clock.advance(30.0)
            telemetry = await adapter.read()
            assert telemetry.setpoint_mw == pytest.approx(0.003, rel=1e-3)
            assert telemetry.power_mw == 0.0

    asyncio.run(scenario())


def test_partial_execution_settles_short_of_the_setpoint() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with device_and_adapter("chp", clock) as (device, adapter):
            device.faults.execution_fraction = 0.5
            await adapter.write_setpoint(0.05)
            clock.advance(30.0)
            telemetry = await adapter.read()
            assert telemetry.setpoint_mw == pytest.approx(0.05)
            assert telemetry.power_mw == pytest.approx(0.025)

    asyncio.run(scenario())


def test_a_pv_plant_reports_what_the_sun_allows_so_a_partial_one_shows() -> None:
    # 48 kW of sun on a 60 kW plant: the vendor model's available power says so, capped or
    # not. A partial fault (30 kW under a 50 kW cap) then reads as 30 kW where the sun
    # allows 48: below the cap, but not for want of sun.
    async def scenario() -> None:
        clock = ManualClock()
        async with device_and_adapter("pv", clock) as (device, adapter):
            assert adapter.negotiated is not None
            assert adapter.negotiated.has("WAvail")
            reading = await adapter.read()
            assert reading.max_mw == pytest.approx(0.048, abs=1e-4)
            await adapter.write_setpoint(0.03)
            clock.advance(10.0)
            reading = await adapter.read()
            assert reading.power_mw == pytest.approx(0.03, abs=1e-4)
            assert reading.max_mw == pytest.approx(0.048, abs=1e-4)
            device.inject("partial")
            await adapter.write_setpoint(0.05)
            clock.advance(10.0)
            reading = await adapter.read()
            assert reading.setpoint_mw == pytest.approx(0.05, abs=1e-4)
            assert reading.power_mw == pytest.approx(0.03, abs=1e-4)
            assert reading.max_mw == pytest.approx(0.048, abs=1e-4)

    asyncio.run(scenario())


def test_slow_ramp_reaches_the_setpoint_late() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with device_and_adapter("battery", clock) as (device, adapter):
            device.set_ramp_factor(0.1)  # 0.5 kW/s instead of 5 kW/s
            await adapter.write_setpoint(0.003)
            clock.advance(2.0)  # nominal: there after 0.8 s
            assert (await adapter.read()).power_mw == pytest.approx(0.0009, abs=1e-5)
            clock.advance(10.0)
            assert (await adapter.read()).power_mw == pytest.approx(0.003, rel=1e-3)

    asyncio.run(scenario())


def test_battery_firmware_2_reports_our_sign_despite_the_quirk() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with device_and_adapter("battery", clock, firmware="2.4.0") as (device, adapter):
            assert adapter.negotiated is not None
            assert adapter.negotiated.register_map.map_id == "voltaris-bx500-fw2"
            await adapter.write_setpoint(0.0025)
            clock.advance(5.0)
            telemetry = await adapter.read()
            assert device.model.physics.power_mw == pytest.approx(0.0025, rel=1e-3)
            assert telemetry.power_mw == pytest.approx(0.0025, rel=1e-3)
            w_address = adapter.negotiated.addresses["W"]
            raw = (await adapter.transport.read_holding_registers(w_address, 1))[0]
            signed = raw - 0x10000 if raw >= 0x8000 else raw
            assert signed == pytest.approx(-25000, abs=2)  # device sign, 0.1 W steps

    asyncio.run(scenario())


def test_refusals_local_and_remote() -> None:
    async def scenario() -> None:
        async with device_and_adapter("chp") as (device, adapter):
            with pytest.raises(LocalRefusalError, match="minimum stable load"):
                await adapter.write_setpoint(0.01)
            with pytest.raises(LocalRefusalError, match="above maximum"):
                await adapter.write_setpoint(0.08)
            assert device.writes == []
            assert adapter.negotiated is not None
            setpoint_address = adapter.negotiated.addresses["setpoint_kw"]
            with pytest.raises(ModbusRefusedError) as value_error:  # bypass our checks
                await adapter.transport.write_registers(setpoint_address, [10])
            assert value_error.value.code == 3
            with pytest.raises(ModbusRefusedError) as address_error:
                await adapter.transport.write_registers(
                    adapter.negotiated.addresses["power_kw"], [1]
                )
            assert address_error.value.code == 2
            assert isinstance(address_error.value, DeviceRefusedError)
            assert device.writes == []

    asyncio.run(scenario())


def test_battery_refuses_more_than_its_rating_locally() -> None:
    async def scenario() -> None:
        async with device_and_adapter("battery") as (device, adapter):
            with pytest.raises(LocalRefusalError, match="outside valid range"):
                await adapter.write_setpoint(0.004)
            assert device.writes == []

    asyncio.run(scenario())


def test_pv_limit_curtails_and_refuses_negative() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with device_and_adapter("pv", clock) as (_device, adapter):
            assert (await adapter.read()).power_mw == pytest.approx(0.048, rel=1e-3)
            await adapter.write_setpoint(0.02)
            clock.advance(5.0)  # 33.3 % (0.1 % steps) of 60 kW
            assert (await adapter.read()).power_mw == pytest.approx(0.02, rel=3e-3)
            await adapter.write_setpoint(1.0)  # above rating: no curtailment (100 %)
            clock.advance(5.0)
            assert (await adapter.read()).power_mw == pytest.approx(0.048, rel=1e-3)
            with pytest.raises(LocalRefusalError, match="negative"):
                await adapter.write_setpoint(-0.01)

    asyncio.run(scenario())


def test_unreachable_device() -> None:
    async def scenario() -> None:
        async with device_and_adapter("pv") as (device, adapter):
            await device.stop()
            await asyncio.sleep(0.05)  # let the client see the FIN
            with pytest.raises(DeviceUnreachableError):
                await adapter.read()
            with pytest.raises(DeviceUnreachableError):
                await adapter.write_setpoint(0.01)
        closed = ModbusAdapter("nobody", "127.0.0.1", device.port, timeout_s=0.3)
        with pytest.raises(DeviceUnreachableError):
            await closed.identify()

    asyncio.run(scenario())


def test_a_setpoint_below_a_chps_minimum_load_does_not_blame_the_chp() -> None:
    # The pool asks a running CHP (30 kW, minimum stable load 25 kW) for 20 kW: nothing is
    # sent, and the CHP, which did nothing wrong, stays in the pool at its 30 kW; the next
    # setpoint it can run at is written as usual.
    from prometheus_client import CollectorRegistry

    from dispatch.actor import ActorConfig, ActorContext, AssetActor
    from dispatch.board import TelemetryBoard
    from dispatch.clock import RealClock
    from dispatch.control.budget import BreakerConfig, BucketConfig, CircuitBreaker, RetryBudgets
    from dispatch.device import DeviceLimits
    from dispatch.kpi import KpiRecorder
    from dispatch.observability import DispatchMetrics

    async def scenario() -> None:
        async with device_and_adapter("chp") as (device, adapter):
            physics = device.model.physics
            physics.power_mw = physics.target_mw = 0.03
            device.model.preset(0.03)
            clock = RealClock()
            kpi = KpiRecorder(tolerance_mw=0.001)
            context = ActorContext(
                "pool",
                clock,
                TelemetryBoard(),
                RetryBudgets(BucketConfig(10, 10), BucketConfig(10, 10)),
                DispatchMetrics(CollectorRegistry()),
                kpi,
            )
            actor = AssetActor(
                adapter,
                DeviceLimits(0.05, 0.0, 0.05, 3.0),
                context,
                ActorConfig(),
                CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
            )
            actor._identified = actor._contacted = True
            await actor.turn()  # reads 30 kW
            actor.command(0.02, "d1", "afrr")
            await actor.turn()
            assert device.writes == []
            assert actor.in_pool
            assert kpi.blamed == []
            await asyncio.sleep(0.5)
            await actor.turn()  # still at 30 kW: what it was last told
            assert actor.in_pool
            actor.command(0.035, "d2", "afrr")
            await actor.turn()
            assert len(device.writes) == 1
            assert actor.in_pool
            assert kpi.blamed == []

    asyncio.run(scenario())
