"""Builders of tiny portfolios and price inputs for the optimiser tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import yaml

from markets.registry import default_registry
from regulatory import Portfolio
from regulatory.loading import validate_portfolio_data
from trading.optimiser.build import BuiltModel, build_model
from trading.optimiser.inputs import Horizon, PriceInputs

DAY = date(2027, 6, 15)
"""A summer Tuesday: 96 quarter hours in Europe/Berlin."""


def site(**overrides: Any) -> dict[str, Any]:
    """A 50 MW DE site ``s1``."""
    data: dict[str, Any] = {
        "id": "s1",
        "country": "DE",
        "bidding_zone": "DE_LU",
        "control_area": "Amprion",
        "grid_connection_mw": 50.0,
        "metering_point": "DE0001",
        "balancing_group": "BG-1",
    }
    return {**data, **overrides}


def battery(**overrides: Any) -> dict[str, Any]:
    """A lossless 1 MW / 1 MWh battery, empty at the start, without wear cost."""
    data: dict[str, Any] = {
        "kind": "battery",
        "id": "bat-1",
        "site": "s1",
        "commissioning_date": "2024-03-15",
        "power_charge_mw": 1.0,
        "power_discharge_mw": 1.0,
        "energy_mwh": 1.0,
        "efficiency_charge": 1.0,
        "efficiency_discharge": 1.0,
        "soc_initial_mwh": 0.0,
        "degradation_cost_eur_per_mwh": 0.0,
    }
    return {**data, **overrides}


def chp(**overrides: Any) -> dict[str, Any]:
    """A 2 MW CHP, 1 MW minimum stable load, fuel at 50 EUR/MWh, no start cost."""
    data: dict[str, Any] = {
        "kind": "chp",
        "id": "chp-1",
        "site": "s1",
        "commissioning_date": "2018-01-01",
        "power_max_mw": 2.0,
        "power_min_stable_mw": 1.0,
        "fuel_cost_eur_per_mwh": 50.0,
    }
    return {**data, **overrides}


def nl_site(**overrides: Any) -> dict[str, Any]:
    """A 50 MW NL site ``s1``: consumers there pay no levies or fees in the treatment (no
    grid fee given), which keeps hand-computed objectives to prices alone."""
    data = site(
        country="NL",
        bidding_zone="NL",
        control_area="TenneT NL",
        metering_point="871234567890123458",
    )
    return {**data, **overrides}


def flexible_load(**overrides: Any) -> dict[str, Any]:
    """A load of 0-2 MW with no minimum, requirement, shift cost or minimum times."""
    data: dict[str, Any] = {
        "kind": "flexible_load",
        "id": "load-1",
        "site": "s1",
        "commissioning_date": "2015-01-01",
        "consumption_max_mw": 2.0,
    }
    return {**data, **overrides}


def heat_pump(**overrides: Any) -> dict[str, Any]:
    """A 0.5-2 MW heat pump, COP 4, 4 MWh_th of storage, no demand or requirement yet."""
    data: dict[str, Any] = {
        "kind": "heat_pump",
        "id": "hp-1",
        "site": "s1",
        "commissioning_date": "2023-09-01",
        "power_max_mw": 2.0,
        "power_min_mw": 0.5,
        "cop": 4.0,
        "thermal_storage_mwh_th": 4.0,
    }
    return {**data, **overrides}


def ev_fleet(**overrides: Any) -> dict[str, Any]:
    """A lossless fleet of 10 vehicles: 2 MW charging, 4 MWh plugged in, no V2G, no
    sessions yet."""
    data: dict[str, Any] = {
        "kind": "ev_fleet",
        "id": "ev-1",
        "site": "s1",
        "commissioning_date": "2022-05-01",
        "vehicle_count": 10,
        "charge_power_max_mw": 2.0,
        "energy_mwh": 4.0,
        "efficiency_charge": 1.0,
        "efficiency_discharge": 1.0,
    }
    return {**data, **overrides}


def portfolio(*assets: dict[str, Any], sites: list[dict[str, Any]] | None = None) -> Portfolio:
    """A portfolio of `assets` on `sites` (default: one DE site)."""
    data = {
        "id": "p-test",
        "tenant": "test",
        "sites": sites or [site()],
        "assets": list(assets),
    }
    # dates as strings, as a YAML file would hold them
    return validate_portfolio_data(yaml.safe_load(yaml.safe_dump(data)))


def periods(day: date = DAY) -> pd.DatetimeIndex:
    """The quarter hours of `day` in UTC."""
    return Horizon.of(day).periods


def series(values: Any, day: date = DAY) -> pd.Series:
    """Quarter-hourly values on `day`."""
    return pd.Series(list(values), index=periods(day), dtype=float)


def constant(value: float, day: date = DAY) -> pd.Series:
    """The same value in every quarter hour of `day`."""
    return series([value] * len(periods(day)), day)


def day_ahead(values: Any, day: date = DAY, zone: str = "DE_LU", **extra: Any) -> PriceInputs:
    """Day-ahead prices in `zone` (and any other price table in `extra`)."""
    return PriceInputs(day_ahead={zone: series(values, day)}, **extra)


class Capture:
    """The built model and final solution of the last `optimise` call."""

    built: Any = None
    solved: Any = None

    def __call__(self, var: Any) -> np.ndarray:
        return self.solved(var)


def build(pf: Portfolio, day: date, prices: PriceInputs, **kwargs: Any) -> BuiltModel:
    """`build_model` with the installed market plugins, as `optimise` uses by default."""
    return build_model(pf, day, prices, registry=default_registry(), **kwargs)
