"""Each asset kind's rules (plan-rules.md: battery, PV and wind, CHP, flexible load, heat
pump, EV fleet), its states recomputed from its injection, and its costs.

Every function takes an `AssetView` (the asset, its site, treatment, injection `x` [MW,
+ injection], bands, availability) and reports into `Findings`; it returns an
`AssetOutcome`: the kind's `lo`/`hi` [MW] for the headroom and zone rules, its costs and
support revenue [EUR, costs positive], and the states it implies for comparison with the
plan's own. Power rules are checked where the asset is available; G2 covers the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regulatory.assets import CHP, PV, AssetBase, Battery, EVFleet, FlexibleLoad, HeatPump, Wind
from regulatory.site import Site
from regulatory.treatment import Treatment
from trading.optimiser.check import rules
from trading.optimiser.check.plan_input import MISSING, PlanData, PlanFormatError, UnitState
from trading.optimiser.check.violations import TOLERANCE, Findings, runs, state_runs
from trading.optimiser.check.windows import QUARTER_HOUR_H as DT
from trading.optimiser.check.windows import Occurrence, occurrences

ON_MW = 1e-6
"""A unit runs in a quarter hour when its output or consumption is above this [MW]."""

DEFAULT_RESERVOIR_H = 0.25
"""Energy a storage keeps per reserved MW where its treatment names no duration [h]."""


@dataclass(frozen=True)
class AssetView:
    """What the rules of one asset need from the portfolio and the plan."""

    asset: AssetBase
    site: Site
    treatment: Treatment
    timezone: str
    """The site's time zone, for its windows."""
    plan: PlanData
    x: np.ndarray
    """Planned net injection per quarter hour [MW]; positive = injection."""
    bands: dict[str, np.ndarray]
    """Reserve held per product (fcr, afrr_pos, afrr_neg) per quarter hour [MW, >= 0]."""
    avail: np.ndarray
    """1.0 where the asset may run, 0.0 outside its availability windows."""
    day_ahead: np.ndarray | None
    """Day-ahead price forecast of its zone per quarter hour [EUR/MWh], if the plan has it."""
    in_service: bool = True
    """G1: whether the asset is in service on the day (its other rules apply only then)."""

    @property
    def id(self) -> str:
        """The asset's id."""
        return self.asset.id

    @property
    def n(self) -> int:
        """Number of quarter hours."""
        return len(self.x)

    @property
    def available(self) -> np.ndarray:
        """True where the asset may run."""
        return self.avail > 0

    def occurrences(self, window: Any) -> list[Occurrence]:
        """The occurrences of one of the asset's windows on the day."""
        return occurrences(window, self.plan.day, self.plan.quarter_hours, self.timezone)


@dataclass
class AssetOutcome:
    """What the rest of the checker needs from one asset's rules."""

    lo: np.ndarray
    """Lowest net injection the kind allows per quarter hour [MW] (plan-rules.md `lo`)."""
    hi: np.ndarray
    """Highest net injection the kind allows per quarter hour [MW] (plan-rules.md `hi`)."""
    costs: dict[str, float] = field(default_factory=dict)
    """Costs by kind [EUR, positive = cost]."""
    revenue: dict[str, float] = field(default_factory=dict)
    """Revenue besides the markets (support premium) [EUR]."""
    states: dict[str, np.ndarray] = field(default_factory=dict)
    """States implied by the injection, named as in `schedule.states`."""
    end_state: dict[str, float | bool] = field(default_factory=dict)
    """Values to carry into the next day, named as in `end_state`."""


def excess_where(mask: np.ndarray, excess: np.ndarray) -> np.ndarray:
    """`excess` where `mask`, 0 elsewhere."""
    return np.where(mask, excess, 0.0)


# --- battery ---------------------------------------------------------------------------


def battery(view: AssetView, findings: Findings) -> AssetOutcome:
    """B1, B3-B6, with the state of charge recomputed by B2 from the injection."""
    a = view.asset
    assert isinstance(a, Battery)
    charge, discharge = np.maximum(-view.x, 0.0), np.maximum(view.x, 0.0)
    _power(view, findings, rules.B1, charge, a.power_charge_mw, "charges")
    _power(view, findings, rules.B1, discharge, a.power_discharge_mw, "discharges")
    low, high = a.soc_bounds_mwh()
    initial = _battery_initial(view, a, low, high)
    soc = initial + np.cumsum(
        (charge * a.efficiency_charge - discharge / a.efficiency_discharge) * DT
    )
    _range(view, findings, rules.B3, soc, low, high, "MWh", "state of charge")
    target = view.plan.inputs.final_soc_mwh.get(a.id, initial)
    if soc[-1] < target - TOLERANCE:
        findings.add(
            rules.B4,
            a.id,
            target - soc[-1],
            "MWh",
            f"state of charge {soc[-1]:.6g} MWh at the end of the day, target {target:.6g} MWh",
            at=view.n - 1,
        )
    _cycles(view, findings, a, discharge, high - low)
    _reserve_energy(view, findings, soc, low, high, (a.efficiency_charge, a.efficiency_discharge))
    costs = {
        "wear": a.degradation_cost_eur_per_mwh * float((charge + discharge).sum()) * DT,
        "levies_and_grid_fees": view.treatment.charging_cost_eur_per_mwh * float(charge.sum()) * DT,
    }
    return AssetOutcome(
        lo=-a.power_charge_mw * view.avail,
        hi=a.power_discharge_mw * view.avail,
        costs=costs,
        states={"soc_mwh": soc},
        end_state={"soc_mwh": float(soc[-1])},
    )


def _battery_initial(view: AssetView, a: Battery, low: float, high: float) -> float:
    """soc[-1]: the plan's input, else the asset's, else mid-range; clipped into range."""
    given = view.plan.inputs.initial_soc_mwh.get(a.id, a.soc_initial_mwh)
    initial = (low + high) / 2 if given is None else given
    return min(max(initial, low), high)


def _power(
    view: AssetView, findings: Findings, rule: str, flow: np.ndarray, limit: float, verb: str
) -> None:
    """`flow` [MW, >= 0] at most `limit` where the asset is available."""
    findings.series(
        rule,
        view.id,
        excess_where(view.available, flow - limit),
        "MW",
        lambda t: f"{verb} {flow[t]:.6g} MW, limit {limit:.6g} MW",
    )


def _range(
    view: AssetView,
    findings: Findings,
    rule: str,
    values: np.ndarray,
    low: float,
    high: float,
    unit: str,
    what: str,
) -> None:
    """`low <= values[t] <= high`, reported below and above separately."""
    findings.series(
        rule,
        view.id,
        low - values,
        unit,
        lambda t: f"{what} {values[t]:.6g} {unit} below the minimum {low:.6g} {unit}",
    )
    findings.series(
        rule,
        view.id,
        values - high,
        unit,
        lambda t: f"{what} {values[t]:.6g} {unit} above the maximum {high:.6g} {unit}",
    )


def _cycles(
    view: AssetView, findings: Findings, a: Battery, discharge: np.ndarray, span: float
) -> None:
    """B5: discharged energy within max_cycles_per_day full cycles of the SoC range."""
    if a.max_cycles_per_day is None:
        return
    discharged = float(discharge.sum()) * DT
    limit = a.max_cycles_per_day * span
    if discharged > limit + TOLERANCE:
        findings.add(
            rules.B5,
            a.id,
            discharged - limit,
            "MWh",
            f"discharges {discharged:.6g} MWh in the day, {a.max_cycles_per_day:g} cycles "
            f"of {span:.6g} MWh allow {limit:.6g} MWh",
        )


def reservoir_h(treatment: Treatment, product: str) -> float:
    """Hours of full delivery a storage keeps per reserved MW of `product` [h]."""
    for item in treatment.balancing:
        if item.product == product and item.energy_reservoir_h is not None:
            return item.energy_reservoir_h
    return DEFAULT_RESERVOIR_H


def _reserve_energy(
    view: AssetView,
    findings: Findings,
    soc: np.ndarray,
    low: float,
    high: float,
    efficiency: tuple[float, float],
) -> None:
    """B6: stored energy behind upward reserve, free storage behind downward reserve."""
    eta_charge, eta_discharge = efficiency
    up = sum(
        (view.bands[p] * reservoir_h(view.treatment, p) / eta_discharge for p in rules.UP),
        np.zeros(view.n),
    )
    down = sum(
        (view.bands[p] * reservoir_h(view.treatment, p) * eta_charge for p in rules.DOWN),
        np.zeros(view.n),
    )
    _beyond_room(view, findings, up, soc - low, "upward", "draw from", soc)
    _beyond_room(view, findings, down, high - soc, "downward", "store in", soc)


def _beyond_room(
    view: AssetView,
    findings: Findings,
    need: np.ndarray,
    room: np.ndarray,
    direction: str,
    verb: str,
    soc: np.ndarray,
) -> None:
    """B6 where the asset holds reserve: the energy it may call for beyond the room the
    state of charge leaves (a state outside its range by itself is B3)."""
    findings.series(
        rules.B6,
        view.id,
        excess_where(need > TOLERANCE, need - np.maximum(room, 0.0)),
        "MWh",
        lambda t: (
            f"{direction} reserve may {verb} it {need[t]:.6g} MWh; at a state of charge "
            f"of {soc[t]:.6g} MWh there is room for {max(room[t], 0.0):.6g} MWh"
        ),
    )


# --- PV and wind -----------------------------------------------------------------------


def renewable(view: AssetView, findings: Findings) -> AssetOutcome:
    """R1 and the support premium on injected energy."""
    a = view.asset
    assert isinstance(a, PV | Wind)
    given = view.plan.inputs.available_mw.get(a.id)
    if given is None:
        raise PlanFormatError(
            f"inputs.available_mw.{a.id}", MISSING, f"is missing; a {a.kind} needs its profile"
        )
    available = np.clip(given, 0.0, a.rated_power_mw) * view.avail
    x = view.x
    findings.series(
        rules.R1,
        a.id,
        excess_where(view.available, -x),
        "MW",
        lambda t: f"injects {x[t]:.6g} MW: output is at least 0 MW",
    )
    findings.series(
        rules.R1,
        a.id,
        excess_where(view.available, x - available),
        "MW",
        lambda t: f"injects {x[t]:.6g} MW, {available[t]:.6g} MW available",
    )
    if not a.curtailable:
        findings.series(
            rules.R1,
            a.id,
            excess_where(view.available, available - x),
            "MW",
            lambda t: (
                f"injects {x[t]:.6g} MW of {available[t]:.6g} MW available; it may not be curtailed"
            ),
        )
    outcome = AssetOutcome(lo=available if not a.curtailable else np.zeros(view.n), hi=available)
    _support(view, outcome)
    return outcome


def _support(view: AssetView, outcome: AssetOutcome) -> None:
    """Support premium on every MWh injected, and what the negative-price rule withholds."""
    support = view.treatment.support
    prices = view.day_ahead
    if support is None or prices is None:
        return
    level = max(0.0, support.reference_value_eur_per_mwh - float(np.mean(prices)))
    withheld = premium_withheld(support.negative_prices.kind, support.negative_prices.hours, prices)
    outcome.revenue["support_premium"] = level * float(view.x.sum()) * DT
    outcome.costs["lost_support_premium"] = level * float(view.x[withheld].sum()) * DT


def premium_withheld(kind: str, hours: float | None, prices: np.ndarray) -> np.ndarray:
    """Quarter hours in which a negative-price rule withholds the support premium."""
    if kind == "every_period":
        return prices < 0
    if kind == "non_positive_period":
        return prices <= 0
    withheld = np.zeros(len(prices), dtype=bool)
    if kind == "consecutive_hours" and hours is not None:
        for start, end in runs(prices < 0):
            if (end - start) * DT >= hours - 1e-9:
                withheld[start:end] = True
    return withheld


# --- units with on/off commitment (CHP, flexible load, heat pump) ---------------------


@dataclass(frozen=True)
class Commitment:
    """Which rules name a unit's minimum up and down times, and what they are [h]."""

    rule_up: str
    rule_down: str
    min_up_h: float
    min_down_h: float


def commitment(
    view: AssetView, findings: Findings, on: np.ndarray, spec: Commitment
) -> AssetOutcome:
    """Minimum up and down times of the runs and rests in `on`; the starts and end state.

    The state before the day is `inputs.unit_initial` (off, since ever, when absent). A
    run or rest that reaches the end of the day is not held to its minimum; one in
    progress at the start counts the hours it had already lasted.
    """
    intervals = _intervals(on, view.plan.inputs.unit_initial.get(view.id))
    for state, start, end, before in intervals:
        if end == view.n:
            continue
        minimum = spec.min_up_h if state else spec.min_down_h
        need = minimum - before
        length = (end - start) * DT
        if length < need - 1e-9:
            what = "run" if state else "rest"
            carried = f" after {before:g} h before the day" if before else ""
            findings.add(
                spec.rule_up if state else spec.rule_down,
                view.id,
                need - length,
                "h",
                f"{what} of {length:g} h{carried}; minimum {minimum:g} h",
                at=min(start, view.n - 1),
                until=end,
            )
    state, start, end, before = intervals[-1]
    outcome = AssetOutcome(lo=np.zeros(view.n), hi=np.zeros(view.n), states={"on": on * 1.0})
    outcome.end_state = {"on": bool(state)}
    if np.isfinite(before):
        outcome.end_state["hours"] = (end - start) * DT + before
    return outcome


def _intervals(on: np.ndarray, initial: UnitState | None) -> list[tuple[bool, int, int, float]]:
    """(state, start, end, hours already in that state before the day) of each run or rest.

    Without `initial` the unit was off since ever (inf hours). An initial state the day
    does not continue is an interval of no length at the start, so that its minimum
    counts too.
    """
    before_state = initial.on if initial is not None else False
    before_hours = initial.hours if initial is not None else float("inf")
    pieces = state_runs(on)
    continued = bool(pieces) and bool(on[0]) == before_state
    found = [] if continued else [(before_state, 0, 0, before_hours)]
    for index, (start, end) in enumerate(pieces):
        carried = before_hours if index == 0 and continued else 0.0
        found.append((bool(on[start]), start, end, carried))
    return found


def starts(on: np.ndarray, initial: UnitState | None) -> int:
    """Quarter hours in which the unit goes from off to on."""
    previous = np.r_[initial.on if initial is not None else False, on[:-1]]
    return int((on & ~previous).sum())


def _unit_power(
    view: AssetView,
    findings: Findings,
    rule: str,
    power: np.ndarray,
    low: float,
    high: float,
    noun: str,
) -> np.ndarray:
    """`power` [MW, >= 0] off (0) or between `low` and `high` where available; the `on` series."""
    on = power > ON_MW
    where = view.available
    findings.series(
        rule,
        view.id,
        excess_where(where & on, low - power),
        "MW",
        lambda t: f"{noun} {power[t]:.6g} MW while on, minimum {low:.6g} MW",
    )
    findings.series(
        rule,
        view.id,
        excess_where(where, power - high),
        "MW",
        lambda t: f"{noun} {power[t]:.6g} MW, maximum {high:.6g} MW",
    )
    findings.series(
        rule,
        view.id,
        excess_where(where, -power),
        "MW",
        lambda t: f"{noun} {power[t]:.6g} MW: it is at least 0 MW",
    )
    return on


# --- CHP ---------------------------------------------------------------------------------


def chp(view: AssetView, findings: Findings) -> AssetOutcome:
    """C1-C3, starts, fuel, and the support premium."""
    a = view.asset
    assert isinstance(a, CHP)
    x = view.x
    on = _unit_power(view, findings, rules.C1, x, a.power_min_stable_mw, a.power_max_mw, "output")
    spec = Commitment(rules.C2, rules.C3, a.min_up_time_h, a.min_down_time_h)
    outcome = commitment(view, findings, on, spec)
    outcome.lo = on * a.power_min_stable_mw * view.avail
    outcome.hi = on * a.power_max_mw * view.avail
    initial = view.plan.inputs.unit_initial.get(a.id)
    outcome.costs["fuel"] = a.fuel_cost_eur_per_mwh * float(x.sum()) * DT
    outcome.costs["starts"] = a.start_cost_eur * starts(on, initial)
    _support(view, outcome)
    return outcome


# --- flexible load and heat pump ---------------------------------------------------------


def flexible_load(view: AssetView, findings: Findings) -> AssetOutcome:
    """L1-L3, the shift cost against the baseline, levies and grid fees."""
    a = view.asset
    assert isinstance(a, FlexibleLoad)
    p = -view.x
    on = _unit_power(
        view, findings, rules.L1, p, a.consumption_min_mw, a.consumption_max_mw, "consumes"
    )
    spec = Commitment(rules.L2, rules.L2, a.min_up_time_h, a.min_down_time_h)
    outcome = commitment(view, findings, on, spec)
    outcome.lo = -(on * a.consumption_max_mw) * view.avail
    outcome.hi = -(on * a.consumption_min_mw) * view.avail
    requirements(view, findings, rules.L3, p)
    baseline = _baseline(view, a)
    outcome.costs["shift"] = a.shift_cost_eur_per_mwh * float(np.abs(p - baseline).sum()) * DT / 2
    outcome.costs["levies_and_grid_fees"] = _levies(view, p)
    return outcome


def _levies(view: AssetView, withdrawal: np.ndarray) -> float:
    """Levies and grid fees on the energy drawn from the grid [EUR]."""
    drawn = float(np.maximum(withdrawal, 0.0).sum()) * DT
    return view.treatment.charging_cost_eur_per_mwh * drawn


def requirements(view: AssetView, findings: Findings, rule: str, p: np.ndarray) -> None:
    """L3: energy drawn within each requirement occurrence [MWh] at least its due share."""
    for requirement in getattr(view.asset, "energy_requirements", ()):
        for occurrence in view.occurrences(requirement):
            need = requirement.energy_mwh * occurrence.share
            idx = occurrence.indices()
            drawn = float(p[idx].sum()) * DT
            if drawn < need - TOLERANCE:
                findings.add(
                    rule,
                    view.id,
                    need - drawn,
                    "MWh",
                    f"draws {drawn:.6g} MWh within {requirement.label()}, "
                    f"{need:.6g} MWh required{_share_note(occurrence)}",
                    at=int(idx[0]),
                    until=int(idx[-1]) + 1,
                )


def _share_note(occurrence: Occurrence) -> str:
    if occurrence.share >= 1.0:
        return ""
    return f" (its share of {occurrence.inside_hours:g} h of {occurrence.hours:g} h in the day)"


def _baseline(view: AssetView, a: FlexibleLoad) -> np.ndarray:
    """b[t]: `baseline_mw` where available, else the requirements spread over their
    windows, at most `consumption_max_mw` [MW]."""
    given = getattr(a, "baseline_mw", None)
    if given is not None:
        return np.broadcast_to(np.asarray(given, dtype=float), (view.n,)) * view.avail
    spread = np.zeros(view.n)
    for requirement in a.energy_requirements:
        for occurrence in view.occurrences(requirement):
            spread[occurrence.mask] += requirement.energy_mwh / occurrence.hours
    return np.minimum(spread, a.consumption_max_mw)


def heat_pump(view: AssetView, findings: Findings) -> AssetOutcome:
    """H1-H3, levies and grid fees."""
    a = view.asset
    assert isinstance(a, HeatPump)
    p = -view.x
    on = _unit_power(view, findings, rules.H1, p, a.power_min_mw, a.power_max_mw, "consumes")
    spec = Commitment(rules.H2, rules.H2, a.min_up_time_h, a.min_down_time_h)
    outcome = commitment(view, findings, on, spec)
    outcome.lo = -(on * a.power_max_mw) * view.avail
    outcome.hi = -(on * a.power_min_mw) * view.avail
    demand = getattr(a, "heat_demand", None) or ()
    if demand:
        heat = _heat(view, findings, a, p, demand)
        outcome.states["heat_mwh_th"] = heat
        outcome.end_state["heat_mwh_th"] = float(heat[-1])
    else:
        requirements(view, findings, rules.H3_ENERGY, p)
    outcome.costs["levies_and_grid_fees"] = _levies(view, p)
    return outcome


def _heat(
    view: AssetView, findings: Findings, a: HeatPump, p: np.ndarray, demand: tuple[Any, ...]
) -> np.ndarray:
    """H3: heat storage from cop * p - demand, within [0, storage], not emptier at the end."""
    q = np.zeros(view.n)
    for window in demand:
        for occurrence in view.occurrences(window):
            q[occurrence.mask] += float(window.heat_mw_th)
    storage = a.thermal_storage_mwh_th
    initial = view.plan.inputs.initial_heat_mwh_th.get(a.id)
    if initial is None:
        initial = getattr(a, "thermal_storage_initial_mwh_th", None)
    if initial is None:
        initial = storage / 2
    heat = initial + np.cumsum((a.cop * p - q) * DT)
    _range(view, findings, rules.H3, heat, 0.0, storage, "MWh_th", "heat stored")
    if heat[-1] < initial - TOLERANCE:
        findings.add(
            rules.H3,
            a.id,
            initial - heat[-1],
            "MWh_th",
            f"heat stored {heat[-1]:.6g} MWh_th at the end of the day, "
            f"{initial:.6g} MWh_th at its start",
            at=view.n - 1,
        )
    return heat


# --- EV fleet ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """One plug-in session (an occurrence of an energy requirement window)."""

    occurrence: Occurrence
    energy_mwh: float
    """R: what the vehicles need stored by departure, and use while away [MWh]."""


def ev_fleet(view: AssetView, findings: Findings) -> AssetOutcome:
    """E1-E3, the fleet's stored energy, levies and grid fees."""
    a = view.asset
    assert isinstance(a, EVFleet)
    charge, discharge = np.maximum(-view.x, 0.0), np.maximum(view.x, 0.0)
    _power(view, findings, rules.E1, charge, a.charge_power_max_mw, "charges")
    _power(view, findings, rules.E1, discharge, a.discharge_power_max_mw, "discharges")
    sessions = [
        Session(occurrence, req.energy_mwh)
        for req in a.energy_requirements
        for occurrence in view.occurrences(req)
    ]
    stored = (charge * a.efficiency_charge - discharge / a.efficiency_discharge) * DT
    owed = _owed_at_start(view, sessions)
    initial = view.plan.inputs.initial_soc_mwh.get(a.id)
    if initial is None:
        initial = a.energy_mwh - sum(owed.values())
    energy = _fleet_energy(view, findings, a, sessions, stored, initial)
    still_owed = 0.0
    for index, session in enumerate(sessions):
        still_owed += _session_requirement(view, findings, a, session, stored, owed.get(index))
    return AssetOutcome(
        lo=-a.charge_power_max_mw * view.avail,
        hi=a.discharge_power_max_mw * view.avail,
        costs={"levies_and_grid_fees": _levies(view, charge)},
        states={"e_mwh": energy},
        end_state={"e_mwh": float(energy[-1]), "owed_mwh": still_owed},
    )


def _owed_at_start(view: AssetView, sessions: list[Session]) -> dict[int, float]:
    """Per session in progress at the start of the day: what it still needs [MWh].

    The plan's `inputs.ev_owed_mwh` for the first of them (there is one per fleet unless
    its windows overlap); else the session's share of R by its hours inside the day.
    """
    given = view.plan.inputs.ev_owed_mwh.get(view.id)
    owed = {}
    for index, session in enumerate(sessions):
        if not session.occurrence.starts_before:
            continue
        if given is not None and not owed:
            owed[index] = given
        else:
            owed[index] = session.energy_mwh * session.occurrence.share
    return owed


def _fleet_energy(
    view: AssetView,
    findings: Findings,
    a: EVFleet,
    sessions: list[Session],
    stored: np.ndarray,
    initial: float,
) -> np.ndarray:
    """E2: e[t] = e[t-1] - R at arrivals + stored[t], within [0, energy_mwh].

    The lowest the fleet's energy gets in a quarter hour is the lower of the value after
    an arrival's drop (before that quarter hour's charging) and at its end.
    """
    arrivals = np.zeros(view.n)
    for session in sessions:
        if not session.occurrence.starts_before:
            arrivals[int(session.occurrence.indices()[0])] += session.energy_mwh
    energy = initial + np.cumsum(stored - arrivals)
    before = np.r_[initial, energy[:-1]] - arrivals
    lowest = np.minimum(energy, before)
    findings.series(
        rules.E2,
        a.id,
        -lowest,
        "MWh",
        lambda t: (
            f"the fleet's stored energy falls to {lowest[t]:.6g} MWh"
            + (f" as vehicles arrive needing {arrivals[t]:.6g} MWh" if arrivals[t] else "")
        ),
    )
    findings.series(
        rules.E2,
        a.id,
        energy - a.energy_mwh,
        "MWh",
        lambda t: f"stored energy {energy[t]:.6g} MWh above the fleet's {a.energy_mwh:.6g} MWh",
    )
    return energy


def _session_requirement(
    view: AssetView,
    findings: Findings,
    a: EVFleet,
    session: Session,
    stored: np.ndarray,
    owed: float | None,
) -> float:
    """E3 for one session; returns what it still needs after the day [MWh] (end_state)."""
    occurrence = session.occurrence
    idx = occurrence.indices()
    got = float(stored[idx].sum())
    later = a.charge_power_max_mw * a.efficiency_charge * occurrence.hours_after
    if owed is not None:
        need, what = owed - later, "still owed at the start of the day"
    elif occurrence.ends_after:
        need, what = session.energy_mwh - later, "of its need that cannot wait for tomorrow"
    else:
        need, what = session.energy_mwh, "needed by departure"
    if got < need - TOLERANCE:
        findings.add(
            rules.E3,
            a.id,
            need - got,
            "MWh",
            f"stores {got:.6g} MWh in session {occurrence.window.label()}, {need:.6g} MWh {what}",
            at=int(idx[0]),
            until=int(idx[-1]) + 1,
        )
    if not occurrence.ends_after:
        return 0.0
    total = owed if owed is not None else session.energy_mwh
    return max(0.0, total - got)


KIND_RULES: dict[str, Callable[[AssetView, Findings], AssetOutcome]] = {
    "battery": battery,
    "pv": renewable,
    "wind": renewable,
    "chp": chp,
    "flexible_load": flexible_load,
    "heat_pump": heat_pump,
    "ev_fleet": ev_fleet,
}
"""The rules of each asset kind."""
