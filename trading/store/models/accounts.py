"""Who acts: tenants, their API keys (hashed), and the audit log of what they did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Double, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from trading.store.base import STORE_ONLY, Base, EventId, vocabulary
from trading.store.vocabulary import RiskLimitKind, Role, check_values

ROLE_CHECK = f"role IN ({check_values(Role)})"


class TenantRow(Base):
    """A trading tenant: the owner of portfolios, bids, plans and keys."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class ApiKeyRow(Base):
    """An API key: only the SHA-256 of its secret is kept, never the key itself."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(ROLE_CHECK, name="role"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), info=vocabulary(Role))
    name: Mapped[str] = mapped_column(String(200))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True, info=STORE_ONLY)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    """From this instant on the key no longer authenticates; NULL: it never expires."""


class AuditRow(Base):
    """One audited action: who (key, tenant, role), what, on which subject, when, details.

    `key_id` and `role` are NULL when the engine itself acted (a plan run, a clearing
    reported by an exchange gateway).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(f"role IS NULL OR {ROLE_CHECK}", name="role"),
        Index("ix_audit_log_tenant_at", "tenant_id", "at"),
        Index("ix_audit_log_tenant_action", "tenant_id", "action"),
        Index("ix_audit_log_tenant_subject", "tenant_id", "subject"),
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    role: Mapped[str | None] = mapped_column(String(16), info=vocabulary(Role))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None]


class RiskLimitRow(Base):
    """One risk limit of a tenant: its kind (see `RiskLimitKind`, which names the unit) and
    value; absent means the tenant has no limit of that kind."""

    __tablename__ = "risk_limits"
    __table_args__ = (
        CheckConstraint(f"kind IN ({check_values(RiskLimitKind)})", name="kind"),
        CheckConstraint("value > 0", name="value"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True, info=vocabulary(RiskLimitKind))
    value: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
