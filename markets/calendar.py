"""Delivery days in a market's own time zone, turned into UTC grids of market time units.

A delivery day is a calendar day in the market's time zone (SDAC defines every contract per
CET delivery day). It starts and ends at local midnight, so it lasts 23, 24 or 25 hours: a
DST day has 92 or 100 quarter hours, never 96. Everything returned here is a timezone-aware
UTC `datetime`; market-local time appears only in `local_label` for display.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import pandas as pd
import pendulum


@lru_cache(maxsize=64)
def zone(timezone: str) -> pendulum.Timezone:
    """The pendulum time zone named `timezone` (loaded once: loading reads tzdata)."""
    try:
        tz = pendulum.timezone(timezone)
    except Exception as exc:  # pendulum raises its own error types for unknown names
        raise ValueError(f"timezone={timezone!r} is not an IANA time zone name") from exc
    if not isinstance(tz, pendulum.Timezone):
        raise ValueError(f"timezone={timezone!r} is a fixed offset; use an IANA zone name")
    return tz


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}={moment.isoformat()} is naive; pass a timezone-aware datetime")


def to_utc(moment: datetime) -> datetime:
    """`moment` as a plain UTC `datetime`; a naive value is refused, never guessed."""
    _require_aware(moment, "moment")
    return datetime.fromtimestamp(moment.timestamp(), tz=UTC).replace(
        microsecond=moment.microsecond
    )


@lru_cache(maxsize=4096)
def local_to_utc(day: date, at: time, timezone: str) -> datetime:
    """The UTC instant of wall-clock time `at` on `day` in `timezone`.

    A wall-clock time that does not exist (inside the spring-forward gap) moves forward by
    the gap; one that occurs twice (autumn fall-back) means its first occurrence.
    """
    wall = (day.year, day.month, day.day, at.hour, at.minute, at.second)
    tz = zone(timezone)
    first = pendulum.datetime(*wall, tz=tz, fold=0)
    if (first.hour, first.minute, first.second) == (at.hour, at.minute, at.second):
        return to_utc(first)
    return to_utc(pendulum.datetime(*wall, tz=tz, fold=1))  # in the gap: after it


def day_start(day: date, timezone: str) -> datetime:
    """UTC instant at which delivery day `day` begins (local midnight)."""
    return local_to_utc(day, time(0), timezone)


def day_end(day: date, timezone: str) -> datetime:
    """UTC instant at which delivery day `day` ends (the next local midnight)."""
    return day_start(day + timedelta(days=1), timezone)


def day_hours(day: date, timezone: str) -> float:
    """Length of delivery day `day` in hours: 23, 24 or 25 around DST changes."""
    return (day_end(day, timezone) - day_start(day, timezone)).total_seconds() / 3600


def mtu_starts(
    day: date,
    timezone: str,
    mtu_minutes: int,
    *,
    window_from: time = time(0),
    window_to: time | None = None,
) -> list[datetime]:
    """UTC start of every market time unit of `day`, in order.

    `window_from`/`window_to` restrict the grid to part of the day in local time (an
    intraday auction delivering 12:00-24:00); `window_to` None means the end of the day.
    """
    if mtu_minutes <= 0 or (24 * 60) % mtu_minutes:
        raise ValueError(f"mtu_minutes={mtu_minutes} must divide a day into whole units")
    start = local_to_utc(day, window_from, timezone)
    end = day_end(day, timezone) if window_to is None else local_to_utc(day, window_to, timezone)
    step = timedelta(minutes=mtu_minutes)
    starts = []
    moment = start
    while moment < end:
        starts.append(moment)
        moment += step
    return starts


def mtu_index(day: date, timezone: str, mtu_minutes: int = 15) -> pd.DatetimeIndex:
    """The MTU starts of `day` as a UTC `DatetimeIndex` (for price series and schedules)."""
    return pd.DatetimeIndex(mtu_starts(day, timezone, mtu_minutes), name="delivery_start")


def local_boundaries(day: date, timezone: str, every_hours: int) -> list[datetime]:
    """UTC instants of local wall-clock hours 0, n, 2n, ... of `day`, plus the day's end.

    Balancing blocks (4 h from 00:00) follow local wall-clock hours, so on a DST day the
    block that contains the change lasts 3 or 5 hours. A boundary hour that does not exist
    (inside the spring-forward gap) merges with the next one rather than making an empty block.
    Hourly blocks are the day's real hours instead: 23 on the spring DST day, 25 in autumn
    (the repeated hour is a product of its own, as exchanges list hourly products), never
    one block of two hours.
    """
    if every_hours <= 0 or 24 % every_hours:
        raise ValueError(f"block length {every_hours} h must divide 24 h")
    if every_hours == 1:
        start, end = local_to_utc(day, time(0), timezone), day_end(day, timezone)
        hours = int((end - start) / timedelta(hours=1))
        return [start + timedelta(hours=h) for h in range(hours + 1)]
    bounds: list[datetime] = []
    for hour in range(0, 24, every_hours):
        moment = local_to_utc(day, time(hour), timezone)
        if not bounds or moment > bounds[-1]:  # an hour inside the spring gap adds nothing
            bounds.append(moment)
    return [*bounds, day_end(day, timezone)]


def delivery_day_of(moment: datetime, timezone: str) -> date:
    """The delivery day (local calendar day in `timezone`) that contains instant `moment`."""
    _require_aware(moment, "moment")
    return moment.astimezone(zone(timezone)).date()


def local_label(moment: datetime, timezone: str) -> str:
    """`moment` as market-local wall-clock time for people, e.g. ``2026-03-28 12:00 CET``."""
    _require_aware(moment, "moment")
    return moment.astimezone(zone(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC ending in ``Z``: ``2026-03-28T11:00:00Z``."""
    return to_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
