"""Write and query the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from trading.store.checks import aware_problems, check_enum, check_page
from trading.store.errors import raise_problems
from trading.store.inputs import Actor
from trading.store.models import AuditRow
from trading.store.records import AuditRecord, Page
from trading.store.timestamps import utc_now
from trading.store.vocabulary import AuditAction


def audit(
    session: Session,
    actor: Actor,
    action: AuditAction,
    subject: str,
    details: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> AuditRow:
    """Add an audit row: `actor` did `action` on `subject` (at `at`, default now)."""
    row = AuditRow(
        at=at or utc_now(),
        tenant_id=actor.tenant_id,
        key_id=actor.key_id,
        role=actor.role.value if actor.role else None,
        action=action.value,
        subject=subject,
        details=dict(details) if details is not None else None,
    )
    session.add(row)
    return row


def list_audit(
    session: Session,
    tenant_id: str,
    *,
    action: AuditAction | str | None = None,
    subject: str | None = None,
    key_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    limit: int = 100,
) -> Page[AuditRecord]:
    """A page of the tenant's audit rows, oldest first, filtered; `since` <= at < `until`.

    `InvalidInputError` names a bad page, limit, action or time before anything is read.
    """
    page, limit = check_page(page, limit)
    action = None if action is None else check_enum(AuditAction, "audit", "action", action)
    raise_problems(
        [
            *(aware_problems("audit query", "since", since) if since is not None else ()),
            *(aware_problems("audit query", "until", until) if until is not None else ()),
        ]
    )
    query = select(AuditRow).where(AuditRow.tenant_id == tenant_id)
    if action is not None:
        query = query.where(AuditRow.action == action.value)
    if subject is not None:
        query = query.where(AuditRow.subject == subject)
    if key_id is not None:
        query = query.where(AuditRow.key_id == key_id)
    if since is not None:
        query = query.where(AuditRow.at >= since)
    if until is not None:
        query = query.where(AuditRow.at < until)
    total = count(session, query)
    rows = session.scalars(
        query.order_by(AuditRow.at, AuditRow.id).offset((page - 1) * limit).limit(limit)
    )
    return Page(tuple(AuditRecord.of(r) for r in rows), page, limit, total)


def count(session: Session, query: Select[Any]) -> int:
    """How many rows `query` selects."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
