"""Price series cut to the days a backtest step reads, so a year's run looks up no year.

Every price look-up of a day (`PriceInputs.quarter_hourly`, the simulated exchange's
`PriceBook`) aligns a series on the day's quarter hours: forward fill with a reach of at
most 45 minutes, after converting to UTC, sorting and dropping repeated timestamps. On a
series of a whole year each of those steps costs the whole year, for each product of
each bid of each day. `PriceWindows` converts, sorts and de-duplicates every series
once, then cuts each day's window (from the day before to the day after, in UTC) out of
it by binary search: the window holds every period that can price a quarter hour of the
day, so every look-up answers exactly as on the whole series.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from trading.optimiser.inputs import Horizon, PriceInputs

FIELDS = ("day_ahead", "intraday", "afrr_capacity", "fcr_capacity")
"""The `PriceInputs` fields, each a mapping from a key to a price series."""

MARGIN = pd.Timedelta(days=1)
"""How far a window reaches beyond the day on each side: far more than the 45 minutes a
period may price forward, and than a DST day's extra hour."""


class PriceWindows:
    """`prices` prepared once (UTC, sorted, first of repeated timestamps kept); `around`
    cuts any day's window from it. A series that is not indexed by timezone-aware
    timestamps is passed through whole, so its look-ups fail as they would have."""

    def __init__(self, prices: PriceInputs) -> None:
        self._prepared: dict[str, dict[object, pd.Series]] = {
            name: {key: _prepared(series) for key, series in getattr(prices, name).items()}
            for name in FIELDS
        }

    def around(self, first: date, last: date | None = None) -> PriceInputs:
        """Every series cut to the delivery days `first`..`last` (market-local, default
        `first` alone) and `MARGIN` either side [same units as the input]."""
        start = Horizon.of(first).periods[0] - MARGIN
        end = Horizon.of(last or first).periods[-1] + MARGIN
        cut = {
            name: {key: _between(series, start, end) for key, series in table.items()}
            for name, table in self._prepared.items()
        }
        return PriceInputs(**cut)  # type: ignore[arg-type]


def window(prices: PriceInputs, first: date, last: date | None = None) -> PriceInputs:
    """`prices` cut to the days `first`..`last` and a day either side (see the module
    docstring); for one-off use, `PriceWindows` when many days are cut from one input."""
    return PriceWindows(prices).around(first, last)


def _prepared(series: pd.Series) -> pd.Series:
    index = series.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        return series
    series = series.set_axis(index.tz_convert("UTC")).sort_index()
    return series[~series.index.duplicated(keep="first")]


def _between(series: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    index = series.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        return series
    lo, hi = index.searchsorted(start, side="left"), index.searchsorted(end, side="right")
    return series.iloc[lo:hi]
