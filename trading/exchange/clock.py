"""Where an exchange reads the time: the wall clock in service, a hand-driven clock in tests.

Every clock answers `now()` with a timezone-aware UTC `datetime`. A `ManualClock` only moves
when told to, and only forwards, so a test can walk a whole delivery day through its gate
closures in milliseconds.
"""

from __future__ import annotations

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
