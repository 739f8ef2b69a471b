"""Constraint blocks of each asset kind: physics, costs, and the headroom it can reserve.

Each block adds its own variables and rows to the `LinearModel` and returns `AssetTerms`:
the asset's net injection per quarter hour (MW, positive = injection), its costs and
regulatory costs (EUR, as objective terms), and the rows that keep reserved balancing
capacity physically deliverable (power headroom, and stored energy for limited-energy
assets). Time is the horizon's quarter hours; `DT` is their length in hours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from regulatory.assets import CHP, PV, AssetBase, Battery, EVFleet, FlexibleLoad, HeatPump, Wind
from regulatory.assets.base import BalancingProduct
from regulatory.site import Site
from regulatory.treatment import Treatment
from regulatory.windows import DailyWindow
from trading.optimiser import accounts
from trading.optimiser.inputs import QUARTER_HOUR_H, ChpState, Horizon, Profiles
from trading.optimiser.linear import Expr, FloatArray, LinearModel, Var, total

DT = QUARTER_HOUR_H
UP: tuple[BalancingProduct, ...] = ("fcr", "afrr_pos")
DOWN: tuple[BalancingProduct, ...] = ("fcr", "afrr_neg")
DEFAULT_RESERVOIR_H = DT
"""Energy a limited-energy asset keeps per reserved MW when its rule names none [h]."""


@dataclass
class AssetContext:
    """Everything an asset block needs besides the model."""

    asset: AssetBase
    site: Site
    treatment: Treatment
    horizon: Horizon
    timezone: str
    profiles: Profiles
    day_ahead_prices: FloatArray | None
    lowest_energy_prices: FloatArray | None = None
    """Lowest price of the energy markets traded, per quarter hour [EUR/MWh]."""
    reserves: dict[BalancingProduct, Var] = field(default_factory=dict)
    final_soc_mwh: float | None = None
    chp_initial: ChpState | None = None
    """A CHP's state when the day starts; None: off and free to start."""


@dataclass
class AssetTerms:
    """What the rest of the model needs to know about one asset."""

    asset_id: str
    injection: Expr
    """Net injection per quarter hour [MW]; negative = withdrawal."""
    costs: dict[str, Expr] = field(default_factory=dict)
    """The asset's own costs by kind (`accounts.COST_KINDS`) [EUR, positive = cost]."""
    revenue: dict[str, Expr] = field(default_factory=dict)
    """The asset's own revenue besides the markets (`accounts.SUPPORT_PREMIUM`) [EUR]."""
    withdrawal: Expr | None = None
    """Energy drawn from the grid per quarter hour [MW], which levies and fees apply to."""
    soc: Var | None = None
    """State of charge at the end of each quarter hour [MWh], for storage."""
    overlap_forbidden: np.ndarray | None = None
    """Quarter hours in which a binary forbids simultaneous charge and discharge."""
    variables: dict[str, Var] = field(default_factory=dict)
    columns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Every column the asset's block and its reserves own (set by `build_model`)."""
    mode_columns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """The binaries that forbid simultaneous charge and discharge, wherever placed."""
    states: dict[str, Expr] = field(default_factory=dict)
    """The model's states per quarter hour, by the names of `docs/plan-format.md`
    (`soc_mwh`, `heat_mwh_th`, `e_mwh` at the end of each quarter hour; `on` 0/1)."""
    owed_at_end: Expr | None = None
    """EV fleets: energy still owed to the session running past midnight [MWh, one row]."""
    initial: dict[str, float] = field(default_factory=dict)
    """The initial states the block used (`initial_soc_mwh`, `initial_heat_mwh_th`,
    `ev_owed_mwh`), as the plan reports them."""
    available_mw: FloatArray | None = None
    """pv and wind: the available power the block was given per quarter hour [MW]."""

    def value(self) -> Expr:
        """The asset's own objective terms [EUR]: revenue minus costs, one row."""
        rows = [e.sum() for e in self.revenue.values()]
        rows += [-(e.sum()) for e in self.costs.values()]
        return total(rows) if rows else Expr.zeros(1)


def add_cost(terms: dict[str, Expr], kind: str, expr: Expr) -> None:
    """Add `expr` [EUR] to the term of `kind` in `terms` (costs or revenue)."""
    expr = expr.sum() if expr.n > 1 else expr
    terms[kind] = terms[kind] + expr if kind in terms else expr


def injection_rows_range(
    injection: Expr, lower: FloatArray, upper: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Lowest and highest value of each row of `injection` within column bounds [MW]."""
    low = injection.const.copy()
    high = injection.const.copy()
    for cols, coefs in injection.terms:
        low = low + np.where(coefs > 0, coefs * lower[cols], coefs * upper[cols])
        high = high + np.where(coefs > 0, coefs * upper[cols], coefs * lower[cols])
    return low, high


def availability_mask(asset: AssetBase, horizon: Horizon, timezone: str) -> FloatArray:
    """1.0 where the asset may run (inside an availability window, or always), else 0.0."""
    if not asset.availability:
        return np.ones(horizon.n)
    mask = np.zeros(horizon.n)
    for window in asset.availability:
        mask = np.maximum(mask, window_mask(window, horizon, timezone))
    return mask


def window_mask(window: DailyWindow, horizon: Horizon, timezone: str) -> FloatArray:
    """1.0 on the quarter hours inside `window` (site-local wall-clock time), else 0.0."""
    local = horizon.periods.tz_convert(timezone)
    mask = np.zeros(horizon.n)
    for start_day in (horizon.day - timedelta(days=1), horizon.day):
        if start_day.isoweekday() not in window.weekdays:
            continue
        start = pd.Timestamp(
            year=start_day.year,
            month=start_day.month,
            day=start_day.day,
            hour=window.start_local.hour,
            minute=window.start_local.minute,
        ).tz_localize(timezone, nonexistent="shift_forward", ambiguous=True)
        end = start + pd.Timedelta(hours=window.duration_h)
        mask = np.maximum(mask, ((local >= start) & (local < end)).astype(float))
    return mask


def _headroom(
    model: LinearModel,
    ctx: AssetContext,
    injection: Expr,
    upper: Expr | FloatArray,
    lower: Expr | FloatArray,
) -> None:
    """Reserved capacity fits between the planned injection and the asset's limits."""
    up = [ctx.reserves[p] for p in UP if p in ctx.reserves]
    down = [ctx.reserves[p] for p in DOWN if p in ctx.reserves]
    subject = ctx.asset.id
    if up:
        model.add(
            "headroom up",
            injection + total(up) - upper,
            "<=",
            0.0,
            subjects=subject,
            description="planned injection plus upward reserve within the asset's maximum",
        )
    if down:
        model.add(
            "headroom down",
            injection - total(down) - lower,
            ">=",
            0.0,
            subjects=subject,
            description="planned injection minus downward reserve within the asset's minimum",
        )


def _reservoir_h(ctx: AssetContext, product: BalancingProduct) -> float:
    return reservoir_hours(ctx.treatment, product)


def reservoir_hours(treatment: Treatment, product: BalancingProduct | str) -> float:
    """Hours of full delivery a limited-energy asset keeps energy for, per reserved MW [h]:
    the treatment's rule for `product`, else `DEFAULT_RESERVOIR_H`."""
    for item in treatment.balancing:
        if item.product == product and item.energy_reservoir_h is not None:
            return item.energy_reservoir_h
    return DEFAULT_RESERVOIR_H


def _energy_for_reserves(
    model: LinearModel,
    ctx: AssetContext,
    soc: Var,
    low: float,
    high: float,
    efficiency: tuple[float, float],
) -> None:
    """A storage keeps the energy its reserves may call for (LER rule of the country).

    Delivering r MW upward for h hours draws r * h / eta_discharge MWh from storage;
    absorbing r MW downward for h hours stores r * h * eta_charge MWh.
    """
    eta_charge, eta_discharge = efficiency
    up = [ctx.reserves[p] * (_reservoir_h(ctx, p) / eta_discharge) for p in UP if p in ctx.reserves]
    down = [
        ctx.reserves[p] * (_reservoir_h(ctx, p) * eta_charge) for p in DOWN if p in ctx.reserves
    ]
    if up:
        model.add(
            "reserve energy up",
            soc - total(up),
            ">=",
            low,
            subjects=ctx.asset.id,
            description="stored energy to deliver the upward reserve for its required duration",
        )
    if down:
        model.add(
            "reserve energy down",
            soc + total(down),
            "<=",
            high,
            subjects=ctx.asset.id,
            description="free storage to absorb the downward reserve for its required duration",
        )


def battery_block(model: LinearModel, ctx: AssetContext) -> AssetTerms:
    """Battery: SoC dynamics, efficiencies, no simultaneous charge and discharge.

    A binary forbids charging and discharging at once in the quarter hours where that
    could pay (see `binary_periods`); `plan._repair_overlaps` adds more if a solution
    still overlaps elsewhere. Wear (`degradation_cost_eur_per_mwh`) is charged on
    throughput: charged plus discharged energy.
    """
    a = ctx.asset
    assert isinstance(a, Battery)
    n = ctx.horizon.n
    on = availability_mask(a, ctx.horizon, ctx.timezone)
    charge = model.var(f"{a.id}.charge", n, 0.0, a.power_charge_mw * on)
    discharge = model.var(f"{a.id}.discharge", n, 0.0, a.power_discharge_mw * on)
    low, high = a.soc_bounds_mwh()
    soc = model.var(f"{a.id}.soc", n, low, high)
    initial = a.soc_initial_mwh if a.soc_initial_mwh is not None else (low + high) / 2
    initial = min(max(initial, low), high)
    flow = charge * (DT * a.efficiency_charge) - discharge * (DT / a.efficiency_discharge)
    previous = lag(soc, 1) + np.r_[initial, np.zeros(n - 1)]
    model.add(
        "battery energy balance",
        soc - previous - flow,
        "==",
        0.0,
        subjects=a.id,
        description="state of charge follows charging and discharging with their efficiencies",
    )
    target = initial if ctx.final_soc_mwh is None else ctx.final_soc_mwh
    model.add(
        "battery final soc",
        soc[n - 1].expr(),
        ">=",
        target,
        subjects=a.id,
        description="state of charge at the end of the day reaches its target",
    )
    if a.max_cycles_per_day is not None:
        model.add(
            "battery cycles",
            discharge.sum(DT),
            "<=",
            a.max_cycles_per_day * (high - low),
            subjects=a.id,
            description="discharged energy within the warranty's cycles per day",
        )
    overlap_at = binary_periods(
        ctx,
        a.efficiency_charge * a.efficiency_discharge,
        ctx.treatment.charging_cost_eur_per_mwh,
        a.degradation_cost_eur_per_mwh,
    )
    terms = AssetTerms(
        a.id,
        injection=discharge - charge,
        costs=_storage_costs(
            charge,
            discharge,
            a.degradation_cost_eur_per_mwh,
            ctx.treatment.charging_cost_eur_per_mwh,
        ),
        withdrawal=charge.expr(),
        soc=soc,
        variables={"charge": charge, "discharge": discharge},
        states={"soc_mwh": soc.expr()},
        initial={"initial_soc_mwh": initial, "final_soc_mwh": target},
    )
    share_converter(model, terms, a)
    forbid_overlap(model, terms, a, overlap_at)
    _headroom(
        model,
        ctx,
        terms.injection,
        a.power_discharge_mw * on,
        -a.power_charge_mw * on,
    )
    _energy_for_reserves(model, ctx, soc, low, high, (a.efficiency_charge, a.efficiency_discharge))
    return terms


def _storage_costs(
    charge: Var, discharge: Var, wear_eur_per_mwh: float, charging_cost_eur_per_mwh: float
) -> dict[str, Expr]:
    """Wear on throughput (charged plus discharged MWh) and levies and fees on charging."""
    costs: dict[str, Expr] = {}
    if wear_eur_per_mwh:
        add_cost(costs, accounts.WEAR, charge.sum(DT * wear_eur_per_mwh))
        add_cost(costs, accounts.WEAR, discharge.sum(DT * wear_eur_per_mwh))
    if charging_cost_eur_per_mwh:
        add_cost(costs, accounts.LEVIES_AND_GRID_FEES, charge.sum(DT * charging_cost_eur_per_mwh))
    return costs


def binary_periods(
    ctx: AssetContext, round_trip: float, charging_cost: float, wear: float
) -> np.ndarray:
    """Quarter hours where simultaneous charge and discharge could pay, at the lowest
    price of the energy markets traded.

    Charging and discharging at once with the stored energy unchanged draws an extra
    (1 - eta) / eta MWh from the grid per MWh discharged (eta the round-trip efficiency),
    and costs the charging levies and wear on both flows. It pays only where the price
    paid for that withdrawal beats them: price <= -(levies + wear * (1 + eta)) / (1 - eta)
    [EUR/MWh]. A lossless storage gains nothing from it and gets binaries at prices <= 0
    only, against ties. Elsewhere an optimum never overlaps; `plan._repair_overlaps`
    catches the cases other constraints make it pay (positions held, custom rows).
    """
    prices = ctx.lowest_energy_prices
    if prices is None:
        return np.ones(ctx.horizon.n, dtype=bool)
    if round_trip >= 1.0 - 1e-9:
        return prices <= 0.0
    threshold = -(charging_cost + wear * (1.0 + round_trip)) / (1.0 - round_trip)
    return prices <= min(threshold, 0.0)


def share_converter(model: LinearModel, terms: AssetTerms, asset: Battery | EVFleet) -> None:
    """charge / max charge + discharge / max discharge <= 1 in every quarter hour.

    True of any storage without binaries (its powers are those of one converter), and
    the tightest linear form of "not both at once": it keeps the LP relaxation from
    discharging at full power while charging a little to fake upward headroom, so fewer
    binaries are needed and the search is shorter.
    """
    charge, discharge = terms.variables["charge"], terms.variables["discharge"]
    p_charge, p_discharge = _powers(asset)
    model.add(
        "converter shared",
        charge * (1.0 / p_charge) + discharge * (1.0 / p_discharge),
        "<=",
        1.0,
        subjects=asset.id,
        description="charging and discharging share one converter's power",
    )


def forbid_overlap(
    model: LinearModel, terms: AssetTerms, asset: Battery | EVFleet, where: FloatArray
) -> None:
    """Charge and discharge not both on in the quarter hours `where` (a binary each)."""
    where = np.asarray(where, dtype=bool)
    done = terms.overlap_forbidden
    terms.overlap_forbidden = where if done is None else (done | where)
    if done is not None:
        where = where & ~done
    idx = np.flatnonzero(where)
    if len(idx) == 0:
        return
    charge, discharge = terms.variables["charge"], terms.variables["discharge"]
    p_charge, p_discharge = _powers(asset)
    mode = model.binary(f"{asset.id}.charging", len(idx))
    model.add(
        "no simultaneous charge",
        charge[idx] - mode.expr(p_charge),
        "<=",
        0.0,
        subjects=asset.id,
        description="charge only in quarter hours set to charging",
    )
    model.add(
        "no simultaneous discharge",
        discharge[idx] + mode.expr(p_discharge),
        "<=",
        p_discharge,
        subjects=asset.id,
        description="discharge only in quarter hours not set to charging",
    )
    terms.variables.setdefault("overlap_binaries", mode)
    terms.columns = np.concatenate([terms.columns, mode.cols])
    terms.mode_columns = np.concatenate([terms.mode_columns, mode.cols])


def _powers(asset: Battery | EVFleet) -> tuple[float, float]:
    if isinstance(asset, Battery):
        return asset.power_charge_mw, asset.power_discharge_mw
    return asset.charge_power_max_mw, max(asset.discharge_power_max_mw, 1e-9)


def renewable_block(model: LinearModel, ctx: AssetContext) -> AssetTerms:
    """PV or wind: inject up to the available power; curtail if allowed; support premium.

    The premium (the support contract's reference value minus the day's average day-ahead
    price, at least 0 EUR/MWh: a sliding market premium with the month's market value
    approximated by the day's) is earned on injected energy except in the quarter hours
    the country's treatment says it is lost at negative prices.
    """
    a = ctx.asset
    assert isinstance(a, PV | Wind)
    n = ctx.horizon.n
    available = ctx.profiles.quarter_hourly(a.id, ctx.horizon, a.rated_power_mw)
    available = available * availability_mask(a, ctx.horizon, ctx.timezone)
    lower = np.zeros(n) if a.curtailable else available
    output = model.var(f"{a.id}.output", n, lower, available)
    terms = AssetTerms(
        a.id, injection=output.expr(), variables={"output": output}, available_mw=available
    )
    _support(ctx, output, terms)
    _headroom(model, ctx, output.expr(), available, lower)
    return terms


def _support(ctx: AssetContext, output: Var, terms: AssetTerms) -> None:
    """The support premium on every MWh injected, and what a negative-price rule withholds."""
    level, lost = premium_level(ctx)
    if level <= 0:
        return
    add_cost(terms.revenue, accounts.SUPPORT_PREMIUM, output.sum(DT * level))
    if lost.any():
        add_cost(
            terms.costs, accounts.LOST_SUPPORT_PREMIUM, output.sum(DT * level * lost.astype(float))
        )


def premium_level(ctx: AssetContext) -> tuple[float, np.ndarray]:
    """The support premium [EUR/MWh] and the quarter hours a negative-price rule withholds it.

    A sliding market premium: the contract's reference value minus the day's average
    day-ahead price (the month's market value, approximated by the day's), at least 0.
    """
    n = ctx.horizon.n
    support = ctx.treatment.support
    prices = ctx.day_ahead_prices
    if support is None or prices is None:
        return 0.0, np.zeros(n, dtype=bool)
    level = max(0.0, support.reference_value_eur_per_mwh - float(np.mean(prices)))
    lost = premium_lost(support.negative_prices.kind, support.negative_prices.hours, prices)
    return level, lost


def premium_per_mwh(ctx: AssetContext) -> FloatArray:
    """Support premium per quarter hour [EUR/MWh]; 0 where lost at negative prices."""
    level, lost = premium_level(ctx)
    return np.where(lost, 0.0, level)


def premium_lost(kind: str, hours: float | None, prices: FloatArray) -> np.ndarray:
    """Quarter hours in which a negative-price rule withholds the premium."""
    if kind == "not_affected":
        return np.zeros(len(prices), dtype=bool)
    if kind == "every_period":
        return prices < 0
    if kind == "non_positive_period":
        return prices <= 0
    assert hours is not None
    negative = prices < 0
    lost = np.zeros(len(prices), dtype=bool)
    start = None
    for i, flag in enumerate([*negative, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if (i - start) * DT >= hours - 1e-9:
                lost[start:i] = True
            start = None
    return lost


def chp_block(model: LinearModel, ctx: AssetContext) -> AssetTerms:
    """CHP: on/off with minimum stable load, minimum up and down times, start and fuel cost.

    Before the horizon the unit is in `ctx.chp_initial` (running or not, for so many hours);
    without it, off and free to start. A unit running at the start is not started again,
    runs out what is left of its minimum up time, and one that stopped rests out what is
    left of its minimum down time.
    """
    a = ctx.asset
    assert isinstance(a, CHP)
    n = ctx.horizon.n
    avail = availability_mask(a, ctx.horizon, ctx.timezone)
    was_on = 1.0 if ctx.chp_initial is not None and ctx.chp_initial.on else 0.0
    lower = np.zeros(n)
    upper = np.asarray(avail, float).copy()
    if ctx.chp_initial is not None:
        held = ctx.chp_initial.hours
        if ctx.chp_initial.on:
            keep = min(n, max(0, round((a.min_up_time_h - held) / DT)))
            lower[:keep] = np.minimum(1.0, upper[:keep])  # unless the window closes it
        else:
            rest = min(n, max(0, round((a.min_down_time_h - held) / DT)))
            upper[:rest] = 0.0
    on = model.var(f"{a.id}.on", n, lower, upper, integer=True)
    start = model.var(f"{a.id}.start", n, 0.0, 1.0)
    output = model.var(f"{a.id}.output", n, 0.0, a.power_max_mw * avail)
    model.add(
        "chp max output",
        output - on.expr(a.power_max_mw),
        "<=",
        0.0,
        subjects=a.id,
        description="output only while running, up to the maximum",
    )
    model.add(
        "chp min stable load",
        output - on.expr(a.power_min_stable_mw),
        ">=",
        0.0,
        subjects=a.id,
        description="output at least the minimum stable load while running",
    )
    shifted = lag(on, 1) + np.r_[was_on, np.zeros(n - 1)]
    model.add(
        "chp start",
        start - on + shifted,
        ">=",
        0.0,
        subjects=a.id,
        description="a start wherever the unit goes from off to on",
    )
    up = round(a.min_up_time_h / DT)
    down = round(a.min_down_time_h / DT)
    if up > 1:
        model.add(
            "chp min up time",
            _window_sum(start, up) - on,
            "<=",
            0.0,
            subjects=a.id,
            description="once started, the unit runs for its minimum up time",
        )
    if down > 1:
        model.add(
            "chp min down time",
            _window_sum(start, down) + lag(on, down) + _on_before(ctx, down, n),
            "<=",
            1.0,
            subjects=a.id,
            description="once stopped, the unit rests for its minimum down time",
        )
    terms = AssetTerms(
        a.id,
        injection=output.expr(),
        variables={"output": output, "on": on, "start": start},
        states={"on": on.expr()},
    )
    if a.fuel_cost_eur_per_mwh:
        add_cost(terms.costs, accounts.FUEL, output.sum(DT * a.fuel_cost_eur_per_mwh))
    if a.start_cost_eur:
        add_cost(terms.costs, accounts.STARTS, start.sum(a.start_cost_eur))
    _support(ctx, output, terms)
    _headroom(model, ctx, output.expr(), on.expr(a.power_max_mw), on.expr(a.power_min_stable_mw))
    return terms


def _on_before(ctx: AssetContext, k: int, n: int) -> FloatArray:
    """Rows t < k: whether the unit ran k quarter hours before t (before the horizon), from
    its initial state: in that state for its hours, in the other one before; 0 elsewhere."""
    values = np.zeros(n)
    if ctx.chp_initial is None:
        return values
    held = round(ctx.chp_initial.hours / DT)
    state = 1.0 if ctx.chp_initial.on else 0.0
    for t in range(min(k, n)):
        back = k - t  # quarter hours before the horizon's start
        values[t] = state if back <= held else 1.0 - state
    return values


def lag(var: Var, k: int) -> Expr:
    """Rows t: var[t-k], or nothing (0) for t < k: the value k quarter hours earlier."""
    n = len(var)
    k = min(k, n)
    cols = np.r_[np.full(k, var.cols[0]), var.cols[: n - k]]
    coefs = np.r_[np.zeros(k), np.ones(n - k)]
    return Expr([(cols, coefs)], np.zeros(n))


def _window_sum(var: Var, width: int) -> Expr:
    """Rows t: sum of var[max(0, t-width+1) .. t]."""
    n = len(var)
    terms = []
    for lag in range(width):
        cols = np.r_[np.full(lag, var.cols[0]), var.cols[: n - lag]][:n]
        coefs = np.r_[np.zeros(lag), np.ones(n - lag)][:n]
        terms.append((cols, coefs))
    return Expr(terms, np.zeros(n))


def consumer_block(model: LinearModel, ctx: AssetContext) -> AssetTerms:
    """Flexible load, heat pump or EV fleet: power bounds and energy needed in windows."""
    a = ctx.asset
    assert isinstance(a, FlexibleLoad | HeatPump | EVFleet)
    n = ctx.horizon.n
    avail = availability_mask(a, ctx.horizon, ctx.timezone)
    if isinstance(a, EVFleet):
        charge = model.var(f"{a.id}.charge", n, 0.0, a.charge_power_max_mw * avail)
        discharge = model.var(f"{a.id}.discharge", n, 0.0, a.discharge_power_max_mw * avail)
        injection = discharge - charge
        stored = charge * (DT * a.efficiency_charge) - discharge * (DT / a.efficiency_discharge)
        variables = {"charge": charge, "discharge": discharge}
        upper, lower = a.discharge_power_max_mw * avail, -a.charge_power_max_mw * avail
        withdrawal = charge.expr()
    else:
        high = a.consumption_max_mw if isinstance(a, FlexibleLoad) else a.power_max_mw
        low = a.consumption_min_mw if isinstance(a, FlexibleLoad) else 0.0
        consumption = model.var(f"{a.id}.consumption", n, low * avail, high * avail)
        injection = -consumption
        stored = consumption * DT
        variables = {"consumption": consumption}
        upper, lower = -low * avail, -high * avail
        withdrawal = consumption.expr()
    for req in a.energy_requirements:
        mask = window_mask(req, ctx.horizon, ctx.timezone)
        if mask.sum() * DT + 1e-9 < req.duration_h:
            continue  # the window reaches beyond this delivery day: not required here
        idx = np.flatnonzero(mask)
        model.add(
            "energy requirement",
            _select(stored, idx).sum(),
            ">=",
            req.energy_mwh,
            subjects=a.id,
            description=f"energy delivered within {req.label()}",
        )
    terms = AssetTerms(a.id, injection=injection, withdrawal=withdrawal, variables=variables)
    if ctx.treatment.charging_cost_eur_per_mwh:
        add_cost(
            terms.costs,
            accounts.LEVIES_AND_GRID_FEES,
            withdrawal * (DT * ctx.treatment.charging_cost_eur_per_mwh),
        )
    if isinstance(a, EVFleet) and a.discharge_power_max_mw > 0:
        share_converter(model, terms, a)
        forbid_overlap(
            model,
            terms,
            a,
            binary_periods(
                ctx,
                a.efficiency_charge * a.efficiency_discharge,
                ctx.treatment.charging_cost_eur_per_mwh,
                0.0,
            ),
        )
    _headroom(model, ctx, injection, upper, lower)
    return terms


def _select(expr: Expr, idx: np.ndarray) -> Expr:
    """The rows `idx` of `expr`."""
    return Expr([(c[idx], v[idx]) for c, v in expr.terms], expr.const[idx])


BLOCKS: dict[str, Callable[[LinearModel, AssetContext], AssetTerms]] = {
    "battery": battery_block,
    "pv": renewable_block,
    "wind": renewable_block,
    "chp": chp_block,
    "flexible_load": consumer_block,
    "heat_pump": consumer_block,
    "ev_fleet": consumer_block,
}
"""The block that models each asset kind."""
