"""The four generic product kinds, each a parameterised market, not a class per country.

- `Auction`: day-ahead and intraday auctions; one or more sessions, each with its gate
  closure and delivery window, cut into market time units (MTU).
- `Continuous`: continuous intraday; contracts of 15, 30 or 60 minutes, each with its gate
  opening, and cross-border and local gate closures before delivery.
- `BalancingCapacity`: aFRR and FCR capacity; blocks of local wall-clock hours, per
  direction (POS/NEG) or symmetric.
- `BalancingEnergy`: aFRR energy bids per quarter hour and direction.

Every parameter is a history of dated, sourced `Rule`s (see `markets.rules`), so one market
definition answers for any delivery day: `products(day)` resolves the values in force that
day into `Product`s. A market is offered on a day only if `in_operation` says so.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import pairwise
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from markets.calendar import (
    day_end,
    day_start,
    local_boundaries,
    local_label,
    local_to_utc,
    mtu_starts,
)
from markets.gates import DailyGate, Gate, OffsetGate
from markets.products import (
    Direction,
    Eligibility,
    MarketId,
    OrderType,
    Pricing,
    Product,
    ProductKind,
    Reserve,
    RuleRef,
    prequalification_for,
)
from markets.rules import MissingRuleError, Rule, edition, in_force, with_ids

ENERGY_PRICE_UNIT = "EUR/MWh"
CAPACITY_PRICE_UNIT = "EUR/MW/h"
BLOCK_PRICE_UNIT = "EUR/MW"
"""A capacity price per MW for a whole block, as some exchanges quote it."""


class AuctionSession(BaseModel):
    """One auction of a market: when it opens and closes, and which hours it delivers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")
    gate_opening: DailyGate | None = None
    gate_closure: DailyGate
    delivery_from: time = Field(default=time(0), description="local start of delivery")
    delivery_to: time | None = Field(default=None, description="local end; None = end of day")


class ContinuousContract(BaseModel):
    """A contract length traded continuously, and when trading in it opens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    minutes: int = Field(gt=0)
    gate_opening: DailyGate


@dataclass(frozen=True, slots=True)
class _Slot:
    """A product before its common parameters are attached."""

    family: str
    direction: Direction | None
    start: datetime
    end: datetime
    gate_opening: datetime | None
    gate_closure: datetime
    gate_closure_rule: str
    cross_border_gate_closure: datetime | None = None


class _Resolver:
    """Looks up rule values in force on one day and remembers where each came from."""

    def __init__(self, spec: MarketSpec, day: date) -> None:
        self.spec = spec
        self.day = day
        self.refs: dict[str, RuleRef] = {}

    def get(self, name: str) -> Any:
        history: tuple[Rule[Any], ...] = getattr(self.spec, name)
        if not history:
            return None
        entry = in_force(history, self.day)
        if entry is None:
            raise MissingRuleError(
                f"{self.spec.country} {self.spec.market}: no {name} rule is in force on "
                f"{self.day.isoformat()} (earliest from {history[0].valid_from.isoformat()})"
            )
        assert entry.id is not None  # MarketSpec fills in every record's id
        self.refs[name] = RuleRef(
            value=describe_value(entry.value),
            valid_from=entry.valid_from,
            source=entry.source,
            confidence=entry.confidence,
            note=entry.note,
            rule_id=entry.id,
            recorded_at=entry.recorded_at,
            reference=entry.reference,
            review_by=entry.review_by,
        )
        return entry.value


def describe_value(value: object) -> str:
    """A rule value for people: gates and sessions in words, enums by value."""
    if isinstance(value, tuple):
        return ", ".join(describe_value(v) for v in value)
    if isinstance(value, (DailyGate, OffsetGate)):
        return value.describe()
    if isinstance(value, AuctionSession):
        until = "24:00" if value.delivery_to is None else value.delivery_to.strftime("%H:%M")
        return (
            f"{value.name} closes {value.gate_closure.describe()}, delivers "
            f"{value.delivery_from.strftime('%H:%M')}-{until}"
        )
    if isinstance(value, ContinuousContract):
        return f"{value.minutes} min from {value.gate_opening.describe()}"
    return str(value.value if hasattr(value, "value") else value)


class MarketSpec(BaseModel, ABC):
    """Parameters shared by every kind. Each is a history of dated, sourced rules.

    A kind says how its rules cut a day into products (`_slots`) and which windows those
    products must tile (`_windows`); both are abstract here.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind_id: ClassVar[ProductKind]
    price_unit: ClassVar[str] = ENERGY_PRICE_UNIT

    market: MarketId
    country: str = Field(pattern=r"^[A-Z]{2}$")
    bidding_zone: str
    timezone: str = Field(description="IANA zone of the delivery day and gate times")
    operator: str = Field(description="who runs the market, e.g. 'SDAC (EPEX SPOT, Nord Pool)'")
    in_operation: tuple[Rule[bool], ...] = Field(min_length=1)
    volume_min_mw: tuple[Rule[float], ...] = Field(min_length=1)
    volume_step_mw: tuple[Rule[float], ...] = Field(min_length=1)
    volume_max_mw: tuple[Rule[float], ...] = ()
    price_min: tuple[Rule[float | None], ...] = Field(min_length=1)
    price_max: tuple[Rule[float | None], ...] = Field(min_length=1)
    price_tick: tuple[Rule[float], ...] = Field(min_length=1)
    pricing: tuple[Rule[Pricing], ...] = Field(min_length=1)
    order_types: tuple[Rule[tuple[OrderType, ...]], ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _identify_records(cls, data: Any) -> Any:
        """Give every rule record its id (`markets.rules.rule_id`) and mark the records a
        correction supersedes; a ``supersedes`` naming no record of the history is refused."""
        if not isinstance(data, dict) or "country" not in data or "market" not in data:
            return data
        country, market = data["country"], getattr(data["market"], "value", data["market"])
        out = dict(data)
        for name, value in data.items():
            if (
                isinstance(value, tuple | list)
                and value
                and all(
                    isinstance(e, Rule) or (isinstance(e, dict) and "valid_from" in e)
                    for e in value
                )
            ):
                out[name] = with_ids(country, market, name, value)
        return out

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with `update` applied and validated: its rule records get their ids."""
        return type(self).model_validate({**dict(self), **(update or {})})

    def with_rules(self, **histories: tuple[Rule[Any], ...]) -> Self:
        """A copy with some parameters' histories replaced, validated like the original.

        For plugin data: ``sdac_day_ahead(...).with_rules(in_operation=(...,))`` for a
        country that joined later. Raises `pydantic.ValidationError` naming a bad field.
        """
        unknown = sorted(set(histories) - set(type(self).model_fields))
        if unknown:
            raise ValueError(f"{type(self).__name__} has no parameter(s) {', '.join(unknown)}")
        return type(self).model_validate({**dict(self), **histories})

    def offered_on(self, day: date) -> bool:
        """Whether the market runs for delivery day `day`."""
        entry = in_force(self.in_operation, day)
        return entry is not None and entry.value

    def histories(self) -> Iterator[tuple[str, tuple[Rule[Any], ...]]]:
        """Every rule history of this market (all records, superseded ones too), by name."""
        for name, value in self:
            if isinstance(value, tuple) and value and isinstance(value[0], Rule):
                yield name, value

    def rules_on(self, day: date, known_on: date | None = None) -> dict[str, Rule[Any]]:
        """Each parameter's record in force on delivery day `day` as known on `known_on`
        (None: today's belief); parameters without one that day are left out."""
        found = {}
        for name, history in self.histories():
            entry = in_force(history, day, known_on)
            if entry is not None:
                found[name] = entry
        return found

    def edition(self, known_on: date | None = None) -> dict[str, list[Rule[Any]]]:
        """Each parameter's records held on `known_on` (None: today), in valid-time order."""
        return {name: edition(history, known_on) for name, history in self.histories()}

    def products(self, day: date) -> list[Product]:
        """Every product of delivery day `day`, ordered by family, direction and start."""
        if not self.offered_on(day):
            return []
        rules = _Resolver(self, day)
        rules.get("in_operation")
        slots = self._slots(day, rules)
        common = {
            "country": self.country,
            "market": self.market,
            "kind": self.kind_id,
            "bidding_zone": self.bidding_zone,
            "timezone": self.timezone,
            "delivery_day": day,
            "volume_min_mw": rules.get("volume_min_mw"),
            "volume_step_mw": rules.get("volume_step_mw"),
            "volume_max_mw": rules.get("volume_max_mw"),
            "price_min": rules.get("price_min"),
            "price_max": rules.get("price_max"),
            "price_tick": rules.get("price_tick"),
            "price_unit": self.price_unit,
            "pricing": rules.get("pricing"),
            "order_types": rules.get("order_types"),
            **self._extra(rules),
        }
        refs = dict(rules.refs)
        eligibility = {d: self._eligibility(d) for d in {slot.direction for slot in slots}}
        products = []
        for slot in slots:
            parts = [self.country, self.market.value, slot.family]
            if slot.direction is not None:
                parts.append(slot.direction.value)
            parts.append(slot.start.strftime("%Y-%m-%dT%H:%MZ"))
            products.append(
                Product.model_construct(
                    product_id=":".join(parts),
                    family=slot.family,
                    direction=slot.direction,
                    delivery_start=slot.start,
                    delivery_end=slot.end,
                    label=_label(slot.start, slot.end, self.timezone),
                    gate_opening=slot.gate_opening,
                    gate_closure=slot.gate_closure,
                    gate_closure_rule=slot.gate_closure_rule,
                    cross_border_gate_closure=slot.cross_border_gate_closure,
                    eligibility=eligibility[slot.direction],
                    rules=refs,
                    **common,
                )
            )
        return products

    def expected_families(self, day: date) -> dict[tuple[str, Direction | None], Window]:
        """What the rules say `products(day)` must tile: (family, direction) -> window.

        Computed from the rules alone, independently of the product expansion, so that the
        conformance kit can compare the two.
        """
        if not self.offered_on(day):
            return {}
        rules = _Resolver(self, day)
        full_day = (day_start(day, self.timezone), day_end(day, self.timezone))
        directions = rules.get("directions") if "directions" in type(self).model_fields else None
        return {
            (family, direction): window
            for family, window in self._windows(day, rules, full_day).items()
            for direction in (directions or (None,))
        }

    @abstractmethod
    def _windows(self, day: date, rules: _Resolver, full_day: Window) -> dict[str, Window]:
        """Each product family's delivery window on `day`, from the rules alone."""

    def _eligibility(self, direction: Direction | None) -> Eligibility:
        return Eligibility(country=self.country, bidding_zone=self.bidding_zone)

    def _extra(self, rules: _Resolver) -> dict[str, Any]:
        return {}

    @abstractmethod
    def _slots(self, day: date, rules: _Resolver) -> list[_Slot]:
        """The products of `day` before their shared parameters are attached."""


Window = tuple[datetime, datetime]
"""A UTC interval [start, end)."""


def _label(start: datetime, end: datetime, timezone: str) -> str:
    first = local_label(start, timezone)
    last = local_label(end, timezone)
    return f"{first} to {last[11:]}" if first[:10] == last[:10] else f"{first} to {last}"


def _grid(
    day: date,
    timezone: str,
    minutes: int,
    window_from: time = time(0),
    window_to: time | None = None,
) -> list[tuple[datetime, datetime]]:
    starts = mtu_starts(day, timezone, minutes, window_from=window_from, window_to=window_to)
    end = day_end(day, timezone) if window_to is None else local_to_utc(day, window_to, timezone)
    return list(zip(starts, [*starts[1:], end], strict=True))


def _gate_at(gate: Gate | None, day: date, start: datetime, timezone: str) -> datetime | None:
    return None if gate is None else gate.at(day, start, timezone)


class Auction(MarketSpec):
    """Day-ahead and intraday auctions: sessions cut into MTUs, bids per MTU or as blocks."""

    kind_id: ClassVar[ProductKind] = ProductKind.AUCTION
    kind: Literal["auction"] = "auction"
    mtu_minutes: tuple[Rule[int], ...] = Field(min_length=1)
    sessions: tuple[Rule[tuple[AuctionSession, ...]], ...] = Field(min_length=1)
    curve_points_min: tuple[Rule[int], ...] = ()
    curve_points_max: tuple[Rule[int], ...] = ()

    def _extra(self, rules: _Resolver) -> dict[str, Any]:
        return {
            "curve_points_min": rules.get("curve_points_min"),
            "curve_points_max": rules.get("curve_points_max"),
        }

    def _windows(self, day: date, rules: _Resolver, full_day: Window) -> dict[str, Window]:
        return {
            s.name: (
                local_to_utc(day, s.delivery_from, self.timezone),
                full_day[1]
                if s.delivery_to is None
                else local_to_utc(day, s.delivery_to, self.timezone),
            )
            for s in rules.get("sessions")
        }

    def _slots(self, day: date, rules: _Resolver) -> list[_Slot]:
        mtu = rules.get("mtu_minutes")
        slots = []
        for session in rules.get("sessions"):
            for start, end in _grid(
                day, self.timezone, mtu, session.delivery_from, session.delivery_to
            ):
                slots.append(
                    _Slot(
                        family=session.name,
                        direction=None,
                        start=start,
                        end=end,
                        gate_opening=_gate_at(session.gate_opening, day, start, self.timezone),
                        gate_closure=session.gate_closure.at(day, start, self.timezone),
                        gate_closure_rule=f"{session.name}: {session.gate_closure.describe()}",
                    )
                )
        return slots


class Continuous(MarketSpec):
    """Continuous intraday: contracts traded until a cross-border and a local gate closure."""

    kind_id: ClassVar[ProductKind] = ProductKind.CONTINUOUS
    kind: Literal["continuous"] = "continuous"
    contracts: tuple[Rule[tuple[ContinuousContract, ...]], ...] = Field(min_length=1)
    cross_border_gate_closure: tuple[Rule[OffsetGate], ...] = Field(min_length=1)
    local_gate_closure: tuple[Rule[OffsetGate], ...] = Field(min_length=1)

    def _windows(self, day: date, rules: _Resolver, full_day: Window) -> dict[str, Window]:
        return {f"PT{c.minutes}M": full_day for c in rules.get("contracts")}

    def _slots(self, day: date, rules: _Resolver) -> list[_Slot]:
        cross_border: OffsetGate = rules.get("cross_border_gate_closure")
        local: OffsetGate = rules.get("local_gate_closure")
        slots = []
        for contract in rules.get("contracts"):
            for start, end in _grid(day, self.timezone, contract.minutes):
                slots.append(
                    _Slot(
                        family=f"PT{contract.minutes}M",
                        direction=None,
                        start=start,
                        end=end,
                        gate_opening=contract.gate_opening.at(day, start, self.timezone),
                        gate_closure=local.at(day, start, self.timezone),
                        gate_closure_rule=f"local: {local.describe()}",
                        cross_border_gate_closure=cross_border.at(day, start, self.timezone),
                    )
                )
        return slots


class _Balancing(MarketSpec):
    reserve: Reserve
    directions: tuple[Rule[tuple[Direction, ...]], ...] = Field(min_length=1)

    def _eligibility(self, direction: Direction | None) -> Eligibility:
        assert direction is not None
        return Eligibility(
            country=self.country,
            bidding_zone=self.bidding_zone,
            prequalification=prequalification_for(self.reserve, direction),
        )


class BalancingCapacity(_Balancing):
    """aFRR and FCR capacity: blocks of local hours, one product per block and direction.

    Bids carry capacity prices in EUR/MW/h. Where the exchange quotes a price per MW for
    the whole block (`price_per_block`), the price bounds and tick are in that unit
    (EUR/MW) and a bid's price is checked as its EUR/MW/h times the block's hours.
    """

    kind_id: ClassVar[ProductKind] = ProductKind.BALANCING_CAPACITY
    price_unit: ClassVar[str] = CAPACITY_PRICE_UNIT
    kind: Literal["balancing_capacity"] = "balancing_capacity"
    block_hours: tuple[Rule[int], ...] = Field(min_length=1)
    gate_opening: tuple[Rule[DailyGate | None], ...] = ()
    gate_closure: tuple[Rule[DailyGate], ...] = Field(min_length=1)
    further_bid_min_mw: tuple[Rule[float | None], ...] = ()
    indivisible_allowed: tuple[Rule[bool], ...] = ()
    energy_price_attachable: tuple[Rule[bool], ...] = ()
    price_per_block: tuple[Rule[bool], ...] = ()
    """Whether the exchange quotes capacity prices per MW for the whole block (EUR/MW)
    rather than per MW and hour; unset = per hour."""

    @field_validator("block_hours")
    @classmethod
    def _blocks_tile_the_day(cls, history: tuple[Rule[int], ...]) -> tuple[Rule[int], ...]:
        """A block length that does not divide 24 h is refused when the rule is loaded."""
        for entry in history:
            if entry.value < 1 or 24 % entry.value:
                raise ValueError(
                    f"block_hours={entry.value} (rule valid from {entry.valid_from}, source "
                    f"{entry.source!r}) must divide 24 h: 1, 2, 3, 4, 6, 8, 12 or 24"
                )
        return history

    def _extra(self, rules: _Resolver) -> dict[str, Any]:
        per_block = bool(rules.get("price_per_block"))
        return {
            "price_per_block": per_block,
            "price_unit": BLOCK_PRICE_UNIT if per_block else CAPACITY_PRICE_UNIT,
            "further_bid_min_mw": rules.get("further_bid_min_mw"),
            "indivisible_allowed": bool(rules.get("indivisible_allowed")),
            "energy_price_attachable": bool(rules.get("energy_price_attachable")),
        }

    def _windows(self, day: date, rules: _Resolver, full_day: Window) -> dict[str, Window]:
        return {f"{rules.get('block_hours')}h": full_day}

    def _slots(self, day: date, rules: _Resolver) -> list[_Slot]:
        hours = rules.get("block_hours")
        opening: DailyGate | None = rules.get("gate_opening")
        closure: DailyGate = rules.get("gate_closure")
        bounds = local_boundaries(day, self.timezone, hours)
        slots = []
        for direction in rules.get("directions"):
            for start, end in pairwise(bounds):
                slots.append(
                    _Slot(
                        family=f"{hours}h",
                        direction=direction,
                        start=start,
                        end=end,
                        gate_opening=_gate_at(opening, day, start, self.timezone),
                        gate_closure=closure.at(day, start, self.timezone),
                        gate_closure_rule=closure.describe(),
                    )
                )
        return slots


class BalancingEnergy(_Balancing):
    """aFRR energy: a bid per MTU (quarter hour) and direction, closing before each MTU."""

    kind_id: ClassVar[ProductKind] = ProductKind.BALANCING_ENERGY
    kind: Literal["balancing_energy"] = "balancing_energy"
    mtu_minutes: tuple[Rule[int], ...] = Field(min_length=1)
    gate_closure: tuple[Rule[OffsetGate], ...] = Field(min_length=1)

    def _windows(self, day: date, rules: _Resolver, full_day: Window) -> dict[str, Window]:
        return {f"PT{rules.get('mtu_minutes')}M": full_day}

    def _slots(self, day: date, rules: _Resolver) -> list[_Slot]:
        closure: OffsetGate = rules.get("gate_closure")
        mtu = rules.get("mtu_minutes")
        slots = []
        for direction in rules.get("directions"):
            for start, end in _grid(day, self.timezone, mtu):
                slots.append(
                    _Slot(
                        family=f"PT{mtu}M",
                        direction=direction,
                        start=start,
                        end=end,
                        gate_opening=None,
                        gate_closure=closure.at(day, start, self.timezone),
                        gate_closure_rule=closure.describe(),
                    )
                )
        return slots


Market = Annotated[
    Auction | Continuous | BalancingCapacity | BalancingEnergy, Field(discriminator="kind")
]
"""Any market definition; pydantic tells the kinds apart by `kind`."""
