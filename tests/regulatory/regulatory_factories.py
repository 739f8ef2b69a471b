"""Builders of valid plain-data assets, sites and portfolio texts for the regulatory tests.

Each builder returns a fresh dict that validates as it is; tests override single fields to
make exactly one thing wrong.
"""

from __future__ import annotations

import textwrap
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from regulatory import ProblemsError, Site, Treatment, parse_portfolio, treatment_for
from regulatory.assets import ASSET_MODELS
from regulatory.problems import Problem, problems_from_validation_error
from regulatory.treatment import BalancingEligibility, ChargeItem


def battery(**overrides: Any) -> dict[str, Any]:
    """A 2 MW / 4 MWh battery behind site ``s1``."""
    data: dict[str, Any] = {
        "kind": "battery",
        "id": "bat-07",
        "site": "s1",
        "commissioning_date": date(2024, 3, 15),
        "power_charge_mw": 2.0,
        "power_discharge_mw": 2.0,
        "energy_mwh": 4.0,
        "efficiency_charge": 0.95,
        "efficiency_discharge": 0.95,
    }
    return {**data, **overrides}


def pv(**overrides: Any) -> dict[str, Any]:
    """A 5 MW PV plant behind site ``s1``."""
    data: dict[str, Any] = {
        "kind": "pv",
        "id": "pv-01",
        "site": "s1",
        "commissioning_date": date(2024, 5, 1),
        "rated_power_mw": 5.0,
    }
    return {**data, **overrides}


def wind(**overrides: Any) -> dict[str, Any]:
    """A 6 MW wind farm behind site ``s1``."""
    data: dict[str, Any] = {
        "kind": "wind",
        "id": "wind-01",
        "site": "s1",
        "commissioning_date": date(2020, 4, 1),
        "rated_power_mw": 6.0,
    }
    return {**data, **overrides}


def chp(**overrides: Any) -> dict[str, Any]:
    """A 4 MW CHP with a 1.5 MW minimum stable load behind site ``s1``."""
    data: dict[str, Any] = {
        "kind": "chp",
        "id": "chp-01",
        "site": "s1",
        "commissioning_date": date(2018, 1, 1),
        "power_max_mw": 4.0,
        "power_min_stable_mw": 1.5,
        "fuel_cost_eur_per_mwh": 90.0,
    }
    return {**data, **overrides}


def flexible_load(**overrides: Any) -> dict[str, Any]:
    """An industrial load of 1-3 MW behind site ``s1``."""
    data: dict[str, Any] = {
        "kind": "flexible_load",
        "id": "load-01",
        "site": "s1",
        "commissioning_date": date(2015, 1, 1),
        "consumption_max_mw": 3.0,
        "consumption_min_mw": 1.0,
    }
    return {**data, **overrides}


def heat_pump(**overrides: Any) -> dict[str, Any]:
    """A 2 MW heat pump behind site ``s1``."""
    data: dict[str, Any] = {
        "kind": "heat_pump",
        "id": "hp-01",
        "site": "s1",
        "commissioning_date": date(2023, 9, 1),
        "power_max_mw": 2.0,
        "power_min_mw": 0.5,
        "cop": 3.5,
    }
    return {**data, **overrides}


def ev_fleet(**overrides: Any) -> dict[str, Any]:
    """A fleet of 20 vehicles, 2 MW charging, 10 MWh plugged in, behind site ``s1``."""
    data: dict[str, Any] = {
        "kind": "ev_fleet",
        "id": "ev-01",
        "site": "s1",
        "commissioning_date": date(2022, 5, 1),
        "vehicle_count": 20,
        "charge_power_max_mw": 2.0,
        "energy_mwh": 10.0,
    }
    return {**data, **overrides}


BUILDERS = {
    "battery": battery,
    "pv": pv,
    "wind": wind,
    "chp": chp,
    "flexible_load": flexible_load,
    "heat_pump": heat_pump,
    "ev_fleet": ev_fleet,
}
"""Asset kind -> builder of a valid asset of that kind."""


def site(**overrides: Any) -> dict[str, Any]:
    """A 10 MW site ``s1`` in Germany (Amprion)."""
    data: dict[str, Any] = {
        "id": "s1",
        "country": "DE",
        "bidding_zone": "DE_LU",
        "control_area": "Amprion",
        "grid_connection_mw": 10.0,
        "metering_point": "DE0001",
        "balancing_group": "BG-1",
    }
    return {**data, **overrides}


def problems_of(model: type[BaseModel], data: dict[str, Any]) -> list[Problem]:
    """The problems a user is shown for `data` validated as `model`; fails if it validates."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return problems_from_validation_error(caught.value, f"asset {data.get('id')}")


def by_field(problems: list[Problem]) -> dict[str, Problem]:
    """Problems keyed by field (each field at most once)."""
    keyed = {p.field: p for p in problems}
    assert len(keyed) == len(problems), problems
    return keyed


def load_problems(text: str, fmt: str = "yaml", **kwargs: Any) -> list[Problem]:
    """The problems `parse_portfolio` reports for `text`; fails if the text loads."""
    with pytest.raises(ProblemsError) as caught:
        parse_portfolio(text, fmt=fmt, **kwargs)
    return caught.value.problems


def dedent(text: str) -> str:
    """`textwrap.dedent` without the leading newline of a triple-quoted literal."""
    return textwrap.dedent(text).lstrip("\n")


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the `occurrence`-th line of `text` that contains `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} found {len(hits)} times"
    return hits[occurrence - 1]


MINIMAL_YAML = dedent(
    """
    id: p1
    tenant: demo
    sites:
      - id: s1
        country: DE
        bidding_zone: DE_LU
        control_area: Amprion
        grid_connection_mw: 10
        metering_point: DE0001
        balancing_group: BG-1
    assets:
      - id: b1
        kind: battery
        site: s1
        commissioning_date: 2024-03-15
        power_charge_mw: 2
        power_discharge_mw: 2
        energy_mwh: 4
        efficiency_charge: 0.95
        efficiency_discharge: 0.95
    """
)
"""A portfolio with one DE site and one battery that loads without problems."""


NL_SITE = {
    "id": "nl1",
    "country": "NL",
    "bidding_zone": "NL",
    "control_area": "TenneT NL",
    "grid_connection_mw": 25.0,
    "metering_point": "871234567890123456",
    "balancing_group": "BRP-NL",
}
"""A Dutch site without a special grid contract."""


def treat(asset: dict[str, Any], site_data: dict[str, Any], on: date, **kwargs: Any) -> Treatment:
    """The treatment of plain-data `asset` at plain-data `site_data` on day `on`."""
    model = ASSET_MODELS[asset["kind"]].model_validate({**asset, "site": site_data["id"]})
    return treatment_for(model, site=Site.model_validate(site_data), on=on, **kwargs)


def charge(treatment: Treatment, name_start: str) -> ChargeItem:
    """The one charge of `treatment` whose name starts with `name_start`."""
    found = [c for c in treatment.charges if c.name.startswith(name_start)]
    assert len(found) == 1, [c.name for c in treatment.charges]
    return found[0]


def balancing(treatment: Treatment, product: str) -> BalancingEligibility:
    """The balancing entry of `treatment` for `product` ('fcr', 'afrr_pos', 'afrr_neg')."""
    found = [b for b in treatment.balancing if b.product.value == product]
    assert len(found) == 1, [b.product for b in treatment.balancing]
    return found[0]
