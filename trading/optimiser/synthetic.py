"""Synthetic portfolios for benchmarks and property tests, deterministic from a seed.

`synthetic_portfolio(n, seed)` places `n` assets of all seven kinds on sites of one to
three assets each, across the five countries (half of the sites in Germany), with ratings,
efficiencies, costs and prequalifications drawn from ranges typical of a European VPP.
`battery_portfolio(n, seed)` is `n` batteries, each on its own German site: the exact
arbitrage problem the optimiser benchmark compares with a direct HiGHS formulation. The
same `(n, seed)` always gives the same portfolio. Nothing here describes a real plant.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regulatory import Portfolio
from regulatory.loading import validate_portfolio_data

COUNTRIES = {
    # country: (bidding zone, control areas, share of sites)
    "DE": ("DE_LU", ("Amprion", "50Hertz", "TenneT DE", "TransnetBW"), 0.5),
    "NL": ("NL", ("TenneT NL",), 0.15),
    "BE": ("BE", ("Elia",), 0.1),
    "FR": ("FR", ("RTE",), 0.15),
    "AT": ("AT", ("APG",), 0.1),
}
KIND_SHARES = {
    "battery": 0.3,
    "pv": 0.2,
    "wind": 0.1,
    "chp": 0.1,
    "heat_pump": 0.1,
    "flexible_load": 0.1,
    "ev_fleet": 0.1,
}
COMMISSIONED = "2020-01-01"
CERTIFIED = "2021-01-01"


def synthetic_portfolio(n_assets: int, seed: int = 0) -> Portfolio:
    """`n_assets` assets of mixed kinds on sites in five countries (see module docstring)."""
    rng = np.random.default_rng(seed)
    kinds = list(KIND_SHARES)
    shares = np.array(list(KIND_SHARES.values()))
    chosen = rng.choice(kinds, size=n_assets, p=shares / shares.sum()).tolist()
    if n_assets >= 1:
        chosen[0] = "battery"
    sites: list[dict[str, Any]] = []
    assets: list[dict[str, Any]] = []
    countries = list(COUNTRIES)
    weights = np.array([COUNTRIES[c][2] for c in countries])
    i = 0
    while i < n_assets:
        country = str(rng.choice(countries, p=weights / weights.sum()))
        size = min(int(rng.integers(1, 4)), n_assets - i)
        members = [
            _asset(kind, f"a{i + k:04d}", rng) for k, kind in enumerate(chosen[i : i + size])
        ]
        site_id = f"site-{len(sites):04d}"
        for member in members:
            member["site"] = site_id
        ratings = [_rating(m) for m in members]
        connection = max(max(ratings), sum(ratings) * float(rng.uniform(0.8, 1.2)))
        sites.append(_site(site_id, country, connection, rng))
        assets.extend(members)
        i += size
    return _validated(f"synthetic-{n_assets}-{seed}", sites, assets)


def battery_portfolio(n_batteries: int, seed: int = 0) -> Portfolio:
    """`n_batteries` batteries, each alone on a German site with room for its power."""
    rng = np.random.default_rng(seed)
    sites, assets = [], []
    for i in range(n_batteries):
        battery = _battery(f"bat-{i:04d}", rng, prequalified=False)
        battery["site"] = f"site-{i:04d}"
        assets.append(battery)
        sites.append(_site(battery["site"], "DE", 1.2 * _rating(battery), rng))
    return _validated(f"batteries-{n_batteries}-{seed}", sites, assets)


def _validated(pid: str, sites: list[dict[str, Any]], assets: list[dict[str, Any]]) -> Portfolio:
    return validate_portfolio_data(
        {"id": pid, "tenant": "benchmark", "sites": sites, "assets": assets}
    )


def _site(site_id: str, country: str, connection_mw: float, rng: np.random.Generator) -> dict:
    zone, areas, _ = COUNTRIES[country]
    number = int(site_id.rsplit("-", 1)[1])
    return {
        "id": site_id,
        "country": country,
        "bidding_zone": zone,
        "control_area": str(rng.choice(areas)),
        "grid_connection_mw": float(np.ceil(max(connection_mw, 0.5) * 10) / 10),
        "metering_point": _metering_point(country, number),
        "balancing_group": f"BG-SYNTH-{country}",
        "grid_fee_withdrawal_eur_per_mwh": round(float(rng.uniform(5, 40)), 1),
    }


def _metering_point(country: str, number: int) -> str:
    """An identifier in the shape each country's metering point ids take."""
    if country in ("DE", "AT"):
        return f"{country}{number:031d}"
    if country == "NL":
        return f"87{number:016d}"
    if country == "BE":
        return f"54{number:016d}"
    return f"3{number:013d}"


def _rating(asset: dict[str, Any]) -> float:
    for key in (
        "power_discharge_mw",
        "rated_power_mw",
        "power_max_mw",
        "consumption_max_mw",
        "charge_power_max_mw",
    ):
        if key in asset:
            return float(asset[key])
    raise KeyError(asset["kind"])


def _asset(kind: str, asset_id: str, rng: np.random.Generator) -> dict[str, Any]:
    builders = {
        "battery": lambda: _battery(asset_id, rng, prequalified=bool(rng.random() < 0.6)),
        "pv": lambda: _renewable("pv", asset_id, rng),
        "wind": lambda: _renewable("wind", asset_id, rng),
        "chp": lambda: _chp(asset_id, rng),
        "heat_pump": lambda: _heat_pump(asset_id, rng),
        "flexible_load": lambda: _flexible_load(asset_id, rng),
        "ev_fleet": lambda: _ev_fleet(asset_id, rng),
    }
    return builders[kind]()


def _battery(asset_id: str, rng: np.random.Generator, *, prequalified: bool) -> dict[str, Any]:
    power = float(rng.choice([0.5, 1.0, 2.0, 5.0, 10.0]))
    energy = power * float(rng.choice([1.0, 1.5, 2.0]))
    battery: dict[str, Any] = {
        "kind": "battery",
        "id": asset_id,
        "commissioning_date": COMMISSIONED,
        "power_charge_mw": power,
        "power_discharge_mw": power,
        "energy_mwh": energy,
        "soc_initial_mwh": round(energy * float(rng.uniform(0.2, 0.8)), 3),
        "efficiency_charge": round(float(rng.uniform(0.9, 0.97)), 3),
        "efficiency_discharge": round(float(rng.uniform(0.9, 0.97)), 3),
        "degradation_cost_eur_per_mwh": float(rng.choice([0.0, 2.0, 5.0, 10.0])),
    }
    if prequalified:
        battery["prequalifications"] = [
            {"product": "afrr_pos", "mw": power, "certified_on": CERTIFIED},
            {"product": "afrr_neg", "mw": power, "certified_on": CERTIFIED},
            {"product": "fcr", "mw": power / 2, "certified_on": CERTIFIED},
        ]
    return battery


def _renewable(kind: str, asset_id: str, rng: np.random.Generator) -> dict[str, Any]:
    rated = round(float(rng.uniform(1, 20 if kind == "pv" else 30)), 1)
    asset: dict[str, Any] = {
        "kind": kind,
        "id": asset_id,
        "commissioning_date": COMMISSIONED,
        "rated_power_mw": rated,
    }
    if rng.random() < 0.6:
        asset["support"] = {"reference_value_eur_per_mwh": round(float(rng.uniform(40, 80)), 1)}
    return asset


def _chp(asset_id: str, rng: np.random.Generator) -> dict[str, Any]:
    power = round(float(rng.uniform(1, 8)), 1)
    return {
        "kind": "chp",
        "id": asset_id,
        "commissioning_date": COMMISSIONED,
        "power_max_mw": power,
        "power_min_stable_mw": round(power * float(rng.uniform(0.3, 0.6)), 2),
        "min_up_time_h": float(rng.choice([0.5, 1.0, 2.0])),
        "min_down_time_h": float(rng.choice([0.5, 1.0])),
        "start_cost_eur": round(float(rng.uniform(50, 300))),
        "fuel_cost_eur_per_mwh": round(float(rng.uniform(60, 120)), 1),
        "prequalifications": [
            {"product": "afrr_pos", "mw": round(power / 2, 1), "certified_on": CERTIFIED},
            {"product": "afrr_neg", "mw": round(power / 2, 1), "certified_on": CERTIFIED},
        ],
    }


def _heat_pump(asset_id: str, rng: np.random.Generator) -> dict[str, Any]:
    power = round(float(rng.uniform(0.5, 4)), 2)
    return {
        "kind": "heat_pump",
        "id": asset_id,
        "commissioning_date": COMMISSIONED,
        "power_max_mw": power,
        "power_min_mw": round(power * 0.2, 2),
        "cop": 3.5,
        "thermal_storage_mwh_th": round(power * 6, 1),
        "energy_requirements": [
            {
                "start_local": "00:00",
                "end_local": "00:00",
                "energy_mwh": round(power * float(rng.uniform(8, 14)), 1),
            }
        ],
    }


def _flexible_load(asset_id: str, rng: np.random.Generator) -> dict[str, Any]:
    high = round(float(rng.uniform(0.5, 5)), 2)
    return {
        "kind": "flexible_load",
        "id": asset_id,
        "commissioning_date": COMMISSIONED,
        "consumption_max_mw": high,
        "consumption_min_mw": round(high * 0.2, 2),
        "energy_requirements": [
            {
                "start_local": "00:00",
                "end_local": "00:00",
                "energy_mwh": round(high * float(rng.uniform(10, 16)), 1),
            }
        ],
        "prequalifications": [
            {"product": "afrr_pos", "mw": round(high * 0.5, 2), "certified_on": CERTIFIED}
        ],
    }


def _ev_fleet(asset_id: str, rng: np.random.Generator) -> dict[str, Any]:
    power = round(float(rng.uniform(0.5, 4)), 2)
    return {
        "kind": "ev_fleet",
        "id": asset_id,
        "commissioning_date": COMMISSIONED,
        "vehicle_count": int(rng.integers(10, 80)),
        "charge_power_max_mw": power,
        "energy_mwh": round(power * 4, 1),
        "energy_requirements": [
            {"start_local": "20:00", "end_local": "06:00", "energy_mwh": round(power * 3, 1)}
        ],
        "availability": [{"start_local": "20:00", "end_local": "06:00"}],
    }
