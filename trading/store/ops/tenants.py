"""Tenants: create one, and require that one exists."""

from __future__ import annotations

from sqlalchemy.orm import Session

from trading.store.checks import check_identifier
from trading.store.errors import ConflictError, NotFoundError, invalid
from trading.store.inputs import Actor
from trading.store.models import TenantRow
from trading.store.ops.audit import audit
from trading.store.records import TenantRecord
from trading.store.timestamps import utc_now
from trading.store.vocabulary import AuditAction


def create_tenant(session: Session, tenant_id: str, name: str) -> TenantRecord:
    """Add tenant `tenant_id`; `ConflictError` if it exists already."""
    check_identifier("tenant", "id", tenant_id)
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
        raise invalid(f"tenant {tenant_id}", "name", name, "must be text of 1 to 200 characters")
    if session.get(TenantRow, tenant_id) is not None:
        raise ConflictError(f"tenant {tenant_id!r}", "exists already")
    row = TenantRow(id=tenant_id, name=name.strip(), created_at=utc_now())
    session.add(row)
    session.flush()
    audit(session, Actor.system(tenant_id), AuditAction.TENANT_CREATE, f"tenant {tenant_id}")
    return TenantRecord.of(row)


def get_tenant(session: Session, tenant_id: str) -> TenantRecord | None:
    """The tenant `tenant_id`, or None."""
    row = session.get(TenantRow, tenant_id) if isinstance(tenant_id, str) else None
    return TenantRecord.of(row) if row is not None else None


def require_tenant(session: Session, tenant_id: str) -> TenantRow:
    """The tenant `tenant_id`; `NotFoundError` if there is none."""
    row = session.get(TenantRow, tenant_id) if isinstance(tenant_id, str) else None
    if row is None:
        raise NotFoundError("tenant", str(tenant_id))
    return row
