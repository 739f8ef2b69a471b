"""Build the co-optimisation model: assets, market positions, reserves and their links.

`build_model` turns (portfolio, delivery day, prices, products declared by the market
plugins) into a `BuiltModel`. Steps, each a separate function so that custom constraints
can go in between build and solve through `ModelView` (see `trading.optimiser.hooks`):

1. treatments of every asset on the day, and the products each may take part in;
2. reserve variables per asset and balancing product (within prequalified MW);
3. one block per asset (physics, costs, headroom and stored energy behind its reserves);
4. market positions per bidding zone and product (whole volume steps, constant over the
   product's MTU), pool reserves per block (whole MW, zero or at least the minimum);
5. links: each zone's net injection equals its positions; each pool's reserve is covered
   by its prequalified assets; each site stays within its grid connection;
6. the objective: energy and capacity revenue minus fuel, starts, degradation and
   regulatory costs, plus support premiums not lost at negative prices.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from markets.products import Direction, MarketId, Product
from markets.registry import MarketRegistry
from regulatory import NothingInServiceError, Portfolio
from regulatory.assets import AssetBase
from regulatory.assets.base import BalancingProduct
from regulatory.registry import default_registry as regulatory_registry
from regulatory.site import Site
from regulatory.treatment import Treatment
from trading.optimiser import accounts
from trading.optimiser.assets import (
    BLOCKS,
    DOWN,
    DT,
    UP,
    AssetContext,
    AssetTerms,
    injection_rows_range,
)
from trading.optimiser.inputs import ChpState, Horizon, PriceInputs, Profiles
from trading.optimiser.linear import Expr, FloatArray, LinearModel, Var, total
from trading.optimiser.solver import SolverOptions

ENERGY_MARKETS = {"day_ahead": MarketId.DAY_AHEAD, "intraday": MarketId.INTRADAY_AUCTION}
RESERVE_MARKETS = {"afrr_capacity": MarketId.AFRR_CAPACITY, "fcr_capacity": MarketId.FCR_CAPACITY}
RESIDUAL_SPREAD_EUR_PER_MWH = 10.0
"""Expected cost of a residual imbalance the fleet cannot avoid [EUR/MWh]: settled at an
imbalance price about this much worse than day-ahead (the spread of the backtest's
dual-price proxy). It applies only where no asset of a zone can follow a whole step."""
MARKET_CHOICES = (*ENERGY_MARKETS, *RESERVE_MARKETS)
INTRADAY_SESSION = "IDA1"
"""The intraday auction whose products the plan trades (it covers the whole day)."""


class OptimiserOptions(BaseModel):
    """What to optimise and how hard to try."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    markets: tuple[str, ...] = Field(default=("day_ahead",), description=f"of {MARKET_CHOICES}")
    solver: SolverOptions = SolverOptions()
    final_soc_mwh: dict[str, float] = Field(
        default_factory=dict, description="per battery: SoC to reach by the end of the day"
    )
    soc_value_eur_per_mwh: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "per battery: value of energy stored at the end of the day [EUR/MWh], counted "
            "against the start as `stored_energy`; a battery given one has no end-of-day "
            "target unless final_soc_mwh names one"
        ),
    )
    commitments: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "MW already sold (positive) or bought, held fixed, by product id; capacity of "
            "one reserve pool by 'product id#pool' (the plain id if one pool offers it)"
        ),
    )
    initial_soc_mwh: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "per battery or EV fleet: stored energy when the day starts [MWh] (default: the "
            "battery's soc_initial_mwh, else mid-range; the fleet full less what it owes)"
        ),
    )
    initial_heat_mwh_th: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "per heat pump with heat demand: stored heat when the day starts [MWh_th] "
            "(default: its thermal_storage_initial_mwh_th, else half the storage)"
        ),
    )
    ev_owed_mwh: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "per EV fleet: energy the session in progress at the start of the day still "
            "needs [MWh] (default: its requirement pro rata of its hours inside the day)"
        ),
    )
    unit_initial: dict[str, ChpState] = Field(
        default_factory=dict,
        description=(
            "per CHP, flexible load or heat pump: its on/off state when the day starts "
            "(default: off, free to start)"
        ),
    )
    chp_initial: dict[str, ChpState] = Field(
        default_factory=dict,
        description="deprecated: use unit_initial, which wins where both name an asset",
    )


class InputError(ValueError):
    """The inputs cannot make a model (unknown market, product, zone or asset)."""


@dataclass
class PositionBlock:
    """Positions of one zone in one energy market: one per product, in whole steps."""

    market: str
    zone: str
    products: list[Product]
    steps: Var
    step_mw: float
    period_of: np.ndarray
    """Index of the product covering each quarter hour."""
    prices: FloatArray
    """Forecast price on each quarter hour [EUR/MWh]."""
    min_steps: int = 1
    """Smallest non-zero position in steps (the product's minimum volume)."""
    held: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """Per product: whether a commitment holds its position (set by `_commitments`)."""
    traded: tuple[Var, Var] | None = None
    """(sold, bought) binaries where the minimum volume is above one step, else None."""

    def mw(self) -> Expr:
        """Position per quarter hour [MW]; positive = sold."""
        return self.steps.at(self.period_of, self.step_mw)

    def revenue(self) -> Expr:
        """Expected revenue of the positions at the forecast prices, one row [EUR]."""
        return (self.mw() * (self.prices * DT)).sum()


@dataclass
class ReservePool:
    """Capacity of one balancing product offered by one pool, per block."""

    market: str
    product: BalancingProduct
    direction: Direction
    pool_key: str
    zone: str
    products: list[Product]
    steps: Var
    step_mw: float
    block_of: np.ndarray
    prices: FloatArray
    """Capacity price per block [EUR/MW/h]."""
    hours: FloatArray
    """Length of each block [h]."""
    assets: list[str] = field(default_factory=list)

    def revenue(self) -> Expr:
        """Expected capacity revenue at the forecast prices, one row [EUR]."""
        return self.steps.sum(self.step_mw * self.prices * self.hours)


@dataclass
class BuiltModel:
    """A model ready to solve, with everything needed to read its solution back."""

    model: LinearModel
    portfolio: Portfolio
    horizon: Horizon
    options: OptimiserOptions
    treatments: dict[str, Treatment]
    assets: dict[str, AssetTerms]
    reserves: dict[tuple[str, BalancingProduct], Var]
    positions: list[PositionBlock]
    pools: list[ReservePool]
    registry: MarketRegistry | None = None
    """The market plugins the plan's products, bids and checks come from."""
    residuals: dict[str, tuple[Var, Var]] = field(default_factory=dict)
    """Per zone: (long, short) residual imbalance [MW], non-zero only in quarter hours where
    no asset of the zone can follow a whole volume step (0 bounds elsewhere)."""
    excluded: dict[str, str] = field(default_factory=dict)
    """Assets of the portfolio not in service on the day, with the reason (rule G1)."""
    revenue: dict[str, Expr] = field(default_factory=dict)
    """Objective terms by market [EUR, one row each]: energy and capacity revenue at the
    forecast prices, support premiums, residual imbalance energy."""
    costs: dict[str, Expr] = field(default_factory=dict)
    """Objective terms by cost kind (`accounts.COST_KINDS`) [EUR, positive = cost]."""
    zone_prices: dict[str, FloatArray] = field(default_factory=dict)
    """Day-ahead forecast per zone and quarter hour, where given [EUR/MWh]."""
    profile_sources: dict[str, str] = field(default_factory=dict)
    """Per pv/wind asset: where its availability profile came from (forecast, proxy)."""
    build_s: float = 0.0
    deadline: float | None = None
    """`time.monotonic()` by which the whole plan should be solved, if any."""
    free_columns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Columns an extension added (`trading.optimiser.extension`): they belong to no zone,
    so every zone's whole-step solve decides them afresh."""
    extended_assets: set[str] = field(default_factory=set)
    """Assets whose columns an extension's rows or costs use: the whole-step stage does not
    let its battery programme (`storage_steps`), which knows only the asset's own rules,
    choose their positions."""


def build_model(
    portfolio: Portfolio,
    day: date,
    prices: PriceInputs,
    *,
    profiles: Profiles | None = None,
    options: OptimiserOptions | None = None,
    registry: MarketRegistry,
) -> BuiltModel:
    """The co-optimisation model of `portfolio` for delivery day `day`.

    Products come from the market plugins of `registry`, the same object that validates
    the plan's bids and clears them. Assets not in service on `day` (commissioning and
    decommissioning dates) are left out and listed in `BuiltModel.excluded`.
    """
    started = time.perf_counter()
    options = options or OptimiserOptions()
    unknown = sorted(set(options.markets) - set(MARKET_CHOICES))
    if unknown:
        raise InputError(
            f"markets={','.join(unknown)} unknown; choose from {', '.join(MARKET_CHOICES)}"
        )
    excluded = portfolio.out_of_service(day)
    try:
        portfolio = portfolio.in_service(day)
    except NothingInServiceError as exc:
        raise InputError(str(exc)) from None
    timezones = {
        regulatory_registry().get(site.country).in_force(day).timezone for site in portfolio.sites
    }
    timezone = sorted(timezones)[0] if len(timezones) == 1 else "Europe/Berlin"
    horizon = Horizon.of(day, timezone)
    model = LinearModel()
    treatments = {a.id: t for a, _, t in portfolio.treatments(day)}
    sites = {s.id: s for s in portfolio.sites}
    zone_prices = {
        zone: prices.quarter_hourly("day_ahead", zone, horizon)
        for zone in {s.bidding_zone for s in portfolio.sites}
        if zone in prices.day_ahead
    }
    lowest_prices = _lowest_energy_prices(portfolio, prices, options, horizon)

    pools, reserve_vars = _reserve_pools(
        model, portfolio, day, horizon, prices, options, treatments, registry
    )
    assets: dict[str, AssetTerms] = {}
    for asset in portfolio.assets:
        site = sites[asset.site]
        ctx = AssetContext(
            asset=asset,
            site=site,
            treatment=treatments[asset.id],
            horizon=horizon,
            timezone=regulatory_registry().get(site.country).in_force(day).timezone,
            profiles=profiles or Profiles(),
            day_ahead_prices=zone_prices.get(site.bidding_zone),
            lowest_energy_prices=lowest_prices.get(site.bidding_zone),
            reserves={p: v for (aid, p), v in reserve_vars.items() if aid == asset.id},
            final_soc_mwh=options.final_soc_mwh.get(asset.id),
            soc_value_eur_per_mwh=options.soc_value_eur_per_mwh.get(asset.id),
            initial_soc_mwh=options.initial_soc_mwh.get(asset.id),
            initial_heat_mwh_th=options.initial_heat_mwh_th.get(asset.id),
            ev_owed_mwh=options.ev_owed_mwh.get(asset.id),
            unit_initial={**options.chp_initial, **options.unit_initial}.get(asset.id),
        )
        first_col = model.num_cols
        terms = BLOCKS[asset.kind](model, ctx)
        own = [v.cols for (aid, _), v in reserve_vars.items() if aid == asset.id]
        terms.columns = np.concatenate([np.arange(first_col, model.num_cols), *own])
        assets[asset.id] = terms
    positions = _positions(model, portfolio, day, horizon, prices, options, assets, registry)
    built = BuiltModel(
        model,
        portfolio,
        horizon,
        options,
        treatments,
        assets,
        reserve_vars,
        positions,
        pools,
        registry=registry,
        excluded=excluded,
        zone_prices=zone_prices,
        profile_sources=dict((profiles or Profiles()).sources),
    )
    _link_zones(built)
    _link_sites(model, portfolio, assets, reserve_vars)
    _link_pools(model, pools, reserve_vars)
    _commitments(model, options, positions, pools)
    _objective(built)
    built.build_s = time.perf_counter() - started
    return built


def _lowest_energy_prices(
    portfolio: Portfolio, prices: PriceInputs, options: OptimiserOptions, horizon: Horizon
) -> dict[str, FloatArray]:
    """Per zone: the lowest forecast price of the energy markets traded, per quarter hour."""
    lowest: dict[str, FloatArray] = {}
    for market in options.markets:
        if market not in ENERGY_MARKETS:
            continue
        table = getattr(prices, market)
        for zone in {s.bidding_zone for s in portfolio.sites}:
            if zone in table:
                found = prices.quarter_hourly(market, zone, horizon)
                lowest[zone] = np.minimum(lowest[zone], found) if zone in lowest else found
    return lowest


def _plugin_products(
    registry: MarketRegistry, country: str, day: date, market: MarketId
) -> list[Product]:
    plugin = registry.get(country)
    try:
        plugin.market(market)
    except KeyError:
        return []
    return plugin.products(day, market)


def _positions(
    model: LinearModel,
    portfolio: Portfolio,
    day: date,
    horizon: Horizon,
    prices: PriceInputs,
    options: OptimiserOptions,
    assets: dict[str, AssetTerms],
    registry: MarketRegistry,
) -> list[PositionBlock]:
    """Positions in whole volume steps (integer columns), bounded by what the fleet could
    ever inject, and either zero or at least the product's minimum volume.

    The bounds never bind: a zone's day-ahead position within the largest net injection
    or withdrawal its assets' own limits allow, an intraday position within twice that
    (it may reverse a day-ahead one). Relaxed to continuous values, a position is then a
    mere record of the fleet's injection, which lets `split` solve the sites apart; the
    solve puts them back on whole steps (`trading.optimiser.whole_steps`).
    """
    blocks = []
    zones: dict[str, tuple[str, float]] = {}
    lower, upper, *_ = model.bounds()
    sites = {s.id: s for s in portfolio.sites}
    for asset in portfolio.assets:
        site = sites[asset.site]
        low, high = injection_rows_range(assets[asset.id].injection, lower, upper)
        country, mw = zones.get(site.bidding_zone, (site.country, 0.0))
        zones[site.bidding_zone] = (country, mw + max(abs(low.min()), abs(high.max())))
    for market in options.markets:
        market_id = ENERGY_MARKETS.get(market)
        if market_id is None:
            continue
        for zone, (country, limit_mw) in sorted(zones.items()):
            products = [
                p
                for p in _plugin_products(registry, country, day, market_id)
                if p.bidding_zone == zone
                and (market_id is MarketId.DAY_AHEAD or p.family == INTRADAY_SESSION)
            ]
            if not products:
                raise InputError(f"{country} offers no {market} products for delivery {day}")
            quarter = prices.quarter_hourly(market, zone, horizon)
            step = products[0].volume_step_mw
            reach = 2.0 if market == "intraday" else 1.0
            k = int(np.ceil(reach * limit_mw / step - 1e-9))
            steps = model.var(f"{market}.{zone}.steps", len(products), -k, k, integer=True)
            period_of = horizon.covering([p.delivery_start for p in products])
            block = PositionBlock(market, zone, products, steps, step, period_of, quarter)
            block.held = np.zeros(len(products), dtype=bool)
            _minimum_volume(model, block, k)
            blocks.append(block)
    return blocks


def _minimum_volume(model: LinearModel, block: PositionBlock, k: int) -> None:
    """A position is zero or at least the product's minimum volume, sold or bought.

    Only where the minimum is above one step: two binaries per product (sold, bought),
    at most one of them on, make the steps semi-continuous on both sides of zero.
    """
    minimum = block.products[0].volume_min_mw
    min_steps = max(1, int(np.ceil(minimum / block.step_mw - 1e-9)))
    block.min_steps = min_steps
    if min_steps <= 1 or k < min_steps:
        return
    n = len(block.products)
    sold = model.binary(f"{block.market}.{block.zone}.sold", n)
    bought = model.binary(f"{block.market}.{block.zone}.bought", n)
    subject = f"{block.market} {block.zone}"
    unit = f"[steps of {block.step_mw:g} MW]"
    model.add(
        "position minimum sold",
        block.steps - sold.expr(min_steps) + bought.expr(k),
        ">=",
        0.0,
        subjects=subject,
        description=f"a sale is at least the minimum volume {unit}",
    )
    model.add(
        "position minimum bought",
        block.steps - sold.expr(k) + bought.expr(min_steps),
        "<=",
        0.0,
        subjects=subject,
        description=f"a purchase is at least the minimum volume {unit}",
    )
    model.add(
        "position one side",
        sold + bought,
        "<=",
        1.0,
        subjects=subject,
        description="a product is sold, bought or not traded [binaries]",
    )
    block.traded = (sold, bought)


def _reserve_pools(
    model: LinearModel,
    portfolio: Portfolio,
    day: date,
    horizon: Horizon,
    prices: PriceInputs,
    options: OptimiserOptions,
    treatments: dict[str, Treatment],
    registry: MarketRegistry,
) -> tuple[list[ReservePool], dict[tuple[str, BalancingProduct], Var]]:
    pools: list[ReservePool] = []
    reserve_vars: dict[tuple[str, BalancingProduct], Var] = {}
    sites = {s.id: s for s in portfolio.sites}
    for market in options.markets:
        market_id = RESERVE_MARKETS.get(market)
        if market_id is None:
            continue
        by_pool: dict[tuple[str, Direction, str, str], list[AssetBase]] = defaultdict(list)
        products_of: dict[tuple[str, Direction], list[Product]] = {}
        for asset in portfolio.assets:
            site = sites[asset.site]
            for product in _plugin_products(registry, site.country, day, market_id):
                if product.bidding_zone != site.bidding_zone or product.direction is None:
                    continue
                products_of.setdefault((site.country, product.direction), [])
                if product not in products_of[(site.country, product.direction)]:
                    products_of[(site.country, product.direction)].append(product)
            treatment = treatments[asset.id]
            for direction in (Direction.POS, Direction.NEG, Direction.SYMMETRIC):
                offered = products_of.get((site.country, direction))
                if not offered:
                    continue
                eligibility = offered[0].eligibility
                if not eligibility.admits(treatment, bidding_zone=site.bidding_zone):
                    continue
                assert eligibility.prequalification is not None
                key = next(
                    b.pool_key
                    for b in treatment.balancing
                    if b.product == eligibility.prequalification
                )
                by_pool[(site.country, direction, key, site.bidding_zone)].append(asset)
        for (country, direction, key, zone), members in sorted(
            by_pool.items(), key=lambda kv: (kv[0][0], kv[0][1].value, kv[0][2])
        ):
            products = sorted(products_of[(country, direction)], key=lambda p: p.delivery_start)
            product_kind = products[0].eligibility.prequalification
            assert product_kind is not None
            price_key: tuple[str, str] | str = (
                (zone, direction.value) if market == "afrr_capacity" else zone
            )
            quarter = prices.quarter_hourly(market, price_key, horizon)
            block_of = horizon.covering([p.delivery_start for p in products])
            first_q = [int(np.argmax(block_of == b)) for b in range(len(products))]
            block_prices = quarter[first_q]
            hours = np.array([p.duration_minutes / 60 for p in products])
            for asset in members:
                if (asset.id, product_kind) not in reserve_vars:
                    limit = treatments[asset.id].prequalified_mw(product_kind)
                    reserve_vars[(asset.id, product_kind)] = model.var(
                        f"{asset.id}.reserve.{product_kind}", horizon.n, 0.0, limit
                    )
            step = products[0].volume_step_mw
            total_mw = sum(treatments[a.id].prequalified_mw(product_kind) for a in members)
            k = int(np.floor(total_mw / step + 1e-9))
            steps = model.var(
                f"{market}.{key}.{direction.value}", len(products), 0, k, integer=True
            )
            pool = ReservePool(
                market,
                product_kind,
                direction,
                key,
                zone,
                products,
                steps,
                step,
                block_of,
                block_prices,
                hours,
                [a.id for a in members],
            )
            minimum = products[0].volume_min_mw
            if minimum > step + 1e-9:
                chosen = model.binary(f"{market}.{key}.{direction.value}.offered", len(products))
                model.add(
                    "reserve minimum bid",
                    steps.expr(step) - chosen.expr(minimum),
                    ">=",
                    0.0,
                    subjects=f"{key} {direction.value}",
                    description=f"{market}: nothing, or at least the minimum bid",
                )
                model.add(
                    "reserve offered",
                    steps.expr(step) - chosen.expr(max(total_mw, minimum)),
                    "<=",
                    0.0,
                    subjects=f"{key} {direction.value}",
                    description=f"{market}: capacity only in blocks chosen to be offered",
                )
            pools.append(pool)
    return pools, reserve_vars


def residual_room(step_mw: float) -> float:
    """The largest residual a zone may plan in a quarter hour: just below one step [MW]."""
    return step_mw * 0.999


def _link_zones(built: BuiltModel) -> None:
    """Net injection per zone = its positions, plus a residual only where unavoidable.

    A zone's positions are whole volume steps; its assets follow them continuously and
    share them. Where the zone's fleet cannot move by one step at all in a quarter hour
    (every asset fixed: non-curtailable output, nothing available), no whole step may
    be reachable: there a residual below one step is allowed from the start (elsewhere
    its bounds are 0, and only the whole-step stage's last resort opens them, for a zone
    no asset of which can follow whole steps at all), settled as imbalance: its energy
    at the day-ahead forecast in `revenue["imbalance"]`, the expected spread
    `RESIDUAL_SPREAD_EUR_PER_MWH` in `costs["expected_imbalance"]`.
    """
    model, horizon = built.model, built.horizon
    sites = {s.id: s for s in built.portfolio.sites}
    by_zone: dict[str, list[AssetTerms]] = defaultdict(list)
    for asset in built.portfolio.assets:
        by_zone[sites[asset.site].bidding_zone].append(built.assets[asset.id])
    lower, upper, *_ = model.bounds()
    for zone, members in sorted(by_zone.items()):
        zone_positions = [p.mw() for p in built.positions if p.zone == zone]
        injection = total(m.injection for m in members)
        if zone_positions:
            injection = injection - total(zone_positions)
            step = min(p.step_mw for p in built.positions if p.zone == zone)
            low, high = injection_rows_range(total(m.injection for m in members), lower, upper)
            room = np.where(high - low < step - 1e-9, residual_room(step), 0.0)
            long = model.var(f"{zone}.residual long", horizon.n, 0.0, room)
            short = model.var(f"{zone}.residual short", horizon.n, 0.0, room)
            built.residuals[zone] = (long, short)
            injection = injection - long + short
        model.add(
            "zone balance",
            injection,
            "==",
            0.0,
            subjects=zone,
            description="the fleet's net injection in the zone equals its market positions [MW]",
        )


def _link_sites(
    model: LinearModel,
    portfolio: Portfolio,
    assets: dict[str, AssetTerms],
    reserve_vars: dict[tuple[str, BalancingProduct], Var],
) -> None:
    for site in portfolio.sites:
        members = {a.id for a in portfolio.assets if a.site == site.id}
        if not members:
            continue
        injection = total(assets[aid].injection for aid in sorted(members))
        up = [v for (aid, p), v in reserve_vars.items() if p in UP and aid in members]
        down = [v for (aid, p), v in reserve_vars.items() if p in DOWN and aid in members]
        limit = site.grid_connection_mw
        model.add(
            "grid connection",
            injection + total(up) if up else injection,
            "<=",
            limit,
            subjects=site.id,
            description="injection plus upward reserve within the connection",
        )
        model.add(
            "grid connection",
            injection - total(down) if down else injection,
            ">=",
            -limit,
            subjects=site.id,
            description="withdrawal plus downward reserve within the connection",
        )


def _link_pools(
    model: LinearModel,
    pools: list[ReservePool],
    reserve_vars: dict[tuple[str, BalancingProduct], Var],
) -> None:
    for pool in pools:
        covered = total(reserve_vars[(aid, pool.product)] for aid in pool.assets)
        sold = pool.steps.at(pool.block_of, pool.step_mw)
        model.add(
            "reserve covered",
            covered - sold,
            ">=",
            0.0,
            subjects=f"{pool.market} {pool.pool_key} {pool.direction.value}",
            description="reserve sold by a pool is covered by its prequalified assets",
        )


def commitment_key(product_id: str, pool: str | None = None) -> str:
    """Key of a held position in `OptimiserOptions.commitments`."""
    return product_id if pool is None else f"{product_id}#{pool}"


def _commitments(
    model: LinearModel,
    options: OptimiserOptions,
    positions: list[PositionBlock],
    pools: list[ReservePool],
) -> None:
    remaining = dict(options.commitments)
    offered_by: dict[str, list[str]] = defaultdict(list)
    for pool in pools:
        for product in pool.products:
            offered_by[product.product_id].append(pool.pool_key)
    for block in [*positions, *pools]:
        pool_key = block.pool_key if isinstance(block, ReservePool) else None
        for i, product in enumerate(block.products):
            pid = product.product_id
            mw = remaining.pop(commitment_key(pid, pool_key), None)
            if mw is None and pool_key is not None and pid in remaining:
                if len(offered_by[pid]) > 1:
                    raise InputError(
                        f"commitment {pid}: offered by pools {', '.join(offered_by[pid])}; "
                        f"name one as '{pid}#POOL'"
                    )
                mw = remaining.pop(pid)
            if mw is None:
                continue
            steps = mw / block.step_mw
            if abs(steps - round(steps)) > 1e-6:
                raise InputError(
                    f"commitment {pid}={mw} MW is not a whole number of {block.step_mw} MW steps"
                )
            subject = pool_key or getattr(block, "zone", "")
            model.add(
                "commitment",
                block.steps[i].expr(block.step_mw),
                "==",
                mw,
                subjects=f"{pid} ({subject})",
                description="a position already sold or bought is held [MW]",
            )
            if isinstance(block, PositionBlock):
                block.held[i] = True
    if remaining:
        first = sorted(remaining)[0]
        raise InputError(f"commitment {first}: no such product among the markets optimised")


def _objective(built: BuiltModel) -> None:
    """Revenue by market minus costs by kind, each kept as its own term for the report."""
    revenue: dict[str, list[Expr]] = defaultdict(list)
    costs: dict[str, list[Expr]] = defaultdict(list)
    for block in built.positions:
        revenue[block.market].append(block.revenue())
    for pool in built.pools:
        revenue[pool.market].append(pool.revenue())
    for terms in built.assets.values():
        for kind, expr in terms.revenue.items():
            revenue[kind].append(expr.sum() if expr.n > 1 else expr)
        for kind, expr in terms.costs.items():
            costs[kind].append(expr.sum() if expr.n > 1 else expr)
    for zone, (long, short) in built.residuals.items():
        price = next(b.prices for b in built.positions if b.zone == zone)
        revenue["imbalance"].append((long.expr(price * DT) - short.expr(price * DT)).sum())
        costs[accounts.EXPECTED_IMBALANCE].append(
            long.sum(DT * RESIDUAL_SPREAD_EUR_PER_MWH) + short.sum(DT * RESIDUAL_SPREAD_EUR_PER_MWH)
        )
    built.revenue = {k: total(v) for k, v in revenue.items()}
    built.costs = {k: total(v) for k, v in costs.items()}
    terms = [*built.revenue.values(), *(-c for c in built.costs.values())]
    built.model.maximise(total(terms) if terms else Expr.zeros(1))


def site_map(portfolio: Portfolio) -> dict[str, Site]:
    """Site of every asset id."""
    sites = {s.id: s for s in portfolio.sites}
    return {a.id: sites[a.site] for a in portfolio.assets}
