"""A simulated TSO: a controlling station (c104 client) that sends aFRR setpoint steps to
a pool's station and records what it reads back.

Steps (`steps.parse_steps`): each setpoint is sent from its time on (in the dispatcher's
clock, from the TSO's start) and repeated every `repeat_s` (a real aFRR setpoint is re-sent
every 1-4 s); a drop closes the link (a TSO disconnect). What is sent for a step is its
setpoint, or what `setpoint_of` makes of the step at the moment it is sent (a share of the
band the station reports, for a pattern: `band_share`).

What it reads back is decoded from the raw frames by `frames.decode` (our own decoder):
each measured value with its time tag, and each setpoint's confirmation (ACT_CON, positive
or negative) as seen on the wire rather than c104's boolean.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
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

QUALITY_INVALID = 0x80
"""The IV bit of a measured value's quality descriptor: no asset answered."""


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
        setpoint_of: Callable[[Step], float] | None = None,
    ) -> None:
        if not (math.isfinite(repeat_s) and repeat_s > 0):
            raise ValueError(f"repeat_s={repeat_s} must be > 0 s")
        self.clock, self.steps, self.repeat_s = clock, steps, repeat_s
        self.setpoint_of = setpoint_of
        """What to send for a step at the moment it is sent [MW, + up] (None: the step's
        own `setpoint_mw`)."""
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

    def latest(self, ioa: int) -> float | None:
        """The last good value of `ioa` read back (invalid ones skipped); None if none yet."""
        with self._lock:
            found = self.record.readings.get(ioa, [])
            for reading in reversed(found):
                if not reading.value.quality & QUALITY_INVALID:
                    return float(reading.value.value)
        return None

    def band_share(self, step: Step) -> float:
        """A step whose `setpoint_mw` is a share of the band [-1..1, + up] as MW: the share
        of the band up (or down, for a negative share) the station reported last; 0 MW
        while it has reported no good band."""
        share = step.setpoint_mw or 0.0
        band = self.latest(self.points.band_up if share > 0 else self.points.band_down)
        return 0.0 if band is None else round(share * band, 3)

    async def run(self, origin_s: float | None = None, band_wait_s: float = 0.0) -> TsoRecord:
        """Connect, play the steps on the clock, then close the link; the record.
        `origin_s` [clock s]: the instant the steps' times count from (default: once
        connected); a step already due when the link comes up is sent at once.
        `band_wait_s` [real s]: after connecting, wait up to this long for the station's
        first good band reading (its answer to the interrogation) before the first step,
        so that steps sent as shares of the band (`band_share`) do not start at 0 MW."""
        try:
            await asyncio.to_thread(self._client.connect)
        except BaseException:
            # c104's client threads outlive a failed connect unless stopped: left running,
            # they crash the interpreter at exit
            await asyncio.to_thread(self._client.disconnect)
            raise
        start = self.clock.now() if origin_s is None else origin_s
        try:
            waited_until = time.monotonic() + band_wait_s
            while self.latest(self.points.band_up) is None and time.monotonic() < waited_until:
                await asyncio.sleep(0.02)
            for k, step in enumerate(self.steps):
                await self.clock.sleep_until(start + step.at_s)
                if step.setpoint_mw is None:
                    break
                end = self.steps[k + 1].at_s if k + 1 < len(self.steps) else step.at_s
                due = start + step.at_s
                while True:
                    sent_t = self.clock.now()
                    mw = step.setpoint_mw if self.setpoint_of is None else self.setpoint_of(step)
                    ok = await asyncio.to_thread(self._client.send_setpoint, mw)
                    self.record.sent.append((sent_t, mw, ok))
                    due += self.repeat_s
                    if due >= start + end:
                        break
                    await self.clock.sleep_until(due)
        finally:
            await asyncio.to_thread(self._client.disconnect)
        return self.record
