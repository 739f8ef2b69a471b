"""In-process devices on a lossy link, for the dispatcher's tests: a share of their reads
(`LossyReads`) or of their write answers (`LossyAnswers`) never comes back, and the
dispatcher's request times out after the 0.5 s deadline; or every request is as slow as
over a busy Modbus link (`ModbusPaced`)."""

from __future__ import annotations

import random
from dataclasses import replace

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


class ModbusPaced(_LossyLink):
    """Nothing is lost, but every request takes as long as over a busy Modbus link: the
    device answers `wait_s` (drawn each time in [low, high]) after the request, and the
    answer takes as long again to come back (reads and writes alike); a battery reports
    its state of charge in 0.01 % steps, as the simulator's ChaState register does.
    The in-process fleet then shows the Modbus benchmark's timing on a virtual clock,
    the same in every run of a seed."""

    def __init__(
        self,
        device: DeviceAdapter,
        clock: DispatchClock,
        rng: random.Random,
        wait_s: tuple[float, float] = (0.02, 0.2),
    ) -> None:
        super().__init__(device, clock, 0.0, rng)
        self.wait_s = wait_s

    async def _wait(self) -> None:
        await self.clock.sleep_until(self.clock.now() + self.rng.uniform(*self.wait_s))

    async def read(self) -> Telemetry:
        await self._wait()
        reading = await self.device.read()
        await self._wait()
        if reading.soc is None:
            return reading
        return replace(reading, soc=round(reading.soc / SOC_STEP) * SOC_STEP)

    async def write_setpoint(self, setpoint_mw: float) -> WriteAck:
        await self._wait()
        ack = await self.device.write_setpoint(setpoint_mw)
        await self._wait()
        return ack


SOC_STEP = 1e-4
"""The state of charge's step [0..1] (`ModbusPaced`): 0.01 %."""
