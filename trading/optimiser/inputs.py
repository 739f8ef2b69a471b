"""What the optimiser is given: the horizon, price forecasts and generation profiles.

Prices are pandas Series indexed by tz-aware UTC period starts. The optimiser never invents
a price: every period of every market it is asked to trade must be priced, or
`MissingPriceError` names the market, the zone and the first unpriced period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from markets.calendar import iso_z, mtu_index
from trading.optimiser.linear import FloatArray

QUARTER_HOUR_H = 0.25
"""Length of one optimisation period [h]: the optimiser always works in quarter hours."""


class MissingPriceError(ValueError):
    """A market was asked for without prices for every one of its periods."""


class MissingProfileError(ValueError):
    """A variable renewable asset has no availability profile for the horizon."""


class InitialStateError(ValueError):
    """A state the day starts from (stored energy or heat, energy owed) cannot be: the
    message names the asset, the option, its value and the rule it breaks."""


@dataclass(frozen=True)
class Horizon:
    """The quarter hours of one delivery day in a market time zone, in UTC."""

    day: date
    timezone: str
    periods: pd.DatetimeIndex

    @classmethod
    def of(cls, day: date, timezone: str = "Europe/Berlin") -> Horizon:
        """The delivery day `day`: 92, 96 or 100 quarter hours."""
        return cls(day, timezone, mtu_index(day, timezone, 15))

    @property
    def n(self) -> int:
        """Number of quarter hours."""
        return len(self.periods)

    @property
    def seconds(self) -> np.ndarray:
        """Each quarter hour's start in seconds since the epoch (whatever the index unit)."""
        return np.array([t.timestamp() for t in self.periods])

    def covering(self, starts: list[datetime]) -> np.ndarray:
        """For each quarter hour, the index of the last of `starts` at or before it."""
        edges = np.array([s.timestamp() for s in starts])
        return np.searchsorted(edges, self.seconds, side="right") - 1

    def position(self, moment: datetime) -> int:
        """Index of the quarter hour that starts at `moment` (UTC)."""
        return int(self.periods.get_loc(pd.Timestamp(moment)))


@dataclass
class PriceInputs:
    """Price forecasts per market and bidding zone (or reserve direction).

    - `day_ahead[zone]`, `intraday[zone]`: EUR/MWh per period (15 or 60 minutes).
    - `afrr_capacity[(zone, "pos"|"neg")]`, `fcr_capacity[zone]`: EUR/MW/h per period;
      a block's price is read at its first quarter hour.
    """

    day_ahead: dict[str, pd.Series] = field(default_factory=dict)
    intraday: dict[str, pd.Series] = field(default_factory=dict)
    afrr_capacity: dict[tuple[str, str], pd.Series] = field(default_factory=dict)
    fcr_capacity: dict[str, pd.Series] = field(default_factory=dict)

    def quarter_hourly(
        self, market: str, key: str | tuple[str, str], horizon: Horizon
    ) -> FloatArray:
        """The prices of `market` for `key` on every quarter hour of `horizon`.

        An hourly price applies to its four quarter hours; a missing period raises
        `MissingPriceError` naming the market, the key and the first missing period.
        """
        table: Mapping[object, pd.Series] = getattr(self, market)
        series = table.get(key)
        label = key if isinstance(key, str) else "/".join(key)
        if series is None:
            raise MissingPriceError(
                f"{market}: no prices for {label}; give a price for every period of "
                f"{horizon.day} ({iso_z(horizon.periods[0])} to {iso_z(horizon.periods[-1])})"
            )
        series = _utc(series, market, label)
        # An hourly price holds for its four quarter hours; a day priced per quarter hour
        # is taken as it is, so a missing quarter hour is named rather than filled.
        aligned = _forward_filled(series, horizon)
        missing = np.isnan(aligned)
        if missing.any():
            first = horizon.periods[int(np.argmax(missing))]
            raise MissingPriceError(
                f"{market}: no {label} price for the period starting {iso_z(first)} "
                f"({int(missing.sum())} of {horizon.n} quarter hours of {horizon.day} unpriced)"
            )
        return aligned


HOURLY_REACH = np.timedelta64(45, "m")
"""How far an hourly price reaches forward from its period's start: its last quarter hour."""


def _forward_filled(series: pd.Series, horizon: Horizon) -> FloatArray:
    """`series` (UTC, sorted, unique) on the horizon's quarter hours [its unit; NaN where
    unpriced]: each quarter hour takes the last period starting at or before it, if that
    starts at most 45 minutes before (an hourly series, at most one point an hour) or at
    the quarter hour itself (anything finer).

    The same as pandas' ``reindex(method="ffill", tolerance=...)``, by binary search on
    the timestamps instead: a look-up is made for every market, zone and pass of every
    day (5 % of a 30-day backtest under cProfile; about 2 % of its CPU time measured,
    within the noise of the shared machine)."""
    stamps = series.index.to_numpy(dtype="datetime64[ns]")
    wanted = horizon.periods.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]")
    end = wanted[-1] + np.timedelta64(15, "m")
    points = int(np.searchsorted(stamps, end, "left") - np.searchsorted(stamps, wanted[0], "left"))
    reach = HOURLY_REACH if points <= horizon.n // 4 + 1 else np.timedelta64(0, "m")
    at = np.searchsorted(stamps, wanted, side="right") - 1
    values = series.to_numpy(dtype=float, na_value=np.nan)
    found = at >= 0
    aligned = np.full(len(wanted), np.nan)
    near = found.copy()
    near[found] = wanted[found] - stamps[at[found]] <= reach
    aligned[near] = values[at[near]]
    return aligned


def _utc(series: pd.Series, market: str, label: str) -> pd.Series:
    index = series.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise MissingPriceError(
            f"{market}: prices for {label} must be indexed by timezone-aware UTC timestamps"
        )
    series = series.set_axis(index.tz_convert("UTC"))
    if series.index.is_monotonic_increasing and series.index.is_unique:
        return series  # already as sorting and dropping repeats would leave it
    series = series.sort_index()
    return series[~series.index.duplicated(keep="first")]


@dataclass
class Profiles:
    """Available power of variable renewables per asset [MW], per UTC period."""

    available_mw: dict[str, pd.Series] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    """Per asset: where its profile comes from (``forecast``, ``proxy``); forecast if unset."""

    def quarter_hourly(self, asset_id: str, horizon: Horizon, rated_mw: float) -> FloatArray:
        """Available MW on each quarter hour, clipped to [0, rated]."""
        series = self.available_mw.get(asset_id)
        if series is None:
            raise MissingProfileError(
                f"asset {asset_id}: no availability profile for {horizon.day}; give its "
                "available MW per period (pv and wind need one)"
            )
        series = _utc(series, "profile", asset_id)
        aligned = series.reindex(horizon.periods, method="ffill", tolerance=pd.Timedelta("45min"))
        if aligned.isna().any():
            first = horizon.periods[int(np.argmax(aligned.isna().to_numpy()))]
            raise MissingProfileError(
                f"asset {asset_id}: no available power for the period starting {iso_z(first)}"
            )
        return np.clip(aligned.to_numpy(dtype=float), 0.0, rated_mw)


class ChpState(BaseModel):
    """A unit's commitment when the day starts: running or not, and for how long [h].

    For every kind with on/off decisions: CHP, flexible loads and heat pumps
    (`OptimiserOptions.unit_initial`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    on: bool = Field(description="running at the end of the day before")
    hours: float = Field(ge=0, description="how long it had been in that state by then [h]")
