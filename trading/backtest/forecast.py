"""Price forecasts for a backtest: what the optimiser is told the day before.

A `PriceForecast` turns the actual prices into the forecast for one delivery day. The
optimiser sees only the forecast; the simulated exchange clears at the actual prices.

- `PerfectForesight`: the actual prices (an upper bound on what any forecast can earn).
- `SameDayLastWeek`: each quarter hour's price is the actual price at the same local wall
  time seven days earlier (a naive forecast that keeps the weekly and daily shape). Across
  a DST change the local clock is followed; the repeated autumn hour takes the first one's
  price and the missing spring hour is simply not asked for.
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

    def forecast(self, actual: PriceInputs, day: date) -> PriceInputs:
        """The prices the optimiser is given for `day` (market-local)."""
        ...


class PerfectForesight:
    """The actual prices themselves."""

    name = "perfect"

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

    def forecast(self, actual: PriceInputs, day: date) -> PriceInputs:
        """Every market's series for `day`'s quarter hours, read `days_back` days earlier."""
        periods = Horizon.of(day, self.timezone).periods
        local = periods.tz_convert(self.timezone).tz_localize(None) - timedelta(days=self.days_back)
        source = local.tz_localize(self.timezone, ambiguous="NaT", nonexistent="shift_forward")
        # The repeated autumn hour is ambiguous: take its first occurrence.
        first = local.tz_localize(self.timezone, ambiguous=True, nonexistent="shift_forward")
        source = source.where(~source.isna(), first).tz_convert("UTC")
        result = PriceInputs()
        for market in MARKETS:
            table = getattr(actual, market)
            setattr(result, market, {k: _shifted(s, source, periods) for k, s in table.items()})
        return result


def _shifted(series: pd.Series, source: pd.DatetimeIndex, periods: pd.DatetimeIndex) -> pd.Series:
    series = series.sort_index()
    series = series[~series.index.duplicated(keep="first")]
    values = series.reindex(source, method="ffill", tolerance=pd.Timedelta("45min"))
    return pd.Series(values.to_numpy(), index=periods, name=series.name)


def forecast_named(name: str) -> PriceForecast:
    """``perfect`` or ``naive``; `ValueError` naming the choices otherwise."""
    if name == "perfect":
        return PerfectForesight()
    if name == "naive":
        return SameDayLastWeek()
    raise ValueError(f"forecast={name!r} is not one of perfect, naive")
