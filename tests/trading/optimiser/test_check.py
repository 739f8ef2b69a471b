"""The independent plan checker (`trading.optimiser.check`): a valid plan built by hand
passes; each planted violation is found, named with its rule, subject and quarter hour,
and nothing else is.

The day is `DAY` (Tuesday 2027-06-15, Europe/Berlin, 96 quarter hours; quarter hour t
starts at local time t/4 h, UTC 22:00 the day before for t = 0). The portfolio has one
asset of each kind on two DE_LU sites; the schedule, states, positions, bids and accounts
below are worked out by hand from the asset data in `assets()`.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Callable
from datetime import date, time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from optimiser_factories import DAY, battery, chp, portfolio, site
from typer.testing import CliRunner

import trading.optimiser.check as check_package
from markets.calendar import iso_z, mtu_index
from markets.registry import default_registry
from regulatory import Portfolio
from regulatory.windows import DailyWindow
from trading.cli import app
from trading.optimiser.check import (
    PlanFormatError,
    Violation,
    check_plan,
    check_plan_files,
)
from trading.optimiser.check import rules as R  # noqa: N812
from trading.optimiser.check.windows import occurrences

N = 96
QH = [iso_z(t) for t in mtu_index(DAY, "Europe/Berlin", 15)]
"""UTC start of each quarter hour, ISO Z; QH[0] = 2027-06-14T22:00:00Z (local midnight)."""
DT = 0.25
CHARGING_EUR_PER_MWH = 69.96
"""DE levies and charges on withdrawal of the consumers at site s1 (grid fee 20 EUR/MWh
included; the levies of 2026, rule set 2026.1); the battery is exempt (checked in
`test_treatments_assumed_by_the_plan`)."""
AFRR = "DE:afrr_capacity:4h:pos:2027-06-14T22:00Z"
"""The aFRR upward block 00:00-04:00 local."""


def segments(*parts: tuple[int, int, float]) -> list[float]:
    """96 values: 0 except `value` on quarter hours [start, end) of each part."""
    values = np.zeros(N)
    for start, end, value in parts:
        values[start:end] = value
    return values.tolist()


# --- the portfolio -----------------------------------------------------------------------


def assets() -> dict[str, dict[str, Any]]:
    """One asset of each kind, as a portfolio file holds them."""
    return {
        "bat-1": battery(
            power_charge_mw=2.0,
            power_discharge_mw=2.0,
            energy_mwh=4.0,
            soc_min_mwh=1.0,
            soc_initial_mwh=1.0,
            efficiency_charge=0.9,
            efficiency_discharge=0.9,
            degradation_cost_eur_per_mwh=2.0,
            prequalifications=[{"product": "afrr_pos", "mw": 2.0}],
        ),
        "ev-1": {
            "kind": "ev_fleet",
            "id": "ev-1",
            "site": "s1",
            "commissioning_date": "2024-03-15",
            "vehicle_count": 10,
            "charge_power_max_mw": 1.0,
            "energy_mwh": 4.0,
            "efficiency_charge": 0.8,
            "efficiency_discharge": 0.9,
            "energy_requirements": [
                {"start_local": "18:00", "end_local": "07:00", "energy_mwh": 2.0}
            ],
        },
        "load-1": {
            "kind": "flexible_load",
            "id": "load-1",
            "site": "s1",
            "commissioning_date": "2024-03-15",
            "consumption_max_mw": 1.0,
            "consumption_min_mw": 0.5,
            "shift_cost_eur_per_mwh": 5.0,
            "min_up_time_h": 0.5,
            "energy_requirements": [
                {"start_local": "06:00", "end_local": "10:00", "energy_mwh": 1.0}
            ],
        },
        "hp-1": {
            "kind": "heat_pump",
            "id": "hp-1",
            "site": "s1",
            "commissioning_date": "2024-03-15",
            "power_max_mw": 1.0,
            "power_min_mw": 0.4,
            "cop": 3.0,
            "energy_requirements": [
                {"start_local": "10:00", "end_local": "14:00", "energy_mwh": 1.0}
            ],
        },
        "chp-1": chp(
            site="s2",
            min_up_time_h=1.0,
            min_down_time_h=1.0,
            start_cost_eur=30.0,
            power_min_stable_mw=1.0,
            power_max_mw=2.0,
        ),
        "pv-1": {
            "kind": "pv",
            "id": "pv-1",
            "site": "s2",
            "commissioning_date": "2024-03-15",
            "rated_power_mw": 3.0,
            "support": {"reference_value_eur_per_mwh": 80.0},
        },
    }


def sites() -> dict[str, dict[str, Any]]:
    """s1: 50 MW with a grid fee; s2: 10 MW, the CHP and the PV behind it."""
    return {
        "s1": site(grid_fee_withdrawal_eur_per_mwh=20.0),
        "s2": site(id="s2", grid_connection_mw=10.0, metering_point="DE0002"),
    }


def make_portfolio(
    assets_data: dict[str, dict[str, Any]] | None = None,
    sites_data: dict[str, dict[str, Any]] | None = None,
) -> Portfolio:
    """The portfolio of `assets()` on `sites()`, or of changed copies."""
    chosen = assets_data or assets()
    return portfolio(*chosen.values(), sites=list((sites_data or sites()).values()))


def changed(asset_id: str, **fields: Any) -> Portfolio:
    """The portfolio with some fields of one asset changed."""
    data = assets()
    data[asset_id] = {**data[asset_id], **fields}
    return make_portfolio(data)


# --- the plan ---------------------------------------------------------------------------

DAY_AHEAD = segments((0, 24, 40.0), (24, 96, 50.0), (44, 52, -5.0), (64, 80, 120.0))
"""EUR/MWh: 40 at night, 50 by day, -5 for two hours from 11:00, 120 from 16:00 to 20:00."""
INTRADAY = [55.0] * N
AFRR_POS = [5.0] * N
AFRR_NEG = [3.0] * N

AVAILABLE_PV = segments((24, 36, 1.0), (36, 60, 2.0), (60, 72, 1.0))

INJECTION = {
    # charges 2 MW 00:00-01:00, discharges 0.9 MW 17:00-18:45
    "bat-1": segments((0, 4, -2.0), (68, 75, 0.9)),
    # charges 1 MW 00:00-01:15, within the night session still owing 1 MWh
    "ev-1": segments((0, 5, -1.0)),
    # 1 MW 06:00-07:00, inside its 06:00-10:00 requirement of 1 MWh
    "load-1": segments((24, 28, -1.0)),
    # 0.5 MW 10:00-12:00, inside its 10:00-14:00 requirement of 1 MWh
    "hp-1": segments((40, 48, -0.5)),
    # 1.5 MW 08:00-10:00
    "chp-1": segments((32, 40, 1.5)),
    # all it can, curtailed to 1 MW during the negative prices 11:00-13:00
    "pv-1": segments((24, 36, 1.0), (36, 44, 2.0), (44, 52, 1.0), (52, 60, 2.0), (60, 72, 1.0)),
}

SOC = (
    [1.45, 1.9, 2.35, 2.8]  # + 2 MW x 0.9 x 0.25 h each
    + [2.8] * 64
    + [2.55, 2.3, 2.05, 1.8, 1.55, 1.3, 1.05]  # - 0.9 MW / 0.9 x 0.25 h each
    + [1.05] * 21
)
EV_ENERGY = (
    [2.2, 2.4, 2.6, 2.8, 3.0]  # + 1 MW x 0.8 x 0.25 h each from 2.0
    + [3.0] * 67
    + [1.0] * 24  # vehicles arrive at 18:00 needing 2 MWh
)

PV_MWH = (12 * 1.0 + 8 * 2.0 + 8 * 1.0 + 8 * 2.0 + 12 * 1.0) * DT  # 16 MWh
PREMIUM_EUR_PER_MWH = 80.0 - float(np.mean(DAY_AHEAD))
COSTS = {
    # ev 5 x 1 MW, load 4 x 1 MW, heat pump 8 x 0.5 MW, a quarter hour each
    "levies_and_grid_fees": CHARGING_EUR_PER_MWH * (5 * 1.0 + 4 * 1.0 + 8 * 0.5) * DT,
    "wear": 2.0 * (4 * 2.0 + 7 * 0.9) * DT,
    "fuel": 50.0 * 8 * 1.5 * DT,
    "starts": 30.0,
    # baseline 0.25 MW over 06:00-10:00: |1 - 0.25| x 4 + 0.25 x 12 quarter hours, halved
    "shift": 5.0 * (4 * 0.75 + 12 * 0.25) * DT / 2,
    # the premium is withheld during the two-hour negative run, where pv-1 injects 1 MW
    "lost_support_premium": PREMIUM_EUR_PER_MWH * 8 * 1.0 * DT,
    "expected_imbalance": 0.0,
}


def day_ahead_id(t: int) -> str:
    return f"DE:day_ahead:SDAC:{QH[t][:16]}Z"


def intraday_id(t: int) -> str:
    return f"DE:intraday_auction:IDA1:{QH[t][:16]}Z"


def energy_position(product_id: str, market: str, t: int, mw: float) -> dict[str, Any]:
    price = (DAY_AHEAD if market == "day_ahead" else INTRADAY)[t]
    return {
        "product_id": product_id,
        "market": market,
        "zone": "DE_LU",
        "pool": None,
        "direction": None,
        "mw": mw,
        "delivery_start": QH[t],
        "delivery_end": QH[t + 1] if t + 1 < N else "2027-06-15T22:00:00Z",
        "price_forecast": price,
        "revenue_eur": mw * price * DT,
    }


def positions_for(injection: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Day-ahead positions equal to the zone's net injection, except at 17:30 where 0.1 MW
    of the 1.9 MW is bought back intraday (day-ahead 2.0, intraday -0.1)."""
    total = np.sum([np.array(v) for v in injection.values()], axis=0)
    found = []
    for t in range(N):
        mw = round(float(total[t]), 1)
        assert abs(mw - total[t]) < 1e-9
        if t == 70:
            found.append(energy_position(intraday_id(t), "intraday", t, -0.1))
            mw = round(mw + 0.1, 1)
        if mw != 0.0:
            found.append(energy_position(day_ahead_id(t), "day_ahead", t, mw))
    found.append(
        {
            "product_id": AFRR,
            "market": "afrr_capacity",
            "zone": "DE_LU",
            "pool": "Amprion",
            "direction": "pos",
            "mw": 1.0,
            "delivery_start": QH[0],
            "delivery_end": QH[16],
            "price_forecast": 5.0,
            "revenue_eur": 1.0 * 5.0 * 4,
        }
    )
    return found


def bids_for(positions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Price-taking energy bids (sales at the floor, purchases at the cap), capacity at
    the forecast price."""
    plugin = default_registry().get("DE")
    bids = []
    for p in positions:
        if p["direction"] is None:
            product = plugin.product(p["product_id"])
            assert product is not None
            price = product.price_min if p["mw"] > 0 else product.price_max
            bids.append(
                {
                    "type": "single",
                    "product_id": p["product_id"],
                    "volume_mw": p["mw"],
                    "price_eur_per_mwh": price,
                }
            )
        else:
            bids.append(
                {
                    "type": "balancing_capacity",
                    "product_id": p["product_id"],
                    "direction": p["direction"],
                    "capacity_mw": p["mw"],
                    "capacity_price_eur_per_mw_h": p["price_forecast"],
                }
            )
    return bids


def account(plan: dict[str, Any], costs: dict[str, float] | None = None) -> dict[str, Any]:
    """Revenue by market (positions at the forecast, the premium on pv-1's injection),
    costs by kind, objective, each rounded to the cent."""
    revenue: dict[str, float] = {"day_ahead": 0.0, "intraday": 0.0, "afrr_capacity": 0.0}
    for p in plan["positions"]:
        if p["direction"] is None:
            t = QH.index(p["delivery_start"])
            prices = DAY_AHEAD if p["market"] == "day_ahead" else INTRADAY
            p["revenue_eur"] = p["mw"] * prices[t] * DT
        else:
            p["revenue_eur"] = p["mw"] * 5.0 * 4
        revenue[p["market"]] += p["revenue_eur"]
    pv_mwh = sum(plan["schedule"]["injection_mw"]["pv-1"]) * DT
    revenue["support_premium"] = PREMIUM_EUR_PER_MWH * pv_mwh
    plan["revenue_by_market"] = {k: round(v, 2) for k, v in revenue.items()}
    plan["costs_by_kind"] = {k: round(v, 2) for k, v in (costs or COSTS).items()}
    plan["objective_eur"] = round(
        sum(plan["revenue_by_market"].values()) - sum(plan["costs_by_kind"].values()), 2
    )
    return plan


def valid_plan() -> dict[str, Any]:
    """A plan for `make_portfolio()` on `DAY` that obeys every rule."""
    positions = positions_for(INJECTION)
    plan = {
        "format": "vpp-plan/2",
        "plan_id": "plan-p-test-2027-06-15-hand",
        "portfolio": "p-test",
        "day": DAY.isoformat(),
        "timezone": "Europe/Berlin",
        "markets": ["day_ahead", "afrr_capacity", "intraday"],
        "objective_eur": 0.0,
        "revenue_by_market": {},
        "costs_by_kind": {},
        "revenue_by_asset": {},
        "excluded_assets": {},
        "inputs": {
            "initial_soc_mwh": {"ev-1": 2.0},
            "final_soc_mwh": {},
            "initial_heat_mwh_th": {},
            "ev_owed_mwh": {"ev-1": 1.0},
            "unit_initial": {"chp-1": {"on": False, "hours": 24.0}},
            "commitments": {},
            "available_mw": {"pv-1": AVAILABLE_PV},
            "available_source": {"pv-1": "forecast"},
            "prices": {
                "day_ahead": {"DE_LU": DAY_AHEAD},
                "intraday": {"DE_LU": INTRADAY},
                "afrr_capacity": {"DE_LU/pos": AFRR_POS, "DE_LU/neg": AFRR_NEG},
            },
        },
        "positions": positions,
        "bids": bids_for(positions),
        "schedule": {
            "quarter_hours": QH,
            "injection_mw": INJECTION,
            "bands_mw": {"bat-1": {"afrr_pos": segments((0, 16, 1.0))}},
            "residual_mw": {},
            "states": {
                "bat-1": {"soc_mwh": SOC},
                "ev-1": {"e_mwh": EV_ENERGY},
                "chp-1": {"on": segments((32, 40, 1.0))},
                "load-1": {"on": segments((24, 28, 1.0))},
                "hp-1": {"on": segments((40, 48, 1.0))},
            },
        },
        "end_state": {
            "bat-1": {"soc_mwh": 1.05},
            "ev-1": {"e_mwh": 1.0, "owed_mwh": 2.0},
            "chp-1": {"on": False, "hours": 14.0},
            "load-1": {"on": False, "hours": 17.0},
            "hp-1": {"on": False, "hours": 12.0},
        },
        "solver": {"status": "optimal", "gap": 0.0},
        "notes": ["built by hand for the checker's tests"],
    }
    return account(copy.deepcopy(plan))  # tests change their copy, never the module's lists


def found(plan: dict[str, Any], folio: Portfolio | None = None) -> list[Violation]:
    return check_plan(folio or make_portfolio(), plan)


def only(violations: list[Violation], rule: str, subject: str, t: int | None) -> Violation:
    """The single violation found; it has this rule, subject and first quarter hour."""
    assert len(violations) == 1, "\n".join(str(v) for v in violations)
    (violation,) = violations
    assert (violation.rule, violation.asset_or_subject) == (rule, subject), violation
    assert violation.quarter_hour == (None if t is None else QH[t]), violation
    return violation


# --- the valid plan ----------------------------------------------------------------------


def test_treatments_assumed_by_the_plan() -> None:
    folio = make_portfolio()
    charging = {a.id: folio.treatment(a, DAY).charging_cost_eur_per_mwh for a in folio.assets}
    assert charging == {
        "bat-1": 0.0,
        "ev-1": CHARGING_EUR_PER_MWH,
        "load-1": CHARGING_EUR_PER_MWH,
        "hp-1": CHARGING_EUR_PER_MWH,
        "chp-1": 0.0,
        "pv-1": 0.0,
    }
    pv = folio.treatment(folio.asset("pv-1"), DAY).support
    assert pv is not None
    assert (pv.negative_prices.kind, pv.negative_prices.hours) == ("consecutive_hours", 1.0)
    assert folio.treatment(folio.asset("chp-1"), DAY).support is None
    battery_afrr = folio.treatment(folio.asset("bat-1"), DAY).balancing[0]
    assert (battery_afrr.pool_key, battery_afrr.energy_reservoir_h) == ("Amprion", 0.25)


def test_a_valid_plan_built_by_hand_has_no_violation() -> None:
    assert found(valid_plan()) == []


def test_the_valid_plan_adds_up() -> None:
    plan = valid_plan()
    assert plan["revenue_by_market"]["afrr_capacity"] == 20.0
    assert plan["revenue_by_market"]["intraday"] == -1.38  # -0.1 MW x 55 EUR/MWh x 0.25 h
    assert plan["costs_by_kind"]["wear"] == 7.15
    assert plan["costs_by_kind"]["shift"] == 3.75
    assert PV_MWH == 16.0


# --- one planted violation each ----------------------------------------------------------


def test_battery_above_its_soc_range() -> None:
    # the plan fills the battery to 2.8 MWh from 00:45 to 17:00; now it may hold 2.6
    v = only(found(valid_plan(), changed("bat-1", soc_max_mwh=2.6)), R.B3, "bat-1", 3)
    assert v.amount == pytest.approx(0.2)
    assert v.until == QH[68]
    assert v.unit == "MWh"


def test_a_state_the_plan_reports_wrongly() -> None:
    plan = valid_plan()
    plan["schedule"]["states"]["bat-1"]["soc_mwh"][10] = 2.9
    v = only(found(plan), R.X1, "bat-1", 10)
    assert v.amount == pytest.approx(0.1)


def test_battery_charging_above_its_power() -> None:
    v = only(found(valid_plan(), changed("bat-1", power_charge_mw=1.8)), R.B1, "bat-1", 0)
    assert v.amount == pytest.approx(0.2)
    assert v.until == QH[4]


def test_chp_run_shorter_than_its_minimum_up_time() -> None:
    v = only(found(valid_plan(), changed("chp-1", min_up_time_h=3.0)), R.C2, "chp-1", 32)
    assert v.amount == pytest.approx(1.0)
    assert v.unit == "h"


def test_chp_started_before_its_minimum_down_time_ran_out() -> None:
    # off 24 h before the day and 8 h into it: 32 h, 33 h required
    v = only(found(valid_plan(), changed("chp-1", min_down_time_h=33.0)), R.C3, "chp-1", 0)
    assert v.amount == pytest.approx(1.0)
    assert v.until == QH[32]


def test_ev_fleet_missing_what_it_owes_at_the_start() -> None:
    plan = valid_plan()
    plan["inputs"]["ev_owed_mwh"]["ev-1"] = 1.5  # it stores 1 MWh in the night session
    v = only(found(plan), R.E3, "ev-1", 0)
    assert v.amount == pytest.approx(0.5)
    assert v.until == QH[28]  # the session ends at 07:00


def test_ev_fleet_using_more_than_it_holds() -> None:
    plan = valid_plan()
    plan["inputs"]["initial_soc_mwh"]["ev-1"] = 0.5  # 1.5 MWh stored when 2 MWh leave
    del plan["schedule"]["states"]["ev-1"], plan["end_state"]["ev-1"]  # the model's, now stale
    v = only(found(plan), R.E2, "ev-1", 72)
    assert v.amount == pytest.approx(0.5)
    assert v.until == "2027-06-15T22:00:00Z"  # the end of the day


def test_heat_pump_below_its_minimum_power() -> None:
    v = only(found(valid_plan(), changed("hp-1", power_min_mw=0.6)), R.H1, "hp-1", 40)
    assert v.amount == pytest.approx(0.1)


def test_site_connection_exceeded() -> None:
    tight = sites()
    tight["s2"] = {**tight["s2"], "grid_connection_mw": 3.0}  # chp 1.5 + pv 2.0 at 09:00
    v = only(found(valid_plan(), make_portfolio(sites_data=tight)), R.S1, "s2", 36)
    assert v.amount == pytest.approx(0.5)
    assert v.until == QH[40]


def test_reserve_without_the_energy_behind_it() -> None:
    plan = valid_plan()
    # 2 MW upward for 0.25 h draws 0.56 MWh; the battery holds 1.45, its floor is 1.0
    plan["schedule"]["bands_mw"]["bat-1"]["afrr_pos"][0] = 2.0
    v = only(found(plan), R.B6, "bat-1", 0)
    assert v.amount == pytest.approx(1.0 - (1.45 - 2.0 * 0.25 / 0.9))


def test_reserve_without_the_headroom_for_it() -> None:
    plan = valid_plan()
    plan["schedule"]["bands_mw"]["bat-1"]["afrr_pos"][68] = 1.2  # discharging 0.9 of 2 MW
    v = only(found(plan), R.G4, "bat-1", 68)
    assert v.amount == pytest.approx(0.1)


def test_capacity_sold_but_not_held() -> None:
    plan = valid_plan()
    plan["schedule"]["bands_mw"]["bat-1"]["afrr_pos"][5] = 0.5
    v = only(found(plan), R.M5, f"{AFRR}#Amprion", 5)
    assert v.amount == pytest.approx(0.5)


def test_reserve_above_the_prequalified_mw() -> None:
    prequalified = [{"product": "afrr_pos", "mw": 0.8}]
    v = only(
        found(valid_plan(), changed("bat-1", prequalifications=prequalified)), R.G5, "bat-1", 0
    )
    assert v.amount == pytest.approx(0.2)
    assert v.until == QH[16]


def test_position_not_a_whole_volume_step() -> None:
    plan = valid_plan()
    plan["schedule"]["injection_mw"]["chp-1"][34] = 1.55  # the CHP runs a little higher, sold
    (position,) = [p for p in plan["positions"] if p["product_id"] == day_ahead_id(34)]
    position["mw"] = round(position["mw"] + 0.05, 2)
    plan["bids"] = bids_for(plan["positions"])
    costs = {**COSTS, "fuel": 50.0 * (8 * 1.5 + 0.05) * DT}
    violations = found(account(plan, costs))
    whole = [v for v in violations if v.rule == R.M1]
    only(whole, R.M1, day_ahead_id(34), 34)
    # its bid, equal to the position as M3 wants, is refused by the plugin for the same reason
    rest = [v for v in violations if v.rule != R.M1]
    bid = only(rest, R.M6, day_ahead_id(34), 34)
    assert "volume_step" in bid.detail


def test_bids_that_do_not_add_up_to_the_position() -> None:
    plan = valid_plan()
    (bid,) = [b for b in plan["bids"] if b["product_id"] == day_ahead_id(0)]
    bid["volume_mw"] = -2.9  # the position buys 3.0 MW
    v = only(found(plan), R.M3, day_ahead_id(0), 0)
    assert v.amount == pytest.approx(0.1)


def test_zone_injection_not_its_positions() -> None:
    plan = valid_plan()
    (position,) = [p for p in plan["positions"] if p["product_id"] == day_ahead_id(0)]
    position["mw"] = -3.1  # buys 0.1 MW more than the fleet draws
    plan["bids"] = bids_for(plan["positions"])
    v = only(found(account(plan)), R.M4, "DE_LU", 0)
    assert v.amount == pytest.approx(0.1)


def test_asset_scheduled_before_its_commissioning_date() -> None:
    v = only(
        found(valid_plan(), changed("hp-1", commissioning_date="2028-01-01")), R.G1, "hp-1", None
    )
    assert v.amount == pytest.approx(0.5)
    assert "commissioned 2028-01-01" in v.detail


def test_objective_that_does_not_add_up() -> None:
    plan = valid_plan()
    plan["objective_eur"] += 1.0
    v = only(found(plan), R.A3, "objective_eur", None)
    assert v.amount == pytest.approx(1.0)


def test_cost_that_does_not_match_the_schedule() -> None:
    plan = valid_plan()
    plan["costs_by_kind"]["fuel"] += 1.0  # still adds up: the objective follows
    plan["objective_eur"] -= 1.0
    v = only(found(plan), R.A2, "fuel", None)
    assert v.amount == pytest.approx(1.0)


def test_chp_ramping_up_faster_than_allowed() -> None:
    # 0 to 1.5 MW from 07:45 to 08:00; 0.05 MW/min allows 0.75 MW per quarter hour
    v = only(found(valid_plan(), changed("chp-1", ramp_up_mw_per_min=0.05)), R.G3, "chp-1", 32)
    assert v.amount == pytest.approx(0.75)


def test_pv_above_what_is_available() -> None:
    plan = valid_plan()
    plan["inputs"]["available_mw"]["pv-1"][36] = 1.5
    v = only(found(plan), R.R1, "pv-1", 36)
    assert v.amount == pytest.approx(0.5)


def test_capacity_offered_above_its_forecast() -> None:
    plan = valid_plan()
    (bid,) = [b for b in plan["bids"] if b["product_id"] == AFRR]
    bid["capacity_price_eur_per_mw_h"] = 6.0
    v = only(found(plan), R.M7, AFRR, 0)
    assert v.amount == pytest.approx(1.0)


def test_battery_emptier_at_the_end_than_its_target() -> None:
    plan = valid_plan()
    plan["inputs"]["final_soc_mwh"]["bat-1"] = 1.5
    v = only(found(plan), R.B4, "bat-1", 95)
    assert v.amount == pytest.approx(0.45)


def test_load_short_of_its_energy_requirement() -> None:
    requirement = [{"start_local": "06:00", "end_local": "10:00", "energy_mwh": 1.2}]
    folio = changed("load-1", energy_requirements=requirement)
    # the optimiser would report the shift cost against the new baseline of 0.3 MW
    costs = {**COSTS, "shift": 5.0 * (4 * 0.7 + 12 * 0.3) * DT / 2}
    v = only(found(account(valid_plan(), costs), folio), R.L3, "load-1", 24)
    assert v.amount == pytest.approx(0.2)
    assert v.until == QH[40]


def test_unit_state_the_plan_reports_wrongly() -> None:
    plan = valid_plan()
    plan["schedule"]["states"]["chp-1"]["on"][40] = 1
    only(found(plan), R.X1, "chp-1", 40)


def test_end_state_the_plan_reports_wrongly() -> None:
    plan = valid_plan()
    plan["end_state"]["ev-1"]["owed_mwh"] = 1.0
    v = only(found(plan), R.X1, "ev-1", 95)
    assert "end_state.owed_mwh" in v.detail


def test_asset_in_service_left_out_of_the_plan() -> None:
    plan = valid_plan()
    del plan["schedule"]["injection_mw"]["hp-1"], plan["schedule"]["states"]["hp-1"]
    plan["excluded_assets"]["hp-1"] = "switched off"
    # its consumption leaves the zone and its levies the costs; the plan follows
    for t in range(40, 48):
        (position,) = [p for p in plan["positions"] if p["product_id"] == day_ahead_id(t)]
        position["mw"] = round(position["mw"] + 0.5, 1)
    plan["positions"] = [p for p in plan["positions"] if p["mw"] != 0.0]
    plan["bids"] = bids_for(plan["positions"])
    costs = {**COSTS, "levies_and_grid_fees": CHARGING_EUR_PER_MWH * 9 * DT}
    v = only(found(account(plan, costs)), R.G1, "hp-1", None)
    assert "switched off" in v.detail


def test_chp_running_at_midnight_stopped_before_its_minimum_up_time() -> None:
    plan = valid_plan()
    plan["inputs"]["unit_initial"]["chp-1"] = {"on": True, "hours": 0.5}  # 1 h minimum
    v = only(found(plan), R.C2, "chp-1", 0)
    assert v.amount == pytest.approx(0.5)
    assert "after 0.5 h before the day" in v.detail


def test_load_running_outside_its_availability() -> None:
    window = [{"start_local": "07:00", "end_local": "12:00"}]  # it runs 06:00-07:00
    v = only(found(valid_plan(), changed("load-1", availability=window)), R.G2, "load-1", 24)
    assert v.amount == pytest.approx(1.0)
    assert v.until == QH[28]


def test_load_run_shorter_than_its_minimum_up_time() -> None:
    v = only(found(valid_plan(), changed("load-1", min_up_time_h=2.0)), R.L2, "load-1", 24)
    assert v.amount == pytest.approx(1.0)


def test_battery_cycling_more_than_its_warranty() -> None:
    # discharges 7 x 0.9 MW x 0.25 h = 1.575 MWh; half a cycle of 3 MWh allows 1.5
    v = only(found(valid_plan(), changed("bat-1", max_cycles_per_day=0.5)), R.B5, "bat-1", None)
    assert v.amount == pytest.approx(0.075)


def test_ev_fleet_charging_above_its_power() -> None:
    v = only(found(valid_plan(), changed("ev-1", charge_power_max_mw=0.8)), R.E1, "ev-1", 0)
    assert v.amount == pytest.approx(0.2)
    assert v.until == QH[5]


# --- heat demand, a load's baseline, decommissioning ---------------------------------------


def test_heat_pump_heat_storage_with_heat_demand() -> None:
    demand = [{"start_local": "10:00", "end_local": "12:00", "heat_mw_th": 1.5}]
    folio = changed("hp-1", energy_requirements=[], heat_demand=demand, thermal_storage_mwh_th=2.0)
    plan = valid_plan()
    # 0.5 MW x cop 3 = 1.5 MW_th exactly meets the demand from 10:00 to 12:00; start half full
    plan["inputs"]["initial_heat_mwh_th"]["hp-1"] = 1.0
    assert found(plan, folio) == []
    plan["inputs"]["initial_heat_mwh_th"]["hp-1"] = 1.5  # 1.5 of 2 MWh_th... still in range
    assert found(plan, folio) == []
    tight = changed(
        "hp-1",
        energy_requirements=[],
        heat_demand=[{**demand[0], "heat_mw_th": 1.7}],
        thermal_storage_mwh_th=2.0,
    )
    # 0.2 MW_th short for 2 h: the store ends 0.4 MWh_th emptier than it started
    plan["inputs"]["initial_heat_mwh_th"]["hp-1"] = 1.0
    v = only(found(plan, tight), R.H3, "hp-1", 95)
    assert v.amount == pytest.approx(0.4)


def test_flexible_load_shift_cost_against_its_baseline() -> None:
    folio = changed("load-1", baseline_mw=0.25)
    # baseline 0.25 MW all day: 0.75 x 4 quarter hours above it, 0.25 x 92 below, halved
    costs = {**COSTS, "shift": 5.0 * (4 * 0.75 + 92 * 0.25) * DT / 2}
    assert found(account(valid_plan(), costs), folio) == []


def test_asset_scheduled_on_its_decommissioning_date() -> None:
    v = only(
        found(valid_plan(), changed("hp-1", decommissioning_date=DAY.isoformat())),
        R.G1,
        "hp-1",
        None,
    )
    assert f"decommissioned {DAY}" in v.detail


# --- unreadable plans --------------------------------------------------------------------


def format_error(plan: dict[str, Any]) -> PlanFormatError:
    with pytest.raises(PlanFormatError) as raised:
        found(plan)
    return raised.value


def test_missing_key_is_named() -> None:
    plan = valid_plan()
    del plan["inputs"]["prices"]
    error = format_error(plan)
    assert error.field == "inputs.prices"
    assert "missing" in str(error)


def test_array_of_the_wrong_length_is_named() -> None:
    plan = valid_plan()
    plan["schedule"]["injection_mw"]["bat-1"] = [0.0] * 95
    error = format_error(plan)
    assert (error.field, error.value) == ("schedule.injection_mw.bat-1", "95 values")
    assert "96" in str(error)


def test_unknown_asset_is_named() -> None:
    plan = valid_plan()
    plan["schedule"]["injection_mw"]["ghost"] = [0.0] * N
    error = format_error(plan)
    assert (error.field, error.value) == ("schedule.injection_mw.ghost", "ghost")


def test_unknown_product_is_named() -> None:
    plan = valid_plan()
    plan["positions"][0]["product_id"] = "DE:day_ahead:SDAC:2031-01-01T00:00Z"
    error = format_error(plan)
    assert error.field == "positions[0].product_id"


def test_wrong_format_is_named() -> None:
    plan = valid_plan()
    plan["format"] = "vpp-plan/1"
    assert format_error(plan).field == "format"


def test_position_recorded_in_another_market_than_its_product() -> None:
    plan = valid_plan()
    plan["positions"][0]["market"] = "intraday"
    error = format_error(plan)
    assert (error.field, error.value) == ("positions[0].market", "intraday")


# --- windows and independence ------------------------------------------------------------


def test_a_night_window_on_the_spring_clock_change() -> None:
    day = date(2027, 3, 28)  # 23 hours: 02:00 local does not exist
    periods = mtu_index(day, "Europe/Berlin", 15)
    night = DailyWindow(start_local=time(18), end_local=time(7))
    before, after = occurrences(night, day, periods, "Europe/Berlin")
    assert (before.hours, before.inside_hours, before.share) == (12.0, 6.0, 0.5)
    assert (after.hours, after.inside_hours, after.hours_after) == (13.0, 6.0, 7.0)
    assert before.starts_before
    assert after.ends_after
    assert after.indices()[0] == len(periods) - 24  # 18:00 local, six hours before the end


def test_the_checker_imports_no_optimiser_model_code() -> None:
    folder = Path(check_package.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                inside = name.startswith("trading.optimiser.check")
                assert inside or not name.startswith("trading.optimiser"), f"{path}: {name}"
                assert not name.startswith("trading.") or inside, f"{path}: {name}"


# --- the command line --------------------------------------------------------------------

runner = CliRunner()


def write(tmp_path: Path, plan: dict[str, Any] | str) -> tuple[Path, Path]:
    folio = tmp_path / "portfolio.yaml"
    data = {"id": "p-test", "tenant": "test", "sites": list(sites().values())}
    data["assets"] = list(assets().values())
    folio.write_text(yaml.safe_dump(data), encoding="utf-8")
    path = tmp_path / "plan.json"
    path.write_text(plan if isinstance(plan, str) else json.dumps(plan), encoding="utf-8")
    return folio, path


def cli(folio: Path, plan: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["plan", "check", "--portfolio", str(folio), "--plan", str(plan), *extra]
    )
    return result.exit_code, result.output


def test_cli_valid_plan_exits_0(tmp_path: Path) -> None:
    code, out = cli(*write(tmp_path, valid_plan()))
    assert code == 0, out
    assert "no violation" in out
    code, out = cli(*write(tmp_path, valid_plan()), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["valid"] is True
    assert report["violations"] == []
    assert report["plan"] == "plan-p-test-2027-06-15-hand"


def test_cli_violations_exit_1_with_a_table_or_json(tmp_path: Path) -> None:
    plan = valid_plan()
    plan["objective_eur"] += 1.0
    plan["schedule"]["states"]["bat-1"]["soc_mwh"][10] = 2.9
    code, out = cli(*write(tmp_path, plan))
    assert code == 1, out
    assert "A3 objective" in out
    assert "X1 states differ" in out
    code, out = cli(*write(tmp_path, plan), "--json")
    assert code == 1, out
    report = json.loads(out)
    assert report["valid"] is False
    assert {v["rule"] for v in report["violations"]} == {R.A3, R.X1}
    (state,) = [v for v in report["violations"] if v["rule"] == R.X1]
    assert set(state) == {
        "rule", "asset_or_subject", "quarter_hour", "amount", "unit", "detail", "until"
    }  # fmt: skip
    assert (state["asset_or_subject"], state["quarter_hour"]) == ("bat-1", QH[10])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda p: p.pop("schedule"), "schedule"),
        (lambda p: p["inputs"]["available_mw"].update({"pv-1": [0.0] * 3}), "3 values"),
        (lambda p: p["schedule"]["injection_mw"].update({"ghost": [0.0] * N}), "ghost"),
    ],
    ids=["missing key", "wrong length", "unknown asset"],
)
def test_cli_unreadable_plan_exits_2_naming_field_and_value(
    tmp_path: Path, change: Callable[[dict[str, Any]], Any], expected: str
) -> None:
    plan = valid_plan()
    change(plan)
    code, out = cli(*write(tmp_path, plan))
    assert code == 2, out
    assert "plan.json" in out
    assert expected in out
    code, out = cli(*write(tmp_path, plan), "--json")
    assert code == 2, out
    error = json.loads(out)["error"]
    assert error["file"].endswith("plan.json")
    assert expected in json.dumps(error)


def test_cli_missing_or_not_json_file_exits_2(tmp_path: Path) -> None:
    folio, _ = write(tmp_path, valid_plan())
    code, out = cli(folio, tmp_path / "absent.json")
    assert code == 2
    assert "absent.json" in out
    assert "no such file" in out
    folio, path = write(tmp_path, "{not json")
    code, out = cli(folio, path)
    assert code == 2
    assert "not JSON" in out


def test_check_plan_files_names_the_file(tmp_path: Path) -> None:
    plan = valid_plan()
    plan["schedule"]["injection_mw"]["bat-1"] = [0.0]
    folio, path = write(tmp_path, plan)
    with pytest.raises(PlanFormatError) as raised:
        check_plan_files(folio, path)
    assert raised.value.file == str(path)
    assert str(raised.value).startswith(f"{path}: schedule.injection_mw.bat-1=")
    assert check_plan_files(*write(tmp_path, valid_plan())) == []
