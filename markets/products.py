"""The concrete things one can bid for: `Product`, and the vocabulary that describes it.

A market's rules (see `markets.kinds`) expand, for one delivery day, into products: one per
market time unit, contract, or balancing block and direction. A product carries the rule
values in force that day, already resolved, together with references to their sources.
Products are keyed by their UTC delivery start; the local label is for display only.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, localcontext
from enum import StrEnum
from functools import cached_property
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from markets.calendar import iso_z, local_label
from regulatory.assets.base import BalancingProduct
from regulatory.rules import Confidence
from regulatory.treatment import Treatment

BLOCK_PRICE_RESOLUTION = Decimal("1e-9")
"""EUR/MW: a per-block capacity price computed from a bid's EUR/MW/h float is taken to
this resolution, far below any market's tick and far above a float's noise."""


class MarketId(StrEnum):
    """The markets a plugin may declare."""

    DAY_AHEAD = "day_ahead"
    INTRADAY_AUCTION = "intraday_auction"
    INTRADAY_CONTINUOUS = "intraday_continuous"
    AFRR_CAPACITY = "afrr_capacity"
    AFRR_ENERGY = "afrr_energy"
    FCR_CAPACITY = "fcr_capacity"


class ProductKind(StrEnum):
    """The generic product kinds; each market is one of them with its own parameters."""

    AUCTION = "auction"
    CONTINUOUS = "continuous"
    BALANCING_CAPACITY = "balancing_capacity"
    BALANCING_ENERGY = "balancing_energy"


class Direction(StrEnum):
    """Direction of a balancing product: upward (POS), downward (NEG) or both (SYMMETRIC)."""

    POS = "pos"
    NEG = "neg"
    SYMMETRIC = "symmetric"


class Pricing(StrEnum):
    """How accepted bids are paid."""

    PAY_AS_BID = "pay_as_bid"
    PAY_AS_CLEARED = "pay_as_cleared"


class OrderType(StrEnum):
    """Bid shapes; a market accepts some of them (see `markets.bids`)."""

    SINGLE = "single"
    CURVE = "curve"
    BLOCK = "block"
    BALANCING_CAPACITY = "balancing_capacity"
    BALANCING_ENERGY = "balancing_energy"


class Reserve(StrEnum):
    """The balancing reserve a product belongs to, for prequalification."""

    FCR = "fcr"
    AFRR = "afrr"


def prequalification_for(reserve: Reserve, direction: Direction) -> BalancingProduct:
    """The regulatory prequalification an asset needs for `reserve` in `direction`."""
    if reserve is Reserve.FCR:
        return "fcr"
    return "afrr_neg" if direction is Direction.NEG else "afrr_pos"


class Eligibility(BaseModel):
    """Which assets may take part in a product, judged from their regulatory treatment.

    Energy products admit any asset whose site is in the product's bidding zone. Balancing
    products also need the asset to be prequalified (by its country's connecting TSO) for
    `prequalification`, and offer at most its prequalified MW.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str
    bidding_zone: str
    prequalification: BalancingProduct | None = None

    def admits(self, treatment: Treatment, *, bidding_zone: str) -> bool:
        """Whether an asset with `treatment`, sited in `bidding_zone`, may take part."""
        if bidding_zone != self.bidding_zone:
            return False
        if self.prequalification is None:
            return True
        return treatment.country == self.country and self.max_mw(treatment) > 0

    def max_mw(self, treatment: Treatment) -> float | None:
        """MW the asset may offer [MW]; None when the product sets no prequalified limit."""
        if self.prequalification is None:
            return None
        if treatment.country != self.country:
            return 0.0
        return treatment.prequalified_mw(self.prequalification)

    def describe(self) -> str:
        """One line for people."""
        if self.prequalification is None:
            return f"any asset in bidding zone {self.bidding_zone}"
        return (
            f"assets in {self.bidding_zone} prequalified for {self.prequalification} "
            f"by a {self.country} TSO, up to their prequalified MW"
        )


class RuleRef(BaseModel):
    """Where a resolved product parameter came from: the rule record and its source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str
    valid_from: date
    source: str
    confidence: Confidence
    note: str | None = None
    rule_id: str = Field(description="id of the rule record (markets.rules.rule_id)")
    recorded_at: date | None = None
    reference: str | None = None
    review_by: date | None = None


class Product(BaseModel):
    """One tradable product of one delivery day, with every rule value resolved.

    Times are UTC. Volumes in MW (a bid's sign says sell/buy for energy products); prices
    in `price_unit`: EUR/MWh for energy, EUR/MW/h for balancing capacity.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: str
    country: str
    market: MarketId
    kind: ProductKind
    family: str = Field(
        description="products of one family tile their delivery window: a session (SDAC, "
        "IDA1), a contract length (PT15M) or a block grid (4h)"
    )
    direction: Direction | None = None
    bidding_zone: str
    timezone: str
    delivery_day: date = Field(description="delivery day in the market's time zone")
    delivery_start: AwareDatetime
    delivery_end: AwareDatetime
    label: str = Field(description="market-local label, for display only")
    gate_opening: AwareDatetime | None = None
    gate_closure: AwareDatetime = Field(description="last instant a bid is accepted (exclusive)")
    gate_closure_rule: str
    cross_border_gate_closure: AwareDatetime | None = Field(
        default=None, description="continuous intraday: last instant for cross-border matching"
    )
    volume_min_mw: float
    volume_step_mw: float
    volume_max_mw: float | None = None
    further_bid_min_mw: float | None = Field(
        default=None, description="minimum of each bid after the first on the same product [MW]"
    )
    price_min: float | None
    price_max: float | None
    price_tick: float
    price_unit: str
    pricing: Pricing
    order_types: tuple[OrderType, ...]
    curve_points_min: int | None = None
    curve_points_max: int | None = None
    indivisible_allowed: bool = False
    energy_price_attachable: bool = False
    price_per_block: bool = Field(
        default=False,
        description="balancing capacity: the exchange quotes EUR/MW for the whole block; "
        "price_min, price_max and price_tick are in that unit, bids still carry EUR/MW/h",
    )
    eligibility: Eligibility
    rules: dict[str, RuleRef] = Field(description="each resolved parameter and its source")

    @property
    def duration_minutes(self) -> int:
        """Delivery length in minutes."""
        return int((self.delivery_end - self.delivery_start).total_seconds() // 60)

    @property
    def block_hours(self) -> float:
        """Delivery length in hours."""
        return self.duration_minutes / 60

    def quoted_price(self, price_eur_per_mw_h: float) -> Decimal:
        """A bid's EUR/MW/h price in the unit the exchange quotes and ticks (`price_unit`).

        Exact decimal arithmetic on the number as written: 0.1625 EUR/MW/h over a 4-hour
        block is 0.65 EUR/MW, not 0.6500000000000001. A per-block price is taken to the
        nano-euro (`BLOCK_PRICE_RESOLUTION`): over a 3-hour block (spring-forward day)
        15.05 EUR/MW is 5.01666... EUR/MW/h, which a float holds only to about 1e-15, so
        the product back is 15.050000000000001 until it is taken to that resolution.
        """
        value = Decimal(repr(float(price_eur_per_mw_h)))
        if not self.price_per_block:
            return value
        with localcontext() as exact:
            exact.prec = 400  # a price of 1e27 EUR/MW/h still has its nano-euros
            per_block = value * Decimal(self.duration_minutes) / Decimal(60)
            return per_block.quantize(BLOCK_PRICE_RESOLUTION).normalize()

    def hourly_price(self, quoted: Decimal) -> float:
        """The EUR/MW/h price a bid carries for a price `quoted` in the exchange's unit."""
        if not self.price_per_block:
            return float(quoted)
        return float(quoted * Decimal(60) / Decimal(self.duration_minutes))

    @cached_property
    def valid_from(self) -> date:
        """The latest `valid_from` among the rules that define this product."""
        return max(ref.valid_from for ref in self.rules.values())

    @cached_property
    def source(self) -> str:
        """The distinct sources of this product's rules, joined."""
        return "; ".join(dict.fromkeys(ref.source for ref in self.rules.values()))

    @cached_property
    def rule_ids(self) -> tuple[str, ...]:
        """Ids of the rule records this product was resolved from, sorted."""
        return tuple(sorted({ref.rule_id for ref in self.rules.values()}))

    @cached_property
    def uncertain_rules(self) -> tuple[str, ...]:
        """Names of the parameters whose value is uncertain."""
        return tuple(
            name for name, ref in self.rules.items() if ref.confidence is Confidence.UNCERTAIN
        )

    def as_record(self) -> dict[str, Any]:
        """A JSON-ready description; times in ISO 8601 UTC ending in ``Z``. ``source`` and
        ``valid_from`` summarise; ``rules`` gives each parameter's own record (id, valid
        from, recorded at, source, reference, confidence, review date)."""
        return {
            "product_id": self.product_id,
            "country": self.country,
            "market": self.market.value,
            "kind": self.kind.value,
            "family": self.family,
            "direction": None if self.direction is None else self.direction.value,
            "bidding_zone": self.bidding_zone,
            "delivery_start": iso_z(self.delivery_start),
            "delivery_end": iso_z(self.delivery_end),
            "label": self.label,
            "gate_opening": None if self.gate_opening is None else iso_z(self.gate_opening),
            "gate_closure": iso_z(self.gate_closure),
            "gate_closure_local": local_label(self.gate_closure, self.timezone),
            "cross_border_gate_closure": (
                None
                if self.cross_border_gate_closure is None
                else iso_z(self.cross_border_gate_closure)
            ),
            "volume_min_mw": self.volume_min_mw,
            "volume_step_mw": self.volume_step_mw,
            "volume_max_mw": self.volume_max_mw,
            "price_min": self.price_min,
            "price_max": self.price_max,
            "price_tick": self.price_tick,
            "price_unit": self.price_unit,
            "price_per_block": self.price_per_block,
            "pricing": self.pricing.value,
            "order_types": [t.value for t in self.order_types],
            "source": self.source,
            "valid_from": self.valid_from.isoformat(),
            "uncertain_rules": list(self.uncertain_rules),
            "rule_ids": list(self.rule_ids),
            "rules": {
                name: {
                    "rule_id": ref.rule_id,
                    "value": ref.value,
                    "valid_from": ref.valid_from.isoformat(),
                    "recorded_at": None if ref.recorded_at is None else ref.recorded_at.isoformat(),
                    "source": ref.source,
                    "reference": ref.reference,
                    "confidence": ref.confidence.value,
                    "review_by": None if ref.review_by is None else ref.review_by.isoformat(),
                }
                for name, ref in sorted(self.rules.items())
            },
        }

    def is_open(self, now: datetime) -> bool:
        """Whether a bid submitted at `now` is inside the gate."""
        opened = self.gate_opening is None or now >= self.gate_opening
        return opened and now < self.gate_closure
