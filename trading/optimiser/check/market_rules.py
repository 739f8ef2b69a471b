"""Market rules (M1-M7): positions against their products, bids against positions and
their plugins, each zone's injection against its energy positions, pools' capacity
against their assets' bands.

Products come from the market plugins (`plugin.product(product_id)`), never from the plan:
the plan names a product, the plugin says what it is (zone, delivery, volume step,
minimum, gate). Prices are the plan's own forecasts (`inputs.prices`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from markets.bids import (
    BalancingCapacityBid,
    BalancingEnergyBid,
    Bid,
    BlockBid,
    CurveBid,
    SingleBid,
    product_ids_of,
)
from markets.products import Direction, MarketId, Product, ProductKind
from markets.registry import MarketPluginError, MarketRegistry, UnknownMarketCountryError
from regulatory import Portfolio
from trading.optimiser.check import rules
from trading.optimiser.check.asset_rules import AssetOutcome, AssetView
from trading.optimiser.check.plan_input import MISSING, PlanData, PlanFormatError, PlanPosition
from trading.optimiser.check.violations import TOLERANCE, Findings
from trading.optimiser.check.windows import QUARTER_HOUR_H as DT

ENERGY_KINDS = (ProductKind.AUCTION, ProductKind.CONTINUOUS)
PRICE_TABLES = {
    MarketId.DAY_AHEAD: "day_ahead",
    MarketId.INTRADAY_AUCTION: "intraday",
    MarketId.INTRADAY_CONTINUOUS: "intraday",
    MarketId.AFRR_CAPACITY: "afrr_capacity",
    MarketId.FCR_CAPACITY: "fcr_capacity",
}
"""The `inputs.prices` table of a product's market where no position names one."""

PRODUCT_START = re.compile(r":(\d{4}-\d\d-\d\dT\d\d:\d\d)Z$")
"""The UTC delivery start that ends a product id."""

GATE_MARGIN = timedelta(seconds=1)
"""M6: bids are validated this long before their gate closes."""


@dataclass(frozen=True)
class Held:
    """A position with its product, the quarter hours it covers and its forecast prices."""

    position: PlanPosition
    product: Product
    mask: np.ndarray
    """True on the day's quarter hours inside the product's delivery."""
    prices: np.ndarray
    """The forecast of its market and key per quarter hour [EUR/MWh or EUR/MW/h]."""

    @property
    def capacity(self) -> bool:
        """Whether it is balancing capacity (else energy)."""
        return self.product.kind is ProductKind.BALANCING_CAPACITY

    @property
    def subject(self) -> str:
        """The product, with the pool for capacity."""
        pool = self.position.pool
        return (
            f"{self.product.product_id}#{pool}"
            if self.capacity and pool
            else self.product.product_id
        )

    @property
    def first(self) -> int:
        """Its first quarter hour."""
        return int(np.argmax(self.mask))

    @property
    def end(self) -> int:
        """One past its last quarter hour."""
        return int(np.flatnonzero(self.mask)[-1]) + 1

    def forecast(self) -> float:
        """Its forecast price: a capacity block's at its first quarter hour [EUR/MW/h], an
        energy product's mean over its quarter hours [EUR/MWh]."""
        if self.capacity:
            return float(self.prices[self.first])
        return float(self.prices[self.mask].mean())

    def revenue(self) -> float:
        """What it earns at the forecast [EUR]: energy MW x EUR/MWh x 0.25 h per quarter
        hour; capacity MW x EUR/MW/h x block hours."""
        mw = self.position.mw
        if self.capacity:
            return mw * self.forecast() * self.product.duration_minutes / 60
        return mw * float(self.prices[self.mask].sum()) * DT


def product_of(registry: MarketRegistry, product_id: str) -> Product | None:
    """The product `product_id` names, from the plugin of its country; None if unknown."""
    try:
        plugin = registry.get(product_id.split(":", 1)[0])
    except (UnknownMarketCountryError, MarketPluginError):
        return None
    return plugin.product(product_id)


def resolve_positions(plan: PlanData, registry: MarketRegistry) -> list[Held]:
    """Every position with its product and prices; `PlanFormatError` names one that cannot
    be read (unknown product, outside the day, a balancing energy product, no prices)."""
    held = []
    for position in plan.positions:
        product = product_of(registry, position.product_id)
        if product is None:
            raise PlanFormatError(
                f"{position.field}.product_id",
                position.product_id,
                "is not a product of any installed market plugin",
            )
        if product.kind not in (*ENERGY_KINDS, ProductKind.BALANCING_CAPACITY):
            raise PlanFormatError(
                f"{position.field}.product_id",
                position.product_id,
                f"is a {product.kind.value} product; a plan holds energy and capacity only",
            )
        _agrees(position, product)
        mask = _delivery(plan, product)
        if not mask.any():
            raise PlanFormatError(
                f"{position.field}.product_id",
                position.product_id,
                f"delivers outside the plan's day {plan.day}",
            )
        held.append(Held(position, product, mask, _prices(plan, position, product)))
    return held


def _agrees(position: PlanPosition, product: Product) -> None:
    """The position's own record of market, zone and direction is its product's."""
    markets = {product.market.value, PRICE_TABLES.get(product.market, product.market.value)}
    direction = None if product.direction is None else product.direction.value
    for name, given, expected in (
        ("market", position.market, sorted(markets)),
        ("zone", position.zone, [product.bidding_zone]),
        ("direction", position.direction, [direction]),
    ):
        if given not in expected:
            raise PlanFormatError(
                f"{position.field}.{name}",
                given,
                f"{position.product_id} is a product of {' or '.join(map(str, expected))}",
            )


def _delivery(plan: PlanData, product: Product) -> np.ndarray:
    periods = plan.quarter_hours
    return np.asarray(
        (periods >= product.delivery_start) & (periods < product.delivery_end), dtype=bool
    )


def price_keys(product: Product) -> list[str]:
    """Keys of a product's prices in its market's table: the zone, or ``zone/pos`` and
    ``zone/neg`` for a directed capacity product."""
    zone = product.bidding_zone
    if product.direction in (Direction.POS, Direction.NEG):
        return [f"{zone}/{product.direction.value}", zone]
    return [zone]


def _prices(plan: PlanData, position: PlanPosition, product: Product) -> np.ndarray:
    table = plan.inputs.prices.get(position.market, {})
    for key in price_keys(product):
        if key in table:
            return table[key]
    raise PlanFormatError(
        f"inputs.prices.{position.market}.{price_keys(product)[0]}",
        MISSING,
        f"is missing; {position.field} ({position.product_id}) is priced by it",
    )


# --- M1, M2: positions against their products ------------------------------------------


def check_positions(held: Sequence[Held], findings: Findings) -> None:
    """M1 whole volume steps (capacity >= 0), M2 at least the minimum."""
    for h in held:
        mw, product = h.position.mw, h.product
        step = product.volume_step_mw
        off = abs(mw - round(mw / step) * step)
        if off > TOLERANCE:
            findings.add(
                rules.M1,
                h.subject,
                off,
                "MW",
                f"{h.position.field} holds {mw:g} MW, not a whole number of {step:g} MW steps",
                at=h.first,
                until=h.end,
            )
        if h.capacity and mw < -TOLERANCE:
            findings.add(
                rules.M1,
                h.subject,
                -mw,
                "MW",
                f"{h.position.field} holds {mw:g} MW of capacity: capacity is >= 0",
                at=h.first,
                until=h.end,
            )
        if TOLERANCE < abs(mw) < product.volume_min_mw - TOLERANCE:
            findings.add(
                rules.M2,
                h.subject,
                product.volume_min_mw - abs(mw),
                "MW",
                f"{h.position.field} holds {mw:g} MW, minimum {product.volume_min_mw:g} MW",
                at=h.first,
                until=h.end,
            )


# --- M3: bids add up to positions ------------------------------------------------------


def check_bids_match(
    held: Sequence[Held], bids: Sequence[Bid], plan: PlanData, findings: Findings
) -> None:
    """M3: per product, the bids' volumes add up to the position (over all pools)."""
    positions: dict[str, float] = defaultdict(float)
    by_id: dict[str, Held] = {}
    for h in held:
        positions[h.product.product_id] += h.position.mw
        by_id.setdefault(h.product.product_id, h)
    offered: dict[str, float] = defaultdict(float)
    for bid in bids:
        for product_id, volume in bid_volumes(bid, by_id):
            offered[product_id] += volume
    for product_id in sorted(set(positions) | set(offered)):
        position, volume = positions.get(product_id, 0.0), offered.get(product_id, 0.0)
        if abs(position - volume) > TOLERANCE:
            h = by_id.get(product_id)
            at, until = (h.first, h.end) if h is not None else (start_of(plan, product_id), None)
            findings.add(
                rules.M3,
                product_id,
                abs(position - volume),
                "MW",
                f"bids add up to {volume:g} MW, the position is {position:g} MW",
                at=at,
                until=until,
            )


def start_of(plan: PlanData, product_id: str) -> int | None:
    """The quarter hour a product id's delivery starts at (its last part is its UTC start,
    ``2027-06-14T22:00Z``), if that is on the day."""
    match = PRODUCT_START.search(product_id)
    start = f"{match[1]}:00Z" if match else None
    return plan.labels.index(start) if start in plan.labels[:-1] else None


def bid_volumes(bid: Bid, positions: Mapping[str, Held]) -> list[tuple[str, float]]:
    """(product id, MW) a bid offers: energy signed (+ sell), capacity and balancing energy
    positive. A curve counts with its volume at the forecast price, linearly between its
    points and flat beyond them (0 without a position to read the forecast from)."""
    if isinstance(bid, SingleBid):
        return [(bid.product_id, bid.volume_mw)]
    if isinstance(bid, BlockBid):
        return list(zip(bid.product_ids, bid.volumes_mw, strict=False))
    if isinstance(bid, BalancingCapacityBid):
        return [(bid.product_id, bid.capacity_mw)]
    if isinstance(bid, BalancingEnergyBid):
        return [(bid.product_id, bid.volume_mw)]
    assert isinstance(bid, CurveBid)
    held = positions.get(bid.product_id)
    if held is None:
        return [(bid.product_id, 0.0)]
    prices = [p.price_eur_per_mwh for p in bid.points]
    volumes = [p.volume_mw for p in bid.points]
    return [(bid.product_id, float(np.interp(held.forecast(), prices, volumes)))]


# --- M4: zone balance ------------------------------------------------------------------


def check_zones(
    portfolio: Portfolio,
    plan: PlanData,
    held: Sequence[Held],
    views: Mapping[str, AssetView],
    outcomes: Mapping[str, AssetOutcome],
    registry: MarketRegistry,
    findings: Findings,
) -> None:
    """M4: each zone's net injection = its energy positions + a residual that is below one
    step, and only where the zone's fleet cannot reach one or where the plan's notes say
    why the zone holds a residual (no whole-step plan its fleet could follow)."""
    zones = sorted(
        {s.bidding_zone for s in portfolio.sites}
        | set(plan.residual_mw)
        | {h.product.bidding_zone for h in held if not h.capacity}
    )
    for zone in zones:
        members = [v for v in views.values() if v.site.bidding_zone == zone]
        energy = [h for h in held if not h.capacity and h.product.bidding_zone == zone]
        x = sum((v.x for v in members), np.zeros(plan.n))
        positions = sum((h.position.mw * h.mask for h in energy), np.zeros(plan.n))
        residual = plan.residual_mw.get(zone, np.zeros(plan.n))
        step = _zone_step(portfolio, plan, zone, energy, registry)
        reach = sum(
            (outcomes[v.id].hi - outcomes[v.id].lo for v in members if v.in_service),
            np.zeros(plan.n),
        )
        _balance(zone, x, positions, residual, findings)
        explained = any(zone in note and "residual" in note for note in plan.notes)
        _residual(zone, residual, step, np.zeros(plan.n) if explained else reach, findings)


def _balance(
    zone: str, x: np.ndarray, positions: np.ndarray, residual: np.ndarray, findings: Findings
) -> None:
    gap = x - positions - residual
    findings.series(
        rules.M4,
        zone,
        np.abs(gap),
        "MW",
        lambda t: (
            f"net injection {x[t]:.6g} MW, energy positions {positions[t]:.6g} MW, "
            f"residual {residual[t]:.6g} MW"
        ),
    )


def _residual(
    zone: str, residual: np.ndarray, step: np.ndarray, reach: np.ndarray, findings: Findings
) -> None:
    size = np.abs(residual)
    nonzero = size > TOLERANCE
    findings.series(
        rules.M4,
        zone,
        np.where(nonzero & (size >= step - TOLERANCE), size, 0.0),
        "MW",
        lambda t: f"residual {residual[t]:.6g} MW is not below one step of {step[t]:g} MW",
        tolerance=0.0,
    )
    findings.series(
        rules.M4,
        zone,
        np.where(nonzero & (reach >= step - TOLERANCE), size, 0.0),
        "MW",
        lambda t: (
            f"residual {residual[t]:.6g} MW where the zone's fleet spans "
            f"{reach[t]:.6g} MW, at least one step of {step[t]:g} MW"
        ),
        tolerance=0.0,
    )


def _zone_step(
    portfolio: Portfolio,
    plan: PlanData,
    zone: str,
    energy: Sequence[Held],
    registry: MarketRegistry,
) -> np.ndarray:
    """The zone's volume step per quarter hour [MW]: the smallest of the energy products
    held there, else of its day-ahead products."""
    step = np.full(plan.n, np.inf)
    for h in energy:
        step[h.mask] = np.minimum(step[h.mask], h.product.volume_step_mw)
    if np.isinf(step).any():
        fallback = _day_ahead_step(portfolio, plan, zone, registry)
        step[np.isinf(step)] = fallback
    return step


def _day_ahead_step(
    portfolio: Portfolio, plan: PlanData, zone: str, registry: MarketRegistry
) -> float:
    countries = {s.country for s in portfolio.sites if s.bidding_zone == zone}
    for country in sorted(countries):
        try:
            products = registry.get(country).products(plan.day, MarketId.DAY_AHEAD)
        except (LookupError, MarketPluginError):
            continue
        steps = [p.volume_step_mw for p in products if p.bidding_zone == zone]
        if steps:
            return min(steps)
    return TOLERANCE


# --- M5: capacity covered by its pool --------------------------------------------------


def check_pools(held: Sequence[Held], views: Mapping[str, AssetView], findings: Findings) -> None:
    """M5: in each quarter hour of a capacity position's block, its pool's assets hold at
    least its MW in bands of the product's reserve."""
    for h in held:
        if not h.capacity or h.position.mw <= TOLERANCE:
            continue
        reserve = h.product.eligibility.prequalification
        assert reserve is not None
        members = [v for v in views.values() if v.in_service and _in_pool(v, h, reserve)]
        covered = sum((v.bands[reserve] for v in members), np.zeros(len(h.mask)))
        mw, count = h.position.mw, len(members)
        findings.series(
            rules.M5,
            h.subject,
            np.where(h.mask, mw - covered, 0.0),
            "MW",
            lambda t, covered=covered, mw=mw, n=count, r=reserve: (
                f"pool's {n} asset(s) hold {covered[t]:.6g} MW of {r}, {mw:g} MW sold"
            ),
        )


def _in_pool(view: AssetView, held: Held, reserve: str) -> bool:
    """Whether an asset belongs to the pool a capacity position is offered from."""
    product = held.product
    if view.site.country != product.country or view.site.bidding_zone != product.bidding_zone:
        return False
    return any(
        item.product == reserve
        and item.eligible
        and (held.position.pool is None or item.pool_key == held.position.pool)
        for item in view.treatment.balancing
    )


# --- M6, M7: bids valid, at prices from the forecast ------------------------------------


def check_bid_rules(
    plan: PlanData,
    bids: Sequence[Bid],
    held: Sequence[Held],
    registry: MarketRegistry,
    findings: Findings,
) -> None:
    """M6: each bid passes its plugin one second before its gate closes (rules across bids
    included); M7: its price is on the right side of the forecast."""
    groups: dict[tuple[str, datetime | None], list[int]] = defaultdict(list)
    for index, bid in enumerate(bids):
        product = product_of(registry, product_ids_of(bid)[0])
        gate = product.gate_closure if product is not None else None
        groups[(product_ids_of(bid)[0].split(":", 1)[0], gate)].append(index)
    for (country, gate), indices in groups.items():
        _validate_group(plan, bids, indices, country, gate, registry, findings)
    by_id = {h.product.product_id: h for h in held}
    for index, bid in enumerate(bids):
        _bid_price(index, bid, by_id, plan, registry, findings)


def _validate_group(
    plan: PlanData,
    bids: Sequence[Bid],
    indices: list[int],
    country: str,
    gate: datetime | None,
    registry: MarketRegistry,
    findings: Findings,
) -> None:
    try:
        plugin = registry.get(country)
    except (UnknownMarketCountryError, MarketPluginError) as exc:
        for index in indices:
            _bid_violation(plan, index, bids[index], [f"no market plugin: {exc}"], findings)
        return
    now = gate - GATE_MARGIN if gate is not None else plan.quarter_hours[0].to_pydatetime()
    found = plugin.validate_all([bids[i] for i in indices], now=now, positions=indices)
    for index, broken in zip(indices, found, strict=True):
        if broken:
            messages = [
                f"{v.rule}: {v.field}={v.value}, limit {v.limit}: {v.message}" for v in broken
            ]
            _bid_violation(plan, index, bids[index], messages, findings)


def _bid_violation(
    plan: PlanData, index: int, bid: Bid, messages: list[str], findings: Findings
) -> None:
    product_id = product_ids_of(bid)[0]
    findings.add(
        rules.M6,
        product_id,
        float(len(messages)),
        "rules",
        f"bids[{index}]: " + "; ".join(messages),
        at=start_of(plan, product_id),
    )


def _bid_price(
    index: int,
    bid: Bid,
    positions: Mapping[str, Held],
    plan: PlanData,
    registry: MarketRegistry,
    findings: Findings,
) -> None:
    """M7 for one bid: a capacity offer at most the forecast; an energy sale's limit at
    most, a purchase's at least the forecast. Curves and balancing energy bids state their
    own prices per volume and are not compared."""
    if isinstance(bid, BalancingCapacityBid):
        checks = [(bid.product_id, 1.0, bid.capacity_price_eur_per_mw_h, "EUR/MW/h")]
    elif isinstance(bid, SingleBid):
        checks = [(bid.product_id, bid.volume_mw, bid.price_eur_per_mwh, "EUR/MWh")]
    elif isinstance(bid, BlockBid):
        checks = [
            (pid, volume, bid.price_eur_per_mwh, "EUR/MWh")
            for pid, volume in zip(bid.product_ids, bid.volumes_mw, strict=False)
        ]
    else:
        return
    for product_id, volume, price, unit in checks:
        forecast = _forecast(product_id, positions, plan, registry)
        if forecast is None or abs(volume) <= TOLERANCE:
            continue
        selling = volume > 0
        excess = price - forecast if selling else forecast - price
        if excess > TOLERANCE:
            side = "offers" if selling else "buys"
            bound = "at most" if selling else "at least"
            findings.add(
                rules.M7,
                product_id,
                excess,
                unit,
                f"bids[{index}] {side} at {price:g} {unit}; {bound} the forecast "
                f"{forecast:.6g} {unit}",
                at=start_of(plan, product_id),
            )


def _forecast(
    product_id: str, positions: Mapping[str, Held], plan: PlanData, registry: MarketRegistry
) -> float | None:
    """The forecast a bid on `product_id` was derived from, if the plan has its prices."""
    held = positions.get(product_id)
    if held is not None:
        return held.forecast()
    product = product_of(registry, product_id)
    if product is None or product.market not in PRICE_TABLES:
        return None
    table = plan.inputs.prices.get(PRICE_TABLES[product.market], {})
    mask = _delivery(plan, product)
    for key in price_keys(product):
        if key in table and mask.any():
            if product.kind is ProductKind.BALANCING_CAPACITY:
                return float(table[key][int(np.argmax(mask))])
            return float(table[key][mask].mean())
    return None
