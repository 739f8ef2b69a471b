"""Whole positions a zone's battery can follow: a dynamic programme over its state of charge.

When a zone's positions go onto whole volume steps, someone must absorb the difference to
the relaxed solution, and a battery is the usual candidate. Rounding each quarter hour to
its nearest step ignores the battery's state of charge: a relaxed optimum touches its SoC
limits, and a few hundredths of a MWh too much in the wrong quarter hour make the plan
infeasible, after which a generic integer search struggles (a lone battery with 96
whole-step positions can keep HiGHS busy for minutes).

`battery_led_steps` instead walks the day in delivery order and keeps, for every SoC the
battery could be in (in `BUCKETS` buckets over its range), the best value reached so far: each
product's position may take any whole value within `SPREAD` steps of its relaxed one, the
battery absorbs the difference to the rest of the zone (held at its relaxed dispatch),
within its power, headroom, SoC and reserve-energy limits, and must end at or above its
target. The exact SoC of each kept state is carried, so limits are checked exactly; only
the choice between two paths that end in one bucket is approximate. The positions found
are then handed to the whole-step solve, where every follower is re-optimised around them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regulatory.assets import Battery
from trading.optimiser.assets import DOWN, DT, UP, reservoir_hours
from trading.optimiser.build import BuiltModel, PositionBlock
from trading.optimiser.linear import FloatArray
from trading.optimiser.solver import Solved

BUCKETS = 4000
"""SoC buckets over the battery's range: the programme keeps the best state in each."""

BUCKET_MIN_MWH = 1e-5
"""Narrowest bucket [MWh]."""

SPREAD = 2
"""A position may be this many steps below its floor or above its ceiling."""


@dataclass(frozen=True)
class _Battery:
    """What the programme needs of the absorbing battery, per quarter hour."""

    low: FloatArray
    """Lowest injection it may take [MW] (charging limit, less downward headroom)."""
    high: FloatArray
    """Highest injection [MW] (discharging limit, less upward headroom)."""
    soc_low: FloatArray
    """Lowest SoC at the end of each quarter hour [MWh] (with upward reserve energy)."""
    soc_high: FloatArray
    initial: float
    target: float
    eta_charge: float
    eta_discharge: float
    charge_cost: float
    """Wear plus levies per MWh charged [EUR/MWh]."""
    discharge_cost: float
    """Wear per MWh discharged [EUR/MWh]."""
    discharge_limit: float = float("inf")
    """Energy it may discharge over the day (its warranty's cycles) [MWh]."""
    end_value: float = 0.0
    """Value of a MWh stored at the end of the day [EUR/MWh] (`soc_value_eur_per_mwh`)."""


@dataclass(frozen=True)
class LedSteps:
    """Whole steps a battery can follow, and the injection it follows them with."""

    steps: FloatArray
    """Per product of the block: its position in steps."""
    absorber: str
    injection_mw: FloatArray
    """The absorber's net injection per quarter hour on that path [MW]."""


def battery_led_steps(
    built: BuiltModel, relaxed: Solved, block: PositionBlock, absorber: str
) -> LedSteps | None:
    """Whole steps for `block` that battery `absorber` can follow, the rest of the zone
    held at `relaxed`; None if the programme finds no such path."""
    battery = _limits(built, relaxed, absorber)
    if battery is None:
        return None
    n = built.horizon.n
    others = np.zeros(n)
    sites = {s.id: s for s in built.portfolio.sites}
    for asset in built.portfolio.assets:
        if sites[asset.site].bidding_zone == block.zone and asset.id != absorber:
            others += built.assets[asset.id].injection.evaluate(relaxed.values)
    for other in built.positions:
        if other.zone == block.zone and other is not block:
            others -= (np.round(relaxed(other.steps)) * other.step_mw)[other.period_of]
    prices = block.prices
    continuous = relaxed(block.steps)
    choices = [
        np.arange(np.floor(c + 1e-9) - SPREAD, np.ceil(c - 1e-9) + SPREAD + 1)
        if not held
        else np.array([np.round(c)])  # a commitment holds it
        for c, held in zip(continuous, block.held, strict=True)
    ]
    steps = _walk(block, battery, others, prices, choices)
    if steps is None:
        return None
    return LedSteps(steps, absorber, (steps * block.step_mw)[block.period_of] - others)


def _walk(
    block: PositionBlock,
    battery: _Battery,
    others: FloatArray,
    prices: FloatArray,
    choices: list[FloatArray],
) -> FloatArray | None:
    """The dynamic programme over products in delivery order (see the module docstring)."""
    soc = np.array([battery.initial])
    value = np.zeros(1)
    spent = np.zeros(1)  # energy discharged so far [MWh], against the cycle limit
    back: list[tuple[np.ndarray, np.ndarray]] = []
    order = np.argsort([np.flatnonzero(block.period_of == k)[0] for k in range(len(choices))])
    # the most energy the battery can still store after each quarter hour [MWh]
    width = max(BUCKET_MIN_MWH, float(np.max(battery.soc_high - battery.soc_low)) / BUCKETS)
    refill = np.maximum(-battery.low, 0.0) * battery.eta_charge * DT
    later = np.r_[np.cumsum(refill[::-1])[::-1][1:], 0.0]
    for k in order:
        quarters = np.flatnonzero(block.period_of == k)
        if block.held[k]:
            steps, parent = np.repeat(choices[k], len(soc)), np.arange(len(soc))
        else:
            steps, parent = _options(block, battery, others, choices[k], soc, quarters[0])
        s, v, used = soc[parent], value[parent], spent[parent]
        alive = np.ones(len(s), dtype=bool)
        for q in quarters:
            x = steps * block.step_mw - others[q]  # the battery's injection [MW]
            alive &= (x >= battery.low[q] - 1e-9) & (x <= battery.high[q] + 1e-9)
            charge, discharge = np.maximum(-x, 0.0), np.maximum(x, 0.0)
            s = s + (charge * battery.eta_charge - discharge / battery.eta_discharge) * DT
            used = used + discharge * DT
            alive &= (s >= battery.soc_low[q] - 1e-9) & (s <= battery.soc_high[q] + 1e-9)
            v = v + (steps * block.step_mw * prices[q]) * DT
            v = v - (charge * battery.charge_cost + discharge * battery.discharge_cost) * DT
        alive &= s + later[quarters[-1]] >= battery.target - 1e-9  # the target stays in reach
        alive &= used <= battery.discharge_limit + 1e-9
        if not alive.any():
            return None
        s, v, used, steps, parent = s[alive], v[alive], used[alive], steps[alive], parent[alive]
        keep = _best_per_bucket(s, v, width)
        s, v, used, steps, parent = s[keep], v[keep], used[keep], steps[keep], parent[keep]
        back.append((steps, parent))
        soc, value, spent = s, v, used
    final = soc >= battery.target - 1e-9
    if not final.any():
        return None
    worth = value + battery.end_value * soc  # the end SoC's value, where one is given
    best = int(np.flatnonzero(final)[np.argmax(worth[final])])
    chosen = np.zeros(len(choices))
    for k, (steps, parent) in zip(order[::-1], back[::-1], strict=True):
        chosen[k] = steps[best]
        best = int(parent[best])
    return chosen


def _options(
    block: PositionBlock,
    battery: _Battery,
    others: FloatArray,
    near: FloatArray,
    soc: FloatArray,
    q: int,
) -> tuple[FloatArray, np.ndarray]:
    """(steps, parent state) pairs to try: the whole values next to the relaxed one for
    every state, and per state the most the battery can discharge or charge from its SoC
    in quarter hour `q` (so a battery a little short of energy can still follow), and 0."""
    n = len(soc)
    room_out = np.maximum(soc - battery.soc_low[q], 0.0) * battery.eta_discharge / DT
    room_in = np.maximum(battery.soc_high[q] - soc, 0.0) / battery.eta_charge / DT
    most = np.minimum(battery.high[q], room_out)  # largest injection this state allows
    least = np.maximum(battery.low[q], -room_in)  # largest withdrawal
    step = block.step_mw
    highest = np.floor((most + others[q]) / step + 1e-9)
    lowest = np.ceil((least + others[q]) / step - 1e-9)
    steps = np.r_[np.tile(near, n), highest, lowest, np.zeros(n)]
    parent = np.r_[np.repeat(np.arange(n), len(near)), np.arange(n), np.arange(n), np.arange(n)]
    ok = _minimum_ok(steps, block.min_steps)
    return steps[ok], parent[ok]


def _minimum_ok(options: FloatArray, min_steps: int) -> np.ndarray:
    return (options == 0) | (np.abs(options) >= min_steps)


def _best_per_bucket(soc: FloatArray, value: FloatArray, width: float) -> np.ndarray:
    """Indices of the best-valued state in each SoC bucket of `width` [MWh]."""
    bucket = np.floor(soc / width).astype(np.int64)
    order = np.lexsort((-value, bucket))
    first = np.r_[True, bucket[order][1:] != bucket[order][:-1]]
    return order[first]


def _limits(built: BuiltModel, relaxed: Solved, absorber: str) -> _Battery | None:
    """The absorbing battery's limits per quarter hour, its reserves held as relaxed."""
    asset = next(a for a in built.portfolio.assets if a.id == absorber)
    if not isinstance(asset, Battery):
        return None
    terms = built.assets[absorber]
    n = built.horizon.n
    upper = built.model.bounds()[1]
    charge_max = upper[terms.variables["charge"].cols]  # zero outside availability
    discharge_max = upper[terms.variables["discharge"].cols]
    up = sum(
        (relaxed(built.reserves[(absorber, p)]) for p in UP if (absorber, p) in built.reserves),
        np.zeros(n),
    )
    down = sum(
        (relaxed(built.reserves[(absorber, p)]) for p in DOWN if (absorber, p) in built.reserves),
        np.zeros(n),
    )
    treatment = built.treatments[absorber]
    up_energy = sum(
        (
            relaxed(built.reserves[(absorber, p)])
            * reservoir_hours(treatment, p)
            / asset.efficiency_discharge
            for p in UP
            if (absorber, p) in built.reserves
        ),
        np.zeros(n),
    )
    down_energy = sum(
        (
            relaxed(built.reserves[(absorber, p)])
            * reservoir_hours(treatment, p)
            * asset.efficiency_charge
            for p in DOWN
            if (absorber, p) in built.reserves
        ),
        np.zeros(n),
    )
    low, high = asset.soc_bounds_mwh()
    site_room = _site_room(built, relaxed, absorber)
    initial = terms.initial.get("initial_soc_mwh", (low + high) / 2)
    target = terms.initial.get("final_soc_mwh", initial)
    levies = treatment.charging_cost_eur_per_mwh
    wear = asset.degradation_cost_eur_per_mwh
    return _Battery(
        low=np.maximum(-charge_max + down, site_room[0]),
        high=np.minimum(discharge_max - up, site_room[1]),
        soc_low=low + up_energy,
        soc_high=high - down_energy,
        initial=float(initial),
        target=float(target),
        eta_charge=asset.efficiency_charge,
        eta_discharge=asset.efficiency_discharge,
        charge_cost=wear + levies,
        discharge_cost=wear,
        discharge_limit=(
            float("inf")
            if asset.max_cycles_per_day is None
            else asset.max_cycles_per_day * (high - low)
        ),
        end_value=float(built.options.soc_value_eur_per_mwh.get(absorber, 0.0)),
    )


def _site_room(built: BuiltModel, relaxed: Solved, absorber: str) -> tuple[FloatArray, FloatArray]:
    """The absorber's injection range its site's connection leaves, the rest at relaxed."""
    asset = next(a for a in built.portfolio.assets if a.id == absorber)
    site = built.portfolio.site_of(asset)
    n = built.horizon.n
    rest = np.zeros(n)
    up = np.zeros(n)
    down = np.zeros(n)
    for other in built.portfolio.assets:
        if other.site != site.id:
            continue
        if other.id != absorber:
            rest += built.assets[other.id].injection.evaluate(relaxed.values)
        for (aid, product), var in built.reserves.items():
            if aid == other.id:
                if product in UP:
                    up += relaxed(var)
                if product in DOWN:
                    down += relaxed(var)
    limit = site.grid_connection_mw
    return -limit + down - rest, limit - up - rest
