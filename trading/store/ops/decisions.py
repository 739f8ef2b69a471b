"""Every decision on bids over a period, and the audit log over a period: what an auditor reads.

A bid's acceptance by its market rules is the step that created it (a `bid_events` row
with no `from_status`), carrying the plugin and the rule ids; a refusal is a
`bid_refusals` row. `decisions_between` reads both, oldest first, as one list of plain
JSON-ready dicts. Both reads cover one tenant, or every tenant (the operator's export).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.store.checks import aware_problems
from trading.store.errors import invalid, raise_problems
from trading.store.models import AuditRow, BidEventRow, BidRefusalRow, BidRow
from trading.store.published import published_bids
from trading.store.records import AuditRecord
from trading.store.timestamps import as_utc

ACCEPTED = "accepted"
REFUSED = "refused"


def _period(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    raise_problems(
        [*aware_problems("period", "since", since), *aware_problems("period", "until", until)]
    )
    since, until = as_utc(since, "since"), as_utc(until, "until")
    if until <= since:
        raise invalid(
            "period", "until", until.isoformat(), f"must be after since={since.isoformat()}"
        )
    return since, until


def decisions_between(
    session: Session, since: datetime, until: datetime, tenant_id: str | None = None
) -> list[dict[str, Any]]:
    """Every market-rule decision with `since` <= at < `until`, oldest first: acceptances
    (with the stored bid's id) and refusals (with the refusal's id and the violations).

    Each: decision, id, bid_id, tenant_id, at (UTC), key_id, idempotency_key, position,
    client_bid_id, product_id, country, market, rule_version, plugin_distribution,
    plugin_version, rule_ids, violations.
    """
    since, until = _period(since, until)
    accepted = (
        select(BidEventRow, BidRow)
        .join(BidRow, BidRow.id == BidEventRow.bid_id)
        .where(
            BidEventRow.from_status.is_(None),
            BidEventRow.at >= since,
            BidEventRow.at < until,
            published_bids(),
        )
    )
    refused = select(BidRefusalRow).where(BidRefusalRow.at >= since, BidRefusalRow.at < until)
    if tenant_id is not None:
        accepted = accepted.where(BidRow.tenant_id == tenant_id)
        refused = refused.where(BidRefusalRow.tenant_id == tenant_id)
    found: list[dict[str, Any]] = []
    for event, bid in session.execute(accepted):
        found.append(
            {
                "decision": ACCEPTED,
                "id": f"event-{event.id}",
                "bid_id": bid.id,
                "tenant_id": bid.tenant_id,
                "at": event.at,
                "key_id": event.key_id,
                "idempotency_key": None,
                "position": bid.position,
                "client_bid_id": bid.client_bid_id,
                "product_id": bid.product_id,
                "country": bid.country,
                "market": bid.market,
                "rule_version": event.rule_version,
                "plugin_distribution": event.plugin_distribution,
                "plugin_version": event.plugin_version,
                "rule_ids": list(event.rule_ids or []),
                "violations": [],
            }
        )
    for row in session.scalars(refused):
        found.append(
            {
                "decision": REFUSED,
                "id": row.id,
                "bid_id": None,
                "tenant_id": row.tenant_id,
                "at": row.at,
                "key_id": row.key_id,
                "idempotency_key": row.idempotency_key,
                "position": row.position,
                "client_bid_id": row.client_bid_id,
                "product_id": row.product_id,
                "country": row.country,
                "market": row.market,
                "rule_version": None,
                "plugin_distribution": row.plugin_distribution,
                "plugin_version": row.plugin_version,
                "rule_ids": list(row.rule_ids),
                "violations": list(row.violations),
            }
        )
    found.sort(key=lambda d: (d["at"], d["tenant_id"], d["id"], d["position"]))
    return found


def audit_between(
    session: Session, since: datetime, until: datetime, tenant_id: str | None = None
) -> list[AuditRecord]:
    """Every audit row with `since` <= at < `until`, oldest first (one tenant, or all)."""
    since, until = _period(since, until)
    query = select(AuditRow).where(AuditRow.at >= since, AuditRow.at < until)
    if tenant_id is not None:
        query = query.where(AuditRow.tenant_id == tenant_id)
    return [AuditRecord.of(r) for r in session.scalars(query.order_by(AuditRow.at, AuditRow.id))]
