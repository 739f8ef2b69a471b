"""`optimise`: build, (hook), solve, and write back a `Plan` with validated bids.

Energy positions are solved as continuous MW first; they are then rounded to the market's
volume step and the model is solved again with them held, so the plan sells exactly what
its bids say and the fleet's dispatch matches it to the MW. Balancing capacity is in whole
steps from the start. An infeasible model is diagnosed (`InfeasibleError` names the
constraint families and assets); a derived bid the market plugin refuses is a bug and
raises `BidDerivationError`.
"""

from __future__ import annotations

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
from trading.optimiser.assets import DT, forbid_overlap
from trading.optimiser.build import BuiltModel, OptimiserOptions, build_model
from trading.optimiser.diagnose import InfeasibleError, diagnose
from trading.optimiser.hooks import ModelView
from trading.optimiser.inputs import PriceInputs, Profiles
from trading.optimiser.solver import Solved, SolverReport, solve

OVERLAP_MW = 1e-6
"""Charge and discharge both above this in one quarter hour count as simultaneous [MW]."""

ROUNDING_PENALTY = 500.0
"""Cost of a rounding imbalance [EUR/MWh]: high enough that the fleet follows positions."""

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
    if "intraday" in options.markets and "day_ahead" in options.markets:
        first_markets = tuple(m for m in options.markets if m != "intraday")
        first = _optimise_once(
            portfolio,
            day,
            prices,
            profiles,
            options.model_copy(update={"markets": first_markets}),
            hook,
        )
        held = {p.product_id: p.mw for p in first.positions if abs(p.mw) > 1e-9 or p.direction}
        second = _optimise_once(
            portfolio,
            day,
            prices,
            profiles,
            options.model_copy(update={"commitments": {**held, **options.commitments}}),
            hook,
        )
        report = second.solver.model_copy(
            update={
                "solve_s": first.solver.solve_s + second.solver.solve_s,
                "build_s": first.solver.build_s + second.solver.build_s,
            }
        )
        return second.model_copy(update={"solver": report})
    return _optimise_once(portfolio, day, prices, profiles, options, hook)


def _optimise_once(
    portfolio: Portfolio,
    day: date,
    prices: PriceInputs,
    profiles: Profiles | None,
    options: OptimiserOptions,
    hook: Hook | None,
) -> Plan:
    built = build_model(portfolio, day, prices, profiles=profiles, options=options)
    if hook is not None:
        hook(ModelView(built))
    for block in built.positions:  # continuous first; whole steps in the second pass
        built.model.set_integer(block.steps, False)
    first = solve(built.model, options.solver, build_s=built.build_s)
    if not first.report.has_solution:
        raise InfeasibleError(first.report.status, diagnose(built.model, options.solver))
    solved, rounded = _round_positions(built, first)
    solved = _repair_overlaps(built, solved)
    return _write_back(built, solved, rounded)


def _repair_overlaps(built: BuiltModel, solved: Solved, rounds: int = 8) -> Solved:
    """Forbid simultaneous charge and discharge wherever a solution still has it.

    Binaries sit first only where the price makes overlap pay (<= 0); a rounding penalty or
    a custom constraint can make burning energy through losses pay elsewhere, so a storage
    that still overlaps gets a binary on every quarter hour and the model is solved again.
    """
    for _ in range(rounds):
        added = False
        for asset in built.portfolio.assets:
            terms = built.assets[asset.id]
            if "charge" not in terms.variables or "discharge" not in terms.variables:
                continue
            both = (solved(terms.variables["charge"]) > OVERLAP_MW) & (
                solved(terms.variables["discharge"]) > OVERLAP_MW
            )
            if both.any():
                # overlap moves to the next free quarter hour if only these get a binary:
                # forbid it wherever it is still allowed
                free = ~terms.overlap_forbidden if terms.overlap_forbidden is not None else both
                forbid_overlap(built.model, terms, asset, free)  # type: ignore[arg-type]
                added = True
        if not added:
            return solved
        again = solve(built.model, built.options.solver, build_s=built.build_s)
        if not again.report.has_solution:
            raise InfeasibleError(again.report.status, diagnose(built.model, built.options.solver))
        solved = _merge(solved, again)
    return solved


def _round_positions(built: BuiltModel, first: Solved) -> tuple[Solved, bool]:
    """Hold positions at whole volume steps and solve again.

    The fleet then follows the rounded positions; where it cannot to the MW (an inflexible
    asset's output between two steps), a rounding imbalance of at most half a step per
    zone and quarter hour is allowed at a cost of `ROUNDING_PENALTY` and reported.
    """
    if not built.positions:
        return first, False
    for block in built.positions:
        steps = np.round(first(block.steps))
        built.model.set_bounds(block.steps, steps, steps)
    costs = built.model.costs()
    for zone, (long, short) in built.imbalances.items():
        half = min(b.step_mw for b in built.positions if b.zone == zone) / 2
        built.model.set_bounds(long, 0.0, half)
        built.model.set_bounds(short, 0.0, half)
        costs[long.cols] = -ROUNDING_PENALTY * DT
        costs[short.cols] = -ROUNDING_PENALTY * DT
    built.model.col_cost = [costs]
    again = solve(built.model, built.options.solver, build_s=built.build_s)
    if not again.report.has_solution:
        raise InfeasibleError(again.report.status, diagnose(built.model, built.options.solver))
    return _merge(first, again), True


def _merge(first: Solved, final: Solved) -> Solved:
    report = final.report.model_copy(
        update={"solve_s": first.report.solve_s + final.report.solve_s}
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
        position_tolerance_mw=max((b.step_mw / 2 for b in built.positions), default=0.0) + 1e-6,
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
        own = float(built.assets[asset.id].value.evaluate(solved.values).sum())
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
