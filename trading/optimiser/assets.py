"""Constraint blocks of each asset kind: physics, costs, and the headroom it can reserve.

Each block adds its own variables and rows to the `LinearModel` and returns `AssetTerms`:
the asset's net injection per quarter hour (MW, positive = injection), its costs and
regulatory costs (EUR, as objective terms), its states (stored energy, heat, on/off) and
the rows that keep reserved balancing capacity physically deliverable (power headroom,
and stored energy for limited-energy assets). Time is the horizon's quarter hours; `DT`
is their length in hours. The rules each block implements are those of
`docs/plan-rules.md`, named by their codes (G1-G5, B1-B6, R1, C1-C3, L1-L3, H1-H3,
E1-E3) in the descriptions of the row families. Every row's subject is the asset's id.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from regulatory.assets import CHP, PV, AssetBase, Battery, EVFleet, FlexibleLoad, HeatPump, Wind
from regulatory.assets.base import BalancingProduct
from regulatory.site import Site
from regulatory.treatment import Treatment
from regulatory.windows import DailyWindow, EnergyRequirement
from trading.optimiser import accounts
from trading.optimiser.inputs import (
    QUARTER_HOUR_H,
    ChpState,
    Horizon,
    InitialStateError,
    Profiles,
)
from trading.optimiser.linear import Expr, FloatArray, IntArray, LinearModel, Var, total

DT = QUARTER_HOUR_H
UP: tuple[BalancingProduct, ...] = ("fcr", "afrr_pos")
DOWN: tuple[BalancingProduct, ...] = ("fcr", "afrr_neg")
DEFAULT_RESERVOIR_H = DT
"""Energy a limited-energy asset keeps per reserved MW when its rule names none [h]."""
RAMP_MINUTES = 15.0
"""Minutes between two quarter hours' averages, which a ramp rate [MW/min] spans (G3)."""
RUNNING_MIN_MW = 1e-3
"""Least power of a unit that is on, where its own minimum is 0 [MW]. On in the model is
then on in the schedule (the plan checker counts a unit on above 1e-6 MW), so a unit
cannot sit on at 0 MW to dodge a minimum down time or a start."""
STATE_TOLERANCE = 1e-6
"""An initial state this far outside its range [MWh] is rounding and is clipped into it."""


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
    """A battery's state of charge to reach by the end of the day [MWh] (B4)."""
    soc_value_eur_per_mwh: float | None = None
    """A battery's value of stored energy at the end of the day [EUR/MWh]: the day earns
    it on the end SoC less the start (`accounts.STORED_ENERGY`) and, unless
    `final_soc_mwh` is given, has no end-of-day target."""
    initial_soc_mwh: float | None = None
    """A battery's or EV fleet's stored energy when the day starts [MWh] (B2, E2)."""
    initial_heat_mwh_th: float | None = None
    """A heat pump's stored heat when the day starts [MWh_th] (H3)."""
    ev_owed_mwh: float | None = None
    """Energy an EV fleet still owes the session in progress at 00:00 [MWh] (E3)."""
    unit_initial: ChpState | None = None
    """A CHP's, flexible load's or heat pump's commitment when the day starts; None: off
    and free to start (C2, C3)."""


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
    """State of charge at the end of each quarter hour [MWh], for batteries."""
    states: dict[str, Expr] = field(default_factory=dict)
    """The model's states per quarter hour, keyed as in the plan's `schedule.states`
    (`docs/plan-format.md`): `soc_mwh` (battery) and `e_mwh` (EV fleet) [MWh] and
    `heat_mwh_th` (heat pump with heat demand) [MWh_th] at the end of each quarter hour;
    `on` (1 running, 0 off) for CHP and for loads and heat pumps with on/off decisions."""
    owed_at_end: Expr | None = None
    """EV fleet, one row: energy the session running past the end of the day still needs
    [MWh], its requirement less what was stored in it today (negative if more was stored:
    nothing is owed); 0 without such a session. None for other kinds."""
    overlap_forbidden: np.ndarray | None = None
    """Quarter hours in which a binary forbids simultaneous charge and discharge."""
    variables: dict[str, Var] = field(default_factory=dict)
    columns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Every column the asset's block and its reserves own (set by `build_model`)."""
    mode_columns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """The binaries that forbid simultaneous charge and discharge, wherever placed."""
    mode_quarters: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """The quarter hour of each of `mode_columns`."""
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


# --- daily windows on the horizon -------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a daily window as it meets the horizon.

    Its quarter hours are those of the horizon whose start lies in [start, end) of the
    occurrence, site-local wall-clock times taken in the site's time zone.
    """

    quarters: IntArray
    """Indices of the horizon's quarter hours inside the occurrence."""
    starts_before: bool
    """Whether it began before the horizon (it is in progress at 00:00)."""
    ends_after: bool
    """Whether it ends after the horizon (it is still running at 24:00)."""
    hours_after: float
    """Its length after the horizon's end [h] (0 unless `ends_after`)."""
    duration_h: float
    """Its wall-clock length, the window's `duration_h` [h]."""

    @property
    def inside_h(self) -> float:
        """Its length inside the horizon [h]."""
        return len(self.quarters) * DT

    @property
    def crosses(self) -> bool:
        """Whether it crosses the start or the end of the day."""
        return self.starts_before or self.ends_after

    def share(self, energy_mwh: float) -> float:
        """`energy_mwh` pro rata of its hours inside the horizon [MWh] (L3, E3)."""
        return energy_mwh * self.inside_h / self.duration_h


def occurrences(window: DailyWindow, horizon: Horizon, timezone: str) -> list[Occurrence]:
    """The occurrences of `window` that share at least one quarter hour with the horizon.

    An occurrence belongs to the weekday it starts on and lasts the window's wall-clock
    length (an end at or before the start is on the next day), so on the days the clocks
    change it lasts an hour less or more in real time.
    """
    first = horizon.periods[0]
    end_of_day = horizon.periods[-1] + pd.Timedelta(minutes=15)
    found = []
    for offset in (-1, 0, 1):
        start_day = horizon.day + timedelta(days=offset)
        if start_day.isoweekday() not in window.weekdays:
            continue
        naive_start = datetime.combine(start_day, window.start_local)
        start = _local(naive_start, timezone)
        end = _local(naive_start + timedelta(hours=window.duration_h), timezone)
        inside = np.flatnonzero((horizon.periods >= start) & (horizon.periods < end))
        if not len(inside):
            continue
        after = max(0.0, (end - end_of_day).total_seconds() / 3600.0)
        found.append(Occurrence(inside, start < first, end > end_of_day, after, window.duration_h))
    return found


def _local(moment: datetime, timezone: str) -> pd.Timestamp:
    """A wall-clock time in `timezone` (a time skipped by the clocks moves forward; of a
    repeated one, the first is taken)."""
    return pd.Timestamp(moment).tz_localize(timezone, nonexistent="shift_forward", ambiguous=True)


def window_mask(window: DailyWindow, horizon: Horizon, timezone: str) -> FloatArray:
    """1.0 on the quarter hours inside `window` (site-local wall-clock time), else 0.0."""
    mask = np.zeros(horizon.n)
    for occurrence in occurrences(window, horizon, timezone):
        mask[occurrence.quarters] = 1.0
    return mask


def availability_mask(asset: AssetBase, horizon: Horizon, timezone: str) -> FloatArray:
    """`avail`: 1.0 where the asset may run (inside an availability window, or always), else
    0.0 (G2)."""
    if not asset.availability:
        return np.ones(horizon.n)
    mask = np.zeros(horizon.n)
    for window in asset.availability:
        mask = np.maximum(mask, window_mask(window, horizon, timezone))
    return mask


# --- rows every kind shares -------------------------------------------------------------


def _headroom(
    model: LinearModel,
    ctx: AssetContext,
    injection: Expr,
    upper: Expr | FloatArray,
    lower: Expr | FloatArray,
) -> None:
    """Reserved capacity fits between the planned injection and the kind's `lo`, `hi` (G4)."""
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
            description="(G4) planned injection plus upward reserve at most its hi [MW]",
        )
    if down:
        model.add(
            "headroom down",
            injection - total(down) - lower,
            ">=",
            0.0,
            subjects=subject,
            description="(G4) planned injection minus downward reserve at least its lo [MW]",
        )


def _ramp(model: LinearModel, asset: AssetBase, injection: Expr) -> None:
    """Net injection changes by at most 15 minutes' ramp between quarter hours (G3).

    Rows only where a limit is set and smaller than the asset's whole range, where it could
    bind; the first quarter hour is free (the day before is not an input).
    """
    n = injection.n
    low, high = asset.injection_bounds_mw()
    if n < 2:
        return
    step = _select(injection, np.arange(1, n)) - _select(injection, np.arange(n - 1))
    limits = (
        ("ramp up", step, asset.ramp_up_mw_per_min, "rises"),
        ("ramp down", -step, asset.ramp_down_mw_per_min, "falls"),
    )
    for family, change, rate, verb in limits:
        if rate is None or RAMP_MINUTES * rate >= high - low:
            continue
        model.add(
            family,
            change,
            "<=",
            RAMP_MINUTES * rate,
            subjects=asset.id,
            description=(
                f"(G3) net injection {verb} by at most 15 min x the asset's ramp rate from one "
                "quarter hour to the next [MW]"
            ),
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
    """A storage keeps the energy its reserves may call for (LER rule of the country, B6).

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
            description="(B6) stored energy to deliver the upward reserve for its duration [MWh]",
        )
    if down:
        model.add(
            "reserve energy down",
            soc + total(down),
            "<=",
            high,
            subjects=ctx.asset.id,
            description="(B6) free storage to absorb the downward reserve for its duration [MWh]",
        )


def _levies(terms: AssetTerms, ctx: AssetContext, drawn: Var) -> None:
    """Levies and grid fees on the energy drawn from the grid [EUR] (per the treatment)."""
    rate = ctx.treatment.charging_cost_eur_per_mwh
    if rate:
        add_cost(terms.costs, accounts.LEVIES_AND_GRID_FEES, drawn.sum(DT * rate))


def lag(var: Var, k: int) -> Expr:
    """Rows t: var[t-k], or nothing (0) for t < k: the value k quarter hours earlier."""
    n = len(var)
    k = min(k, n)
    cols = np.r_[np.full(k, var.cols[0]), var.cols[: n - k]]
    coefs = np.r_[np.zeros(k), np.ones(n - k)]
    return Expr([(cols, coefs)], np.zeros(n))


def _previous(state: Var, initial: float) -> Expr:
    """Rows t: the state at the end of quarter hour t-1, `initial` before the first."""
    n = len(state)
    return lag(state, 1) + np.r_[initial, np.zeros(n - 1)]


def _window_sum(var: Var, width: int) -> Expr:
    """Rows t: sum of var[max(0, t-width+1) .. t]."""
    n = len(var)
    terms = []
    for back in range(width):
        cols = np.r_[np.full(back, var.cols[0]), var.cols[: n - back]][:n]
        coefs = np.r_[np.zeros(back), np.ones(n - back)][:n]
        terms.append((cols, coefs))
    return Expr(terms, np.zeros(n))


def _select(expr: Expr, idx: np.ndarray) -> Expr:
    """The rows `idx` of `expr`."""
    return Expr([(c[idx], v[idx]) for c, v in expr.terms], expr.const[idx])


def _in_range(asset_id: str, option: str, value: float, low: float, high: float) -> float:
    """`value` clipped into [low, high] if within `STATE_TOLERANCE` of it, else an error."""
    if value < low - STATE_TOLERANCE or value > high + STATE_TOLERANCE:
        raise InitialStateError(
            f"asset {asset_id}: {option}={value:g} is outside [{low:g}, {high:g}], "
            "the range the asset's data allows"
        )
    return min(max(value, low), high)


# --- battery ----------------------------------------------------------------------------


def battery_block(model: LinearModel, ctx: AssetContext) -> AssetTerms:
    """Battery: SoC dynamics, efficiencies, no simultaneous charge and discharge (B1-B6).

    Charge and discharge are withdrawal and injection [MW, >= 0]; the SoC [MWh] at the end
    of each quarter hour follows them with the one-way efficiencies. A binary forbids
    charging and discharging at once in the quarter hours where that could pay (see
    `binary_periods`); `plan._repair_overlaps` adds more if a solution still overlaps
    elsewhere. Wear (`degradation_cost_eur_per_mwh`) is charged on throughput: charged
    plus discharged energy.
    """
    a = ctx.asset
    assert isinstance(a, Battery)
    n = ctx.horizon.n
    on = availability_mask(a, ctx.horizon, ctx.timezone)
    charge = model.var(f"{a.id}.charge", n, 0.0, a.power_charge_mw * on)
    discharge = model.var(f"{a.id}.discharge", n, 0.0, a.power_discharge_mw * on)
    low, high = a.soc_bounds_mwh()
    soc = model.var(f"{a.id}.soc", n, low, high)
    initial = battery_initial_soc(a, ctx.initial_soc_mwh)
    flow = charge * (DT * a.efficiency_charge) - discharge * (DT / a.efficiency_discharge)
    model.add(
        "battery energy balance",
        soc - _previous(soc, initial) - flow,
        "==",
        0.0,
        subjects=a.id,
        description="(B2) state of charge follows charging and discharging [MWh]",
    )
    if ctx.final_soc_mwh is not None:
        target = ctx.final_soc_mwh
    elif ctx.soc_value_eur_per_mwh is not None:
        target = low  # valued, not targeted: the SoC may end below where it started
    else:
        target = initial
    model.add(
        "battery final soc",
        soc[n - 1].expr(),
        ">=",
        target,
        subjects=a.id,
        description="(B4) state of charge at the end of the day reaches its target [MWh]",
    )
    if a.max_cycles_per_day is not None:
        model.add(
            "battery cycles",
            discharge.sum(DT),
            "<=",
            a.max_cycles_per_day * (high - low),
            subjects=a.id,
            description="(B5) discharged energy within the warranty's cycles per day [MWh]",
        )
    overlap_at = binary_periods(
        ctx,
        a.efficiency_charge * a.efficiency_discharge,
        ctx.treatment.charging_cost_eur_per_mwh,
        a.degradation_cost_eur_per_mwh,
    )
    revenue: dict[str, Expr] = {}
    if ctx.soc_value_eur_per_mwh is not None:
        value = ctx.soc_value_eur_per_mwh
        revenue[accounts.STORED_ENERGY] = soc[n - 1].expr(value) - value * initial
    terms = AssetTerms(
        a.id,
        injection=discharge - charge,
        costs=_storage_costs(
            charge,
            discharge,
            a.degradation_cost_eur_per_mwh,
            ctx.treatment.charging_cost_eur_per_mwh,
        ),
        revenue=revenue,
        withdrawal=charge.expr(),
        soc=soc,
        variables={"charge": charge, "discharge": discharge},
        states={"soc_mwh": soc.expr()},
        initial={"initial_soc_mwh": initial, "final_soc_mwh": target},
    )
    share_converter(model, terms, a)
    forbid_overlap(model, terms, a, overlap_at)
    _ramp(model, a, terms.injection)
    _headroom(
        model,
        ctx,
        terms.injection,
        a.power_discharge_mw * on,
        -a.power_charge_mw * on,
    )
    _energy_for_reserves(model, ctx, soc, low, high, (a.efficiency_charge, a.efficiency_discharge))
    return terms


def battery_initial_soc(battery: Battery, given: float | None) -> float:
    """SoC before the first quarter hour [MWh] (B2): `given` (the plan's input), else the
    battery's `soc_initial_mwh`, else the middle of its range; clipped into the range."""
    low, high = battery.soc_bounds_mwh()
    initial = given if given is not None else battery.soc_initial_mwh
    initial = initial if initial is not None else (low + high) / 2
    return min(max(initial, low), high)


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


def mode_values(terms: AssetTerms, values: FloatArray) -> FloatArray:
    """The charging binaries a solution `values` implies: 1 where it charges more than it
    discharges, in the order of `terms.mode_columns`."""
    charge = values[terms.variables["charge"].cols][terms.mode_quarters]
    discharge = values[terms.variables["discharge"].cols][terms.mode_quarters]
    return (charge > discharge).astype(float)


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
        description="(B1, E1) charging and discharging share one converter's power [share of 1]",
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
        description="charge [MW] only in quarter hours set to charging (binary)",
    )
    model.add(
        "no simultaneous discharge",
        discharge[idx] + mode.expr(p_discharge),
        "<=",
        p_discharge,
        subjects=asset.id,
        description="discharge [MW] only in quarter hours not set to charging (binary)",
    )
    terms.variables.setdefault("overlap_binaries", mode)
    terms.columns = np.concatenate([terms.columns, mode.cols])
    terms.mode_columns = np.concatenate([terms.mode_columns, mode.cols])
    terms.mode_quarters = np.concatenate([terms.mode_quarters, idx])


def _powers(asset: Battery | EVFleet) -> tuple[float, float]:
    if isinstance(asset, Battery):
        return asset.power_charge_mw, asset.power_discharge_mw
    return asset.charge_power_max_mw, max(asset.discharge_power_max_mw, 1e-9)


# --- pv and wind ------------------------------------------------------------------------


def renewable_block(model: LinearModel, ctx: AssetContext) -> AssetTerms:
    """PV or wind: inject up to the available power [MW]; curtail if allowed (R1); premium.

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
    _ramp(model, a, terms.injection)
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


# --- on/off units: CHP, flexible loads, heat pumps --------------------------------------


@dataclass(frozen=True)
class Commitment:
    """On/off decisions of a unit: `on` (binary, 1 = running) and, where minimum times or
    start costs need them, `start` (1 in a quarter hour where it goes from off to on) per
    quarter hour."""

    on: Var
    start: Var | None


def quarters_of(hours: float) -> int:
    """Whole quarter hours that last at least `hours` [h]."""
    return max(0, math.ceil(hours / DT - 1e-9))


def commitment(
    model: LinearModel,
    ctx: AssetContext,
    avail: FloatArray,
    min_up_h: float,
    min_down_h: float,
    *,
    priced_starts: bool = False,
) -> Commitment:
    """On/off binaries, starts, minimum up and down times (C2, C3; L2, H2 alike).

    Starts are modelled where minimum times or a start cost (`priced_starts`) need them.

    Before the horizon the unit is in `ctx.unit_initial` (running or not, for so many
    hours); without it, off and free to start. A unit running at the start is not started
    again and runs out what is left of its minimum up time; one that stopped rests out
    what is left of its minimum down time. A run that starts inside the day lasts its
    minimum up time unless it reaches the end of the day. Never on where `avail` is 0 (a
    window that closes ends a run, whatever its minimum).
    """
    a = ctx.asset
    n = ctx.horizon.n
    lower, upper = _initial_on_bounds(ctx.unit_initial, avail, min_up_h, min_down_h)
    on = model.var(f"{a.id}.on", n, lower, upper, integer=True)
    up, down = quarters_of(min_up_h), quarters_of(min_down_h)
    if up <= 1 and down <= 1 and not priced_starts:
        return Commitment(on, None)
    start = model.var(f"{a.id}.start", n, 0.0, 1.0)
    was_on = 1.0 if ctx.unit_initial is not None and ctx.unit_initial.on else 0.0
    model.add(
        "start",
        start - on + _previous(on, was_on),
        ">=",
        0.0,
        subjects=a.id,
        description="a start wherever a unit goes from off to on [0/1]",
    )
    if up > 1:
        model.add(
            "min up time",
            _window_sum(start, up) - on,
            "<=",
            0.0,
            subjects=a.id,
            description="(C2, L2, H2) once started, a unit stays on for its minimum up time [0/1]",
        )
    if down > 1:
        model.add(
            "min down time",
            _window_sum(start, down) + lag(on, down) + _before_horizon(ctx.unit_initial, down, n),
            "<=",
            1.0,
            subjects=a.id,
            description="(C3, L2, H2) once stopped, a unit stays off its minimum down time [0/1]",
        )
    return Commitment(on, start)


def _initial_on_bounds(
    initial: ChpState | None, avail: FloatArray, min_up_h: float, min_down_h: float
) -> tuple[FloatArray, FloatArray]:
    """Bounds of `on` [0/1]: 0 where unavailable; held on for what is left of a run's
    minimum up time, and off for what is left of a rest's minimum down time, at the start."""
    n = len(avail)
    upper = np.asarray(avail, float).copy()
    lower = np.zeros(n)
    if initial is None:
        return lower, upper
    if initial.on:
        keep = min(n, quarters_of(min_up_h - initial.hours))
        lower[:keep] = upper[:keep]  # unless the window closes it
    else:
        rest = min(n, quarters_of(min_down_h - initial.hours))
        upper[:rest] = 0.0
    return lower, upper


def _before_horizon(initial: ChpState | None, k: int, n: int) -> FloatArray:
    """Rows t < k of the minimum down time: what before the horizon counts against a start
    in quarter hours 0..t, in place of on[t-k] and the starts k quarter hours back [0/1].

    Running at the start: 1 (it was on k quarter hours back, or started since), so no
    start within the minimum down time of the day's start (it must stop first, then
    rest). Off for `hours`: 1 where t-k falls before that rest began (it was on then).
    Unknown (None): 0.
    """
    values = np.zeros(n)
    if initial is None:
        return values
    for t in range(min(k, n)):
        back_h = (k - t) * DT  # how long before the horizon's start quarter hour t-k is
        values[t] = 1.0 if initial.on or back_h > initial.hours + 1e-9 else 0.0
    return values


def power_while_on(
    model: LinearModel, asset_id: str, power: Var, on: Var, low: float, high: float
) -> None:
    """`low <= power <= high` while on, 0 while off [MW, a magnitude] (C1, L1, H1).

    A minimum of 0 becomes `RUNNING_MIN_MW`, so that on means drawing or making power.
    """
    floor = min(high, max(low, RUNNING_MIN_MW))
    model.add(
        "max power while on",
        power - on.expr(high),
        "<=",
        0.0,
        subjects=asset_id,
        description="(C1, L1, H1) output or consumption at most the maximum while on, else 0 [MW]",
    )
    model.add(
        "min power while on",
        power - on.expr(floor),
        ">=",
        0.0,
        subjects=asset_id,
        description="(C1, L1, H1) output or consumption at least the minimum while on [MW]",
    )


def chp_block(model: LinearModel, ctx: AssetContext) -> AssetTerms:
    """CHP: on/off with minimum stable load, minimum up and down times, start and fuel cost.

    Output [MW, >= 0] is the net injection; on/off and its initial state as in `commitment`.
    """
    a = ctx.asset
    assert isinstance(a, CHP)
    n = ctx.horizon.n
    avail = availability_mask(a, ctx.horizon, ctx.timezone)
    unit = commitment(
        model, ctx, avail, a.min_up_time_h, a.min_down_time_h, priced_starts=a.start_cost_eur > 0
    )
    output = model.var(f"{a.id}.output", n, 0.0, a.power_max_mw * avail)
    power_while_on(model, a.id, output, unit.on, a.power_min_stable_mw, a.power_max_mw)
    terms = AssetTerms(
        a.id,
        injection=output.expr(),
        states={"on": unit.on.expr()},
        variables={"output": output, "on": unit.on},
    )
    if unit.start is not None:
        terms.variables["start"] = unit.start
    if a.fuel_cost_eur_per_mwh:
        add_cost(terms.costs, accounts.FUEL, output.sum(DT * a.fuel_cost_eur_per_mwh))
    if a.start_cost_eur and unit.start is not None:
        add_cost(terms.costs, accounts.STARTS, unit.start.sum(a.start_cost_eur))
    _support(ctx, output, terms)
    _ramp(model, a, terms.injection)
    _headroom(
        model,
        ctx,
        output.expr(),
        unit.on.expr(a.power_max_mw),
        unit.on.expr(a.power_min_stable_mw),
    )
    return terms


# --- flexible load and heat pump --------------------------------------------------------


@dataclass(frozen=True)
class Consumption:
    """A load's or heat pump's consumption p [MW, >= 0; injection -p] and, where it has
    on/off decisions, its commitment."""

    power: Var
    unit: Commitment | None

    def lo(self, high: float, avail: FloatArray) -> Expr | FloatArray:
        """The kind's `lo` [MW]: -on x maximum (L1, H1)."""
        return -avail * high if self.unit is None else self.unit.on.expr(-high)

    def hi(self, low: float) -> Expr | FloatArray:
        """The kind's `hi` [MW]: -on x minimum (L1, H1)."""
        n = len(self.power)
        return np.zeros(n) if self.unit is None else self.unit.on.expr(-low)


def consumption(
    model: LinearModel, ctx: AssetContext, avail: FloatArray, low: float, high: float
) -> Consumption:
    """Consumption between `low` and `high` while on, 0 while off [MW] (L1-L2, H1-H2).

    On/off binaries only where something needs them: a minimum above 0, a minimum up or
    down time, or downward reserve (whose headroom, lo = -on x maximum, is 0 while off).
    Otherwise consumption is simply between 0 and the maximum where available.
    """
    a = ctx.asset
    assert isinstance(a, FlexibleLoad | HeatPump)
    power = model.var(f"{a.id}.consumption", ctx.horizon.n, 0.0, high * avail)
    needs_on = (
        low > 0
        or quarters_of(a.min_up_time_h) > 1
        or quarters_of(a.min_down_time_h) > 1
        or any(p in ctx.reserves for p in DOWN)
    )
    if not needs_on:
        return Consumption(power, None)
    unit = commitment(model, ctx, avail, a.min_up_time_h, a.min_down_time_h)
    power_while_on(model, a.id, power, unit.on, low, high)
    return Consumption(power, unit)


def _consumer_terms(a: FlexibleLoad | HeatPump, load: Consumption) -> AssetTerms:
    """Terms of a load or heat pump: injection -p, its variables and its `on` state."""
    variables = {"consumption": load.power}
    states: dict[str, Expr] = {}
    if load.unit is not None:
        variables["on"] = load.unit.on
        if load.unit.start is not None:
            variables["start"] = load.unit.start
        states["on"] = load.unit.on.expr()
    return AssetTerms(
        a.id,
        injection=-load.power,
        withdrawal=load.power.expr(),
        states=states,
        variables=variables,
    )


def _share_note(occurrence: Occurrence) -> str:
    """Which part of a window's occurrence lies inside the day, for a diagnosis."""
    if occurrence.starts_before and occurrence.ends_after:
        return "the part inside the day"
    if occurrence.starts_before:
        return "the part after midnight, begun the day before"
    if occurrence.ends_after:
        return "the part before midnight, going on into the next day"
    return "wholly inside the day"


def energy_requirements(
    model: LinearModel,
    ctx: AssetContext,
    power: Var,
    requirements: tuple[EnergyRequirement, ...],
) -> None:
    """Energy drawn within each requirement window [MWh] (L3).

    An occurrence within the day needs its `energy_mwh`; one that crosses the start or
    the end of the day needs the share its quarter hours inside the day make of its
    length.
    """
    for req in requirements:
        for occurrence in occurrences(req, ctx.horizon, ctx.timezone):
            need = occurrence.share(req.energy_mwh) if occurrence.crosses else req.energy_mwh
            model.add(
                "energy requirement",
                power[occurrence.quarters].sum(DT),
                ">=",
                need,
                subjects=ctx.asset.id,
                description=f"(L3) energy drawn within {req.label()} ({_share_note(occurrence)}) "
                f"at least {need:.6g} MWh [MWh]",
            )


def requirement_rate(
    requirements: tuple[EnergyRequirement, ...], horizon: Horizon, timezone: str
) -> FloatArray:
    """Per quarter hour: the sum over the requirement occurrences covering it of
    `energy_mwh / duration_h` [MW], the even spread of the requirements."""
    rate = np.zeros(horizon.n)
    for req in requirements:
        for occurrence in occurrences(req, horizon, timezone):
            rate[occurrence.quarters] += req.energy_mwh / occurrence.duration_h
    return rate


def shift_baseline(load: FlexibleLoad, horizon: Horizon, timezone: str) -> FloatArray:
    """The baseline b[t] shift costs are counted from [MW]: `baseline_mw` where available,
    else the requirements spread evenly over their windows, at most the maximum."""
    if load.baseline_mw is not None:
        return load.baseline_mw * availability_mask(load, horizon, timezone)
    rate = requirement_rate(load.energy_requirements, horizon, timezone)
    return np.minimum(rate, load.consumption_max_mw)


def _shift_cost(model: LinearModel, ctx: AssetContext, power: Var, terms: AssetTerms) -> None:
    """shift = shift_cost_eur_per_mwh x sum |p - b| x DT / 2 [EUR].

    |p - b| is above + below, two deviations [MW, >= 0] with p - b = above - below; the
    cost makes the solver take the smaller pair. Halved: moving 1 MWh from one quarter hour
    to another puts it 1 MWh below the baseline and 1 MWh above, and counts once.
    """
    a = ctx.asset
    assert isinstance(a, FlexibleLoad)
    if not a.shift_cost_eur_per_mwh:
        return
    n = ctx.horizon.n
    baseline = shift_baseline(a, ctx.horizon, ctx.timezone)
    above = model.var(
        f"{a.id}.above baseline", n, 0.0, np.maximum(a.consumption_max_mw - baseline, 0)
    )
    below = model.var(f"{a.id}.below baseline", n, 0.0, baseline)
    model.add(
        "baseline deviation",
        power - above + below,
        "==",
        baseline,
        subjects=a.id,
        description="consumption's deviation from its baseline, above less below [MW]",
    )
    rate = a.shift_cost_eur_per_mwh * DT / 2
    add_cost(terms.costs, accounts.SHIFT, above.sum(rate) + below.sum(rate))
    terms.variables |= {"above baseline": above, "below baseline": below}


def flexible_load_block(model: LinearModel, ctx: AssetContext) -> AssetTerms:
    """Flexible load: consumption p [MW] between its minimum and maximum while on (L1),
    minimum up and down times (L2), energy within its requirement windows (L3), shift
    cost from its baseline, levies and fees on p."""
    a = ctx.asset
    assert isinstance(a, FlexibleLoad)
    avail = availability_mask(a, ctx.horizon, ctx.timezone)
    load = consumption(model, ctx, avail, a.consumption_min_mw, a.consumption_max_mw)
    energy_requirements(model, ctx, load.power, a.energy_requirements)
    terms = _consumer_terms(a, load)
    _levies(terms, ctx, load.power)
    _shift_cost(model, ctx, load.power, terms)
    _ramp(model, a, terms.injection)
    _headroom(
        model,
        ctx,
        terms.injection,
        load.hi(a.consumption_min_mw),
        load.lo(a.consumption_max_mw, avail),
    )
    return terms


def heat_pump_block(model: LinearModel, ctx: AssetContext) -> AssetTerms:
    """Heat pump: consumption p [MW] between its minimum and maximum while on (H1),
    minimum up and down times (H2), and its heat (H3): with heat demand, cop x p plus the
    storage meets the demand; without, electric energy requirements as a flexible load's.
    Levies and fees on p."""
    a = ctx.asset
    assert isinstance(a, HeatPump)
    avail = availability_mask(a, ctx.horizon, ctx.timezone)
    load = consumption(model, ctx, avail, a.power_min_mw, a.power_max_mw)
    terms = _consumer_terms(a, load)
    if a.heat_demand:
        heat = heat_storage(model, ctx, load.power)
        terms.states["heat_mwh_th"] = heat.expr()
        terms.variables["heat"] = heat
        terms.initial["initial_heat_mwh_th"] = heat_pump_initial_heat(a, ctx.initial_heat_mwh_th)
    else:
        energy_requirements(model, ctx, load.power, a.energy_requirements)
    _levies(terms, ctx, load.power)
    _ramp(model, a, terms.injection)
    _headroom(model, ctx, terms.injection, load.hi(a.power_min_mw), load.lo(a.power_max_mw, avail))
    return terms


def heat_demand_mw_th(pump: HeatPump, horizon: Horizon, timezone: str) -> FloatArray:
    """q[t]: the heat demanded in each quarter hour, the windows covering it added [MW_th]."""
    demand = np.zeros(horizon.n)
    for window in pump.heat_demand:
        demand += window.heat_mw_th * window_mask(window, horizon, timezone)
    return demand


def heat_pump_initial_heat(pump: HeatPump, given: float | None) -> float:
    """heat[-1] [MWh_th] (H3): `given` (the plan's input), else the pump's
    `thermal_storage_initial_mwh_th`, else half the storage."""
    if given is not None:
        return _in_range(pump.id, "initial_heat_mwh_th", given, 0.0, pump.thermal_storage_mwh_th)
    if pump.thermal_storage_initial_mwh_th is not None:
        return pump.thermal_storage_initial_mwh_th
    return pump.thermal_storage_mwh_th / 2


def heat_storage(model: LinearModel, ctx: AssetContext, power: Var) -> Var:
    """Stored heat at the end of each quarter hour [MWh_th] (H3).

    heat[t] = heat[t-1] + (cop x p[t] - q[t]) x DT within [0, thermal_storage_mwh_th]
    (no storage: cop x p = q in every quarter hour), and at least the initial heat at the
    end of the day.
    """
    a = ctx.asset
    assert isinstance(a, HeatPump)
    n = ctx.horizon.n
    demand = heat_demand_mw_th(a, ctx.horizon, ctx.timezone)
    initial = heat_pump_initial_heat(a, ctx.initial_heat_mwh_th)
    heat = model.var(f"{a.id}.heat", n, 0.0, a.thermal_storage_mwh_th)
    model.add(
        "heat balance",
        heat - _previous(heat, initial) - power * (a.cop * DT),
        "==",
        -demand * DT,
        subjects=a.id,
        description="(H3) stored heat follows cop x consumption less the heat demand [MWh_th]",
    )
    model.add(
        "heat end of day",
        heat[n - 1].expr(),
        ">=",
        initial,
        subjects=a.id,
        description="(H3) stored heat at the end of the day at least the initial [MWh_th]",
    )
    return heat


# --- EV fleet ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """One plug-in session of an EV fleet as it meets the day: the vehicles arrive at its
    start needing `energy_mwh` [MWh] more than they arrive with, and leave at its end."""

    occurrence: Occurrence
    energy_mwh: float
    label: str = ""
    """The window as written, e.g. ``19:00-06:00``."""

    @property
    def arrives_today(self) -> bool:
        """Whether the vehicles arrive inside the day (its energy drops then, E2)."""
        return not self.occurrence.starts_before


def sessions(fleet: EVFleet, horizon: Horizon, timezone: str) -> list[Session]:
    """The fleet's sessions that share a quarter hour with the day, in time order."""
    found = [
        Session(occurrence, req.energy_mwh, req.label())
        for req in fleet.energy_requirements
        for occurrence in occurrences(req, horizon, timezone)
    ]
    return sorted(found, key=lambda s: int(s.occurrence.quarters[0]))


def owed_at_start(fleet: EVFleet, found: list[Session], given: float | None) -> float:
    """Energy the session in progress at 00:00 still needs [MWh] (E3): `given` (the plan's
    input), else its requirement pro rata of its hours inside the day; 0 without one."""
    running = [s for s in found if s.occurrence.starts_before]
    if not running:
        return 0.0
    session = running[0]
    if given is not None:
        # more than the requirement is owed where the vehicles gave energy back (V2G)
        # in the session's first part: at most what its hours inside the day can charge
        most = fleet.charge_power_max_mw * fleet.efficiency_charge * session.occurrence.inside_h
        return _in_range(fleet.id, "ev_owed_mwh", given, 0.0, max(session.energy_mwh, most))
    return session.occurrence.share(session.energy_mwh)


def ev_initial_energy(fleet: EVFleet, owed: float, given: float | None) -> float:
    """e[-1] [MWh] (E2): `given` (the plan's input), else full less what is owed."""
    if given is not None:
        return _in_range(fleet.id, "initial_soc_mwh", given, 0.0, fleet.energy_mwh)
    return fleet.energy_mwh - owed


def session_due(fleet: EVFleet, session: Session, owed: float) -> float:
    """Energy to store in a session's quarter hours inside the day [MWh] (E3): its
    requirement (what is `owed` if it began before the day), less, if it runs past the
    end of the day, what full charging can store in its hours after the day."""
    occurrence = session.occurrence
    due = owed if occurrence.starts_before else session.energy_mwh
    if occurrence.ends_after:
        due -= fleet.charge_power_max_mw * fleet.efficiency_charge * occurrence.hours_after
    return due


def ev_fleet_block(model: LinearModel, ctx: AssetContext) -> AssetTerms:
    """EV fleet: charge c and V2G discharge d [MW, >= 0] while plugged in (E1), the fleet's
    stored energy (E2), each session's requirement (E3), levies and fees on c.

    Stored energy e [MWh] follows charging and discharging with the efficiencies, and
    drops by a session's requirement when its vehicles arrive (what they used while
    away); it stays within [0, energy_mwh], and the vehicles must hold their requirement
    before they arrive. Charge and discharge share one converter; a binary forbids both at
    once where that could pay, as for batteries.
    """
    a = ctx.asset
    assert isinstance(a, EVFleet)
    n = ctx.horizon.n
    avail = availability_mask(a, ctx.horizon, ctx.timezone)
    charge = model.var(f"{a.id}.charge", n, 0.0, a.charge_power_max_mw * avail)
    discharge = model.var(f"{a.id}.discharge", n, 0.0, a.discharge_power_max_mw * avail)
    stored = charge * (DT * a.efficiency_charge) - discharge * (DT / a.efficiency_discharge)
    found = sessions(a, ctx.horizon, ctx.timezone)
    owed = owed_at_start(a, found, ctx.ev_owed_mwh)
    start_energy = ev_initial_energy(a, owed, ctx.initial_soc_mwh)
    energy = ev_stored_energy(model, ctx, stored, found, start_energy)
    owed_at_end: Expr = Expr.constant(0.0)
    for session in found:
        in_session = _select(stored, session.occurrence.quarters).sum()
        model.add(
            "ev session requirement",
            in_session,
            ">=",
            session_due(a, session, owed),
            subjects=a.id,
            description=f"(E3) energy stored within the session {session.label} "
            f"({_share_note(session.occurrence)}) at least its due [MWh]",
        )
        if session.occurrence.ends_after:
            base = owed if session.occurrence.starts_before else session.energy_mwh
            owed_at_end = base - in_session
    terms = AssetTerms(
        a.id,
        injection=discharge - charge,
        withdrawal=charge.expr(),
        states={"e_mwh": energy.expr()},
        owed_at_end=owed_at_end,
        variables={"charge": charge, "discharge": discharge, "energy": energy},
        initial={"initial_soc_mwh": start_energy, "ev_owed_mwh": owed},
    )
    _levies(terms, ctx, charge)
    if a.discharge_power_max_mw > 0:
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
    _ramp(model, a, terms.injection)
    _headroom(
        model,
        ctx,
        terms.injection,
        a.discharge_power_max_mw * avail,
        -a.charge_power_max_mw * avail,
    )
    return terms


def ev_stored_energy(
    model: LinearModel, ctx: AssetContext, stored: Expr, found: list[Session], initial: float
) -> Var:
    """e [MWh] at the end of each quarter hour (E2): e[t] = e[t-1] - arrivals[t] + stored[t]
    within [0, energy_mwh], where arrivals[t] is the requirement of a session whose
    vehicles arrive in quarter hour t, and e[t-1] holds it then."""
    a = ctx.asset
    assert isinstance(a, EVFleet)
    n = ctx.horizon.n
    arrivals = np.zeros(n)
    for session in found:
        if session.arrives_today:
            arrivals[session.occurrence.quarters[0]] += session.energy_mwh
    energy = model.var(f"{a.id}.energy", n, 0.0, a.energy_mwh)
    model.add(
        "ev stored energy",
        energy - _previous(energy, initial) - stored,
        "==",
        -arrivals,
        subjects=a.id,
        description="(E2) the fleet's stored energy follows charging, discharging and the "
        "energy arriving vehicles used while away [MWh]",
    )
    at = np.flatnonzero(arrivals > 0)
    if len(at) and at[0] == 0 and initial < arrivals[0] - STATE_TOLERANCE:
        raise InitialStateError(
            f"asset {a.id}: initial_soc_mwh={initial:g} is below the {arrivals[0]:g} MWh the "
            "vehicles arriving in the first quarter hour used while away"
        )
    later = at[at > 0]
    if len(later):
        model.add(
            "ev energy at arrival",
            energy.at(later - 1),
            ">=",
            arrivals[later],
            subjects=a.id,
            description="(E2) before vehicles arrive, the fleet held the energy they used "
            "while away [MWh]",
        )
    return energy


BLOCKS: dict[str, Callable[[LinearModel, AssetContext], AssetTerms]] = {
    "battery": battery_block,
    "pv": renewable_block,
    "wind": renewable_block,
    "chp": chp_block,
    "flexible_load": flexible_load_block,
    "heat_pump": heat_pump_block,
    "ev_fleet": ev_fleet_block,
}
"""The block that models each asset kind."""
