"""Helpers for the protocol tests: a simulated device plus an adapter on real loopback sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from dispatch.devices.modbus_sim import SimulatedDevice, make_model
from dispatch.protocols.modbus import ModbusAdapter


class ManualClock:
    """An injectable clock [s] the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@asynccontextmanager
async def device_and_adapter(
    kind: str,
    clock: Callable[[], float] | None = None,
    firmware: str | None = None,
    **adapter_options: float,
) -> AsyncIterator[tuple[SimulatedDevice, ModbusAdapter]]:
    """A started simulator of `kind` and an identified adapter talking to it."""
    model = make_model(kind, 1, firmware)
    device = SimulatedDevice(f"test-{kind}", model, clock=clock) if clock else None
    device = device or SimulatedDevice(f"test-{kind}", model)
    port = await device.start()
    adapter = ModbusAdapter(device.asset_id, "127.0.0.1", port, **adapter_options)
    try:
        await adapter.identify()
        yield device, adapter
    finally:
        await adapter.close()
        await device.stop()


async def wait_for_power(
    adapter: ModbusAdapter, target_mw: float, within_s: float, tolerance: float = 0.02
) -> float:
    """Poll telemetry every 50 ms until power is within tolerance * |target|; seconds taken.

    Raises AssertionError with the last reading if it does not get there in time.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    band = max(abs(target_mw) * tolerance, 1e-6)
    while True:
        telemetry = await adapter.read()
        if abs(telemetry.power_mw - target_mw) <= band:
            return loop.time() - started
        if loop.time() - started > within_s:
            raise AssertionError(f"power {telemetry.power_mw} MW not at {target_mw} MW")
        await asyncio.sleep(0.05)
