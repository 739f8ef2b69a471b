"""Timezone-aware UTC timestamps in every database.

`UTCDateTime` is the one column type for instants. PostgreSQL keeps them as
``timestamp with time zone``. SQLite has no such type: there the value is stored as UTC
wall-clock text, fixed width (``2026-03-28 11:00:00.000000``), so that text order is time
order, and it comes back with ``tzinfo=UTC``. A naive datetime is refused on the way in,
never guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone reached the store."""


_clock: Callable[[], datetime] | None = None


def use_clock(now: Callable[[], datetime] | None) -> None:
    """Make `utc_now` read `now` in this process (a server's one clock); None: the system's.

    `vpp serve --clock-start` runs on a simulated clock: every time the store takes itself
    (a withdrawal, a clearing's record, an audit entry) must then be that clock's, or a
    bid's history mixes simulated and wall-clock times.
    """
    global _clock
    _clock = now


def utc_now() -> datetime:
    """Now, timezone-aware in UTC, to the microsecond, by the process's clock (`use_clock`)."""
    if _clock is None:
        return datetime.now(UTC)
    return as_utc(_clock(), "clock")


def as_utc(moment: datetime, field: str = "datetime") -> datetime:
    """`moment` converted to UTC; `NaiveDatetimeError` names `field` if it has no zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{field}={moment.isoformat()} has no time zone; the store takes aware datetimes only"
        )
    return moment.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Aware -> UTC (naive UTC wall clock on SQLite, which has no zones); naive -> error."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        utc = as_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Stored value -> aware datetime in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
