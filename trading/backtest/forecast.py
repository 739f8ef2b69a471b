"""Price forecasts for a backtest: what the optimiser is told the day before.

A `PriceForecast` turns the actual prices into the forecast for one delivery day. The
optimiser sees only the forecast; the simulated exchange clears at the actual prices.

- `PerfectForesight`: the actual prices (an upper bound on what any forecast can earn).
- `SameDayLastWeek`: each quarter hour's price is the actual price at the same local wall
  time seven days earlier (a naive forecast that keeps the weekly and daily shape). Across
  a DST change the local clock is followed; the repeated autumn hour takes the first one's
  price and the missing spring hour is simply not asked for.
- `SameWeekdayMean` (``seasonal``): each quarter hour's price is the mean of the actual
  prices at the same local wall time on the same weekday of the previous `weeks` weeks
  (default 4: D - 7, D - 14, D - 21, D - 28), a seasonal profile from history that keeps
  the weekly and daily shape and damps one odd week.

A forecast that reads history says how much (`history_days`): the run's coverage check
(`trading.prices.coverage`) checks those days before the first delivery day and names
them if they are missing, so the delivery day's own quarter hours are not blamed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol, runtime_checkable

import pandas as pd

from trading.optimiser.inputs import Horizon, PriceInputs

MARKETS = ("day_ahead", "intraday", "afrr_capacity", "fcr_capacity")


@runtime_checkable
class PriceForecast(Protocol):
    """Forecast prices for a delivery day from the actual ones."""

    name: str
    history_days: int
    """Days of actual prices before a delivery day the forecast reads."""

    def forecast(self, actual: PriceInputs, day: date) -> PriceInputs:
        """The prices the optimiser is given for `day` (market-local)."""
        ...


class PerfectForesight:
    """The actual prices themselves."""

    name = "perfect"
    history_days = 0
    description = "the actual prices: an upper bound"

    def forecast(self, actual: PriceInputs, day: date) -> PriceInputs:
        """`actual`, unchanged."""
        return actual


class SameDayLastWeek:
    """The actual prices of the same local time `days_back` days earlier (default 7)."""

    name = "naive"

    def __init__(self, days_back: int = 7, timezone: str = "Europe/Berlin") -> None:
        if days_back < 1:
            raise ValueError(f"days_back={days_back} must be at least 1")
        self.days_back = days_back
        self.timezone = timezone
        self.history_days = days_back
        self.description = (
            f"each quarter hour at the same local time {days_back} days earlier; needs the "
            f"prices of the {days_back} days before the first delivery day"
        )

    def forecast(self, actual: PriceInputs, day: date) -> PriceInputs:
        """Every market's series for `day`'s quarter hours, read `days_back` days earlier."""
        periods = Horizon.of(day, self.timezone).periods
        source = _local_shift(periods, self.days_back, self.timezone)
        result = PriceInputs()
        for market in MARKETS:
            table = getattr(actual, market)
            setattr(result, market, {k: _shifted(s, source, periods) for k, s in table.items()})
        return result


class SameWeekdayMean:
    """The mean of the actual prices at the same local time on the same weekday of the
    `weeks` previous weeks (a seasonal profile from history)."""

    name = "seasonal"

    def __init__(self, weeks: int = 4, timezone: str = "Europe/Berlin") -> None:
        if weeks < 1:
            raise ValueError(f"weeks={weeks} must be at least 1")
        self.weeks = weeks
        self.timezone = timezone
        self.history_days = 7 * weeks
        self.description = (
            f"mean of the same local time on the same weekday of the {weeks} previous weeks; "
            f"needs the prices of the {7 * weeks} days before the first delivery day"
        )

    def forecast(self, actual: PriceInputs, day: date) -> PriceInputs:
        """Every market's series for `day`'s quarter hours: the mean over the weeks before
        (NaN where any of those weeks has no price, so the optimiser names it)."""
        periods = Horizon.of(day, self.timezone).periods
        sources = [
            _local_shift(periods, 7 * week, self.timezone) for week in range(1, self.weeks + 1)
        ]
        result = PriceInputs()
        for market in MARKETS:
            table = getattr(actual, market)
            setattr(
                result,
                market,
                {
                    key: pd.concat(
                        [_shifted(series, source, periods) for source in sources], axis=1
                    ).mean(axis=1, skipna=False)
                    for key, series in table.items()
                },
            )
        return result


def _local_shift(periods: pd.DatetimeIndex, days: int, timezone: str) -> pd.DatetimeIndex:
    """`periods` moved `days` days back on the local wall clock (UTC); the repeated
    autumn hour takes its first occurrence, a missing spring hour the next existing one."""
    local = periods.tz_convert(timezone).tz_localize(None) - timedelta(days=days)
    source = local.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
    first = local.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
    return source.where(~source.isna(), first).tz_convert("UTC")


def _shifted(series: pd.Series, source: pd.DatetimeIndex, periods: pd.DatetimeIndex) -> pd.Series:
    series = series.sort_index()
    series = series[~series.index.duplicated(keep="first")]
    values = series.reindex(source, method="ffill", tolerance=pd.Timedelta("45min"))
    return pd.Series(values.to_numpy(), index=periods, name=series.name)


FORECASTS = ("perfect", "naive", "seasonal")
"""Price forecasts by name (`forecast_named`)."""


def forecast_named(name: str) -> PriceForecast:
    """``perfect``, ``naive`` or ``seasonal``; `ValueError` naming the choices otherwise."""
    if name == "perfect":
        return PerfectForesight()
    if name == "naive":
        return SameDayLastWeek()
    if name == "seasonal":
        return SameWeekdayMean()
    raise ValueError(f"forecast={name!r} is not one of {', '.join(FORECASTS)}")
