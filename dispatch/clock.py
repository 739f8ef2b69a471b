"""The dispatcher's time: monotonic seconds for control, UTC for schedules and logs.

`RealClock` follows the machine. `VirtualClock` only moves when every task is waiting on it:
`sleep_until` lets the event loop run everything that is ready, then jumps to the earliest
wake-up, so a simulated hour of 1-second ticks runs as fast as the work allows and gives
the same result every time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class DispatchClock(Protocol):
    """Where the dispatcher reads and waits for time."""

    def now(self) -> float:
        """Monotonic seconds (only differences mean anything)."""
        ...

    def utc(self) -> datetime:
        """The UTC instant that `now()` corresponds to."""
        ...

    async def sleep_until(self, t: float) -> None:
        """Return once `now() >= t`."""
        ...


class RealClock:
    """The machine's monotonic clock, anchored to UTC when made."""

    def __init__(self) -> None:
        self._origin = time.monotonic()
        self._utc_origin = datetime.now(UTC)

    def now(self) -> float:
        """Seconds since this clock was made."""
        return time.monotonic() - self._origin

    def utc(self) -> datetime:
        """Now, in UTC (the anchor plus monotonic time: no jumps when NTP steps the clock)."""
        return self._utc_origin + timedelta(seconds=self.now())

    async def sleep_until(self, t: float) -> None:
        """Sleep until `now() >= t` (at once if already past)."""
        delay = t - self.now()
        if delay > 0:
            await asyncio.sleep(delay)


class VirtualClock:
    """Simulated time on one event loop: it advances only when nothing else can run.

    `start` is the UTC instant of t = 0. `sleep_until` parks the caller; a scheduler task
    (started by the first sleeper) lets ready tasks run (a few event-loop passes), then
    wakes the earliest sleepers and sets `now()` to their time. Anything that blocks on
    something other than this clock (a socket, a queue fed by such a task) must finish
    within those passes, so use it with in-process devices, not with real sockets.
    """

    def __init__(self, start: datetime, *, settle_passes: int = 10) -> None:
        if start.utcoffset() is None:
            raise ValueError(f"start={start.isoformat()} must be timezone-aware")
        self._start = start.astimezone(UTC)
        self._now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._settle_passes = settle_passes
        self._runner: asyncio.Task[None] | None = None

    def now(self) -> float:
        """Simulated seconds since `start`."""
        return self._now

    def utc(self) -> datetime:
        """`start` plus the simulated seconds."""
        return self._start + timedelta(seconds=self._now)

    async def sleep_until(self, t: float) -> None:
        """Park until simulated time reaches `t` (yields once if already there)."""
        if t <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (t, next(self._order), future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._advance())
        await future

    async def _advance(self) -> None:
        while self._sleepers:
            for _ in range(self._settle_passes):
                await asyncio.sleep(0)
            if not self._sleepers:
                return
            t, _, _ = self._sleepers[0]
            self._now = max(self._now, t)
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, _, future = heapq.heappop(self._sleepers)
                if not future.done():
                    future.set_result(None)


class ScaledClock:
    """Real time run `speed` times as fast (`speed` simulated seconds per real second)."""

    def __init__(self, start: datetime, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"speed={speed} must be > 0")
        if start.utcoffset() is None:
            raise ValueError(f"start={start.isoformat()} must be timezone-aware")
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._origin = time.monotonic()

    def now(self) -> float:
        """Simulated seconds since the clock was made."""
        return (time.monotonic() - self._origin) * self._speed

    def utc(self) -> datetime:
        """`start` plus the simulated seconds."""
        return self._start + timedelta(seconds=self.now())

    async def sleep_until(self, t: float) -> None:
        """Sleep the real time it takes simulated time to reach `t`."""
        delay = (t - self.now()) / self._speed
        if delay > 0:
            await asyncio.sleep(delay)
