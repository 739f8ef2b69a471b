"""`optimise`: build, (hook), solve, and write back a `Plan` with validated bids.

The model holds market positions as whole volume steps. It is solved in two stages
(`trading.optimiser.whole_steps`): a relaxation that splits into small independent parts
and gives a proven bound, then the plan with whole positions; the plan's `solver.gap` is
measured against that bound, so `status`, `gap` and `objective_eur` describe the plan
that is submitted. An infeasible model is diagnosed (`InfeasibleError` names the
constraint families, subjects and amounts); a derived bid the market plugin refuses is a
bug and raises `BidDerivationError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import numpy as np

from markets.bids import product_ids_of
from markets.calendar import iso_z
from markets.registry import MarketRegistry, default_registry
from regulatory import Portfolio
from trading.optimiser.assets import forbid_overlap
from trading.optimiser.build import BuiltModel, OptimiserOptions, build_model, commitment_key
from trading.optimiser.derive import BidDerivationError, derive_bids
from trading.optimiser.diagnose import InfeasibleError, diagnose
from trading.optimiser.hooks import ModelView
from trading.optimiser.inputs import PriceInputs, Profiles
from trading.optimiser.result import Plan, PlanInputs, Position
from trading.optimiser.solver import Solved, SolverOptions, solve
from trading.optimiser.whole_steps import Relaxed, WholeStepsError, solve_whole_steps
from trading.optimiser.write_back import write_back

if TYPE_CHECKING:  # pyomo is imported only when a plan is extended
    from trading.optimiser.extension import Extended, Extension

__all__ = [
    "BidDerivationError",
    "Hook",
    "NoPlanInTimeError",
    "Plan",
    "PlanInputs",
    "Position",
    "closed_gates",
    "optimise",
]

OVERLAP_MW = 1e-6
"""Charge and discharge both above this in one quarter hour count as simultaneous [MW]."""

MIN_SOLVE_S = 1.0
"""Least time any one solve of a plan gets, even past the plan's time limit [s]."""

Hook = Callable[[ModelView], None]
"""Custom constraints, added between build and solve (see `trading.optimiser.hooks`)."""


class NoPlanInTimeError(RuntimeError):
    """The solver found no plan before the time limit (it did not prove there is none)."""


def optimise(
    portfolio: Portfolio,
    day: date,
    prices: PriceInputs,
    *,
    profiles: Profiles | None = None,
    options: OptimiserOptions | None = None,
    hook: Hook | None = None,
    registry: MarketRegistry | None = None,
    extend: Extension | None = None,
) -> Plan:
    """The best plan for `portfolio` on delivery day `day` at the forecast `prices`.

    `registry`: the market plugins whose products are traded and whose rules the bids
    must pass: the same object the exchange that clears them uses (default: the
    installed plugins).

    `extend`: an analyst's rule in Pyomo, `extend(model, view)` (see
    `trading.optimiser.extension`): it receives the model exported to Pyomo, adds
    constraints, variables and costs (`view.add_cost`), and the plan is solved with them;
    its costs are itemised under their names in `costs_by_kind`. Applied to both passes
    where intraday is traded after day-ahead.

    Day-ahead and balancing capacity are co-optimised in one model. Intraday is traded
    after them, as the markets run (the auctions close after day-ahead results): the
    second model holds the first one's day-ahead and capacity positions and adds intraday
    positions. Trading both at once on forecasts would sell one market and buy back the
    other on the forecast spread alone, a speculation this plan does not take.
    """
    options = options or OptimiserOptions()
    registry = registry if registry is not None else default_registry()
    deadline = time.monotonic() + options.solver.time_limit_s
    if "intraday" in options.markets and "day_ahead" in options.markets:
        first_markets = tuple(m for m in options.markets if m != "intraday")
        first = _optimise_once(
            portfolio,
            day,
            prices,
            profiles,
            options.model_copy(
                update={
                    "markets": first_markets,
                    "commitments": {
                        k: v for k, v in options.commitments.items() if not _is_intraday(k)
                    },
                }
            ),
            hook,
            registry,
            deadline,
            extend,
        )
        # every first-pass position is held, zeros included: a product left free would be
        # traded against intraday on the forecast spread alone
        held = {commitment_key(p.product_id, p.pool): p.mw for p in first.positions}
        second = _optimise_once(
            portfolio,
            day,
            prices,
            profiles,
            options.model_copy(update={"commitments": {**held, **options.commitments}}),
            hook,
            registry,
            deadline,
            extend,
        )
        report = second.solver.model_copy(
            update={
                "solve_s": first.solver.solve_s + second.solver.solve_s,
                "build_s": first.solver.build_s + second.solver.build_s,
                "parts": first.solver.parts + second.solver.parts,
                "highs_calls": first.solver.highs_calls + second.solver.highs_calls,
            }
        )
        note = (
            "intraday positions were optimised with the day-ahead and capacity positions of "
            f"a first pass held (that pass: {first.solver.status}, gap "
            f"{_percent(first.solver.gap)}); the gap shown is the second pass's"
        )
        return second.model_copy(
            update={
                "solver": report,
                "markets": tuple(options.markets),
                "notes": [*second.notes, note],
            }
        )
    return _optimise_once(
        portfolio, day, prices, profiles, options, hook, registry, deadline, extend
    )


def _percent(gap: float | None) -> str:
    return "unknown" if gap is None else f"{gap:.4%}"


def _is_intraday(commitment: str) -> bool:
    """Whether a commitment key names an intraday-auction product (held in pass two)."""
    parts = commitment.split(":")
    return len(parts) > 1 and parts[1] == "intraday_auction"


RELAXED_GAP_SHARE = 0.85
"""Share of the requested gap (`SolverOptions.mip_gap`) the relaxation may leave; the rest
is for the whole-step stage. Putting positions on whole steps cost 0.01-0.09 % of the
objective on the benchmark's first passes (30 days from 2024-06-14, gap 0.5 %), mostly
less than the 0.075 % this leaves; the relaxation's aFRR pool is the day's slowest part,
and the larger its share the sooner it closes (30 days of the benchmark: 34.9 s of CPU
with half the gap, 25.7 s with 0.75, 21.3 s with 0.85, 21.5 s with 0.9;
`docs/backtest.md`)."""

FALLBACK_GAP_SHARE = 0.5
"""The relaxation's share when the whole-step plan missed the requested gap at
`RELAXED_GAP_SHARE`: the pass is built again (hook and extension applied again) and
solved with this share, a decision on the gap found, never on time, so that the same
inputs give the same plan. On 30 benchmark days from 2024-06-14 one pass of 60 needed it
(2024-06-16's first: 0.502 % with whole steps)."""


def _optimise_once(
    portfolio: Portfolio,
    day: date,
    prices: PriceInputs,
    profiles: Profiles | None,
    options: OptimiserOptions,
    hook: Hook | None,
    registry: MarketRegistry,
    deadline: float | None = None,
    extend: Extension | None = None,
) -> Plan:
    def attempt(share: float) -> tuple[BuiltModel, Extended | None, Solved]:
        built = build_model(
            portfolio, day, prices, profiles=profiles, options=options, registry=registry
        )
        if hook is not None:
            hook(ModelView(built))
        extended: Extended | None = None
        if extend is not None:
            from trading.optimiser.extension import apply_extension

            extended = apply_extension(built, extend)
        return built, extended, _relaxed_then_whole(built, options.solver, deadline, share)

    built, extended, solved = attempt(RELAXED_GAP_SHARE)
    if solved.report.status == "gap_above_target" and FALLBACK_GAP_SHARE < RELAXED_GAP_SHARE:
        # the whole steps cost more than the share left them: the relaxation closer
        built, extended, solved = attempt(FALLBACK_GAP_SHARE)
    if extended is not None:
        extended.load(solved.values)
    plan = write_back(built, solved)
    bids = derive_bids(built, plan.positions)
    served = tuple(b.bid_id for b in bids if b.bid_id)  # the dispatcher's events name them
    schedule = plan.schedule.model_copy(update={"bid_ids": served})
    notes = plan.notes if extended is None else [*plan.notes, extended.note(extend)]
    return plan.model_copy(update={"bids": bids, "schedule": schedule, "notes": notes})


def _relaxed_then_whole(
    built: BuiltModel, options: SolverOptions, deadline: float | None, share: float
) -> Solved:
    """The relaxation solved to `share` of the requested gap, then the plan on whole steps,
    its gap measured against the relaxation's bound (`whole_steps`)."""
    with Relaxed(built):
        tighter = options.model_copy(update={"mip_gap": options.mip_gap * share})
        relaxed = _solve_or_diagnose(built, deadline, tighter)
        relaxed = _repair_overlaps(built, relaxed, deadline, tighter)
    try:
        return solve_whole_steps(built, relaxed, options, deadline)
    except WholeStepsError as exc:
        raise _infeasible(built, f"whole_steps ({exc})") from None


def _solve_or_diagnose(
    built: BuiltModel, deadline: float | None, options: SolverOptions | None = None
) -> Solved:
    """Solve within what is left of the plan's time; diagnose if there is no solution.

    `SolverOptions.time_limit_s` bounds a whole `optimise` call: each solve gets the time
    left, but at least `MIN_SOLVE_S`, so that a late pass still finds its (easy) answer.
    """
    options = _within(options or built.options.solver, deadline)
    solved = solve(built.model, options, build_s=built.build_s)
    if solved.report.status in ("unbounded", "infeasible_or_unbounded"):
        raise InfeasibleError(solved.report.status, [])
    if not solved.report.has_solution and solved.report.status != "infeasible":
        raise NoPlanInTimeError(
            f"no plan found within the time limit ({options.time_limit_s:.1f} s left of "
            f"{built.options.solver.time_limit_s:g} s; solver status {solved.report.status}): "
            "allow more time (--time-limit) or a wider gap (--gap)"
        )
    if not solved.report.has_solution:
        raise _infeasible(built, solved.report.status)
    return solved


def _infeasible(built: BuiltModel, status: str) -> InfeasibleError:
    """The diagnosis of `built` as an error: the rules that cannot hold, and the grid
    connections at their limit at the sites of the assets concerned."""
    found = diagnose(built.model, built.options.solver, built.horizon)
    sites = {a.id: a.site for a in built.portfolio.assets}
    concerned = {sites.get(c.subject, c.subject) for c in found.conflicts}
    binding = [b for b in found.binding if b.site in concerned]
    return InfeasibleError(status, found.conflicts, binding)


def _within(options: SolverOptions, deadline: float | None) -> SolverOptions:
    """`options` with the time left before `deadline`, at least `MIN_SOLVE_S`."""
    if deadline is None:
        return options
    left = max(deadline - time.monotonic(), MIN_SOLVE_S)
    return options.model_copy(update={"time_limit_s": min(options.time_limit_s, left)})


def _overlapping(built: BuiltModel, solved: Solved) -> dict[str, np.ndarray]:
    """Per storage asset: the quarter hours in which it both charges and discharges."""
    found = {}
    for asset_id, terms in built.assets.items():
        if "charge" not in terms.variables or "discharge" not in terms.variables:
            continue
        both = (solved(terms.variables["charge"]) > OVERLAP_MW) & (
            solved(terms.variables["discharge"]) > OVERLAP_MW
        )
        if both.any():
            found[asset_id] = both
    return found


def _repair_overlaps(
    built: BuiltModel,
    solved: Solved,
    deadline: float | None,
    options: SolverOptions,
    rounds: int = 8,
) -> Solved:
    """Forbid simultaneous charge and discharge wherever a solution still has it.

    Binaries sit first only where the price makes overlap pay (`assets.binary_periods`);
    reserves and custom constraints can make it pay elsewhere too. A storage that still
    overlaps gets a binary on every quarter hour, and the model is solved again with
    every other integer decision held (so a repair inside a large reserve pool is a
    small search, not the pool's again); if those held decisions leave no solution
    (a pool's capacity the storage could only cover by overlapping), with all of them
    free. The bound stays the first solve's: the repaired model is a restriction of
    the same problem.
    """
    assets = {a.id: a for a in built.portfolio.assets}
    for _ in range(rounds):
        found = _overlapping(built, solved)
        if not found:
            return solved
        for asset_id in found:
            terms = built.assets[asset_id]
            # overlap moves to the next free quarter hour if only these get a binary:
            # forbid it wherever it is still allowed
            free = ~terms.overlap_forbidden if terms.overlap_forbidden is not None else None
            where = free if free is not None else np.ones(built.horizon.n, dtype=bool)
            forbid_overlap(built.model, terms, assets[asset_id], where)  # type: ignore[arg-type]
        model = built.model
        lower, upper, *_, integer = model.bounds()
        open_cols = np.concatenate([built.assets[a].columns for a in found])
        held = np.flatnonzero(integer)
        held = held[~np.isin(held, open_cols) & (held < len(solved.values))]
        fixed_lo, fixed_hi = lower.copy(), upper.copy()
        fixed_lo[held] = fixed_hi[held] = np.round(solved.values[held])
        model.col_lower, model.col_upper = [fixed_lo], [fixed_hi]
        try:
            again = solve(model, _within(options, deadline))
        finally:
            model.col_lower, model.col_upper = [lower], [upper]
        if not again.report.has_solution:  # the held decisions relied on the overlap
            again = _solve_or_diagnose(built, deadline, options)
        solved = _merge(solved, again)
    return solved


def _merge(first: Solved, final: Solved) -> Solved:
    """`final`'s solution (a restriction's) with the first solve's proven bound and time."""
    bound = first.report.bound_eur
    objective = final.report.objective_eur
    gap = final.report.gap
    if bound is not None and objective is not None:
        bound = max(bound, objective)
        gap = (bound - objective) / max(abs(objective), 1e-9)
        gap = 0.0 if gap < 1e-12 else gap
    report = final.report.model_copy(
        update={
            "build_s": first.report.build_s,
            "solve_s": first.report.solve_s + final.report.solve_s,
            "bound_eur": bound,
            "gap": gap,
            "parts": first.report.parts + final.report.parts,
            "highs_calls": first.report.highs_calls + final.report.highs_calls,
        }
    )
    return Solved(final.values, report)


def closed_gates(
    plan: Plan, now: datetime | None = None, registry: MarketRegistry | None = None
) -> list[str]:
    """Product ids of the plan's bids whose gate has closed at `now` (default: now)."""
    moment = now or datetime.now(UTC)
    registry = registry if registry is not None else default_registry()
    closed = []
    for bid in plan.bids:
        product_id = product_ids_of(bid)[0]
        product = registry.get(product_id.split(":", 1)[0]).product(product_id)
        if product is not None and moment >= product.gate_closure:
            closed.append(f"{product_id} (closed {iso_z(product.gate_closure)})")
    return closed
