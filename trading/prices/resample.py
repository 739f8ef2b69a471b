"""Explicit resampling of price series between 60- and 15-minute market time units.

Both functions take and return a pandas Series of prices (EUR/MWh) indexed by the
**start** of each period as tz-aware UTC timestamps; a naive index is refused, never
guessed. Working in UTC makes DST days come out right by construction: an hourly 23-hour
delivery day becomes 92 quarter hours, a 25-hour day 100, and back.

* `to_quarter_hours` (60 -> 15 min): every quarter hour takes its hour's price. This is
  the SDAC convention for comparing the hourly day-ahead prices before the switch to
  15-minute products (first delivery day 2025-10-01) with the 15-minute ones: an hourly
  product delivers the same power in each of its four quarter hours at one price.
* `to_hours` (15 -> 60 min): the arithmetic mean of the hour's four quarter-hour prices.
  For a flat volume over the hour the energy-weighted mean equals this plain mean. An
  hour with fewer than four quarter hours is refused and named (no partial means), and a
  missing (NaN) quarter hour gives a missing hour.

Not the same as keeping the first quarter hour of each hour, which some public "hourly"
series after October 2025 do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from markets.calendar import local_label

MESSAGE_TIMEZONE = "Europe/Berlin"
"""Market-local clock used only to describe instants in error messages."""

QUARTERS_PER_HOUR = 4
_HOW = ("mean",)


def _when(moment: pd.Timestamp) -> str:
    utc = moment.tz_convert("UTC")
    local = local_label(utc.to_pydatetime(), MESSAGE_TIMEZONE)
    return f"{utc.strftime('%Y-%m-%dT%H:%M:%SZ')} ({local} local)"


def _utc_index(series: pd.Series, what: str) -> pd.DatetimeIndex:
    """The series' index as sorted, unique UTC instants; anything else is refused."""
    if not isinstance(series, pd.Series):
        raise TypeError(f"{what} takes a pandas Series, not {type(series).__name__}")
    index = series.index
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(
            f"{what} needs a DatetimeIndex of period starts, not {type(index).__name__}"
        )
    if index.tz is None:
        raise ValueError(
            f"{what} refuses a naive index (first value {index[0] if len(index) else 'none'}): "
            "localise it to UTC first; a price series is indexed by tz-aware UTC period starts"
        )
    index = index.tz_convert("UTC")
    duplicated = index.duplicated()
    if duplicated.any():
        raise ValueError(f"{what}: period {_when(index[duplicated][0])} appears twice")
    if not index.is_monotonic_increasing:
        raise ValueError(f"{what}: the index is not sorted by time; sort it first")
    return index


def to_quarter_hours(series: pd.Series) -> pd.Series:
    """Hourly prices -> 15-minute prices: each quarter hour takes its hour's price.

    The SDAC convention for comparing pre-2025 hourly day-ahead prices with 15-minute
    products. Works on the UTC timeline, so a 23-hour delivery day gives 92 quarter hours
    and a 25-hour one 100. NaN (missing) hours give four NaN quarter hours.

    Args:
        series: prices indexed by hour starts, tz-aware (any zone; returned in UTC).

    Returns:
        A Series with the same name, indexed by quarter-hour starts (UTC, tz-aware, index
        name kept), four per input hour.

    Raises:
        ValueError: a naive, unsorted or duplicated index, or a timestamp not on a full
            hour (the first one is named, in UTC and local time).
    """
    index = _utc_index(series, "to_quarter_hours")
    off_hour = (index.minute != 0) | (index.second != 0) | (index.microsecond != 0)
    off_hour |= index.nanosecond != 0
    if off_hour.any():
        raise ValueError(
            f"to_quarter_hours takes hourly prices, but {_when(index[off_hour][0])} is not "
            "the start of a full hour"
        )
    offsets = pd.to_timedelta(np.arange(QUARTERS_PER_HOUR) * 15, unit="min")
    quarters = pd.DatetimeIndex(index.repeat(QUARTERS_PER_HOUR) + np.tile(offsets, len(index)))
    quarters.name = series.index.name
    values = np.repeat(series.to_numpy(), QUARTERS_PER_HOUR)
    return pd.Series(values, index=quarters, name=series.name, dtype=series.dtype)


def to_hours(series: pd.Series, how: str = "mean") -> pd.Series:
    """15-minute prices -> hourly prices: the mean of each hour's four quarter hours.

    For a flat volume over the hour the energy-weighted mean is the same as this mean.
    Every hour present must have all four quarter hours; a missing (NaN) price in one
    makes the hour NaN (missing stays missing). UTC timeline: 92 quarter hours of a
    spring-forward day give its 23 hours, 100 of a fall-back day its 25.

    Args:
        series: prices indexed by quarter-hour starts, tz-aware (any zone).
        how: ``"mean"`` (the only aggregation offered; named so the choice is explicit).

    Returns:
        A Series with the same name, indexed by hour starts (UTC, tz-aware, index name
        kept).

    Raises:
        ValueError: an unknown `how`; a naive, unsorted or duplicated index; a timestamp
            off the 15-minute grid; an hour with fewer than four quarter hours (the first
            one is named, with the quarter hours it lacks).
    """
    if how not in _HOW:
        raise ValueError(f"how={how!r} is not supported; use one of {', '.join(_HOW)}")
    index = _utc_index(series, "to_hours")
    off_grid = (index.minute % 15 != 0) | (index.second != 0) | (index.microsecond != 0)
    off_grid |= index.nanosecond != 0
    if off_grid.any():
        raise ValueError(
            f"to_hours takes 15-minute prices, but {_when(index[off_grid][0])} is not on "
            "the quarter-hour grid"
        )
    hours = index.floor("h")
    counts = pd.Series(1, index=hours).groupby(level=0).size()
    partial = counts[counts != QUARTERS_PER_HOUR]
    if not partial.empty:
        hour = partial.index[0]
        present = set(index[hours == hour])
        lacking = [
            (hour + pd.Timedelta(minutes=15 * q)).strftime("%H:%MZ")
            for q in range(QUARTERS_PER_HOUR)
            if hour + pd.Timedelta(minutes=15 * q) not in present
        ]
        raise ValueError(
            f"to_hours refuses the hour starting {_when(hour)}: it has {partial.iloc[0]} of "
            f"its {QUARTERS_PER_HOUR} quarter hours (lacking {', '.join(lacking)}); a partial "
            f"hour has no hourly price"
        )
    values = series.to_numpy(dtype="float64").reshape(-1, QUARTERS_PER_HOUR).mean(axis=1)
    result_index = pd.DatetimeIndex(hours[::QUARTERS_PER_HOUR], name=series.index.name)
    return pd.Series(values, index=result_index, name=series.name)
