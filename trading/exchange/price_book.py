"""The clearing price of each product, read from the optimiser's `PriceInputs`.

Which series prices which product (data, not branches):

| product market | series | key |
|---|---|---|
| day_ahead | `PriceInputs.day_ahead` | bidding zone |
| intraday_auction (IDA1, IDA2, IDA3) | `PriceInputs.intraday` | bidding zone |
| afrr_capacity | `PriceInputs.afrr_capacity` | (bidding zone, "pos" or "neg") |
| fcr_capacity | `PriceInputs.fcr_capacity` | bidding zone |
| intraday_continuous | `PriceInputs.intraday` (a **proxy**, see `INTRADAY_PROXY`) | bidding zone |
| afrr_energy | the book's own `balancing_energy` series | (zone, "pos" or "neg") |

Each quarter hour is priced as the optimiser prices it (`PriceInputs.quarter_hourly`): by the
last series period starting at or before it, at most 45 minutes earlier, so an hourly price
covers its four quarter hours. An energy product's uniform clearing price [EUR/MWh] is the
mean over its quarter hours (an hourly product against a 15-minute series averages four); a
capacity block's marginal price [EUR/MW/h] is read at its first quarter hour. A quarter hour
with no price, or a NaN, raises `NoClearingPriceError`: nothing is cleared at a guessed
price. All intraday auction sessions share the one intraday series.

Continuous intraday has no price of its own in this project: it is judged against the
intraday series, which is a labelled proxy (`trading.prices.sample`), and every reason that
uses it says so. aFRR energy prices (EUR/MWh, the activation price per quarter hour and
direction, in the sign convention of `trading.prices.readers.read_balancing_prices`) are
given to the book apart from `PriceInputs`; without them every aFRR energy bid is rejected
at its gate for want of a price.
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
"""The `PriceInputs` field that prices each market the simulated exchange clears at a
uniform (or marginal) price."""

INTRADAY_PROXY = "intraday price proxy"
"""How every record that uses the intraday series for continuous intraday names it: a proxy,
not market data."""

BALANCING_ENERGY = "balancing_energy"
"""The book's own field for aFRR energy activation prices."""

KEYED_BY_DIRECTION = frozenset({MarketId.AFRR_CAPACITY})
"""Markets whose series are keyed by (zone, direction) rather than by zone."""

PriceKey = str | tuple[str, str]


class NoClearingPriceError(LookupError):
    """A product whose clearing price is missing from the price series."""


class PriceBook:
    """Clearing prices per product; the series are copied, in UTC, when the book is made.

    `ValueError` names the series whose index is not timezone-aware timestamps.
    """

    def __init__(
        self,
        prices: PriceInputs,
        balancing_energy: Mapping[tuple[str, str], pd.Series] | None = None,
    ) -> None:
        self._series: dict[tuple[str, PriceKey], pd.Series] = {}
        self._arrays: dict[tuple[str, PriceKey], tuple[np.ndarray, np.ndarray]] = {}
        for field in SERIES_OF.values():
            table: Mapping[PriceKey, pd.Series] = getattr(prices, field)
            for key, series in table.items():
                self._series[(field, key)] = _utc_sorted(series, field, key)
        for key, series in (balancing_energy or {}).items():
            self._series[(BALANCING_ENERGY, key)] = _utc_sorted(series, BALANCING_ENERGY, key)

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

    def intraday_proxy_eur_per_mwh(self, product: Product) -> float:
        """The intraday price proxy over a continuous contract's delivery [EUR/MWh].

        The mean of the intraday series over the contract's quarter hours; a **proxy**, not
        a continuous market price. `NoClearingPriceError` names the first unpriced one.
        """
        quarters = pd.date_range(
            product.delivery_start, product.delivery_end, freq=QUARTER_HOUR, inclusive="left"
        )
        prices = self._aligned(
            "intraday", product.bidding_zone, quarters, f"no {INTRADAY_PROXY} for"
        )
        return float(np.mean(prices))

    def balancing_energy_price_eur_per_mwh(self, product: Product) -> float:
        """The aFRR energy activation price of a quarter hour and direction [EUR/MWh].

        Read at the product's first quarter hour. `NoClearingPriceError` when the book was
        given no aFRR energy series for the zone and direction, or the series has no price
        for the quarter hour.
        """
        direction = "" if product.direction is None else product.direction.value
        quarters = pd.DatetimeIndex([product.delivery_start])
        key = (product.bidding_zone, direction)
        return float(self._aligned(BALANCING_ENERGY, key, quarters, "no aFRR energy price for")[0])

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
        return self._aligned(field, key, quarters, f"no clearing price for {product.market}")

    def _aligned(
        self, field: str, key: PriceKey, quarters: pd.DatetimeIndex, missing: str
    ) -> np.ndarray:
        """The series `field`[`key`] on `quarters`; `NoClearingPriceError` says `missing`
        followed by the key and the first unpriced quarter hour."""
        found = self._arrays_of(field, key)
        if found is None:
            aligned = np.full(len(quarters), np.nan)
        else:
            aligned = _forward_filled(*found, quarters)
        unpriced = np.isnan(aligned)
        if unpriced.any():
            first = quarters[int(np.argmax(unpriced))]
            label = key if isinstance(key, str) else " ".join(key)
            raise NoClearingPriceError(f"{missing} {label} {iso_z(first)}")
        return aligned

    def _arrays_of(self, field: str, key: PriceKey) -> tuple[np.ndarray, np.ndarray] | None:
        """The series `field`[`key`] as (UTC nanoseconds, prices), made once."""
        if (field, key) not in self._arrays:
            series = self._series.get((field, key))
            if series is None:
                return None
            times = series.index.as_unit("ns").asi8
            self._arrays[(field, key)] = (times, series.to_numpy(dtype=float))
        return self._arrays[(field, key)]


REACH_NS = PERIOD_REACH.value


def _forward_filled(
    times: np.ndarray, prices: np.ndarray, quarters: pd.DatetimeIndex
) -> np.ndarray:
    """Each quarter hour's price: that of the last period starting at or before it, at
    most `PERIOD_REACH` earlier, else NaN (pandas' ``reindex(method="ffill",
    tolerance=...)`` by binary search: a bid's look-up without pandas' per-call cost)."""
    wanted = quarters.as_unit("ns").asi8
    if len(times) == 0:
        return np.full(len(wanted), np.nan)
    at = np.searchsorted(times, wanted, side="right") - 1
    safe = np.clip(at, 0, None)
    near = (at >= 0) & (wanted - times[safe] <= REACH_NS)
    return np.where(near, prices[safe], np.nan)


def _utc_sorted(series: pd.Series, field: str, key: PriceKey) -> pd.Series:
    """`series` indexed in UTC, sorted, the first of any duplicate period kept, as floats."""
    index = series.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError(
            f"prices {field}[{key!r}] must be indexed by timezone-aware UTC period starts"
        )
    in_utc = series.set_axis(index.tz_convert("UTC")).sort_index().astype(float)
    return in_utc[~in_utc.index.duplicated(keep="first")]
