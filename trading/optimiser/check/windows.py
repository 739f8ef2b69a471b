"""Daily windows (availability, energy requirements, heat demand) on one delivery day.

A window is written in the site's local wall-clock time and belongs to the weekday on
which it starts; an end at or before the start is on the next day. An occurrence here is
one such interval in UTC, from its local start to its local end, so on a night with a
clock change it lasts an hour more or less than `duration_h` says. A quarter hour belongs
to an occurrence when its start lies in [start, end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from markets.calendar import local_to_utc
from regulatory.windows import DailyWindow

QUARTER_HOUR_H = 0.25
"""DT: length of a quarter hour [h]."""


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a window, and the quarter hours of the day it covers."""

    window: DailyWindow
    start: datetime
    end: datetime
    mask: np.ndarray
    """True on the day's quarter hours whose start lies in [start, end)."""
    day_start: datetime
    day_end: datetime

    @property
    def hours(self) -> float:
        """Its length [h] (UTC, so a clock change counts)."""
        return (self.end - self.start).total_seconds() / 3600

    @property
    def inside_hours(self) -> float:
        """Its quarter hours inside the day [h]."""
        return float(self.mask.sum()) * QUARTER_HOUR_H

    @property
    def starts_before(self) -> bool:
        """Whether it began before the day: in progress when the day starts."""
        return self.start < self.day_start

    @property
    def ends_after(self) -> bool:
        """Whether it ends after the day: still running when the day ends."""
        return self.end > self.day_end

    @property
    def hours_after(self) -> float:
        """Its part after the end of the day [h]."""
        return max(0.0, (self.end - self.day_end).total_seconds() / 3600)

    @property
    def share(self) -> float:
        """The fraction of its length its quarter hours inside the day make (1: wholly)."""
        if not (self.starts_before or self.ends_after):
            return 1.0
        return self.inside_hours / self.hours

    def indices(self) -> np.ndarray:
        """Indices of its quarter hours inside the day."""
        return np.flatnonzero(self.mask)


def occurrences(
    window: DailyWindow, day: date, quarter_hours: pd.DatetimeIndex, timezone: str
) -> list[Occurrence]:
    """The occurrences of `window` that cover at least one quarter hour of delivery day `day`.

    `quarter_hours` are the day's UTC quarter-hour starts; `timezone` is the site's. Only
    occurrences starting on the day before or on the day itself can reach it (a window
    lasts at most 24 h).
    """
    day_start = quarter_hours[0].to_pydatetime()
    day_end = (quarter_hours[-1] + pd.Timedelta(minutes=15)).to_pydatetime()
    found = []
    for start_day in (day - timedelta(days=1), day):
        if start_day.isoweekday() not in window.weekdays:
            continue
        start = local_to_utc(start_day, window.start_local, timezone)
        end_day = start_day if window.end_local > window.start_local else start_day + timedelta(1)
        end = local_to_utc(end_day, window.end_local, timezone)
        mask = np.asarray((quarter_hours >= start) & (quarter_hours < end), dtype=bool)
        if mask.any():
            found.append(Occurrence(window, start, end, mask, day_start, day_end))
    return found


def window_mask(
    windows: tuple[DailyWindow, ...], day: date, quarter_hours: pd.DatetimeIndex, timezone: str
) -> np.ndarray:
    """True on the quarter hours inside any occurrence of any of `windows`."""
    mask = np.zeros(len(quarter_hours), dtype=bool)
    for window in windows:
        for occurrence in occurrences(window, day, quarter_hours, timezone):
            mask |= occurrence.mask
    return mask


def availability(
    windows: tuple[DailyWindow, ...], day: date, quarter_hours: pd.DatetimeIndex, timezone: str
) -> np.ndarray:
    """avail[t]: 1.0 inside an availability window, else 0.0; 1.0 everywhere without any."""
    if not windows:
        return np.ones(len(quarter_hours))
    return window_mask(windows, day, quarter_hours, timezone).astype(float)
