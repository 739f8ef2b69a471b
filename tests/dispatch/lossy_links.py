"""In-process devices on a lossy link, for the dispatcher's tests: a share of their reads
(`LossyReads`) or of their write answers (`LossyAnswers`) never comes back, and the
dispatcher's request times out after the 0.5 s deadline."""

from __future__ import annotations

import random

from dispatch.clock import DispatchClock
from dispatch.device import DeviceAdapter, DeviceTimeoutError, Identity, Telemetry, WriteAck

DEADLINE_S = 0.5
"""How long a request whose answer is lost waits before it times out [s]."""


class _LossyLink:
    """`device` behind a link that loses a share (`loss`) of some answers; `lost` counts
    them."""

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

    async def _lose(self, why: str) -> None:
        """Wait out the deadline, then time out."""
        self.lost += 1
        await self.clock.sleep_until(self.clock.now() + DEADLINE_S)
        raise DeviceTimeoutError(self.asset_id, why)

    async def identify(self) -> Identity:
        return await self.device.identify()

    async def read(self) -> Telemetry:
        return await self.device.read()

    async def write_setpoint(self, setpoint_mw: float) -> WriteAck:
        return await self.device.write_setpoint(setpoint_mw)

    async def close(self) -> None:
        await self.device.close()


class LossyReads(_LossyLink):
    """A share of the reads gets no answer; writes land and are answered."""

    async def read(self) -> Telemetry:
        if self.rng.random() < self.loss:
            await self._lose("the read got no answer")
        return await self.device.read()


class LossyAnswers(_LossyLink):
    """Every write lands, but a share of their answers is lost: the device took the
    setpoint, the dispatcher never heard."""

    async def write_setpoint(self, setpoint_mw: float) -> WriteAck:
        ack = await self.device.write_setpoint(setpoint_mw)
        if self.rng.random() < self.loss:
            await self._lose("the answer was lost")
        return ack
