"""Forecasts of PV and wind output for a backtest: what the plan is made on, with error.

The plan sells a forecast of each PV and wind asset's output; the books settle the actual
output (`trading.backtest.actuals`), so the forecast's error becomes an imbalance settled
at imbalance prices. Each forecast is a stated, reproducible error model
(`OUTPUT_FORECASTS`), named in the run's notes:

- ``noisy`` (`NoisyForecast`, the default): the actual output smoothed over
  `NoisyForecast.smooth_h` hours (centred moving mean: a forecast does not see the
  quarter-hour ripple), times (1 + e), where e is a first-order autoregressive error per
  quarter hour (correlation `rho` from one quarter hour to the next, stationary standard
  deviation `sigma_pv` or `sigma_wind`), plus, for wind, an additive AR(1) error of
  `wind_additive` x rating (so a calm that was forecast windy, and the reverse, exist); the
  result is clipped to [0, rating]. The draws are fixed by (seed, asset, day): the same
  day gets the same error whatever the run's window.
- ``persistence``: the actual output of the day before at the same UTC clock time (the
  classic benchmark a forecast must beat).
- ``perfect``: the actual output itself (no forecast error: the imbalance then shows only
  what whole-MW bids cannot sell).

`RenewableOutputs` joins an actuals source and a forecast: per day, the profiles the
optimiser plans on and the actual output the books settle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

import numpy as np
import pandas as pd

from regulatory import Portfolio
from regulatory.assets.generation import PV, Wind
from trading.backtest.actuals import FileActuals, WeatherActuals, seed_for
from trading.optimiser.inputs import Horizon, Profiles

OUTPUT_FORECASTS = ("noisy", "persistence", "perfect")
"""PV and wind output forecasts by name (`output_forecast_named`)."""

QUARTERS_PER_HOUR = 4


class OutputForecast(Protocol):
    """A PV/wind output forecast made from the actual output (an error model)."""

    name: str

    def description(self) -> str:
        """How the forecast is made, for the run's notes."""
        ...

    def forecast(
        self,
        asset: PV | Wind,
        actual: np.ndarray,
        day: date,
        earlier: np.ndarray | None,
    ) -> np.ndarray:
        """The forecast [MW] of `asset` on `day`'s quarter hours, from its `actual` output
        there and, where the model needs it, `earlier` (the day before's, or None)."""
        ...


@dataclass(frozen=True)
class NoisyForecast:
    """Smoothed actual output with a seeded AR(1) relative error (and additive, for wind)."""

    seed: int = 0
    sigma_pv: float = 0.15
    sigma_wind: float = 0.25
    wind_additive: float = 0.05
    rho: float = 0.95
    smooth_h: float = 2.0
    name: str = "noisy"

    def description(self) -> str:
        """The model and its parameters."""
        return (
            f"noisy: actual output smoothed over {self.smooth_h:g} h x (1 + AR(1) error, "
            f"rho {self.rho:g} per quarter hour, sd {self.sigma_pv:g} PV / {self.sigma_wind:g} "
            f"wind) + for wind an AR(1) error of sd {self.wind_additive:g} x rating; clipped to "
            f"[0, rating]; seed {self.seed} (fixed per asset and day)"
        )

    def forecast(
        self, asset: PV | Wind, actual: np.ndarray, day: date, earlier: np.ndarray | None
    ) -> np.ndarray:
        """See the class."""
        window = max(1, round(self.smooth_h * QUARTERS_PER_HOUR))
        smooth = pd.Series(actual).rolling(window, center=True, min_periods=1).mean().to_numpy()
        rng = seed_for(self.seed, asset.id, day)
        sigma = self.sigma_pv if isinstance(asset, PV) else self.sigma_wind
        relative = _ar1(rng, len(actual), self.rho, sigma)
        additive = _ar1(rng, len(actual), self.rho, self.wind_additive)
        values = smooth * (1 + relative)
        if isinstance(asset, Wind):
            values = values + additive * asset.rated_power_mw
        return np.clip(values, 0.0, asset.rated_power_mw)


def _ar1(rng: np.random.Generator, n: int, rho: float, sigma: float) -> np.ndarray:
    """A stationary AR(1) series of `n` values with standard deviation `sigma`."""
    shocks = rng.normal(0.0, sigma * np.sqrt(1 - rho**2), n)
    values = np.empty(n)
    previous = rng.normal(0.0, sigma)
    for i in range(n):
        previous = rho * previous + shocks[i]
        values[i] = previous
    return values


@dataclass(frozen=True)
class PersistenceForecast:
    """The actual output of the day before at the same UTC clock time."""

    name: str = "persistence"

    def description(self) -> str:
        """The model."""
        return "persistence: each quarter hour's actual output of the day before (same UTC time)"

    def forecast(
        self, asset: PV | Wind, actual: np.ndarray, day: date, earlier: np.ndarray | None
    ) -> np.ndarray:
        """See the class; `earlier` is required."""
        if earlier is None:
            raise ValueError(
                f"the persistence forecast of {asset.id} for {day} needs the actual output of "
                f"{day - timedelta(days=1)}"
            )
        periods = Horizon.of(day).periods
        before = Horizon.of(day - timedelta(days=1)).periods
        source = pd.Series(earlier, index=before)
        values = source.reindex(periods - pd.Timedelta(days=1), method="nearest")
        return values.to_numpy(float)


@dataclass(frozen=True)
class PerfectOutput:
    """The actual output itself."""

    name: str = "perfect"

    def description(self) -> str:
        """The model."""
        return "perfect: the actual output (no forecast error)"

    def forecast(
        self, asset: PV | Wind, actual: np.ndarray, day: date, earlier: np.ndarray | None
    ) -> np.ndarray:
        """`actual`."""
        return np.asarray(actual, dtype=float)


def output_forecast_named(name: str, seed: int = 0) -> OutputForecast:
    """``noisy`` (with `seed`), ``persistence`` or ``perfect``; `ValueError` otherwise."""
    if name == "noisy":
        return NoisyForecast(seed=seed)
    if name == "persistence":
        return PersistenceForecast()
    if name == "perfect":
        return PerfectOutput()
    raise ValueError(f"output forecast {name!r} is not one of {', '.join(OUTPUT_FORECASTS)}")


@dataclass
class RenewableOutputs:
    """PV and wind of a backtest: planned on `forecast`, settled on `actuals`."""

    actuals: WeatherActuals | FileActuals
    forecast: OutputForecast

    def day(self, portfolio: Portfolio, day: date) -> tuple[Profiles, dict[str, np.ndarray]]:
        """The profiles [MW] the optimiser plans `day` on, and the actual output [MW] per
        PV and wind asset of `portfolio` on `day`'s quarter hours."""
        actual = self.actuals.day(portfolio, day)
        earlier = None
        if isinstance(self.forecast, PersistenceForecast):
            earlier = self.actuals.day(portfolio, day - timedelta(days=1))
        periods = Horizon.of(day).periods
        planned = {}
        for asset in portfolio.assets:
            if asset.id in actual:
                values = self.forecast.forecast(
                    asset,  # type: ignore[arg-type]
                    actual[asset.id],
                    day,
                    None if earlier is None else earlier[asset.id],
                )
                planned[asset.id] = pd.Series(values, index=periods)
        label = f"forecast:{self.forecast.name}"
        return Profiles(planned, sources=dict.fromkeys(planned, label)), actual

    def notes(self) -> list[str]:
        """The run's notes on PV and wind: actual output and forecast model."""
        return [
            *self.actuals.notes(),
            f"PV and wind planned on an output forecast, {self.forecast.description()}; the "
            "difference to the actual output is settled as imbalance",
        ]
