"""The tenant's change feed, read from the audit log: bid, clearing and plan changes.

Every change of a bid (created, moved, cleared, replaced, cancelled) and of a plan
(created, moved, deleted) writes an audit row in the same transaction as the change, so
the audit log's ids order a tenant's changes and survive restarts. `changes_after` reads
the rows after an id, with the entity each names as it is now.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trading.store.models import AuditRow, BidRow, ClearingRow, PlanRow
from trading.store.records import BidRecord, ClearingRecord, PlanRecord
from trading.store.vocabulary import AuditAction

FEED_ACTIONS: frozenset[AuditAction] = frozenset(
    {
        AuditAction.BID_CREATE,
        AuditAction.BID_TRANSITION,
        AuditAction.BID_CLEAR,
        AuditAction.BID_REPLACE,
        AuditAction.BID_CANCEL_ALL,
        AuditAction.PLAN_CREATE,
        AuditAction.PLAN_STATUS,
        AuditAction.PLAN_DELETE,
    }
)
"""The audit actions the feed carries."""


@dataclass(frozen=True)
class Change:
    """One change of the tenant: audit id, action, when [UTC, the server's clock], subject,
    what the audit row says, and the entity as it is when read (None: gone or not an entity)."""

    id: int
    action: AuditAction
    at: datetime
    subject: str
    details: dict[str, Any] | None
    bid: BidRecord | None = None
    clearing: ClearingRecord | None = None
    plan: PlanRecord | None = None


def last_change_id(session: Session, tenant_id: str) -> int:
    """The id of the tenant's newest audit row, 0 if none."""
    return session.scalar(select(func.max(AuditRow.id)).where(AuditRow.tenant_id == tenant_id)) or 0


def changes_after(
    session: Session, tenant_id: str, after: int, skip: Collection[int] = (), limit: int = 200
) -> list[Change]:
    """The tenant's feed rows with id > `after` (except `skip`), oldest first, at most `limit`,
    each with its bid, clearing or plan read now. Another tenant's rows are never read."""
    query = (
        select(AuditRow)
        .where(
            AuditRow.tenant_id == tenant_id,
            AuditRow.id > after,
            AuditRow.action.in_([a.value for a in FEED_ACTIONS]),
        )
        .order_by(AuditRow.id)
        .limit(limit + len(skip))
    )
    rows = [row for row in session.scalars(query) if row.id not in skip][:limit]
    bid_ids = {_ident(r.subject, "bid ") for r in rows} - {None}
    plan_ids = {_ident(r.subject, "plan ") for r in rows} - {None}
    bids = {
        b.id: BidRecord.of(b)
        for b in session.scalars(
            select(BidRow).where(BidRow.tenant_id == tenant_id, BidRow.id.in_(bid_ids))
        )
    }
    clearings = {
        c.bid_id: ClearingRecord.of(c)
        for c in session.scalars(select(ClearingRow).where(ClearingRow.bid_id.in_(bids)))
    }
    plans = {
        p.id: PlanRecord.of(p)
        for p in session.scalars(
            select(PlanRow).where(PlanRow.tenant_id == tenant_id, PlanRow.id.in_(plan_ids))
        )
    }
    changes = []
    for row in rows:
        bid_id, plan_id = _ident(row.subject, "bid "), _ident(row.subject, "plan ")
        changes.append(
            Change(
                id=row.id,
                action=AuditAction(row.action),
                at=row.at,
                subject=row.subject,
                details=row.details,
                bid=bids.get(bid_id) if bid_id else None,
                clearing=clearings.get(bid_id) if bid_id else None,
                plan=plans.get(plan_id) if plan_id else None,
            )
        )
    return changes


def _ident(subject: str, prefix: str) -> str | None:
    return subject[len(prefix) :] if subject.startswith(prefix) else None
