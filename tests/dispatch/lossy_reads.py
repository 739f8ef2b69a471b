"""A device whose reads are sometimes unanswered, for the dispatcher's tests of lossy links."""

from __future__ import annotations

import random

from dispatch.clock import DispatchClock
from dispatch.device import DeviceAdapter, DeviceTimeoutError, Identity, Telemetry, WriteAck


class LossyReads:
    """An in-process device a share (`loss`) of whose reads get no answer (after the 0.5 s
    deadline); its writes land and are answered."""

    def __init__(
        self, device: DeviceAdapter, clock: DispatchClock, loss: float, rng: random.Random
    ) -> None:
        self.device = device
        self.asset_id = device.asset_id
        self.protocol = device.protocol
        self.clock = clock
        self.loss = loss
        self.rng = rng
        self.lost = 0

    async def identify(self) -> Identity:
        return await self.device.identify()

    async def read(self) -> Telemetry:
        if self.rng.random() < self.loss:
            self.lost += 1
            await self.clock.sleep_until(self.clock.now() + 0.5)
            raise DeviceTimeoutError(self.asset_id, "the read got no answer")
        return await self.device.read()

    async def write_setpoint(self, setpoint_mw: float) -> WriteAck:
        return await self.device.write_setpoint(setpoint_mw)

    async def close(self) -> None:
        await self.device.close()
