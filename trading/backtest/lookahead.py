"""A multi-day horizon for storage: plan D and the days after it, commit D.

With ``BacktestConfig.horizon_days = h > 1`` each battery's end of D is read off a plan of
D and the h - 1 days after it: a linear programme of that battery alone over the h days
on the **forecast** prices (charge and discharge power, SoC per quarter hour, one-way
efficiencies, SoC bounds, wear on charged plus discharged energy, the warranty's daily
discharge cap), whose last day's end is valued by the one-day rule. The live optimiser
then plans D to end at or above the SoC that joint plan holds at D's end (`reachable_floor`:
never closer to the top of the SoC range than one whole volume step moves it), with energy
above it still valued by the one-day rule; only D is committed and D + 1 is planned
again from where D ended.

Why the floor keeps a step's room below the top: the joint plan is continuous, and where it
fills the battery it ends D exactly at its highest SoC. D's plan sells and buys in whole
volume steps (0.1 MW over an hour moves the SoC by 0.095 MWh when charging at 95 %), so
from most starting points no whole-step plan lands on that one level: the plan then burns
energy, charging and discharging at once, to meet it, and on DE-LU and NL 2023-05-21 lost
about 220 EUR (a third of the day) against the same day planned with the one-day value.

Why a target and not the joint plan's shadow price: the SoC at midnight often sits on a
bound of its range, where the shadow price is any of an interval; measured against the
independent reference on DE-LU 2023 (docs/backtest.md), the shadow price as a value lost
0.39 % where the target closed the gap.

What the look-ahead leaves out, stated in the run's notes: the other assets and markets
(each battery is planned alone against its zone's forecast energy price, day-ahead else
intraday), charging levies and fees, whole-MW steps and the rule against charging and
discharging at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, vstack

from markets.registry import MarketRegistry
from regulatory.assets.storage import Battery
from regulatory.site import Site
from trading.optimiser.build import ENERGY_MARKETS, INTRADAY_SESSION

DT_H = 0.25


@dataclass(frozen=True)
class AheadPlan:
    """What a plan of D..D + h - 1 says about the end of D."""

    end_soc_mwh: float
    """The SoC the joint plan holds at the end of D [MWh]."""
    shadow_price_eur_per_mwh: float
    """The value of one more MWh stored at the end of D in the joint plan [EUR/MWh]."""


def plan_ahead(
    battery: Battery,
    start_soc_mwh: float,
    days: Sequence[np.ndarray],
    end_value_eur_per_mwh: float,
) -> AheadPlan | None:
    """Plan `battery` alone over `days` from `start_soc_mwh` (see the module docstring).

    `days`: the forecast energy prices of each quarter hour of D, D + 1, ... [EUR/MWh];
    `end_value_eur_per_mwh`: what a MWh left at the end of the last day is worth. None
    where the programme has no optimum (it always has one for a valid battery).
    """
    prices = np.concatenate([np.asarray(d, dtype=float) for d in days])
    n = len(prices)
    low, high = battery.soc_bounds_mwh()
    eta_c, eta_d = battery.efficiency_charge, battery.efficiency_discharge
    wear = battery.degradation_cost_eur_per_mwh
    # Columns: charge 0..n-1, discharge n..2n-1, soc 2n..3n-1; linprog minimises.
    cost = np.concatenate([(prices + wear) * DT_H, (-prices + wear) * DT_H, np.zeros(n)])
    cost[3 * n - 1] -= end_value_eur_per_mwh
    t = np.arange(n)
    rows = np.concatenate([t, t[1:], t, t])
    cols = np.concatenate([2 * n + t, 2 * n + t[:-1], t, n + t])
    vals = np.concatenate(
        [np.ones(n), -np.ones(n - 1), np.full(n, -eta_c * DT_H), np.full(n, DT_H / eta_d)]
    )
    balance = coo_matrix((vals, (rows, cols)), shape=(n, 3 * n)).tocsr()
    rhs = np.zeros(n)
    rhs[0] = start_soc_mwh
    caps, bounds_ub = [], []
    if battery.max_cycles_per_day is not None:
        cap = battery.max_cycles_per_day * (high - low)
        first = 0
        for day in days:
            k = len(day)
            row = np.zeros(3 * n)
            row[n + first : n + first + k] = DT_H
            caps.append(coo_matrix(row))
            bounds_ub.append(cap)
            first += k
    bounds = (
        [(0.0, battery.power_charge_mw)] * n
        + [(0.0, battery.power_discharge_mw)] * n
        + [(low, high)] * n
    )
    solved = linprog(
        cost,
        A_ub=vstack(caps).tocsr() if caps else None,
        b_ub=np.array(bounds_ub) if caps else None,
        A_eq=balance,
        b_eq=rhs,
        bounds=bounds,
        method="highs",
    )
    if solved.status != 0:
        return None
    last = len(days[0]) - 1  # D's last quarter hour
    # d(min cost)/d(energy added to the next balance row) is its marginal; the value is
    # its negative (at the end of the horizon: the given end value).
    shadow = float(-solved.eqlin.marginals[last + 1]) if last + 1 < n else end_value_eur_per_mwh
    return AheadPlan(float(solved.x[2 * n + last]), shadow)


def reachable_floor(battery: Battery, end_soc_mwh: float, step_mwh: float) -> float:
    """The floor D's whole-step plan is asked to end at or above [MWh]: the joint plan's
    end of D (`end_soc_mwh`), but at least `step_mwh` below the top of the battery's SoC
    range and never below its bottom.

    `step_mwh`: the SoC one volume step held over one product moves when charging
    (step [MW] x product length [h] x charge efficiency), the finest a whole-step plan
    can place its end near the top (see the module docstring); 0 where positions are
    continuous.
    """
    low, high = battery.soc_bounds_mwh()
    return max(low, min(end_soc_mwh, high - step_mwh))


def step_energy_mwh(
    battery: Battery, site: Site, day: date, registry: MarketRegistry, markets: Sequence[str]
) -> float:
    """The SoC one volume step held over one product moves when charging [MWh]: the
    finest whole-step change of `battery`'s end of `day`, on the first energy market of
    `markets` (day-ahead, else the intraday auction) its zone offers products in (e.g.
    0.1 MW x 1 h x 0.95 on an hourly day-ahead); 0 where none is traded."""
    plugin = registry.get(site.country)
    for market in markets:
        market_id = ENERGY_MARKETS.get(market)
        if market_id is None:
            continue
        try:
            plugin.market(market_id)
        except KeyError:
            continue
        products = [
            p
            for p in plugin.products(day, market_id)
            if p.bidding_zone == site.bidding_zone
            and (market != "intraday" or p.family == INTRADAY_SESSION)
        ]
        if products:
            return min(
                p.volume_step_mw * p.duration_minutes / 60.0 * battery.efficiency_charge
                for p in products
            )
    return 0.0
