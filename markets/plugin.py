"""`MarketPlugin`: one country's markets, their products per delivery day, and bid checks.

A plugin is data: a country code, a time zone and a tuple of market definitions (see
`markets.kinds`). The five built-in countries are plugins like any other, found through the
``vpp.markets`` entry-point group (see `markets.registry`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from markets.bids import BalancingCapacityBid, Bid, product_ids_of
from markets.calendar import delivery_day_of
from markets.kinds import Market
from markets.products import MarketId, Product
from markets.rules import Rule, edition, in_force
from markets.validation import check_across_bids, validate_bid
from markets.violations import Violation

_CACHED_MARKET_DAYS = 512
_CACHED_PRODUCT_IDS = 65_536
"""Most product ids a plugin remembers the answer of `MarketPlugin.product` for (about 30
days of every market's quarter hours)."""
PRODUCT_ID = re.compile(
    r"(?P<country>[A-Z]{2}):(?P<market>[a-z_]+):(?P<family>[A-Za-z0-9_]+)"
    r"(?::(?P<direction>pos|neg|symmetric))?:(?P<start>\d{4}-\d\d-\d\dT\d\d:\d\dZ)"
)
"""Product ids: ``<country>:<market>:<family>[:<direction>]:<UTC start>``."""


class MarketPlugin(BaseModel):
    """A country's market rules: `products(day)` and `validate(bid, now=...)`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str = Field(pattern=r"^[A-Z]{2}$")
    name: str
    timezone: str = Field(description="IANA zone of the country's delivery days")
    markets: tuple[Market, ...] = Field(min_length=1)

    _products: dict[tuple[date, MarketId], dict[str, Product]] = PrivateAttr(default_factory=dict)
    _by_id: dict[str, Product | None] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _markets_belong_here(self) -> MarketPlugin:
        seen: set[MarketId] = set()
        for spec in self.markets:
            if spec.country != self.country:
                raise ValueError(f"market {spec.market} is declared for {spec.country}")
            if spec.market in seen:
                raise ValueError(f"market {spec.market} is declared twice")
            seen.add(spec.market)
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with `update` applied, validated, and with its own empty product cache."""
        data = {**dict(self), **(update or {})}
        return type(self).model_validate(data)

    def market(self, market: MarketId | str) -> Market:
        """The definition of `market`; `KeyError` names the markets this plugin has."""
        for spec in self.markets:
            if spec.market == market:
                return spec
        names = ", ".join(s.market.value for s in self.markets)
        raise KeyError(f"{self.country} has no market {market!r}; it has {names}")

    def _market_day(self, day: date, market: MarketId) -> dict[str, Product]:
        """One market's products of `day` by id, cached (a broken market breaks only itself)."""
        key = (day, market)
        cached = self._products.get(key)
        if cached is None:
            cached = {p.product_id: p for p in self.market(market).products(day)}
            if len(self._products) >= _CACHED_MARKET_DAYS:
                self._products.pop(next(iter(self._products)))
            self._products[key] = cached
        return cached

    def products(self, day: date, market: MarketId | str | None = None) -> list[Product]:
        """Products of delivery day `day` (market-local calendar day), optionally one market."""
        if market is not None:
            spec = self.market(market)  # raises for a market the plugin does not have
            return list(self._market_day(day, spec.market).values())
        return [p for spec in self.markets for p in self._market_day(day, spec.market).values()]

    def product(self, product_id: str) -> Product | None:
        """The product with `product_id`, or None if the id names no product of ours.

        Answers are remembered by id (a product's definition does not depend on the time
        of asking), so the bids of a busy desk resolve without parsing their ids again.
        """
        try:
            return self._by_id[product_id]
        except KeyError:
            pass
        found = self._find_product(product_id)
        if len(self._by_id) >= _CACHED_PRODUCT_IDS:
            self._by_id.pop(next(iter(self._by_id)))
        self._by_id[product_id] = found
        return found

    def _find_product(self, product_id: str) -> Product | None:
        match = PRODUCT_ID.fullmatch(product_id)
        if match is None or match["country"] != self.country:
            return None
        try:
            market = MarketId(match["market"])
            self.market(market)
            start = datetime.strptime(match["start"], "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
        except (ValueError, KeyError):
            return None
        try:
            day = delivery_day_of(start, self.timezone)
        except (OverflowError, ValueError):  # an id at the very end of the calendar
            return None
        return self._market_day(day, market).get(product_id)

    def why_unknown(self, product_id: str) -> str:
        """Why `product_id` names no product of this plugin, in words for the caller:
        the id's form, the market, the market not running on that delivery day, or no
        product starting at that time."""
        match = PRODUCT_ID.fullmatch(product_id)
        if match is None:
            return "the id is not of the form <country>:<market>:<family>[:<direction>]:<UTC start>"
        if match["country"] != self.country:
            return f"the id is not one of {self.country}'s"
        names = ", ".join(spec.market.value for spec in self.markets)
        try:
            spec = self.market(MarketId(match["market"]))
            start = datetime.strptime(match["start"], "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
            day = delivery_day_of(start, self.timezone)
        except (KeyError, ValueError, OverflowError):
            return f"{self.country} has no market {match['market']!r} (it has {names})"
        if not spec.offered_on(day):
            history = edition(spec.in_operation)
            later = [e.valid_from for e in history if e.value and e.valid_from > day]
            stopped = [e.valid_from for e in history if not e.value and e.valid_from <= day]
            ran = any(e.value and e.valid_from <= day for e in history)
            running = (
                f"; it runs from {later[0].isoformat()}"
                if later
                else f"; it stopped on {stopped[-1].isoformat()}"
                if ran and stopped
                else ""
            )
            entry = in_force(spec.in_operation, day)
            if not running and entry is not None:  # e.g. not a member of a cooperation
                running = f"; {entry.note or 'not in operation'} (source: {entry.source})"
            return (
                f"{self.country}'s {spec.market.value} market does not run for delivery day "
                f"{day.isoformat()}{running}"
            )
        return (
            f"no {spec.market.value} product of {self.country} starts at {match['start']} "
            f"(delivery day {day.isoformat()}) with this family and direction: see "
            f"GET /v1/markets/{self.country}/products?day={day.isoformat()}"
        )

    def validate(self, bid: Bid, *, now: datetime) -> list[Violation]:
        """Every rule `bid` breaks if it is submitted at `now` (timezone-aware); [] = valid."""
        return validate_bid(bid, self.product, now, self.energy_product_for)

    def validate_all(
        self, bids: Sequence[Bid], *, now: datetime, positions: Sequence[int] | None = None
    ) -> list[list[Violation]]:
        """Violations of each bid, plus rules across bids (further bids, linked blocks).

        `positions`: each bid's index in the caller's whole submission, when `bids` are
        only part of it (one country's), so that messages name bids as the caller numbers
        them."""
        found = [self.validate(bid, now=now) for bid in bids]
        valid = [not violations for violations in found]
        across = check_across_bids(list(bids), self.product, valid, positions)
        for index, extra in across.items():
            found[index].extend(extra)
        return found

    def energy_product_for(self, capacity: Product) -> Product | None:
        """The aFRR energy product of the first MTU of a capacity block, same direction."""
        if capacity.market is not MarketId.AFRR_CAPACITY or not any(
            spec.market is MarketId.AFRR_ENERGY for spec in self.markets
        ):
            return None
        products = self._market_day(capacity.delivery_day, MarketId.AFRR_ENERGY).values()
        return next(
            (
                p
                for p in products
                if p.direction == capacity.direction and p.delivery_start == capacity.delivery_start
            ),
            None,
        )

    def rule_ids_for(self, product: Product | str) -> tuple[str, ...]:
        """Ids of the rule records applied when validating a bid for `product` (a `Product`
        or its id), sorted: every parameter the product was resolved from, as believed
        today. () for an id that names no product of this plugin (such a bid is refused by
        ``product.exists``, a check, not a dated rule). Stable across runs and machines
        (see `markets.rules.rule_id`)."""
        found = self.product(product) if isinstance(product, str) else product
        return () if found is None else found.rule_ids

    def rule_ids_for_bid(self, bid: Bid) -> tuple[str, ...]:
        """Ids of the rule records applied when validating `bid`, sorted: those of each of
        its products and, for a capacity bid carrying an energy price, those of the energy
        product that price is held to."""
        ids: set[str] = set()
        for product_id in product_ids_of(bid):
            product = self.product(product_id)
            if product is None:
                continue
            ids.update(product.rule_ids)
            if isinstance(bid, BalancingCapacityBid) and bid.energy_price_eur_per_mwh is not None:
                energy = self.energy_product_for(product)
                if energy is not None:
                    ids.update(energy.rule_ids)
        return tuple(sorted(ids))

    def rules(self, known_on: date | None = None) -> Iterator[tuple[MarketId, str, Rule[Any]]]:
        """Rule records of every market: (market, parameter, rule).

        Without `known_on`, every record ever held, superseded ones included (the whole
        history); with it, only the records held on that day."""
        for spec in self.markets:
            for name, history in spec.histories():
                for entry in history:
                    if known_on is None or entry.known_on(known_on):
                        yield spec.market, name, entry

    def rules_on(
        self, day: date, known_on: date | None = None
    ) -> Iterator[tuple[MarketId, str, Rule[Any]]]:
        """The record of each parameter of each market in force on delivery day `day`, as
        known on `known_on` (None: today's belief)."""
        for spec in self.markets:
            for name, entry in spec.rules_on(day, known_on).items():
                yield spec.market, name, entry
