"""From submitted bids to `NewBid`s: each bid validated by its country's plugin at `now`.

Pure of HTTP: `resolve_products` finds each bid's product (which does not depend on the
time) and the evidence of its acceptance (plugin distribution and version, rule ids:
`trading.compliance.evidence`), `market_violations` checks every rule at `now`, both
collecting every problem of every bid. `earlier_submission` reads back a stored answer
for an idempotency key. `record_refusal` stores a refused submission's decision (one
`bid_refusals` row per bid, never a bid) and builds the 422 naming the stored records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from markets.bids import BalancingCapacityBid, Bid, BlockBid, product_ids_of
from markets.plugin import PRODUCT_ID
from markets.registry import MarketRegistry
from markets.violations import Violation
from trading.api.errors import ApiError
from trading.api.schemas import BidViolations
from trading.compliance.evidence import (
    Evidence,
    evidence_for,
    plugin_provenance,
    violated_rule_id,
    violated_rule_ids,
)
from trading.pacing import pace
from trading.store import Actor, AddBidsResult, BidStatus, NewBid, NewRefusal, Repository


def _unknown_product(bid: Bid, product_id: str, registry: MarketRegistry) -> Violation:
    known = ", ".join(registry.countries())
    match = PRODUCT_ID.fullmatch(product_id)
    if match is not None and match["country"] in registry:
        why = registry.get(match["country"]).why_unknown(product_id)
    else:
        why = f"no market plugin for this country (there are {known})"
    return Violation(
        rule="product.exists",
        field="product_ids" if isinstance(bid, BlockBid) else "product_id",
        limit=f"a product offered on its delivery day by a market of {known}",
        value=product_id,
        message=f"no such product: {why}",
        product_id=product_id,
    )


def resolve_products(
    registry: MarketRegistry, bids: Sequence[Bid]
) -> tuple[list[NewBid | None], list[BidViolations]]:
    """Each bid as a submitted `NewBid` of its first product, or the unknown-product problem."""
    resolved: list[NewBid | None] = []
    refused: list[BidViolations] = []
    evidence_of: dict[tuple[object, ...], Evidence] = {}  # bids of one product share theirs
    for index, bid in enumerate(bids):
        pace()
        product_id = product_ids_of(bid)[0]
        match = PRODUCT_ID.fullmatch(product_id)
        product = None
        if match is not None and match["country"] in registry:
            product = registry.get(match["country"]).product(product_id)
        if product is None:
            violation = _unknown_product(bid, product_id, registry)
            refused.append(BidViolations(index=index, bid_id=bid.bid_id, violations=[violation]))
            resolved.append(None)
            continue
        key = _evidence_key(product.country, bid)
        evidence = evidence_of.get(key)
        if evidence is None:
            evidence = evidence_of[key] = evidence_for(registry, product.country, bid)
        resolved.append(
            NewBid.from_product(
                bid,
                product,
                status=BidStatus.SUBMITTED,
                plugin_distribution=evidence.plugin.distribution,
                plugin_version=evidence.plugin.version,
                rule_ids=evidence.rule_ids,
            )
        )
    return resolved, refused


def _evidence_key(country: str, bid: Bid) -> tuple[object, ...]:
    """What `evidence_for` a bid without violations depends on: its country, kind and
    products, and whether a capacity bid carries an energy price."""
    priced = isinstance(bid, BalancingCapacityBid) and bid.energy_price_eur_per_mwh is not None
    return (country, type(bid), tuple(product_ids_of(bid)), priced)


def market_violations(
    registry: MarketRegistry, bids: Sequence[Bid], countries: Sequence[str], now: datetime
) -> list[BidViolations]:
    """Every market rule each bid breaks if submitted at `now`, across bids of one country too."""
    by_country: dict[str, list[int]] = defaultdict(list)
    for index, country in enumerate(countries):
        by_country[country].append(index)
    found: dict[int, list[Violation]] = {}
    for country, indices in by_country.items():
        plugin = registry.get(country)
        checked = plugin.validate_all([bids[i] for i in indices], now=now, positions=indices)
        for index, violations in zip(indices, checked, strict=True):
            if violations:
                found[index] = violations
    return [
        BidViolations(index=index, bid_id=bids[index].bid_id, violations=found[index])
        for index in sorted(found)
    ]


def earlier_submission(
    repository: Repository, tenant_id: str, idempotency_key: str, bids: Sequence[NewBid]
) -> AddBidsResult | None:
    """The stored answer to an earlier call with this key and these bids, or None.

    `IdempotencyKeyReusedError` if the key was used for other bids. Read before the bids
    are validated at the current time, so a retry after gate closure still gets its answer.
    """
    return repository.find_submission(tenant_id, idempotency_key, bids)


def describe(refused: Sequence[BidViolations], total: int) -> str:
    """One line: how many bids break rules, and the first violation in full."""
    first = refused[0].violations[0]
    count = sum(len(r.violations) for r in refused)
    return (
        f"{len(refused)} of {total} bids break {count} market rule(s); "
        f"bid #{refused[0].index}: {first.rule}: {first.field}={first.value}, "
        f"limit {first.limit}: {first.message}"
    )


def refusal(refused: list[BidViolations], total: int) -> ApiError:
    """The 422 of a submission whose bids break market rules: every violation of every bid."""
    body = {"bids": [r.model_dump(mode="json") for r in refused]}
    return ApiError(422, "BidViolations", describe(refused, total), body)


def refusals_of(
    registry: MarketRegistry, bids: Sequence[Bid], refused: Sequence[BidViolations]
) -> list[NewRefusal]:
    """The decision record of each bid of a refused submission: the plugin that judged it,
    the rule ids applied (those of its products and those it breaks) and its violations,
    each with its rule id (a bid that broke nothing itself is refused with its batch)."""
    broken = {r.index: r.violations for r in refused}
    records = []
    for index, bid in enumerate(bids):
        product_id = product_ids_of(bid)[0]
        violations = broken.get(index, [])
        match = PRODUCT_ID.fullmatch(product_id)
        country = match["country"] if match is not None else None
        plugin = registry.get(country) if country is not None and country in registry else None
        product = plugin.product(product_id) if plugin is not None else None
        provenance = None if plugin is None else plugin_provenance(registry, plugin.country)
        if plugin is not None:
            ids = list(evidence_for(registry, plugin.country, bid, violations).rule_ids)
        else:
            ids = sorted({violated_rule_id(v) for v in violations})
        records.append(
            NewRefusal(
                position=index,
                product_id=product_id,
                document=bid.model_dump(mode="json"),
                rule_ids=ids,
                violations=[
                    {**v.model_dump(mode="json"), "rule_id": violated_rule_id(v)}
                    for v in violations
                ],
                client_bid_id=bid.bid_id,
                country=None if product is None else product.country,
                market=None if product is None else product.market.value,
                plugin_distribution=None if provenance is None else provenance.distribution,
                plugin_version=None if provenance is None else provenance.version,
            )
        )
    return records


def record_refusal(
    repository: Repository,
    registry: MarketRegistry,
    actor: Actor,
    bids: Sequence[Bid],
    refused: list[BidViolations],
    idempotency_key: str | None,
    now: datetime,
) -> ApiError:
    """Store the refusal of a submission (a decision record per bid, no bid stored) and
    return its 422: every violation of every bid, with the rule ids and refusal ids."""
    records = refusals_of(registry, bids, refused)
    stored = repository.record_refusals(actor, records, idempotency_key=idempotency_key, at=now)
    named = [
        r.model_copy(
            update={
                "rule_ids": violated_rule_ids(r.violations),
                "refusal_id": stored.ids[r.index],
            }
        )
        for r in refused
    ]
    return refusal(named, len(bids))
