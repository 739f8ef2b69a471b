"""Per-tenant risk limits checked when bids are submitted: max MW per bid, max net position
per product (and so per bidding zone), max notional per delivery day.

What a bid counts towards each limit (`figures`):

- its MW: the largest |volume| it may trade: a single bid's volume, a curve's largest point,
  a block's largest product volume, a balancing bid's capacity or volume [MW];
- its position on each product [MW, sells and upward balancing positive]: a single bid's
  volume; a curve's point of largest |volume|; each block product's volume; a balancing
  bid's volume or capacity signed by its direction (symmetric: 0);
- its notional [EUR]: |MW| x delivery hours x |price| (a curve: its largest point's; a
  block: summed over its products; balancing capacity: at its capacity price).

A tenant's position and notional are those of its live bids (submitted or accepted, at
their full bid volume: a partly cleared bid still counts whole) plus the new batch. A
batch that takes a position or a day's notional beyond its limit is refused whole (422,
``BidViolations``), each violation naming the limit (``risk_limit.<kind>``), its value
and the bid's figure; a bid that moves a position back towards zero is never refused by
the position limit. Within one process, the submissions of a tenant with a position or
notional limit are checked and stored one at a time (`RiskLimits.guard`), so that two
concurrent batches cannot together pass a limit; several server processes on one
database do not share that lock (each checks what is committed).

A refusal by a limit is a decision like a market refusal: `RiskLimits.guard` stores it
(`trading.api.submission.record_refusal`: a ``bid_refusals`` row per bid, in
``GET /v1/refusals`` and ``vpp compliance export``), each violation citing the limit's
rule id ``vpp-engine:risk_limit.<kind>@<version>``, where the version is the instant the
tenant's admin last set the limit (`risk_limit_rule_id`), and as its source who set it.

Limits are read from the store at most once a second per tenant (`TTL_S`), and at once
after an admin changes them through this process.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from starlette.concurrency import run_in_threadpool

from markets.bids import (
    BID_ADAPTER,
    BalancingCapacityBid,
    BalancingEnergyBid,
    Bid,
    BlockBid,
    CurveBid,
    SingleBid,
)
from markets.products import Direction
from markets.registry import MarketRegistry
from markets.violations import Violation
from trading.api.schemas import BidViolations
from trading.compliance.evidence import ENGINE_RULE_PREFIX
from trading.store import Actor, NewBid, Repository
from trading.store.records import RiskLimitRecord
from trading.store.vocabulary import RiskLimitKind

TTL_S = 1.0
"""How long a tenant's limits are used without reading them again [s]."""

NEAR_ZERO = 1e-9
"""A figure change smaller than this [MW or EUR] is no change."""


@dataclass(frozen=True)
class Figures:
    """What one bid counts towards the limits (see the module doc for each rule)."""

    bid_mw: float
    positions: dict[str, float] = field(default_factory=dict)
    notional_eur: float = 0.0


def _sign(direction: Direction) -> float:
    return {Direction.POS: 1.0, Direction.NEG: -1.0}.get(direction, 0.0)


def figures(bid: Bid, hours: Callable[[str], float]) -> Figures:
    """The MW, positions by product [MW] and notional [EUR] of `bid`; `hours(product_id)`
    is a product's delivery length [h]."""
    match bid:
        case SingleBid():
            h = hours(bid.product_id)
            return Figures(
                abs(bid.volume_mw),
                {bid.product_id: bid.volume_mw},
                abs(bid.volume_mw) * h * abs(bid.price_eur_per_mwh),
            )
        case CurveBid():
            widest = max(bid.points, key=lambda p: abs(p.volume_mw))
            h = hours(bid.product_id)
            notional = max(abs(p.volume_mw) * h * abs(p.price_eur_per_mwh) for p in bid.points)
            return Figures(abs(widest.volume_mw), {bid.product_id: widest.volume_mw}, notional)
        case BlockBid():
            positions: dict[str, float] = defaultdict(float)
            notional = 0.0
            for product_id, volume in zip(bid.product_ids, bid.volumes_mw, strict=False):
                positions[product_id] += volume
                notional += abs(volume) * hours(product_id) * abs(bid.price_eur_per_mwh)
            return Figures(max(abs(v) for v in bid.volumes_mw), dict(positions), notional)
        case BalancingCapacityBid():
            h = hours(bid.product_id)
            return Figures(
                abs(bid.capacity_mw),
                {bid.product_id: _sign(bid.direction) * bid.capacity_mw},
                abs(bid.capacity_mw) * h * abs(bid.capacity_price_eur_per_mw_h),
            )
        case BalancingEnergyBid():
            h = hours(bid.product_id)
            return Figures(
                abs(bid.volume_mw),
                {bid.product_id: _sign(bid.direction) * bid.volume_mw},
                abs(bid.volume_mw) * h * abs(bid.energy_price_eur_per_mwh),
            )
    raise TypeError(f"not a bid: {type(bid).__name__}")


def _fmt(value: float) -> str:
    return f"{value:.6g}"


@dataclass(frozen=True)
class LimitVersion:
    """Which setting of a tenant's limit judged a bid: when it was set, and by which key."""

    updated_at: datetime
    updated_by: str | None = None
    """The admin key that set it; None when the engine itself did."""

    @property
    def label(self) -> str:
        """The version as it appears in rule ids: the UTC instant, to the second."""
        return self._utc.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def _utc(self) -> datetime:
        moment = self.updated_at
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    @classmethod
    def of(cls, record: RiskLimitRecord) -> LimitVersion:
        """The version of a stored limit."""
        return cls(updated_at=record.updated_at, updated_by=record.updated_by)


def risk_limit_rule_id(kind: RiskLimitKind, version: LimitVersion | None) -> str:
    """The rule id a refusal by limit `kind` cites: ``vpp-engine:risk_limit.<kind>@<UTC
    instant the limit was set>`` (without the version when it is not known)."""
    base = f"{ENGINE_RULE_PREFIX}:risk_limit.{kind.value}"
    return base if version is None else f"{base}@{version.label}"


def _evidence(kind: RiskLimitKind, versions: dict[RiskLimitKind, LimitVersion]) -> dict[str, Any]:
    """The fields of a limit violation that say which setting of the limit judged it."""
    version = versions.get(kind)
    if version is None:
        return {"rule_id": risk_limit_rule_id(kind, None)}
    by = f"admin key {version.updated_by}" if version.updated_by else "the engine"
    return {
        "rule_id": risk_limit_rule_id(kind, version),
        "source": f"the tenant's risk limit, set {version.label} by {by}",
        "valid_from": version._utc.date(),
    }


def check_batch(
    limits: dict[RiskLimitKind, float],
    bids: Sequence[Bid],
    new_bids: Sequence[NewBid],
    live: Sequence[tuple[date, Bid]],
    hours: Callable[[str], float],
    zone_of: Callable[[str], str],
    versions: dict[RiskLimitKind, LimitVersion] | None = None,
) -> list[BidViolations]:
    """Every limit the batch breaks, by bid; `live` holds the tenant's live bids with their
    delivery days; `versions` says when each limit was set (cited by each violation's
    ``rule_id``). Empty if the batch may be stored."""
    found: dict[int, list[Violation]] = defaultdict(list)
    known = versions or {}
    batch = [figures(b, hours) for b in bids]
    max_mw = limits.get(RiskLimitKind.MAX_BID_MW)
    if max_mw is not None:
        for index, fig in enumerate(batch):
            if fig.bid_mw > max_mw:
                found[index].append(
                    Violation(
                        rule=f"risk_limit.{RiskLimitKind.MAX_BID_MW.value}",
                        field="volume_mw",
                        limit=f"{_fmt(max_mw)} MW",
                        value=f"{_fmt(fig.bid_mw)} MW",
                        message="the bid's volume is above the tenant's largest bid",
                        product_id=next(iter(fig.positions), None),
                        **_evidence(RiskLimitKind.MAX_BID_MW, known),
                    )
                )
    max_position = limits.get(RiskLimitKind.MAX_NET_POSITION_MW)
    max_notional = limits.get(RiskLimitKind.MAX_NOTIONAL_EUR_PER_DAY)
    if max_position is None and max_notional is None:
        return _by_index(found, bids)
    held = [(day, figures(b, hours)) for day, b in live]
    if max_position is not None:
        position: dict[str, float] = defaultdict(float)
        for _, fig in held:
            for product_id, mw in fig.positions.items():
                position[product_id] += mw
        before = dict(position)
        last: dict[str, int] = {}
        for index, fig in enumerate(batch):
            for product_id, mw in fig.positions.items():
                position[product_id] += mw
                last[product_id] = index
        for product_id, index in sorted(last.items(), key=lambda item: item[1]):
            after, was = position[product_id], before.get(product_id, 0.0)
            if abs(after) > max_position and abs(after) > abs(was) + NEAR_ZERO:
                found[index].append(
                    Violation(
                        rule=f"risk_limit.{RiskLimitKind.MAX_NET_POSITION_MW.value}",
                        field="volume_mw",
                        limit=f"{_fmt(max_position)} MW net on a product",
                        value=f"{_fmt(after)} MW",
                        message=(
                            f"the tenant's net position on {product_id} "
                            f"(zone {zone_of(product_id)}) would be {_fmt(after)} MW "
                            f"(now {_fmt(was)} MW)"
                        ),
                        product_id=product_id,
                        **_evidence(RiskLimitKind.MAX_NET_POSITION_MW, known),
                    )
                )
    if max_notional is not None:
        per_day: dict[date, float] = defaultdict(float)
        for day, fig in held:
            per_day[day] += fig.notional_eur
        before_day = dict(per_day)
        last_day: dict[date, int] = {}
        for index, (fig, new) in enumerate(zip(batch, new_bids, strict=True)):
            per_day[new.delivery_day] += fig.notional_eur
            last_day[new.delivery_day] = index
        for day, index in sorted(last_day.items(), key=lambda item: item[1]):
            total, was = per_day[day], before_day.get(day, 0.0)
            if total > max_notional and total > was + NEAR_ZERO:
                found[index].append(
                    Violation(
                        rule=f"risk_limit.{RiskLimitKind.MAX_NOTIONAL_EUR_PER_DAY.value}",
                        field="price_eur_per_mwh",
                        limit=f"{_fmt(max_notional)} EUR per delivery day",
                        value=f"{_fmt(total)} EUR",
                        message=(
                            f"the tenant's notional of delivery day {day.isoformat()} "
                            f"would be {_fmt(total)} EUR (now {_fmt(was)} EUR)"
                        ),
                        **_evidence(RiskLimitKind.MAX_NOTIONAL_EUR_PER_DAY, known),
                    )
                )
    return _by_index(found, bids)


def _by_index(found: dict[int, list[Violation]], bids: Sequence[Bid]) -> list[BidViolations]:
    return [
        BidViolations(index=index, bid_id=bids[index].bid_id, violations=found[index])
        for index in sorted(found)
    ]


class RiskLimits:
    """The tenants' limits (read at most once per `TTL_S`), checked against a batch."""

    def __init__(self, repository: Repository, registry: MarketRegistry) -> None:
        self._repository = repository
        self._registry = registry
        self._lock = threading.Lock()
        self._known: dict[
            str, tuple[dict[RiskLimitKind, float], dict[RiskLimitKind, LimitVersion], float]
        ] = {}
        self._tenant_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._product = lru_cache(maxsize=4096)(self._find_product)

    def forget(self, tenant_id: str) -> None:
        """Read `tenant_id`'s limits again on its next bid (after an admin changed them)."""
        with self._lock:
            self._known.pop(tenant_id, None)

    def limits(self, tenant_id: str) -> dict[RiskLimitKind, float]:
        """The tenant's limits by kind (a store read at most once per `TTL_S`)."""
        return self._read(tenant_id)[0]

    def versions(self, tenant_id: str) -> dict[RiskLimitKind, LimitVersion]:
        """When and by whom each of the tenant's limits was last set (read with them)."""
        return self._read(tenant_id)[1]

    def _read(
        self, tenant_id: str
    ) -> tuple[dict[RiskLimitKind, float], dict[RiskLimitKind, LimitVersion]]:
        now = time.monotonic()
        with self._lock:
            entry = self._known.get(tenant_id)
        if entry is not None and entry[2] > now:
            return entry[0], entry[1]
        records = self._repository.list_risk_limits(tenant_id)
        found = {r.kind: r.value for r in records}
        versions = {r.kind: LimitVersion.of(r) for r in records}
        with self._lock:
            self._known[tenant_id] = (found, versions, now + TTL_S)
        return found, versions

    def _find_product(self, product_id: str) -> tuple[float, str]:
        country = product_id.split(":", 1)[0]
        product = None
        if country in self._registry:
            product = self._registry.get(country).product(product_id)
        if product is None:  # a stored bid of a product no plugin offers now: 1 h, unknown zone
            return 1.0, "unknown"
        return product.block_hours, product.bidding_zone

    def check(
        self, tenant_id: str, bids: Sequence[Bid], new_bids: Sequence[NewBid]
    ) -> list[BidViolations]:
        """Every limit of the tenant the batch breaks (reads the store: call off the loop)."""
        limits, versions = self._read(tenant_id)
        if not limits:
            return []
        live: list[tuple[date, Bid]] = []
        if {RiskLimitKind.MAX_NET_POSITION_MW, RiskLimitKind.MAX_NOTIONAL_EUR_PER_DAY} & set(
            limits
        ):
            days = sorted({b.delivery_day for b in new_bids})
            live = [
                (stored.delivery_day, BID_ADAPTER.validate_python(stored.document))
                for stored in self._repository.live_bids(tenant_id, days)
            ]
        return check_batch(
            limits,
            bids,
            new_bids,
            live,
            lambda p: self._product(p)[0],
            lambda p: self._product(p)[1],
            versions,
        )

    def _cached(self, tenant_id: str) -> dict[RiskLimitKind, float] | None:
        with self._lock:
            entry = self._known.get(tenant_id)
        return entry[0] if entry is not None and entry[2] > time.monotonic() else None

    async def _refuse_unless_replay(
        self,
        actor: Actor,
        bids: Sequence[Bid],
        new_bids: Sequence[NewBid],
        idempotency_key: str | None,
        now: datetime | None,
    ) -> None:
        tenant_id = actor.tenant_id
        refused = await run_in_threadpool(self.check, tenant_id, bids, new_bids)
        if not refused:
            return
        if idempotency_key is not None:  # a retry of a stored batch is answered, not refused
            earlier = await run_in_threadpool(
                self._repository.find_submission, tenant_id, idempotency_key, new_bids
            )
            if earlier is not None:
                return
        from trading.api.submission import record_refusal

        raise await run_in_threadpool(
            record_refusal,
            self._repository,
            self._registry,
            actor,
            bids,
            refused,
            idempotency_key,
            now or datetime.now(UTC),
        )

    @asynccontextmanager
    async def guard(
        self,
        actor: Actor,
        bids: Sequence[Bid],
        new_bids: Sequence[NewBid],
        idempotency_key: str | None = None,
        now: datetime | None = None,
    ) -> AsyncIterator[None]:
        """Check the batch against `actor`'s tenant's limits (a 422 `ApiError` naming each
        broken limit, unless it replays `idempotency_key`; the refusal is stored as a
        decision at `now`, default the current time), then let the caller store it inside
        the block; a tenant with a position or notional limit stores one batch at a time."""
        tenant_id = actor.tenant_id
        limits = self._cached(tenant_id)
        if limits is None:
            limits = await run_in_threadpool(self.limits, tenant_id)
        if not limits:
            yield
            return
        serial = {RiskLimitKind.MAX_NET_POSITION_MW, RiskLimitKind.MAX_NOTIONAL_EUR_PER_DAY}
        if not serial & set(limits):
            await self._refuse_unless_replay(actor, bids, new_bids, idempotency_key, now)
            yield
            return
        async with self._tenant_locks[tenant_id]:
            await self._refuse_unless_replay(actor, bids, new_bids, idempotency_key, now)
            yield
