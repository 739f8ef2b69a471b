"""Imbalance prices: what a zone's deviation from its sold position is settled at.

`ImbalancePrices.settle(zone, periods, imbalance_mwh, day_ahead)` gives, per quarter hour,
the price [EUR/MWh] and where it came from. A real series is used where one is given (the
NL imbalance prices of ../shared/data, one price per 15-minute settlement period); where
there is none, a documented **proxy**, not a market model: a dual price around the
day-ahead price, worse for the party in imbalance on both sides. A pool that is long
(injected more than it sold) is paid min(DA, DA - |DA| x `share` - `spread`); a pool that
is short pays max(DA, DA + |DA| x `share` + `spread`). Defaults: share 0.2, spread
10 EUR/MWh. Imbalance MWh carry our sign: + long, - short; the settlement revenue is
imbalance x price, and its negative is the imbalance cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trading.prices.imbalance_files import read_long_imbalance

PROXY_NAME = "proxy:dual_da_20pct_10eur"


@dataclass
class ImbalancePrices:
    """Real imbalance prices per zone where known, else the dual-price proxy."""

    real: Mapping[str, pd.Series] = field(default_factory=dict)
    """Zone -> imbalance price [EUR/MWh] indexed by UTC quarter-hour starts."""
    share: float = 0.2
    spread_eur_mwh: float = 10.0

    def settle(
        self,
        zone: str,
        periods: pd.DatetimeIndex,
        imbalance_mwh: np.ndarray,
        day_ahead: np.ndarray,
    ) -> tuple[np.ndarray, list[str]]:
        """Price [EUR/MWh] and source (``real`` or the proxy's name) of each period."""
        proxy = np.where(
            imbalance_mwh >= 0,
            np.minimum(day_ahead, day_ahead - np.abs(day_ahead) * self.share - self.spread_eur_mwh),
            np.maximum(day_ahead, day_ahead + np.abs(day_ahead) * self.share + self.spread_eur_mwh),
        )
        series = self.real.get(zone)
        if series is None:
            return proxy, [PROXY_NAME] * len(periods)
        known = series.reindex(periods).to_numpy(dtype=float)
        found = ~np.isnan(known)
        prices = np.where(found, known, proxy)
        return prices, ["real" if f else PROXY_NAME for f in found]


def read_imbalance_prices(path: str | object, zone: str = "NL") -> pd.Series:
    """The imbalance price series [EUR/MWh] of `zone` from a long CSV with
    ``timestamp_utc``, ``zone``, ``imbalance_price_eur_mwh`` (missing values dropped)."""
    return read_long_imbalance(path, zone)  # type: ignore[arg-type]
