"""Refused bids: the decision kept with its evidence, the bid never stored as a bid.

A submission the market rules refuse stores nothing of its bids, but an auditor must still
see that it was refused, by which plugin and which rules: `record_refusals` writes one
`bid_refusals` row per bid of the submission (through the bulk insert path) and one audit
row for the submission, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulatory.problems import Problem
from trading.store.bulk import insert_rows, new_ids
from trading.store.checks import aware_problems, check_page
from trading.store.errors import raise_problems
from trading.store.inputs import Actor
from trading.store.models import BidRefusalRow
from trading.store.ops.audit import audit, count
from trading.store.ops.tenants import require_tenant
from trading.store.records import BidRefusalRecord, Page
from trading.store.text import text_problems
from trading.store.timestamps import as_utc, utc_now
from trading.store.vocabulary import AuditAction


@dataclass(frozen=True)
class NewRefusal:
    """One bid of a refused submission and what judged it.

    `violations` are the rules it broke (each a JSON object with at least ``rule`` and
    ``rule_id``), [] when it was refused only with its submission. `country`, `market`
    and the plugin's provenance are None where the product id names no plugin's product.
    """

    position: int
    product_id: str
    document: Mapping[str, Any]
    rule_ids: Sequence[str]
    violations: Sequence[Mapping[str, Any]] = ()
    client_bid_id: str | None = None
    country: str | None = None
    market: str | None = None
    plugin_distribution: str | None = None
    plugin_version: str | None = None


@dataclass(frozen=True)
class RefusedSubmission:
    """What `record_refusals` stored: the refusal ids, in the bids' order."""

    ids: tuple[str, ...]
    at: datetime


def _problems(refusals: Sequence[NewRefusal]) -> list[Problem]:
    found: list[Problem] = []
    if not refusals:
        found.append(Problem("refusals", "refusals", "[]", "must hold at least one bid"))
    for index, refusal in enumerate(refusals):
        subject = f"refused bid #{index + 1}"
        if not isinstance(refusal, NewRefusal):
            found.append(Problem(subject, "", type(refusal).__name__, "must be a NewRefusal"))
            continue
        limits = {
            "client_bid_id": 200,
            "country": 2,
            "market": 32,
            "plugin_distribution": 200,
            "plugin_version": 64,
        }
        for name, most in limits.items():
            value = getattr(refusal, name)
            if value is not None and not (isinstance(value, str) and len(value) <= most):
                rule = f"must be text of at most {most} characters"
                found.append(Problem(subject, name, str(value)[:80], rule))
        data = {
            "product_id": refusal.product_id,
            "document": dict(refusal.document),
            "rule_ids": list(refusal.rule_ids),
            "violations": [dict(v) for v in refusal.violations],
            **{name: getattr(refusal, name) for name in limits},
        }
        found.extend(text_problems(subject, "", data))
    return found


def record_refusals(
    session: Session,
    actor: Actor,
    refusals: Sequence[NewRefusal],
    *,
    idempotency_key: str | None = None,
    at: datetime | None = None,
) -> RefusedSubmission:
    """Store the refusal of a submission: a `bid_refusals` row per bid and an audit row
    (``bid.refuse``) naming them, at `at` (default now, UTC).

    `InvalidInputError` names any field that cannot be stored; `NotFoundError` if the
    tenant does not exist.
    """
    raise_problems(_problems(refusals))
    if at is not None:
        raise_problems(aware_problems("refusal", "at", at))
    when = as_utc(at, "at") if at is not None else utc_now()
    require_tenant(session, actor.tenant_id)
    ids = new_ids(len(refusals))
    rows = [
        {
            "id": ids[index],
            "tenant_id": actor.tenant_id,
            "at": when,
            "key_id": actor.key_id,
            "idempotency_key": idempotency_key,
            "position": refusal.position,
            "client_bid_id": refusal.client_bid_id,
            "product_id": refusal.product_id,
            "country": refusal.country,
            "market": refusal.market,
            "plugin_distribution": refusal.plugin_distribution,
            "plugin_version": refusal.plugin_version,
            "rule_ids": list(refusal.rule_ids),
            "violations": [dict(v) for v in refusal.violations],
            "document": dict(refusal.document),
        }
        for index, refusal in enumerate(refusals)
    ]
    insert_rows(session.connection(), BidRefusalRow.__table__, rows)
    broken = sorted({str(v["rule_id"]) for r in refusals for v in r.violations if v.get("rule_id")})
    audit(
        session,
        actor,
        AuditAction.BID_REFUSE,
        f"refusal {ids[0]}" if len(ids) == 1 else f"refusals {ids[0]} +{len(ids) - 1}",
        {
            "refusal_ids": ids,
            "idempotency_key": idempotency_key,
            "bids": len(refusals),
            "broken_rule_ids": broken,
        },
        at=when,
    )
    return RefusedSubmission(tuple(ids), when)


def get_refusal(session: Session, tenant_id: str, refusal_id: str) -> BidRefusalRecord | None:
    """The tenant's refusal `refusal_id`, or None (also when it is another tenant's)."""
    row = session.scalar(
        select(BidRefusalRow).where(
            BidRefusalRow.id == refusal_id, BidRefusalRow.tenant_id == tenant_id
        )
    )
    return None if row is None else BidRefusalRecord.of(row)


def list_refusals(
    session: Session,
    tenant_id: str | None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    client_bid_id: str | None = None,
    page: int = 1,
    limit: int = 100,
) -> Page[BidRefusalRecord]:
    """A page of refusals, oldest first, `since` <= at < `until`; of one tenant, or of
    every tenant when `tenant_id` is None (the operator's export)."""
    page, limit = check_page(page, limit)
    raise_problems(
        [
            *(aware_problems("refusal query", "since", since) if since is not None else ()),
            *(aware_problems("refusal query", "until", until) if until is not None else ()),
        ]
    )
    query = select(BidRefusalRow)
    if tenant_id is not None:
        query = query.where(BidRefusalRow.tenant_id == tenant_id)
    if since is not None:
        query = query.where(BidRefusalRow.at >= since)
    if until is not None:
        query = query.where(BidRefusalRow.at < until)
    if client_bid_id is not None:
        query = query.where(BidRefusalRow.client_bid_id == client_bid_id)
    total = count(session, query)
    rows = session.scalars(
        query.order_by(BidRefusalRow.at, BidRefusalRow.id, BidRefusalRow.position)
        .offset((page - 1) * limit)
        .limit(limit)
    )
    return Page(tuple(BidRefusalRecord.of(r) for r in rows), page, limit, total)
