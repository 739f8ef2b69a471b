"""A setpoint write whose answer came too late, landing on the device afterwards.

On a busy host the caller's deadline cancels a write the device has not answered yet; the
request is already on the wire and lands later. What the device then holds is our own
write, not a fault: the adapter must adopt it, and the actor must not take the device out.
A value nobody wrote is still a device fault. Real simulator, real loopback sockets; the
device's writes wait behind a gate the test opens.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from dispatch.actor import ActorConfig, ActorContext, AssetActor
from dispatch.board import TelemetryBoard
from dispatch.clock import RealClock
from dispatch.control.asset_state import AssetState
from dispatch.control.budget import BreakerConfig, BucketConfig, CircuitBreaker, RetryBudgets
from dispatch.device import DeviceFaultError, DeviceLimits
from dispatch.devices.modbus_sim import WRITE_CODES, SimulatedDevice, make_model
from dispatch.kpi import KpiRecorder
from dispatch.observability import DispatchMetrics
from dispatch.protocols.modbus import ModbusAdapter


class SlowWrites:
    """Holds the device's handling of every write until `gate` is set (reads go on)."""

    def __init__(self, device: SimulatedDevice) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        handle = device._action

        async def action(function_code: int, *args: Any) -> Any:
            if function_code in WRITE_CODES:
                await self.gate.wait()
            return await handle(function_code, *args)

        device._action = action  # type: ignore[method-assign]


@asynccontextmanager
async def slow_chp() -> AsyncIterator[tuple[SimulatedDevice, ModbusAdapter, SlowWrites]]:
    """A running CHP at 30 kW whose writes can be held, and an identified adapter."""
    device = SimulatedDevice("chp-late", make_model("chp", 1))
    physics = device.model.physics
    physics.power_mw = physics.target_mw = 0.03
    device.model.preset(0.03)
    slow = SlowWrites(device)
    port = await device.start()
    adapter = ModbusAdapter(device.asset_id, "127.0.0.1", port, timeout_s=5.0)
    try:
        await adapter.identify()
        yield device, adapter, slow
    finally:
        slow.gate.set()
        await adapter.close()
        await device.stop()


async def _until(condition: Any, within_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not condition():
        assert loop.time() < deadline, "the held write never landed"
        await asyncio.sleep(0.02)


def test_a_write_landing_after_its_deadline_is_adopted_not_a_device_fault() -> None:
    async def scenario() -> None:
        async with slow_chp() as (device, adapter, slow):
            ack = await adapter.write_setpoint(0.04)
            assert ack.read_back_mw == pytest.approx(0.04)
            slow.gate.clear()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(adapter.write_setpoint(0.045), 0.3)
            slow.gate.set()
            await _until(lambda: device.model.setpoint_mw() == pytest.approx(0.045))
            reading = await adapter.read()  # before: "written as [0x0028], reads back ..."
            assert reading.setpoint_mw == pytest.approx(0.045)
            assert adapter.errors["device_fault"] == 0
            again = await adapter.read()  # adopted: what it holds from now on
            assert again.setpoint_mw == pytest.approx(0.045)
            device.model.preset(0.035)  # a value nobody sent is still a fault
            with pytest.raises(DeviceFaultError, match="written as"):
                await adapter.read()

    asyncio.run(scenario())


def test_an_actor_keeps_a_chp_whose_late_write_landed_in_the_pool() -> None:
    async def scenario() -> None:
        async with slow_chp() as (device, adapter, slow):
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
                DeviceLimits(0.05, 0.0, 0.05, 3.0, min_stable_mw=0.025),
                context,
                ActorConfig(io_timeout_s=0.3),
                CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
            )
            actor._identified = actor._contacted = True
            await actor.turn()  # reads 30 kW
            actor.command(0.04, "d1", "afrr")
            await actor.turn()  # written, acknowledged
            slow.gate.clear()
            actor.command(0.045, "d2", "afrr")
            await actor.turn()  # unanswered within 0.3 s
            assert len(device.writes) == 1
            slow.gate.set()
            await _until(lambda: len(device.writes) == 2)
            for _ in range(4):  # the device now runs at the 45 kW that landed late
                await asyncio.sleep(0.5)
                await actor.turn()
                assert kpi.blamed == [], kpi.blamed
                assert actor.state.state is not AssetState.DEGRADED
            assert actor.in_pool
            assert adapter.errors["device_fault"] == 0

    asyncio.run(scenario())
