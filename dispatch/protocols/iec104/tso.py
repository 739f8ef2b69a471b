"""A simulated TSO: a controlling station (c104 client) that sends aFRR setpoint steps to
a pool's station and records what it reads back.

Steps (`steps.parse_steps`): each setpoint is sent from its time on (in the dispatcher's
clock, from the TSO's start) and repeated every `repeat_s` (a real aFRR setpoint is re-sent
every 1-4 s); a drop closes the link (a TSO disconnect).

What it reads back is decoded from the raw frames by `frames.decode` (our own decoder):
each measured value with its time tag, and each setpoint's confirmation (ACT_CON, positive
or negative) as seen on the wire rather than c104's boolean.
"""

from __future__ import annotations

import asyncio
import math
import threading
from dataclasses import dataclass, field

from dispatch.clock import DispatchClock
from dispatch.protocols.iec104.frames import (
    C_SE_NC_1,
    COT_ACTIVATION_CON,
    Frame,
    FrameError,
    InfoObject,
    decode,
)
from dispatch.protocols.iec104.points import PointsMap
from dispatch.protocols.iec104.steps import Step
from dispatch.protocols.iec104.transport import TsoClient


@dataclass(frozen=True)
class Reading:
    """A value read back: the dispatcher clock's time at receipt [s] and the object."""

    received_t: float
    value: InfoObject


@dataclass
class TsoRecord:
    """What the TSO sent and read back."""

    sent: list[tuple[float, float, bool]] = field(default_factory=list)
    """(time [s] it was sent, setpoint [MW], c104's boolean) per command."""
    confirmations: list[tuple[float, float, bool]] = field(default_factory=list)
    """(time [s], setpoint [MW], negative) per ACT_CON seen on the wire."""
    readings: dict[int, list[Reading]] = field(default_factory=dict)
    """IOA -> values read back, in order of receipt."""
    frame_errors: list[str] = field(default_factory=list)


class SimulatedTso:
    """Sends `steps` to the station at `host:port` and records the link (module doc)."""

    def __init__(
        self,
        clock: DispatchClock,
        steps: list[Step],
        *,
        host: str = "127.0.0.1",
        port: int = 2404,
        points: PointsMap | None = None,
        repeat_s: float = 4.0,
    ) -> None:
        if not (math.isfinite(repeat_s) and repeat_s > 0):
            raise ValueError(f"repeat_s={repeat_s} must be > 0 s")
        self.clock, self.steps, self.repeat_s = clock, steps, repeat_s
        self.points = points if points is not None else PointsMap()
        self.record = TsoRecord()
        self._lock = threading.Lock()
        self._client = TsoClient(host, port, self.points, self._on_frame)

    def _on_frame(self, apdu: bytes) -> None:
        now = self.clock.now()
        try:
            frame: Frame = decode(apdu)
        except FrameError as exc:
            with self._lock:
                self.record.frame_errors.append(str(exc))
            return
        with self._lock:
            if frame.type_id == C_SE_NC_1 and frame.cot == COT_ACTIVATION_CON:
                for obj in frame.objects:
                    self.record.confirmations.append((now, float(obj.value), frame.negative))
                return
            for obj in frame.objects:
                self.record.readings.setdefault(obj.ioa, []).append(Reading(now, obj))

    def readings(self, ioa: int) -> list[Reading]:
        """The values of `ioa` read back so far (a copy)."""
        with self._lock:
            return list(self.record.readings.get(ioa, []))

    async def run(self, origin_s: float | None = None) -> TsoRecord:
        """Connect, play the steps on the clock, then close the link; the record.
        `origin_s` [clock s]: the instant the steps' times count from (default: once
        connected); a step already due when the link comes up is sent at once."""
        await asyncio.to_thread(self._client.connect)
        start = self.clock.now() if origin_s is None else origin_s
        try:
            for k, step in enumerate(self.steps):
                await self.clock.sleep_until(start + step.at_s)
                if step.setpoint_mw is None:
                    break
                end = self.steps[k + 1].at_s if k + 1 < len(self.steps) else step.at_s
                due = start + step.at_s
                while True:
                    sent_t = self.clock.now()
                    ok = await asyncio.to_thread(self._client.send_setpoint, step.setpoint_mw)
                    self.record.sent.append((sent_t, step.setpoint_mw, ok))
                    due += self.repeat_s
                    if due >= start + end:
                        break
                    await self.clock.sleep_until(due)
        finally:
            await asyncio.to_thread(self._client.disconnect)
        return self.record
