"""What callers hand the store: who acts (`Actor`) and new bids (`NewBid`), and their checks.

A batch of bids is checked whole: every problem (subject ``bid #n``, field, value, rule)
of every bid is collected and raised together as one `InvalidInputError`. Every text of a
bid must be storable on every database (`trading.store.text`: no NUL, no lone surrogates,
no control characters, bounded length), so that no bid can fail a transaction it shares.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from markets.bids import (
    BID_ADAPTER,
    BalancingCapacityBid,
    BalancingEnergyBid,
    Bid,
    BlockBid,
    CurveBid,
    SingleBid,
    parse_bid,
    product_ids_of,
)
from markets.plugin import PRODUCT_ID
from markets.products import MarketId, Product
from regulatory.problems import Problem, problems_from_validation_error
from trading.pacing import pace
from trading.store.checks import aware_problems, is_aware, json_problems, short
from trading.store.errors import invalid, raise_problems
from trading.store.text import text_problems
from trading.store.timestamps import as_utc
from trading.store.vocabulary import INITIAL_BID_STATUSES, BidStatus, Role

MAX_BIDS_PER_CALL = 5000
"""The most bids one `add_bids` call may store."""

MAX_PRODUCT_ID_CHARS = 128
"""The longest product id the store holds (its column's width) [characters]."""

BID_TYPES = (SingleBid, CurveBid, BlockBid, BalancingCapacityBid, BalancingEnergyBid)
"""The bid models of `markets.bids`."""


@dataclass(frozen=True)
class Actor:
    """Who acts: an API key of a tenant with a role, or the engine itself (no key, no role)."""

    tenant_id: str
    key_id: str | None = None
    role: Role | None = None

    @classmethod
    def system(cls, tenant_id: str) -> Actor:
        """The engine acting for `tenant_id` (a plan run, an exchange's clearing report)."""
        return cls(tenant_id=tenant_id)


@dataclass(frozen=True)
class NewBid:
    """A bid to store, with what the market plugin resolved for its (first) product.

    `bid` is a `markets.bids` model or its JSON form. `delivery_day` is the market-local
    delivery day; `delivery_start` and `gate_closure` are aware datetimes (stored in UTC).
    `rule_version` and `validation` record which rule set validated the bid; the evidence
    of the decision, `plugin_distribution`, `plugin_version` and `rule_ids` (the market
    plugin's distribution and version, the ids of the rule values applied), too. All go to
    the bid's first lifecycle event and the audit log.
    """

    bid: Bid | Mapping[str, Any]
    market: str
    country: str
    delivery_day: date
    delivery_start: datetime
    gate_closure: datetime
    status: BidStatus = BidStatus.DRAFT
    plan_id: str | None = None
    rule_version: str | None = None
    validation: Mapping[str, Any] | None = None
    plugin_distribution: str | None = None
    plugin_version: str | None = None
    rule_ids: Sequence[str] | None = None

    @classmethod
    def from_product(
        cls,
        bid: Bid,
        product: Product,
        *,
        status: BidStatus = BidStatus.DRAFT,
        plan_id: str | None = None,
        plugin_distribution: str | None = None,
        plugin_version: str | None = None,
        rule_ids: Sequence[str] | None = None,
    ) -> NewBid:
        """A new bid for `product` (its first product), the rule version taken from it;
        the decision's evidence as given."""
        return cls(
            bid=bid,
            market=product.market.value,
            country=product.country,
            delivery_day=product.delivery_day,
            delivery_start=product.delivery_start,
            gate_closure=product.gate_closure,
            status=status,
            plan_id=plan_id,
            rule_version=product.valid_from.isoformat(),
            validation=_validation_of(
                product.product_id,
                product.valid_from,
                product.source,
                tuple(product.uncertain_rules),
            ),
            plugin_distribution=plugin_distribution,
            plugin_version=plugin_version,
            rule_ids=rule_ids,
        )


@lru_cache(maxsize=4096)
def _validation_of(
    product_id: str, valid_from: date, source: str, uncertain: tuple[str, ...]
) -> dict[str, Any]:
    """The `NewBid.validation` of a product: one mapping for every bid of the product
    (read-only by contract: `NewBid` is frozen), so that a batch's checks and conversions
    of it run once per product (`prepare_bids`, `trading.store.bulk`), not once per bid."""
    return {
        "product_id": product_id,
        "rules_valid_from": valid_from.isoformat(),
        "source": source,
        "uncertain_rules": list(uncertain),
    }


@dataclass(frozen=True)
class PreparedBid:
    """A `NewBid` that passed every check, in the form the store writes (times in UTC)."""

    bid: Bid
    document: dict[str, Any]
    product_id: str
    market: str
    country: str
    delivery_day: date
    delivery_start: datetime
    gate_closure: datetime
    status: BidStatus
    plan_id: str | None
    rule_version: str | None
    validation: dict[str, Any] | None
    plugin_distribution: str | None = None
    plugin_version: str | None = None
    rule_ids: tuple[str, ...] | None = None

    def canonical(self) -> dict[str, Any]:
        """Everything that makes this bid what it is, as JSON data (for request hashes).

        Not the decision's evidence (plugin version, rule ids): a retry after an upgrade of
        the plugin is still the same request."""
        return {
            "bid": self.document,
            "market": self.market,
            "country": self.country,
            "delivery_day": self.delivery_day.isoformat(),
            "delivery_start": self.delivery_start.timestamp(),
            "gate_closure": self.gate_closure.timestamp(),
            "status": self.status.value,
            "plan_id": self.plan_id,
            "rule_version": self.rule_version,
            "validation": self.validation,
        }


def prepare_bids(bids: Sequence[NewBid]) -> list[PreparedBid]:
    """Check every bid of a batch; `InvalidInputError` lists every problem of every bid."""
    if isinstance(bids, str | bytes) or not isinstance(bids, Sequence) or not bids:
        raise invalid("bids", "bids", short(bids), "must be a non-empty list of NewBid")
    if len(bids) > MAX_BIDS_PER_CALL:
        raise invalid("bids", "bids", len(bids), f"must hold at most {MAX_BIDS_PER_CALL} bids")
    problems: list[Problem] = []
    prepared: list[PreparedBid] = []
    seen = _Seen()
    for index, new in enumerate(bids):
        pace()
        subject = f"bid #{index + 1}"
        if not isinstance(new, NewBid):
            problems.append(Problem(subject, "", short(new), "must be a NewBid"))
            continue
        found = list(_bid_problems(new, subject, seen))
        if found:
            problems.extend(found)
            continue
        prepared.append(_prepare(new, seen))
    problems.extend(_repeated_bid_ids(prepared))
    raise_problems(problems)
    return prepared


def _repeated_bid_ids(bids: Sequence[PreparedBid]) -> Iterator[Problem]:
    """A bid_id given to two bids of one batch (a bid_id names one bid of a tenant)."""
    first: dict[str, int] = {}
    for index, bid in enumerate(bids):
        name = bid.document.get("bid_id")
        if not isinstance(name, str):
            continue
        if name in first:
            rule = f"is the bid_id of bid #{first[name] + 1} too; a bid_id names one bid"
            yield Problem(f"bid #{index + 1}", "bid.bid_id", name, rule)
        else:
            first[name] = index


class _Seen:
    """What one `prepare_bids` call met already: the record fields (status, plan, rule
    version, validation, evidence) found clean, and the copy made of each validation
    mapping. The bids of one product share these values (`NewBid.from_product`), so a
    batch checks, copies and later serialises them once per product instead of once per
    bid. Mappings are known by identity, held here so that no id is reused meanwhile."""

    def __init__(self) -> None:
        self.clean: set[tuple[Any, ...]] = set()
        self.copies: dict[int, tuple[Mapping[str, Any], dict[str, Any]]] = {}

    def record_key(self, new: NewBid) -> tuple[Any, ...] | None:
        """The record fields of `new` as a key, or None if one of them cannot be a key."""
        validation = new.validation
        key = (
            new.status,
            new.plan_id,
            new.rule_version,
            None if validation is None else id(validation),
            new.plugin_distribution,
            new.plugin_version,
            new.rule_ids,
        )
        try:
            hash(key)
        except TypeError:
            return None
        if isinstance(validation, Mapping) and id(validation) not in self.copies:
            self.copies[id(validation)] = (validation, dict(validation))
        return key

    def validation_copy(self, validation: Mapping[str, Any]) -> dict[str, Any]:
        """One copy of `validation` per mapping met (the store's own, never the caller's)."""
        held = self.copies.get(id(validation))
        if held is None or held[0] is not validation:
            return dict(validation)
        return held[1]


def _bid_problems(new: NewBid, subject: str, seen: _Seen) -> Iterator[Problem]:
    bid: Bid | None = None
    if isinstance(new.bid, Mapping):
        try:
            bid = parse_bid(dict(new.bid))
        except ValidationError as exc:
            yield from _shape_problems(exc, subject)
    elif isinstance(new.bid, BID_TYPES):
        bid = new.bid
    else:
        yield Problem(subject, "bid", short(new.bid), "must be a bid of markets.bids or its JSON")
    where = list(_market_problems(new, subject))
    yield from where
    yield from _time_problems(new, subject)
    key = seen.record_key(new)
    if key is None or key not in seen.clean:
        record = list(_record_problems(new, subject))
        yield from record
        if key is not None and not record:
            seen.clean.add(key)
    if bid is not None:
        storable = list(text_problems(subject, "bid", dict(bid)))
        yield from storable
        if not where and not storable:
            yield from _product_problems(subject, bid, new.market, new.country)


def _shape_problems(error: ValidationError, subject: str) -> Iterator[Problem]:
    """Pydantic's complaints about a bid's shape, without the union tag it puts first."""
    tags = {model.model_fields["type"].default for model in BID_TYPES}
    for problem in problems_from_validation_error(error, subject, prefix="bid"):
        head, _, rest = problem.field.removeprefix("bid.").partition(".")
        if head in tags and rest:
            problem = replace(problem, field=f"bid.{rest}")
        yield problem


_MARKETS = tuple(m.value for m in MarketId)
_COUNTRY = re.compile(r"[A-Z]{2}")


def _market_problems(new: NewBid, subject: str) -> Iterator[Problem]:
    if not isinstance(new.market, str) or new.market not in _MARKETS:
        rule = f"is not a known market; one of {', '.join(_MARKETS)}"
        yield Problem(subject, "market", short(new.market), rule)
    if not isinstance(new.country, str) or not _COUNTRY.fullmatch(new.country):
        rule = "must be an ISO 3166-1 alpha-2 code, e.g. 'DE'"
        yield Problem(subject, "country", short(new.country), rule)


def _time_problems(new: NewBid, subject: str) -> Iterator[Problem]:
    day_ok = isinstance(new.delivery_day, date) and not isinstance(new.delivery_day, datetime)
    if not day_ok:
        yield Problem(subject, "delivery_day", short(new.delivery_day), "must be a date")
    yield from aware_problems(subject, "delivery_start", new.delivery_start)
    yield from aware_problems(subject, "gate_closure", new.gate_closure)
    if not (is_aware(new.delivery_start) and is_aware(new.gate_closure)):
        return
    start = new.delivery_start.isoformat()
    if new.gate_closure >= new.delivery_start:
        rule = f"must be before delivery_start={start}"
        yield Problem(subject, "gate_closure", new.gate_closure.isoformat(), rule)
    if day_ok and abs((new.delivery_start.date() - new.delivery_day).days) > 1:
        rule = f"must be within a day of delivery_start={start}"
        yield Problem(subject, "delivery_day", new.delivery_day.isoformat(), rule)


def _record_problems(new: NewBid, subject: str) -> Iterator[Problem]:
    if new.status not in INITIAL_BID_STATUSES:
        allowed = ", ".join(sorted(INITIAL_BID_STATUSES))
        rule = f"a new bid's status must be one of {allowed}"
        yield Problem(subject, "status", short(new.status), rule)
    if new.plan_id is not None and not isinstance(new.plan_id, str):
        yield Problem(subject, "plan_id", short(new.plan_id), "must be a plan id (text) or None")
    elif new.plan_id is not None:
        yield from text_problems(subject, "plan_id", new.plan_id, max_chars=64)
    version = new.rule_version
    if version is not None and not (isinstance(version, str) and 0 < len(version) <= 64):
        rule = "must be text of 1 to 64 characters, or None"
        yield Problem(subject, "rule_version", short(version), rule)
    yield from json_problems(subject, "validation", new.validation)
    if isinstance(version, str):
        yield from text_problems(subject, "rule_version", version)
    if isinstance(new.validation, Mapping):
        yield from text_problems(subject, "validation", new.validation)
    yield from _evidence_problems(new, subject)


def _evidence_problems(new: NewBid, subject: str) -> Iterator[Problem]:
    for name, most in (("plugin_distribution", 200), ("plugin_version", 64)):
        value = getattr(new, name)
        if value is None:
            continue
        if not (isinstance(value, str) and 0 < len(value) <= most):
            yield Problem(subject, name, short(value), f"must be text of 1 to {most} characters")
        else:
            yield from text_problems(subject, name, value)
    ids = new.rule_ids
    if ids is None:
        return
    if isinstance(ids, str | bytes) or not isinstance(ids, Sequence):
        yield Problem(subject, "rule_ids", short(ids), "must be a list of rule ids (text)")
        return
    bad = [i for i, one in enumerate(ids) if not (isinstance(one, str) and 0 < len(one) <= 200)]
    for index in bad:
        rule = "must be a rule id: text of 1 to 200 characters"
        yield Problem(subject, f"rule_ids[{index}]", short(ids[index]), rule)
    if not bad:
        yield from text_problems(subject, "rule_ids", list(ids))


def _product_problems(subject: str, bid: Bid, market: str, country: str) -> Iterator[Problem]:
    """The bid's product ids must be well formed and of `market` in `country`."""
    for index, product_id in enumerate(product_ids_of(bid)):
        field = f"bid.product_ids[{index}]" if isinstance(bid, BlockBid) else "bid.product_id"
        match = PRODUCT_ID.fullmatch(product_id)
        if len(product_id) > MAX_PRODUCT_ID_CHARS:
            rule = f"must be at most {MAX_PRODUCT_ID_CHARS} characters (has {len(product_id)})"
            yield Problem(subject, field, product_id[:80], rule)
        elif match is None:
            yield Problem(
                subject,
                field,
                product_id,
                "is not a product id <country>:<market>:<family>[:<direction>]:<UTC start>",
            )
        elif (match["country"], match["market"]) != (country, market):
            yield Problem(
                subject,
                field,
                product_id,
                f"is not a product of market={market!r} in country={country!r}",
            )


def _prepare(new: NewBid, seen: _Seen) -> PreparedBid:
    bid = parse_bid(dict(new.bid)) if isinstance(new.bid, Mapping) else new.bid
    return PreparedBid(
        bid=bid,
        document=BID_ADAPTER.dump_python(bid, mode="json"),
        product_id=product_ids_of(bid)[0],
        market=new.market,
        country=new.country,
        delivery_day=new.delivery_day,
        delivery_start=as_utc(new.delivery_start, "delivery_start"),
        gate_closure=as_utc(new.gate_closure, "gate_closure"),
        status=BidStatus(new.status),
        plan_id=new.plan_id,
        rule_version=new.rule_version,
        validation=None if new.validation is None else seen.validation_copy(new.validation),
        plugin_distribution=new.plugin_distribution,
        plugin_version=new.plugin_version,
        rule_ids=None if new.rule_ids is None else tuple(new.rule_ids),
    )
