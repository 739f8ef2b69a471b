"""Check one bid against the rules of its products; report every broken rule at once.

Used through `MarketPlugin.validate`. Numbers are compared exactly in decimal (a price of
12.34 is on a 0.01 tick), so a bid one tick or one step past a bound always fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation, localcontext
from itertools import pairwise

from markets.bids import (
    BalancingCapacityBid,
    BalancingEnergyBid,
    Bid,
    BlockBid,
    CurveBid,
    SingleBid,
    product_ids_of,
)
from markets.calendar import iso_z, local_label, to_utc
from markets.products import OrderType, Product
from markets.violations import Violation
from regulatory.rules import Confidence

ProductLookup = Callable[[str], Product | None]
EnergyLookup = Callable[[Product], Product | None]


def _decimal(value: float | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def on_grid(value: float | Decimal, step: float) -> bool:
    """Whether `value` is a whole multiple of `step`, compared in decimal."""
    with localcontext() as exact:
        exact.prec = 400  # enough digits for any float over any positive step
        try:
            return _decimal(value) % _decimal(step) == 0
        except InvalidOperation:
            return False


def _fmt(value: float) -> str:
    """A number as written, without float noise or a trailing ``.0``: 4000.001, 1, -0.5."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


_DEFINED_BY: dict[str, tuple[str, ...]] = {
    "gate_closure": ("gate_closure", "sessions", "local_gate_closure"),
    "gate_opening": ("gate_opening", "sessions", "contracts"),
    "curve_points_max": ("curve_points_max",),
    "block_contiguous": ("sessions",),
    "block_profile": ("order_types",),
    "block_direction": ("order_types",),
    "curve_price_order": ("order_types",),
    "curve_monotonic": ("order_types",),
}
"""Checks whose limit comes from a differently named parameter: where to find its source."""


@dataclass(frozen=True)
class _EngineDefault:
    """The engine's own limit where a plugin declares no rule: no market source, no date."""

    source: str
    confidence: Confidence = Confidence.GENERAL


_DEFAULTS: dict[str, _EngineDefault] = {
    name: _EngineDefault(
        f"vpp-engine default: the plugin declares no {name} rule for this market, and what a "
        "market has not declared allowed is refused (an engine default, not a dated market "
        "rule)"
    )
    for name in ("energy_price_attachable", "indivisible_allowed")
}
"""Where a refusal comes from when the plugin's data is silent on an optional rule."""

SANITY_MAX_MW = 10_000.0
"""The engine-wide fat-finger bound on any one bid's volume [MW]: an eighth of the German
peak load, far above anything a VPP offers in one order, and finite whatever a market
publishes (most exchanges publish no maximum order size; `volume_max_mw` is then None)."""

_DEFAULTS["volume_sanity_max_mw"] = _EngineDefault(
    "vpp-engine fat-finger guard (engine-wide, not a market rule)"
)


class _Checker:
    """Collects the violations of one bid against one product's rules."""

    def __init__(self, product: Product) -> None:
        self.product = product
        self.found: list[Violation] = []

    def fail(self, name: str, field: str, limit: str, value: str, message: str) -> None:
        refs = self.product.rules
        ref = next((refs[r] for r in _DEFINED_BY.get(name, (name,)) if r in refs), None)
        default = _DEFAULTS.get(name) if ref is None else None
        cited = ref or default
        self.found.append(
            Violation(
                rule=f"{self.product.market}.{name}",
                field=field,
                limit=limit,
                value=value,
                message=message,
                product_id=self.product.product_id,
                source=cited.source if cited else None,
                valid_from=ref.valid_from if ref else None,
                confidence=cited.confidence if cited else None,
                rule_id=ref.rule_id if ref else None,
            )
        )

    def order_type(self, bid: Bid) -> bool:
        allowed = self.product.order_types
        if OrderType(bid.type) in allowed:
            return True
        names = ", ".join(t.value for t in allowed)
        self.fail(
            "order_types",
            "type",
            names,
            bid.type,
            f"{self.product.market} accepts {names} bids, not {bid.type}",
        )
        return False

    def gates(self, now: datetime, *, cross_border: bool = False) -> None:
        p = self.product
        if p.gate_opening is not None and now < p.gate_opening:
            self.fail(
                "gate_opening",
                "now",
                f"{iso_z(p.gate_opening)} ({local_label(p.gate_opening, p.timezone)})",
                iso_z(now),
                "too early: the gate has not opened yet",
            )
        if now >= p.gate_closure:
            self.fail(
                "gate_closure",
                "now",
                f"{iso_z(p.gate_closure)} ({local_label(p.gate_closure, p.timezone)})",
                iso_z(now),
                f"too late: the gate closed ({p.gate_closure_rule})",
            )
        elif (
            cross_border
            and p.cross_border_gate_closure is not None
            and now >= p.cross_border_gate_closure
        ):
            gc = p.cross_border_gate_closure
            self.fail(
                "cross_border_gate_closure",
                "now",
                f"{iso_z(gc)} ({local_label(gc, p.timezone)})",
                iso_z(now),
                "too late for cross-border matching; the bid can still go in for local "
                "matching only (cross_border=false)",
            )

    def price(self, field: str, value: float, *, quoted: bool = False) -> None:
        """Price bounds and tick. `quoted`: a capacity price in EUR/MW/h, checked in the
        unit the exchange quotes (`Product.quoted_price`: per block where it says so)."""
        p = self.product
        unit = p.price_unit
        shown = _fmt(value)
        if quoted and p.price_per_block:
            exact = p.quoted_price(value)
            value = float(exact)
            shown = f"{_fmt(value)} {unit} (= {shown} EUR/MW/h x {_fmt(p.block_hours)} h)"
            on_tick = on_grid(exact, p.price_tick)
        else:
            on_tick = on_grid(value, p.price_tick)
        if p.price_min is not None and value < p.price_min:
            self.fail(
                "price_min",
                field,
                f">= {_fmt(p.price_min)} {unit}",
                shown,
                "price below the market's minimum",
            )
        if p.price_max is not None and value > p.price_max:
            self.fail(
                "price_max",
                field,
                f"<= {_fmt(p.price_max)} {unit}",
                shown,
                "price above the market's maximum",
            )
        if not on_tick:
            self.fail(
                "price_tick",
                field,
                f"multiple of {_fmt(p.price_tick)} {unit}",
                shown,
                "price is not on the market's tick",
            )

    def volume(
        self, field: str, value: float, *, zero_allowed: bool = False, signed: bool = True
    ) -> None:
        """Volume rules; `signed` volumes (energy) count by size, others must be positive."""
        p = self.product
        size = abs(value) if signed else value
        if not (zero_allowed and size == 0) and size < p.volume_min_mw:
            self.fail(
                "volume_min_mw",
                field,
                f">= {_fmt(p.volume_min_mw)} MW",
                _fmt(value),
                "volume below the market's minimum bid",
            )
        if abs(value) > SANITY_MAX_MW:
            self.fail(
                "volume_sanity_max_mw",
                field,
                f"<= {_fmt(SANITY_MAX_MW)} MW in size (engine-wide fat-finger guard)",
                _fmt(value),
                "volume beyond any one bid a VPP can make; check the unit (MW, not kW)",
            )
        if p.volume_max_mw is not None and size > p.volume_max_mw:
            self.fail(
                "volume_max_mw",
                field,
                f"<= {_fmt(p.volume_max_mw)} MW",
                _fmt(value),
                "volume above the market's maximum bid",
            )
        if not on_grid(value, p.volume_step_mw):
            self.fail(
                "volume_step_mw",
                field,
                f"multiple of {_fmt(p.volume_step_mw)} MW",
                _fmt(value),
                "volume is not a whole number of volume steps",
            )


def validate_bid(
    bid: Bid, lookup: ProductLookup, now: datetime, energy: EnergyLookup | None = None
) -> list[Violation]:
    """Every rule `bid` breaks if submitted at `now` (timezone-aware).

    `energy` finds the balancing-energy product an energy price attached to a capacity bid
    is carried into; that price is held to the energy market's bounds and tick.
    """
    now = to_utc(now)
    ids = product_ids_of(bid)
    products = [lookup(pid) for pid in ids]
    missing = [
        Violation(
            rule="product.exists",
            field="product_ids" if isinstance(bid, BlockBid) else "product_id",
            limit="a product offered by the market on its delivery day",
            value=pid,
            message="no such product: check the id against `vpp markets products`",
            product_id=pid,
        )
        for pid, product in zip(ids, products, strict=True)
        if product is None
    ]
    if missing:
        return missing
    first = products[0]
    assert first is not None
    check = _Checker(first)
    if not check.order_type(bid):
        return check.found
    match bid:
        case SingleBid():
            check.gates(now, cross_border=bid.cross_border)
            check.volume("volume_mw", bid.volume_mw)
            check.price("price_eur_per_mwh", bid.price_eur_per_mwh)
        case CurveBid():
            check.gates(now)
            _check_curve(check, bid)
        case BlockBid():
            check.gates(now)
            _check_block(check, bid, [p for p in products if p is not None])
        case BalancingCapacityBid():
            check.gates(now)
            _check_direction(check, bid.direction.value)
            check.volume("capacity_mw", bid.capacity_mw, signed=False)
            check.price("capacity_price_eur_per_mw_h", bid.capacity_price_eur_per_mw_h, quoted=True)
            attached = bid.energy_price_eur_per_mwh
            if attached is not None and first.energy_price_attachable and energy is not None:
                energy_product = energy(first)
                if energy_product is not None:
                    held = _Checker(energy_product)
                    held.price("energy_price_eur_per_mwh", attached)
                    check.found.extend(held.found)
            if bid.energy_price_eur_per_mwh is not None and not first.energy_price_attachable:
                check.fail(
                    "energy_price_attachable",
                    "energy_price_eur_per_mwh",
                    "not accepted in this market",
                    _fmt(bid.energy_price_eur_per_mwh),
                    "this market does not carry an energy price with a capacity bid",
                )
            if not bid.divisible and not first.indivisible_allowed:
                check.fail(
                    "indivisible_allowed",
                    "divisible",
                    "divisible bids only",
                    "false",
                    "this market does not accept indivisible capacity bids",
                )
        case BalancingEnergyBid():
            check.gates(now)
            _check_direction(check, bid.direction.value)
            check.volume("volume_mw", bid.volume_mw, signed=False)
            check.price("energy_price_eur_per_mwh", bid.energy_price_eur_per_mwh)
    return check.found


def _check_direction(check: _Checker, direction: str) -> None:
    expected = check.product.direction
    if expected is not None and direction != expected.value:
        check.fail(
            "directions",
            "direction",
            expected.value,
            direction,
            f"product {check.product.product_id} is for direction {expected.value}",
        )


def _check_curve(check: _Checker, bid: CurveBid) -> None:
    least = check.product.curve_points_min
    if least is not None and len(bid.points) < least:
        check.fail(
            "curve_points_min",
            "points",
            f">= {least} points",
            str(len(bid.points)),
            "curve has too few price-volume points (a single price is a `single` bid)",
        )
    limit = check.product.curve_points_max
    if limit is not None and len(bid.points) > limit:
        check.fail(
            "curve_points_max",
            "points",
            f"<= {limit} points",
            str(len(bid.points)),
            "curve has too many price-volume points",
        )
    for i, point in enumerate(bid.points):
        check.price(f"points[{i}].price_eur_per_mwh", point.price_eur_per_mwh)
        check.volume(f"points[{i}].volume_mw", point.volume_mw, zero_allowed=True)
    if all(point.volume_mw == 0 for point in bid.points):
        check.fail(
            "volume_min_mw",
            "points",
            f">= {_fmt(check.product.volume_min_mw)} MW at some price",
            "0",
            "the curve offers no volume at any price",
        )
    for i, (low, high) in enumerate(pairwise(bid.points)):
        if high.price_eur_per_mwh <= low.price_eur_per_mwh:
            check.fail(
                "curve_price_order",
                f"points[{i + 1}].price_eur_per_mwh",
                f"> {_fmt(low.price_eur_per_mwh)} (the previous point's price)",
                _fmt(high.price_eur_per_mwh),
                "curve prices must rise strictly from point to point",
            )
        elif high.volume_mw < low.volume_mw:
            check.fail(
                "curve_monotonic",
                f"points[{i + 1}].volume_mw",
                f">= {_fmt(low.volume_mw)} MW (the previous point's volume)",
                _fmt(high.volume_mw),
                "net volume offered must not fall as the price rises",
            )


def _check_block(check: _Checker, bid: BlockBid, products: list[Product]) -> None:
    if len(bid.volumes_mw) != len(products):
        check.fail(
            "block_profile",
            "volumes_mw",
            f"{len(products)} volumes, one per product",
            f"{len(bid.volumes_mw)} volumes",
            "a block needs one volume per product",
        )
    first = products[0]
    for i, (earlier, later) in enumerate(pairwise(products)):
        same_auction = (later.market, later.family, later.delivery_day, later.gate_closure) == (
            earlier.market,
            earlier.family,
            earlier.delivery_day,
            earlier.gate_closure,
        )
        if not same_auction or later.delivery_start != earlier.delivery_end:
            check.fail(
                "block_contiguous",
                f"product_ids[{i + 1}]",
                f"the product starting {iso_z(earlier.delivery_end)} in {first.family}",
                later.product_id,
                "block products must be consecutive MTUs of one auction and delivery day",
            )
    signs = {v > 0 for v in bid.volumes_mw if v != 0}
    if len(signs) > 1:
        check.fail(
            "block_direction",
            "volumes_mw",
            "all volumes sell (> 0) or all buy (< 0)",
            ", ".join(_fmt(v) for v in bid.volumes_mw),
            "a block either sells or buys in every MTU",
        )
    for i, volume in enumerate(bid.volumes_mw):
        check.volume(f"volumes_mw[{i}]", volume, zero_allowed=True)
    if all(v == 0 for v in bid.volumes_mw):
        check.fail(
            "volume_min_mw",
            "volumes_mw",
            f">= {_fmt(first.volume_min_mw)} MW in some MTU",
            "0",
            "the block offers no volume",
        )
    check.price("price_eur_per_mwh", bid.price_eur_per_mwh)


def check_across_bids(
    bids: list[Bid],
    lookup: ProductLookup,
    valid: list[bool],
    positions: Sequence[int] | None = None,
) -> dict[int, list[Violation]]:
    """Rules that look at several bids of one submission; violations by index into `bids`.

    `positions`: each bid's index in the whole submission, where `bids` are only some of
    it (one country's); a message naming another bid uses it (default: index in `bids`).

    - `further_bid_min_mw`: per product and direction at most one bid may be below the
      minimum for further bids (the first bid's smaller minimum applies to one bid only),
      whatever the order; only bids valid on their own count.
    - `linked_to`: a block's parent must be another block of the same submission.
    """
    found: dict[int, list[Violation]] = {}
    small: dict[str, list[tuple[int, float, Product]]] = {}
    for index, bid in enumerate(bids):
        if not (valid[index] and isinstance(bid, BalancingCapacityBid)):
            continue
        product = lookup(bid.product_id)
        if product is None or product.further_bid_min_mw is None:
            continue
        if bid.capacity_mw < product.further_bid_min_mw:
            entry = (index, bid.capacity_mw, product)
            small.setdefault(bid.product_id, []).append(entry)
    for entries in small.values():
        first = entries[0][0]
        for index, capacity_mw, product in entries[1:]:
            check = _Checker(product)
            check.fail(
                "further_bid_min_mw",
                "capacity_mw",
                f">= {_fmt(product.further_bid_min_mw or 0)} MW for all but one bid per product",
                _fmt(capacity_mw),
                f"bid #{first if positions is None else positions[first]} already uses "
                "the smaller minimum on this product",
            )
            found.setdefault(index, []).extend(check.found)
    blocks = {b.bid_id for b in bids if isinstance(b, BlockBid) and b.bid_id}
    for index, bid in enumerate(bids):
        if not isinstance(bid, BlockBid) or bid.linked_to is None:
            continue
        if bid.linked_to == bid.bid_id or bid.linked_to not in blocks:
            found.setdefault(index, []).append(
                Violation(
                    rule="block.linked_to",
                    field="linked_to",
                    limit="the bid_id of another block in the same submission",
                    value=bid.linked_to,
                    message="a linked block needs its parent block in the same submission",
                    product_id=bid.product_ids[0],
                )
            )
    return found
