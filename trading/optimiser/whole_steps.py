"""Solve a plan with its market positions on whole volume steps: the bids that are sent.

A zone's position per product is an integer number of the product's volume step (the bid
must be whole; the zone's assets follow continuously and share it). Integer positions tie
every site of a zone together, and one branch-and-bound over a whole zone is slow, so the
model is solved in two stages, and the gap reported is the true one:

1. **Relaxation** (`relax_positions`): positions continuous, minimum-volume rows set
   aside. A position is then a mere record of its zone's net injection, the sites fall
   apart into small independent parts, and each is solved within the gap. The sum of
   their proven bounds bounds the objective of any plan with whole positions.
2. **Whole steps** (`solve_whole_steps`): every position is held at a whole number of
   steps (the nearest, or the other side where only that is within reach of the zone's
   fleet, zero or at least the minimum volume), and a few flexible *followers* per zone
   (storage, flexible loads, then the rest, largest first) are solved again with all
   their own decisions free, binaries included, while every other asset keeps its
   stage-1 dispatch. If the followers cannot follow, the zone's whole flexible fleet
   follows and the positions may choose either neighbouring step.

The plan's objective is that of stage 2 (the plan that is submitted); its gap is measured
against stage 1's bound, so `status` says `optimal` only when the plan with whole steps is
within the requested gap of the best any plan could do.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from trading.optimiser.assets import forbid_overlap, injection_rows_range, mode_values
from trading.optimiser.build import BuiltModel, PositionBlock, residual_room
from trading.optimiser.linear import FloatArray
from trading.optimiser.solver import Solved, SolverOptions, SolverReport, solve
from trading.optimiser.split import MatrixModel
from trading.optimiser.storage_steps import LedSteps, battery_led_steps

FOLLOWERS_MW = 1.0
"""Rating per zone, at least, of the assets that re-dispatch to follow whole positions [MW]."""

FOLLOWER_STEPS = 10
"""... and at least this many volume steps of rating together."""

MAX_ABSORBERS = 3
"""Batteries a zone's dynamic programme tries as the one to absorb whole steps, at most."""

FOLLOWER_KINDS = ("battery", "ev_fleet", "flexible_load", "heat_pump", "chp", "pv", "wind")
"""Asset kinds in the order they are asked to follow whole positions."""

HELD, NEIGHBOURS, FREE, ZERO = "held", "neighbours", "free", "zero"
"""How the whole-step stage treats positions: held at the nearest reachable whole step, free
to take either whole step next to the relaxed value, free within their model bounds, or
zero where no commitment holds them (with positions held from an earlier pass, trading
nothing more is always possible)."""

NEIGHBOURS_RUNG_NODES = 5_000
"""Branch-and-bound nodes a rung choosing neighbouring steps over a whole zone may explore:
a work limit, so that the plan does not depend on the machine's load."""

NEIGHBOURS_RUNG_S = 15.0
"""Time that rung may take at most [s]: a backstop behind its node limit."""

SMALL_ZONE = 30
"""Zones of at most this many assets try the searches with every decision free."""

FREE_RUNG_NODES = 500
"""Branch-and-bound nodes the rung with free positions may explore: when no whole step can
be followed, HiGHS may search long without proving it, and the residual rung comes next."""

FREE_RUNG_S = 1.0
"""Time that rung may take at most [s]: a backstop behind its node limit (on a loaded
machine it may cut the search short of the node limit, and then decides the plan)."""

MINIMUM_FAMILIES = ("position minimum sold", "position minimum bought", "position one side")
"""Row families of the minimum-volume rule, set aside in the relaxation."""


class Relaxed:
    """The model with positions continuous and minimum-volume rows set aside, for a while.

    Use as a context manager around the relaxed solve; on exit the model is as built.
    """

    def __init__(self, built: BuiltModel) -> None:
        self._built = built
        self._saved: tuple[list[FloatArray], list[FloatArray], list[np.ndarray]] | None = None

    def __enter__(self) -> BuiltModel:
        model = self._built.model
        _, _, row_lower, row_upper, integer = model.bounds()
        self._saved = ([row_lower.copy()], [row_upper.copy()], [integer.copy()])
        relaxed = integer.copy()
        for block in self._built.positions:
            relaxed[block.steps.cols] = False
            if block.traded is not None:
                relaxed[np.r_[block.traded[0].cols, block.traded[1].cols]] = False
        rows = _rows_of(model.row_families(), MINIMUM_FAMILIES)
        row_lower[rows], row_upper[rows] = -np.inf, np.inf
        model.row_lower, model.row_upper, model.col_integer = [row_lower], [row_upper], [relaxed]
        return self._built

    def __exit__(self, *_: object) -> None:
        """Restore what was set aside; rows and columns added meanwhile keep theirs."""
        assert self._saved is not None
        model = self._built.model
        (old_lower,), (old_upper,), (old_integer,) = self._saved
        _, _, row_lower, row_upper, integer = model.bounds()
        row_lower[: len(old_lower)], row_upper[: len(old_upper)] = old_lower, old_upper
        integer[: len(old_integer)] = old_integer
        model.row_lower, model.row_upper, model.col_integer = [row_lower], [row_upper], [integer]


def _rows_of(families: list[str], names: Iterable[str]) -> np.ndarray:
    wanted = set(names)
    return np.array([i for i, f in enumerate(families) if f in wanted], dtype=np.int64)


def solve_whole_steps(
    built: BuiltModel, relaxed: Solved, options: SolverOptions, deadline: float | None
) -> Solved:
    """The plan with whole positions, starting from the relaxed solution (module docstring).

    Zone by zone (zones share no row once positions are whole: pools and sites lie in one
    zone), the rungs of `LADDER` are tried in turn until one gives a plan. Raises
    `WholeStepsError` naming a zone whose fleet cannot follow any whole step (a zone whose
    fleet is fixed gets a residual instead, see `build._link_zones`).
    """
    if not built.positions:
        return relaxed
    started = time.perf_counter()
    model = built.model
    values = np.zeros(model.num_cols)
    values[: len(relaxed.values)] = relaxed.values
    parts = calls = 0
    for zone in sorted({b.zone for b in built.positions}):
        found = None
        # zones solved so far are held at their whole-step solution, the others as relaxed
        current = Solved(_padded(values, model.num_cols), relaxed.report)
        for rung in LADDER:
            found = _attempt(built, current, zone, rung, options, deadline)
            if found is not None:
                if rung.residual:  # the plan holds a residual here: let the model say so
                    _open_residual(built, zone)
                break
        if found is None:
            raise WholeStepsError(
                f"no asset of zone {zone} can follow its positions on whole volume steps"
            )
        mine = _zone_columns(built, zone)
        values = _padded(values, model.num_cols)
        values[mine] = found.values[mine]
        parts += found.report.parts
        calls += found.report.highs_calls
    final = _evaluated(built, values, relaxed, parts, calls)
    return _reported(relaxed, final, options, time.perf_counter() - started)


class WholeStepsError(RuntimeError):
    """A zone's fleet cannot follow any whole-step position (names the zone)."""


@dataclass(frozen=True)
class Rung:
    """One way to put a zone's positions on whole steps, tried in `LADDER` order."""

    wide: bool
    """Every asset of the zone re-dispatches, not only a few followers."""
    steps: str
    """How positions are treated: `HELD`, `NEIGHBOURS` or `FREE`."""
    decide: bool
    """The re-dispatching assets' integer decisions (on/off, modes) are free, not held."""
    residual: bool = False
    """The zone's residual may take up to one step in every quarter hour (last resort)."""
    max_assets: int | None = None
    """Only for zones of at most this many assets (a search over a larger one is hopeless
    in the time a plan has)."""


LADDER = (
    Rung(wide=False, steps=HELD, decide=True),
    Rung(wide=True, steps=HELD, decide=False, max_assets=SMALL_ZONE),
    Rung(wide=True, steps=NEIGHBOURS, decide=False),
    Rung(wide=True, steps=NEIGHBOURS, decide=True, max_assets=SMALL_ZONE),
    Rung(wide=True, steps=ZERO, decide=True, max_assets=SMALL_ZONE),
    Rung(wide=True, steps=FREE, decide=True, max_assets=SMALL_ZONE),
    Rung(wide=True, steps=HELD, decide=False, residual=True),
)
"""Cheapest first: a few followers around fixed positions (a small problem), the whole
zone as an LP around them, the whole zone choosing each position's neighbouring step with
its decisions held, then free, then (in a pass after positions were held) trading nothing
more, then any whole position; and last,
for a zone no asset of which can follow whole steps (a heat pump without storage whose
consumption its heat demand fixes), a residual below one step planned as imbalance around
the relaxed dispatch (always possible). The searches with every decision free are tried in
zones of at most `SMALL_ZONE` assets only, and so is the LP around held positions, which
rarely finds a plan where the few followers did not (measured on 400 mixed assets: 21 s to
find none in a zone of 190)."""


def _open_residual(built: BuiltModel, zone: str) -> None:
    """Let `zone`'s residual take up to one step in every quarter hour, for good."""
    room = residual_room(min(b.step_mw for b in built.positions if b.zone == zone))
    for var in built.residuals[zone]:
        built.model.set_bounds(var, 0.0, room)


def _padded(values: FloatArray, n: int) -> FloatArray:
    """`values` extended with zeros to `n` columns (columns added since, e.g. binaries)."""
    if len(values) >= n:
        return values
    return np.r_[values, np.zeros(n - len(values))]


def _zone_columns(built: BuiltModel, zone: str) -> np.ndarray:
    """The columns a zone's whole-step solve decides: its assets', positions', residual's."""
    sites = {s.id: s for s in built.portfolio.sites}
    cols = [
        built.assets[a.id].columns
        for a in built.portfolio.assets
        if sites[a.site].bidding_zone == zone
    ]
    for block in built.positions:
        if block.zone == zone:
            cols.append(block.steps.cols)
            if block.traded is not None:
                cols += [block.traded[0].cols, block.traded[1].cols]
    if zone in built.residuals:
        long, short = built.residuals[zone]
        cols += [long.cols, short.cols]
    cols.append(built.free_columns)  # an extension's: the last zone's solve decides them
    return np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)


def _evaluated(
    built: BuiltModel, values: FloatArray, relaxed: Solved, parts: int, calls: int
) -> Solved:
    """A solution assembled zone by zone, with its objective [EUR]."""
    matrix = MatrixModel.of(built.model)
    objective = float(matrix.cost @ values + matrix.offset)
    report = relaxed.report.model_copy(
        update={
            "objective_eur": objective,
            "has_solution": True,
            "parts": parts,
            "highs_calls": calls,
        }
    )
    return Solved(values, report)


def _attempt(
    built: BuiltModel,
    relaxed: Solved,
    zone: str,
    rung: Rung,
    options: SolverOptions,
    deadline: float | None,
) -> Solved | None:
    """Solve `zone` with everything but its re-dispatching assets held at the relaxed
    solution, positions and decisions as `rung` says; None if that leaves no solution."""
    model = built.model
    if rung.steps == ZERO and not any(b.held.any() for b in built.positions if b.zone == zone):
        return None  # nothing held from an earlier pass: no plan to fall back on
    sites = {s.id: s for s in built.portfolio.sites}
    size = sum(1 for a in built.portfolio.assets if sites[a.site].bidding_zone == zone)
    if rung.max_assets is not None and size > rung.max_assets:
        return None
    followers = _followers(built, zone, wide=rung.wide)
    _no_overlap(built, followers)
    lower, upper, _, _, integer = model.bounds()
    saved = ([lower.copy()], [upper.copy()], [integer.copy()])
    start = _padded(relaxed.values, model.num_cols)
    for aid in followers:  # binaries added since the relaxed solve: as it charges
        terms = built.assets[aid]
        if len(terms.mode_columns):
            start[terms.mode_columns] = mode_values(terms, start)
    rounded = integer.copy()  # decisions held whole; other zones' positions as relaxed
    for block in built.positions:
        rounded[block.steps.cols] = False
    values = np.where(rounded, np.round(start), start)
    free = np.zeros(model.num_cols, dtype=bool)
    for aid in followers:
        free[built.assets[aid].columns] = True
    free[built.free_columns] = True
    if not rung.decide:
        free &= ~integer
    if zone in built.residuals:
        long, short = built.residuals[zone]
        free[np.r_[long.cols, short.cols]] = True
    positions = np.zeros(model.num_cols, dtype=bool)
    if rung.residual and zone in built.residuals:
        room = residual_room(min(b.step_mw for b in built.positions if b.zone == zone))
        for var in built.residuals[zone]:
            upper[var.cols] = room
    for block in built.positions:
        if block.zone != zone:
            continue
        positions[block.steps.cols] = True
        if block.traded is not None:
            free[np.r_[block.traded[0].cols, block.traded[1].cols]] = True
    held = ~free & ~positions
    new_lower, new_upper, relaxed_integer = lower.copy(), upper.copy(), integer.copy()
    new_lower[held] = new_upper[held] = np.clip(values[held], lower[held], upper[held])
    relaxed_integer[held] = False  # held columns are constants, whole or not
    for k, block in enumerate(built.positions):
        if block.zone == zone and rung.steps == ZERO:
            held = np.round(_padded(relaxed.values, model.num_cols)[block.steps.cols])
            chosen = np.where(block.held, held, 0.0)
            new_lower[block.steps.cols], new_upper[block.steps.cols] = chosen, chosen
        elif block.zone == zone and rung.steps != FREE:
            choose = rung.steps == NEIGHBOURS
            low, high, led = _step_choices(built, relaxed, followers, k, choose=choose)
            if led is not None:  # the absorber's charging modes follow its new path
                _set_modes(built, led, new_lower, new_upper)
            new_lower[block.steps.cols], new_upper[block.steps.cols] = low, high
    model.col_lower, model.col_upper = [new_lower], [new_upper]
    model.col_integer = [relaxed_integer]
    allowed = _left(options, deadline)
    cap = {FREE: FREE_RUNG_S, NEIGHBOURS: NEIGHBOURS_RUNG_S}.get(rung.steps)
    nodes = {FREE: FREE_RUNG_NODES, NEIGHBOURS: NEIGHBOURS_RUNG_NODES}.get(rung.steps)
    if cap is not None and nodes is not None:  # a wide search that may not end: a bounded try
        allowed = allowed.model_copy(
            update={
                "time_limit_s": min(allowed.time_limit_s, cap),
                "node_limit": min(allowed.node_limit or nodes, nodes),
            }
        )
    try:
        solved = solve(model, allowed, build_s=0.0)
    finally:
        model.col_lower, model.col_upper, model.col_integer = saved
    return solved if solved.report.has_solution else None


def _no_overlap(built: BuiltModel, followers: set[str]) -> None:
    """Storage followers get a charging binary on every quarter hour: following a position
    must never be done by charging and discharging at once."""
    assets = {a.id: a for a in built.portfolio.assets}
    for aid in sorted(followers):
        terms = built.assets[aid]
        if "charge" in terms.variables and "discharge" in terms.variables:
            everywhere = np.ones(built.horizon.n, dtype=bool)
            forbid_overlap(built.model, terms, assets[aid], everywhere)  # type: ignore[arg-type]


def _left(options: SolverOptions, deadline: float | None) -> SolverOptions:
    if deadline is None:
        return options
    left = max(deadline - time.monotonic(), 1.0)
    return options.model_copy(update={"time_limit_s": min(options.time_limit_s, left)})


def _set_modes(built: BuiltModel, led: LedSteps, lower: FloatArray, upper: FloatArray) -> None:
    """Hold the absorber's charging binaries (where held at all) to its path's directions."""
    terms = built.assets[led.absorber]
    if not len(terms.mode_columns):
        return
    charging = (led.injection_mw[terms.mode_quarters] < 0).astype(float)
    cols = terms.mode_columns
    fixed = lower[cols] == upper[cols]
    lower[cols] = np.where(fixed, charging, lower[cols])
    upper[cols] = np.where(fixed, charging, upper[cols])


def _step_choices(
    built: BuiltModel, relaxed: Solved, followers: set[str], k: int, *, choose: bool
) -> tuple[FloatArray, FloatArray, LedSteps | None]:
    """Bounds on block `k`'s steps: held at one whole value, or the two around it; and
    the battery path the held values come from, if a battery leads them."""
    block = built.positions[k]
    continuous = relaxed(block.steps)
    if block.held.all():
        return np.round(continuous), np.round(continuous), None
    if not choose:
        for absorber in _absorbers(built, relaxed, block.zone, followers)[:MAX_ABSORBERS]:
            found = battery_led_steps(built, relaxed, block, absorber)
            if found is not None:
                return found.steps, found.steps, found
    need_low, need_high = _reach(built, relaxed, followers, block)
    below, above = np.floor(continuous + 1e-9), np.ceil(continuous - 1e-9)
    below, above = _minimum(block, below, above)
    if choose:
        held = np.round(continuous)
        return np.where(block.held, held, below), np.where(block.held, held, above), None
    chosen = _diffused(block, continuous, below, above, need_low, need_high)
    chosen = np.where(block.held, np.round(continuous), chosen)
    return chosen, chosen, None


def _diffused(
    block: PositionBlock,
    continuous: FloatArray,
    below: FloatArray,
    above: FloatArray,
    need_low: FloatArray,
    need_high: FloatArray,
) -> FloatArray:
    """Whole steps in delivery order that carry each rounding's error into the next
    (error diffusion): the energy the fleet must shift stays within half a step's worth
    over any stretch of the day, where rounding each to its nearest lets it drift. A
    step outside the fleet's reach (`need_low`, `need_high` [MW]) takes the other side."""
    order = np.argsort([np.flatnonzero(block.period_of == k)[0] for k in range(len(continuous))])
    chosen = below.copy()
    error = 0.0  # chosen - continuous so far [steps]
    for k in order:
        want = continuous[k] - error
        first, second = (
            (below[k], above[k]) if want - below[k] <= above[k] - want else (above[k], below[k])
        )
        pick = first
        for option in (first, second):
            mw = option * block.step_mw
            if need_low[k] - 1e-9 <= mw <= need_high[k] + 1e-9:
                pick = option
                break
        chosen[k] = pick
        error += pick - continuous[k]
    return chosen


def _absorbers(built: BuiltModel, relaxed: Solved, zone: str, followers: set[str]) -> list[str]:
    """The zone's batteries among the followers, the one with the most room to move
    around its relaxed dispatch first (the least room in any quarter hour, then rating)."""
    sites = {s.id: s for s in built.portfolio.sites}
    lower, upper, *_ = built.model.bounds()
    found = []
    for asset in built.portfolio.assets:
        if asset.id not in followers or asset.kind != "battery":
            continue
        if asset.id in built.extended_assets:  # the programme would ignore the extension
            continue
        if sites[asset.site].bidding_zone != zone:
            continue
        injection = built.assets[asset.id].injection
        low, high = injection_rows_range(injection, lower, upper)
        at = injection.evaluate(relaxed.values)
        room = float(np.minimum(high - at, at - low).min())
        found.append((room, asset.rating_mw(), asset.id))
    return [aid for *_, aid in sorted(found, reverse=True)]


def _minimum(
    block: PositionBlock, below: FloatArray, above: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Neighbouring whole values that honour the minimum volume: 0 or at least `min_steps`."""
    m = block.min_steps
    if m <= 1:
        return below, above
    below, above = below.copy(), above.copy()
    inside = (below > -m) & (below < m) & (below != 0)
    below[inside] = np.where(below[inside] > 0, 0.0, -m)
    inside = (above > -m) & (above < m) & (above != 0)
    above[inside] = np.where(above[inside] > 0, m, 0.0)
    return below, above


def _reach(
    built: BuiltModel, relaxed: Solved, followers: set[str], block: PositionBlock
) -> tuple[FloatArray, FloatArray]:
    """Per product of `block`: the lowest and highest position the zone's fleet can follow,
    its followers anywhere within their limits, the rest at their relaxed dispatch [MW]."""
    lower, upper, *_ = built.model.bounds()
    sites = {s.id: s for s in built.portfolio.sites}
    n = built.horizon.n
    low, high = np.zeros(n), np.zeros(n)
    for asset in built.portfolio.assets:
        if sites[asset.site].bidding_zone != block.zone:
            continue
        injection = built.assets[asset.id].injection
        if asset.id in followers:
            row_low, row_high = injection_rows_range(injection, lower, upper)
        else:
            row_low = row_high = injection.evaluate(relaxed.values)
        low, high = low + row_low, high + row_high
    for long, short in (built.residuals.get(block.zone, (None, None)),):
        if long is not None and short is not None:
            low, high = low - upper[long.cols], high + upper[short.cols]
    others = np.zeros(n)
    for other in built.positions:
        if other.zone == block.zone and other is not block:
            others = others + (relaxed(other.steps) * other.step_mw)[other.period_of]
    need_low = np.full(len(block.products), -np.inf)
    need_high = np.full(len(block.products), np.inf)
    np.maximum.at(need_low, block.period_of, low - others)
    np.minimum.at(need_high, block.period_of, high - others)
    return need_low, need_high


def _followers(built: BuiltModel, zone: str, *, wide: bool) -> set[str]:
    """The zone's most flexible assets (storage first, largest first), enough of them to
    move the zone by `FOLLOWER_STEPS` steps; `wide`: every asset of the zone."""
    sites = {s.id: s for s in built.portfolio.sites}
    step = min(b.step_mw for b in built.positions if b.zone == zone)
    need = max(FOLLOWERS_MW, FOLLOWER_STEPS * step)
    candidates = [
        a
        for a in built.portfolio.assets
        if sites[a.site].bidding_zone == zone and a.kind in FOLLOWER_KINDS
    ]
    candidates.sort(key=lambda a: (FOLLOWER_KINDS.index(a.kind), -a.rating_mw(), a.id))
    chosen: set[str] = set()
    rated = 0.0
    for count, asset in enumerate(candidates):
        if not wide and rated >= need and count >= 2:
            break
        chosen.add(asset.id)
        rated += asset.rating_mw()
    return chosen


def _reported(relaxed: Solved, final: Solved, options: SolverOptions, seconds: float) -> Solved:
    """`final`'s solution, its gap measured against the relaxation's proven bound.

    The status is the relaxation's, but whether the gap is met is judged on the plan's gap
    against the requested one (`options.mip_gap`): a relaxation that missed its own,
    tighter share of the gap still proved its bound, so a plan within the requested gap
    of that bound is `optimal`, and one outside it is not."""
    bound = relaxed.report.bound_eur
    objective = final.report.objective_eur
    gap = None
    status = relaxed.report.status
    if bound is not None and objective is not None:
        bound = max(bound, objective)  # a tolerance's worth above the bound is the bound
        gap = (bound - objective) / max(abs(objective), 1e-9)
        gap = 0.0 if gap < 1e-12 else gap
        allowed = options.mip_gap + options.mip_abs_gap_eur / max(abs(objective), 1e-9) + 1e-9
        if status in ("optimal", "gap_above_target"):
            status = "optimal" if gap <= allowed else "gap_above_target"
    report: SolverReport = final.report.model_copy(
        update={
            "status": status,
            "gap": gap,
            "bound_eur": bound,
            "build_s": relaxed.report.build_s,
            "solve_s": relaxed.report.solve_s + seconds,
            "parts": relaxed.report.parts + final.report.parts,
            "highs_calls": relaxed.report.highs_calls + final.report.highs_calls,
        }
    )
    return Solved(final.values, report)
