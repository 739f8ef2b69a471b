"""Where an exchange reads the time: the wall clock in service, a hand-driven clock in tests.

Every clock answers `now()` with a timezone-aware UTC `datetime`. A `ManualClock` only moves
when told to, and only forwards, so a test can walk a whole delivery day through its gate
closures in milliseconds. A `ScaledClock` runs by itself from a chosen instant at a chosen
speed: a server on it (``vpp serve --clock-start ... --clock-speed ...``) lives through a
trading day in minutes, with real requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from markets.calendar import iso_z, to_utc


@runtime_checkable
class Clock(Protocol):
    """A source of the current instant."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until a test moves it forward.

    `start` must be timezone-aware (any zone; it is kept in UTC). Moving backwards is
    refused: results already cleared at a gate closure would otherwise contradict the clock.
    """

    def __init__(self, start: datetime) -> None:
        self._now = to_utc(start)

    def now(self) -> datetime:
        """The instant the clock was last set to, timezone-aware, in UTC."""
        return self._now

    def advance(self, step: timedelta) -> datetime:
        """Move forward by `step` (>= 0) and return the new instant."""
        if step < timedelta(0):
            raise ValueError(f"step={step} is negative; a ManualClock only moves forward")
        self._now += step
        return self._now

    def advance_to(self, moment: datetime) -> datetime:
        """Move forward to `moment` (timezone-aware, not before now) and return it."""
        target = to_utc(moment)
        if target < self._now:
            raise ValueError(
                f"moment={iso_z(target)} is before now ({iso_z(self._now)}); "
                "a ManualClock only moves forward"
            )
        self._now = target
        return self._now


class ScaledClock:
    """Time that starts at `start` and runs `speed` times as fast as the machine's.

    `start` must be timezone-aware; `speed` > 0 (1: real time from `start`; 60: an hour
    a minute). `monotonic` is the real clock it follows [s] (injectable for tests); it
    never runs backwards, so neither does this clock.
    """

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed={speed} must be > 0")
        self._start = to_utc(start)
        self._speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()

    def now(self) -> datetime:
        """`start` plus the real time elapsed since construction, times `speed` [UTC]."""
        elapsed = (self._monotonic() - self._origin) * self._speed
        return self._start + timedelta(seconds=elapsed)
