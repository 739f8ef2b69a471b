"""`optimise`: build, (hook), solve, and write back a `Plan` with validated bids.

Energy positions are solved as continuous MW first; they are then rounded to the market's
volume step and the model is solved again with them held, so the plan sells exactly what
its bids say and the fleet's dispatch matches it to the MW. Balancing capacity is in whole
steps from the start. An infeasible model is diagnosed (`InfeasibleError` names the
constraint families and assets); a derived bid the market plugin refuses is a bug and
raises `BidDerivationError`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from dispatch.schedule import Schedule
from markets.bids import BalancingCapacityBid, Bid, SingleBid, product_ids_of
from markets.calendar import iso_z
from markets.products import Direction
from markets.registry import default_registry
from regulatory import Portfolio
from trading.optimiser.assets import DT, forbid_overlap, injection_rows_range
from trading.optimiser.build import BuiltModel, OptimiserOptions, build_model, commitment_key
from trading.optimiser.diagnose import InfeasibleError, diagnose
from trading.optimiser.hooks import ModelView
from trading.optimiser.inputs import PriceInputs, Profiles
from trading.optimiser.solver import Solved, SolverOptions, SolverReport, solve

OVERLAP_MW = 1e-6
"""Charge and discharge both above this in one quarter hour count as simultaneous [MW]."""

ROUNDING_PENALTY = 500.0
"""Cost of a rounding imbalance [EUR/MWh]: high enough that the fleet follows positions."""

ROUNDING_GAP = 0.005
"""Relative gap of the rounding pass's small search (followers' own decisions) at least."""

ROUNDING_ABS_GAP_EUR = 1.0
"""Absolute gap of the rounding pass [EUR]: its parts' objectives (followers' costs and
imbalance) are near zero, where a relative gap means nothing."""

ROUNDING_TIME_LIMIT_S = 3.0
"""Time limit of each rounding solve at most [s]: a heuristic pass that starts from a
feasible solution, so stopping early costs at most some imbalance penalty."""

MIN_SOLVE_S = 1.0
"""Least time any one solve of a plan gets, even past the plan's time limit [s]."""

Hook = Callable[[ModelView], None]
"""Custom constraints, added between build and solve (see `trading.optimiser.hooks`)."""


class BidDerivationError(RuntimeError):
    """A bid derived from the plan breaks its market's rules: a bug in the derivation."""


class Position(BaseModel):
    """One product's planned position: energy sold (+) or bought (-), or capacity held."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: str
    market: str
    zone: str
    pool: str | None = None
    direction: str | None = None
    mw: float
    price_forecast: float = Field(description="EUR/MWh for energy, EUR/MW/h for capacity")
    revenue_eur: float


class Plan(BaseModel):
    """The optimiser's answer for one portfolio and delivery day."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    plan_id: str
    portfolio_id: str
    day: date
    objective_eur: float
    revenue_by_market: dict[str, float]
    revenue_by_asset: dict[str, float]
    positions: list[Position]
    bids: list[Bid]
    schedule: Schedule
    solver: SolverReport
    rounding_resolve: bool = Field(description="whether positions were rounded and re-solved")
    rounding_cost_eur: float = Field(
        default=0.0,
        description=(
            "objective given up to hold positions at whole volume steps, rounding "
            "imbalance penalty included [EUR]"
        ),
    )
    rounding_imbalance_mwh: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "per zone: energy by which the fleet misses its whole-step positions, where no "
            "asset could follow them to the MW [MWh]; priced in the objective at "
            "ROUNDING_PENALTY"
        ),
    )


def optimise(
    portfolio: Portfolio,
    day: date,
    prices: PriceInputs,
    *,
    profiles: Profiles | None = None,
    options: OptimiserOptions | None = None,
    hook: Hook | None = None,
) -> Plan:
    """The best plan for `portfolio` on delivery day `day` at the forecast `prices`.

    Day-ahead and balancing capacity are co-optimised in one model. Intraday is traded
    after them, as the markets run (the auctions close after day-ahead results): the
    second model holds the first one's day-ahead and capacity positions and adds intraday
    positions. Trading both at once on forecasts would sell one market and buy back the
    other on the forecast spread alone, a speculation this plan does not take.
    """
    options = options or OptimiserOptions()
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
            deadline,
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
            deadline,
        )
        report = second.solver.model_copy(
            update={
                "solve_s": first.solver.solve_s + second.solver.solve_s,
                "build_s": first.solver.build_s + second.solver.build_s,
            }
        )
        rounding = first.rounding_cost_eur + second.rounding_cost_eur
        return second.model_copy(update={"solver": report, "rounding_cost_eur": rounding})
    return _optimise_once(portfolio, day, prices, profiles, options, hook, deadline)


def _is_intraday(commitment: str) -> bool:
    """Whether a commitment key names an intraday-auction product (held in pass two)."""
    parts = commitment.split(":")
    return len(parts) > 1 and parts[1] == "intraday_auction"


def _optimise_once(
    portfolio: Portfolio,
    day: date,
    prices: PriceInputs,
    profiles: Profiles | None,
    options: OptimiserOptions,
    hook: Hook | None,
    deadline: float | None = None,
) -> Plan:
    built = build_model(portfolio, day, prices, profiles=profiles, options=options)
    built.deadline = deadline
    if hook is not None:
        hook(ModelView(built))
    for block in built.positions:  # continuous first; whole steps in the second pass
        built.model.set_integer(block.steps, False)
    first = _solve_or_diagnose(built)
    first = _repair_overlaps(built, first)
    solved, rounded = _round_positions(built, first)
    plan = _write_back(built, solved, rounded)
    before, after = first.report.objective_eur, solved.report.objective_eur
    cost = max(0.0, before - after) if rounded and before is not None and after is not None else 0.0
    return plan.model_copy(update={"rounding_cost_eur": round(cost, 2)})


def _solve_or_diagnose(built: BuiltModel, options: SolverOptions | None = None) -> Solved:
    """Solve within what is left of the plan's time; diagnose if there is no solution.

    `SolverOptions.time_limit_s` bounds a whole `optimise` call: each solve gets the time
    left, but at least `MIN_SOLVE_S`, so that a late pass still finds its (easy) answer.
    """
    options = options or built.options.solver
    if built.deadline is not None:
        left = max(built.deadline - time.monotonic(), MIN_SOLVE_S)
        options = options.model_copy(update={"time_limit_s": min(options.time_limit_s, left)})
    solved = solve(built.model, options, build_s=built.build_s)
    if solved.report.status in ("unbounded", "infeasible_or_unbounded"):
        raise InfeasibleError(solved.report.status, [])
    if not solved.report.has_solution:
        raise InfeasibleError(solved.report.status, diagnose(built.model, built.options.solver))
    return solved


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


def _repair_overlaps(built: BuiltModel, solved: Solved, rounds: int = 8) -> Solved:
    """Forbid simultaneous charge and discharge wherever a solution still has it.

    Binaries sit first only where the price makes overlap pay (`assets.binary_periods`);
    reserves and custom constraints can make it pay elsewhere too. A storage that still
    overlaps gets a binary on every quarter hour, and the model is solved again with
    every other integer decision held (so a repair inside a large reserve pool is a
    small search, not the pool's again); the gap is then reported against the first
    solve's bound. An independent storage is re-solved exactly all the same.
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
            again = _solve_or_diagnose(built)
        finally:
            model.col_lower, model.col_upper = [lower], [upper]
        solved = _merge(solved, again, restricted=len(held) > 0)
    return solved


FOLLOWERS_MW = 1.0
"""Rating per zone, at least, of the assets that re-dispatch to follow rounded positions."""


def _round_positions(built: BuiltModel, first: Solved) -> tuple[Solved, bool]:
    """Hold positions at whole volume steps and re-dispatch a few assets to follow them.

    Each position goes to its nearest whole step, or to the step on the other side where
    only that one is within reach of the fleet (its followers at their power limits, the
    rest at their first-solve dispatch). That moves a zone's position by less than one
    volume step per quarter hour, and a few flexible assets can absorb it: the zone's
    storages and flexible loads, largest first, until there are two of them rated at
    least `FOLLOWERS_MW` and ten volume steps together. Everything else keeps its
    first-solve dispatch and its integer decisions (on/off, reserve blocks), so this pass
    is a small LP per zone however large the fleet; the followers' charging modes are
    relaxed (a battery idle in charging mode may discharge to follow).

    Where the followers cannot follow to the MW, a rounding imbalance of less than one
    step per zone and quarter hour is allowed at `ROUNDING_PENALTY` and reported. The
    first solution with its rounding difference as imbalance is feasible, so this pass
    always succeeds; a storage that would overlap to follow a position is held, in every
    quarter hour, to the direction it had in the first solution (or, idle there, of its
    net flow), which keeps that true. The solver report keeps the first solve's gap and
    bound: the gap is the co-optimisation's, and what rounding costs is reported apart
    (`Plan.rounding_cost_eur`).
    """
    if not built.positions:
        return first, False
    model = built.model
    followers = _followers(built)
    col_lo, col_hi, *_, integer = model.bounds()
    values = np.where(integer, np.round(first.values), first.values)
    modes = np.concatenate(
        [np.zeros(0, np.int64)] + [built.assets[a].mode_columns for a in followers]
    )
    decisions = np.flatnonzero(integer)
    held = [decisions[~np.isin(decisions, modes)]]
    held += [t.columns for aid, t in built.assets.items() if aid not in followers]
    cols = np.concatenate(held)
    col_lo[cols] = col_hi[cols] = values[cols]
    model.col_lower, model.col_upper = [col_lo], [col_hi]
    # followers' charging modes are relaxed: an LP, and any overlap it finds is undone
    # below by holding each quarter hour to one direction
    relaxed = model.bounds()[4]
    relaxed[modes] = False
    model.col_integer = [relaxed]
    for block, steps in _reachable_steps(built, first, followers).items():
        model.set_bounds(built.positions[block].steps, steps, steps)
    costs = model.costs()
    for zone, (long, short) in built.imbalances.items():
        step = min(b.step_mw for b in built.positions if b.zone == zone)
        model.set_bounds(long, 0.0, step)
        model.set_bounds(short, 0.0, step)
        costs[long.cols] = -ROUNDING_PENALTY * DT
        costs[short.cols] = -ROUNDING_PENALTY * DT
    model.col_cost = [costs]
    # a heuristic pass: an exact search here would prove little and could take long
    options = built.options.solver
    loose = options.model_copy(
        update={
            "mip_gap": max(options.mip_gap, ROUNDING_GAP),
            "mip_abs_gap_eur": max(options.mip_abs_gap_eur, ROUNDING_ABS_GAP_EUR),
            "time_limit_s": min(options.time_limit_s, ROUNDING_TIME_LIMIT_S),
        }
    )
    again = _solve_or_diagnose(built, loose)
    for _ in range(4):
        found = _overlapping(built, again)
        if not found:
            break
        for asset_id in found:  # one direction per quarter hour, or overlap just moves
            variables = built.assets[asset_id].variables
            charge, discharge = variables["charge"], variables["discharge"]
            # keep the first solution feasible: its own direction, else the net flow's
            charging = (first(charge) > OVERLAP_MW) | (
                (first(discharge) <= OVERLAP_MW) & (again(charge) >= again(discharge))
            )
            lo, hi, *_ = model.bounds()
            weaker = np.where(charging, discharge.cols, charge.cols)
            hi[weaker] = 0.0
            lo[weaker] = 0.0
            model.col_lower, model.col_upper = [lo], [hi]
        again = _merge(again, _solve_or_diagnose(built, loose))
    report = again.report.model_copy(
        update={
            "solve_s": first.report.solve_s + again.report.solve_s,
            "gap": first.report.gap,
            "bound_eur": first.report.bound_eur,
            "status": first.report.status,
        }
    )
    return Solved(again.values, report), True


def _reachable_steps(
    built: BuiltModel, first: Solved, followers: set[str]
) -> dict[int, np.ndarray]:
    """Whole steps per position block: nearest, unless only the other side is reachable."""
    lower, upper, *_ = built.model.bounds()
    sites = {s.id: s for s in built.portfolio.sites}
    n = built.horizon.n
    reach: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for asset in built.portfolio.assets:
        zone = sites[asset.site].bidding_zone
        low, high = reach.get(zone, (np.zeros(n), np.zeros(n)))
        injection = built.assets[asset.id].injection
        if asset.id in followers:
            row_low, row_high = injection_rows_range(injection, lower, upper)
        else:
            row_low = row_high = injection.evaluate(first.values)
        reach[zone] = (low + row_low, high + row_high)
    chosen: dict[int, np.ndarray] = {}
    for k, block in enumerate(built.positions):
        continuous = first(block.steps)
        others = sum(
            (first(b.steps) * b.step_mw)[b.period_of]
            for b in built.positions
            if b.zone == block.zone and b is not block
        )
        low, high = reach[block.zone]
        need_low = np.full(len(block.products), -np.inf)
        need_high = np.full(len(block.products), np.inf)
        np.maximum.at(need_low, block.period_of, low - others)
        np.minimum.at(need_high, block.period_of, high - others)
        near = np.round(continuous)
        other = np.where(near > continuous, np.floor(continuous), np.ceil(continuous))
        near_mw, other_mw = near * block.step_mw, other * block.step_mw
        near_ok = (near_mw >= need_low - 1e-9) & (near_mw <= need_high + 1e-9)
        other_ok = (other_mw >= need_low - 1e-9) & (other_mw <= need_high + 1e-9)
        chosen[k] = np.where(~near_ok & other_ok, other, near)
    return chosen


def _followers(built: BuiltModel) -> set[str]:
    """Per zone with positions: its most flexible assets (storage, then flexible loads)."""
    sites = {s.id: s for s in built.portfolio.sites}
    chosen: set[str] = set()
    for zone in {b.zone for b in built.positions}:
        step = min(b.step_mw for b in built.positions if b.zone == zone)
        need = max(FOLLOWERS_MW, 10 * step)
        candidates = [
            a
            for a in built.portfolio.assets
            if sites[a.site].bidding_zone == zone and a.kind in FLEXIBLE_KINDS
        ]
        candidates.sort(key=lambda a: (FLEXIBLE_KINDS.index(a.kind), -a.rating_mw(), a.id))
        rated = 0.0
        for count, asset in enumerate(candidates):
            if rated >= need and count >= 2:
                break
            chosen.add(asset.id)
            rated += asset.rating_mw()
    return chosen


FLEXIBLE_KINDS = ("battery", "ev_fleet", "flexible_load", "heat_pump", "pv", "wind", "chp")
"""Asset kinds in the order they are asked to follow rounded positions."""


def _merge(first: Solved, final: Solved, *, restricted: bool = False) -> Solved:
    """`final`'s solution with the time of both solves and the tightest proven bound.

    `restricted`: `final` solved a restriction of the problem (positions rounded, decisions
    held), so its own bound is not one on the problem; the gap is then `first`'s bound
    against `final`'s objective, rounding loss included.
    """
    bounds = [first.report.bound_eur] + ([] if restricted else [final.report.bound_eur])
    known = [b for b in bounds if b is not None]
    bound = min(known) if known else None
    objective = final.report.objective_eur
    gap = final.report.gap
    if bound is not None and objective is not None:
        gap = max(0.0, bound - objective) / max(abs(objective), 1e-9)
        gap = 0.0 if gap < 1e-9 else gap
    report = final.report.model_copy(
        update={
            "solve_s": first.report.solve_s + final.report.solve_s,
            "bound_eur": bound,
            "gap": gap,
        }
    )
    return Solved(final.values, report)


def _write_back(built: BuiltModel, solved: Solved, rounded: bool) -> Plan:
    horizon = built.horizon
    portfolio = built.portfolio
    plan_id = f"plan-{portfolio.id}-{built.horizon.day}-{uuid.uuid4().hex[:8]}"
    positions: list[Position] = []
    revenue_by_market: dict[str, float] = {}
    zone_price: dict[str, np.ndarray] = {}
    position_rows = []
    for block in built.positions:
        mw = whole_steps(solved(block.steps), block.step_mw)
        per_quarter = mw[block.period_of]
        revenue = float((per_quarter * block.prices * DT).sum())
        revenue_by_market[block.market] = revenue_by_market.get(block.market, 0.0) + revenue
        zone_price.setdefault(block.zone, block.prices)
        for i, product in enumerate(block.products):
            quarters = block.period_of == i
            positions.append(
                Position(
                    product_id=product.product_id,
                    market=block.market,
                    zone=block.zone,
                    mw=float(mw[i]),
                    price_forecast=float(block.prices[quarters].mean()),
                    revenue_eur=float((mw[i] * block.prices[quarters] * DT).sum()),
                )
            )
        for q, value in enumerate(per_quarter):
            position_rows.append((horizon.periods[q], block.zone, block.market, float(value)))
    capacity_rows = []
    for pool in built.pools:
        mw = whole_steps(solved(pool.steps), pool.step_mw)
        revenue = float((mw * pool.prices * pool.hours).sum())
        revenue_by_market[pool.market] = revenue_by_market.get(pool.market, 0.0) + revenue
        for i, product in enumerate(pool.products):
            positions.append(
                Position(
                    product_id=product.product_id,
                    market=pool.market,
                    zone=pool.zone,
                    pool=pool.pool_key,
                    direction=pool.direction.value,
                    mw=float(mw[i]),
                    price_forecast=float(pool.prices[i]),
                    revenue_eur=float(mw[i] * pool.prices[i] * pool.hours[i]),
                )
            )
        for q, block in enumerate(pool.block_of):
            capacity_rows.append((horizon.periods[q], pool.zone, pool.product, float(mw[block])))
    injection = pd.DataFrame(
        {aid: terms.injection.evaluate(solved.values) for aid, terms in built.assets.items()},
        index=horizon.periods,
    )
    band_rows = []
    for (aid, product), var in built.reserves.items():
        for q, value in enumerate(solved(var)):
            if value > 1e-9:
                band_rows.append((horizon.periods[q], aid, product, float(value)))
    revenue_by_asset = _revenue_by_asset(built, solved, injection, zone_price)
    schedule = Schedule.from_frames(
        injection,
        portfolio_id=portfolio.id,
        plan_id=plan_id,
        bands=_long(band_rows, ("asset_id", "product")),
        positions=_aggregate(_long(position_rows, ("zone", "market"))),
        capacity=_aggregate(_long(capacity_rows, ("zone", "product"))),
        source="vpp-engine optimiser",
        position_tolerance_mw=max((b.step_mw for b in built.positions), default=0.0) + 1e-6,
    )
    objective = solved.report.objective_eur or 0.0
    return Plan(
        plan_id=plan_id,
        portfolio_id=portfolio.id,
        day=horizon.day,
        objective_eur=objective,
        revenue_by_market={k: round(v, 2) for k, v in revenue_by_market.items()},
        revenue_by_asset=revenue_by_asset,
        positions=positions,
        bids=derive_bids(built, positions),
        schedule=schedule,
        solver=solved.report,
        rounding_resolve=rounded,
        rounding_imbalance_mwh={
            zone: round(float((solved(long) + solved(short)).sum() * DT), 6)
            for zone, (long, short) in built.imbalances.items()
            if (solved(long) + solved(short)).sum() > 1e-9
        },
    )


def whole_steps(steps: np.ndarray, step_mw: float) -> np.ndarray:
    """Step counts as MW written exactly (16.4, not 16.400000000000002)."""
    unit = Decimal(repr(step_mw))
    return np.array([float(round(k) * unit) for k in steps])


def _long(rows: list[tuple], keys: tuple[str, str]) -> pd.DataFrame | None:
    if not rows:
        return None
    return pd.DataFrame(rows, columns=["quarter_hour", *keys, "mw"])


def _aggregate(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is None:
        return None
    keys = [c for c in frame.columns if c != "mw"]
    return frame.groupby(keys, as_index=False, sort=False)["mw"].sum()


def _revenue_by_asset(
    built: BuiltModel,
    solved: Solved,
    injection: pd.DataFrame,
    zone_price: dict[str, np.ndarray],
) -> dict[str, float]:
    """Each asset's energy at its zone's day-ahead forecast, its reserve revenue pro rata,
    and its own costs and premiums; what the market positions add beyond that (intraday
    spreads, rounding) is reported as ``portfolio``."""
    sites = {s.id: s for s in built.portfolio.sites}
    revenue: dict[str, float] = {}
    for asset in built.portfolio.assets:
        zone = sites[asset.site].bidding_zone
        price = zone_price.get(zone, np.zeros(built.horizon.n))
        own = float(built.assets[asset.id].value().evaluate(solved.values).sum())
        revenue[asset.id] = float((injection[asset.id].to_numpy() * price * DT).sum()) + own
    for pool in built.pools:
        sold = whole_steps(solved(pool.steps), pool.step_mw)
        for aid in pool.assets:
            share = solved(built.reserves[(aid, pool.product)])
            for b in range(len(pool.products)):
                quarters = pool.block_of == b
                total_mw = sum(
                    solved(built.reserves[(other, pool.product)])[quarters].sum()
                    for other in pool.assets
                )
                if total_mw > 0:
                    weight = share[quarters].sum() / total_mw
                    revenue[aid] += float(weight * sold[b] * pool.prices[b] * pool.hours[b])
    objective = solved.report.objective_eur or 0.0
    revenue = {k: round(v, 2) for k, v in revenue.items()}
    revenue["portfolio"] = round(objective - sum(revenue.values()), 2)
    return revenue


def derive_bids(built: BuiltModel, positions: list[Position]) -> list[Bid]:
    """Bids that sell or buy each planned position; each checked by its market's plugin.

    Energy positions become price-taking single orders (a sale at the market's price floor,
    a purchase at its cap), so the plan's volumes clear at whatever price results.
    Capacity becomes a capacity bid at the forecast price (pay-as-bid markets) or at the
    floor (pay-as-cleared markets).
    """
    registry = default_registry()
    bids: list[Bid] = []
    for position in positions:
        if abs(position.mw) < 1e-9:
            continue
        plugin = registry.get(position.product_id.split(":", 1)[0])
        product = plugin.product(position.product_id)
        if product is None:
            raise BidDerivationError(f"{position.product_id}: the plugin has no such product")
        bid: Bid
        if position.direction is None:
            limit = product.price_min if position.mw > 0 else product.price_max
            bid = SingleBid(
                bid_id=f"{built.portfolio.id}:{position.product_id}",
                product_id=position.product_id,
                volume_mw=position.mw,
                price_eur_per_mwh=float(limit if limit is not None else 0.0),
            )
        else:
            price = (
                round(position.price_forecast, 2)
                if product.pricing.value == "pay_as_bid"
                else (product.price_min or 0.0)
            )
            bid = BalancingCapacityBid(
                bid_id=f"{built.portfolio.id}:{position.pool}:{position.product_id}",
                product_id=position.product_id,
                direction=Direction(position.direction),
                capacity_mw=position.mw,
                capacity_price_eur_per_mw_h=max(price, product.price_min or 0.0),
            )
        found = plugin.validate(bid, now=product.gate_closure - timedelta(seconds=1))
        if found:
            raise BidDerivationError(
                f"derived bid for {position.product_id} breaks its market's rules: "
                + "; ".join(str(v) for v in found)
            )
        bids.append(bid)
    return bids


def closed_gates(plan: Plan, now: datetime | None = None) -> list[str]:
    """Product ids of the plan's bids whose gate has closed at `now` (default: now)."""
    moment = now or datetime.now(UTC)
    registry = default_registry()
    closed = []
    for bid in plan.bids:
        product_id = product_ids_of(bid)[0]
        product = registry.get(product_id.split(":", 1)[0]).product(product_id)
        if product is not None and moment >= product.gate_closure:
            closed.append(f"{product_id} (closed {iso_z(product.gate_closure)})")
    return closed
