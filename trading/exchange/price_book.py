"""The clearing price of each product, read from the optimiser's `PriceInputs`.

Which series prices which product (data, not branches):

| product market | series | key |
|---|---|---|
| day_ahead | `PriceInputs.day_ahead` | bidding zone |
| intraday_auction (IDA1, IDA2, IDA3) | `PriceInputs.intraday` | bidding zone |
| afrr_capacity | `PriceInputs.afrr_capacity` | (bidding zone, "pos" or "neg") |
| fcr_capacity | `PriceInputs.fcr_capacity` | bidding zone |

Each quarter hour is priced as the optimiser prices it (`PriceInputs.quarter_hourly`): by the
last series period starting at or before it, at most 45 minutes earlier, so an hourly price
covers its four quarter hours. An energy product's uniform clearing price [EUR/MWh] is the
mean over its quarter hours (an hourly product against a 15-minute series averages four); a
capacity block's marginal price [EUR/MW/h] is read at its first quarter hour. A quarter hour
with no price, or a NaN, raises `NoClearingPriceError`: nothing is cleared at a guessed
price. All intraday auction sessions share the one intraday series.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from markets.calendar import iso_z
from markets.products import MarketId, Product
from trading.optimiser.inputs import PriceInputs

QUARTER_HOUR = pd.Timedelta(minutes=15)
PERIOD_REACH = pd.Timedelta(minutes=45)
"""How far back a series period may start and still price a quarter hour (an hourly price)."""

SERIES_OF: dict[MarketId, str] = {
    MarketId.DAY_AHEAD: "day_ahead",
    MarketId.INTRADAY_AUCTION: "intraday",
    MarketId.AFRR_CAPACITY: "afrr_capacity",
    MarketId.FCR_CAPACITY: "fcr_capacity",
}
"""The `PriceInputs` field that prices each market the simulated exchange clears."""

KEYED_BY_DIRECTION = frozenset({MarketId.AFRR_CAPACITY})
"""Markets whose series are keyed by (zone, direction) rather than by zone."""

PriceKey = str | tuple[str, str]


class NoClearingPriceError(LookupError):
    """A product whose clearing price is missing from the price series."""


class PriceBook:
    """Clearing prices per product; the series are copied, in UTC, when the book is made.

    `ValueError` names the series whose index is not timezone-aware timestamps.
    """

    def __init__(self, prices: PriceInputs) -> None:
        self._series: dict[tuple[str, PriceKey], pd.Series] = {}
        for field in SERIES_OF.values():
            table: Mapping[PriceKey, pd.Series] = getattr(prices, field)
            for key, series in table.items():
                self._series[(field, key)] = _utc_sorted(series, field, key)

    def energy_price_eur_per_mwh(self, product: Product) -> float:
        """Uniform clearing price of an energy auction product [EUR/MWh]."""
        quarters = pd.date_range(
            product.delivery_start, product.delivery_end, freq=QUARTER_HOUR, inclusive="left"
        )
        return float(np.mean(self._quarter_prices(product, quarters)))

    def capacity_price_eur_per_mw_h(self, product: Product) -> float:
        """Marginal price of a balancing capacity block [EUR/MW/h], read at its start."""
        quarters = pd.DatetimeIndex([product.delivery_start])
        return float(self._quarter_prices(product, quarters)[0])

    def _quarter_prices(self, product: Product, quarters: pd.DatetimeIndex) -> np.ndarray:
        field = SERIES_OF.get(product.market)
        if field is None:
            raise NoClearingPriceError(
                f"no clearing price for {product.market} {product.bidding_zone}: "
                "the simulated exchange has no price series for this market"
            )
        key: PriceKey = product.bidding_zone
        if product.market in KEYED_BY_DIRECTION and product.direction is not None:
            key = (product.bidding_zone, product.direction.value)
        series = self._series.get((field, key))
        if series is None:
            aligned = np.full(len(quarters), np.nan)
        else:
            aligned = series.reindex(quarters, method="ffill", tolerance=PERIOD_REACH).to_numpy(
                dtype=float
            )
        unpriced = np.isnan(aligned)
        if unpriced.any():
            first = quarters[int(np.argmax(unpriced))]
            label = key if isinstance(key, str) else " ".join(key)
            raise NoClearingPriceError(
                f"no clearing price for {product.market} {label} {iso_z(first)}"
            )
        return aligned


def _utc_sorted(series: pd.Series, field: str, key: PriceKey) -> pd.Series:
    """`series` indexed in UTC, sorted, the first of any duplicate period kept, as floats."""
    index = series.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError(
            f"prices {field}[{key!r}] must be indexed by timezone-aware UTC period starts"
        )
    in_utc = series.set_axis(index.tz_convert("UTC")).sort_index().astype(float)
    return in_utc[~in_utc.index.duplicated(keep="first")]
