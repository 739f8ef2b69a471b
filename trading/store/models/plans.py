"""Optimisation runs: one portfolio, one delivery day, queued -> running -> done | failed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trading.store.base import Base, vocabulary
from trading.store.vocabulary import PlanStatus, check_values


class PlanRow(Base):
    """A plan run and, once done, its result (the optimiser's `Plan` as JSON)."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint(f"status IN ({check_values(PlanStatus)})", name="status"),
        ForeignKeyConstraint(
            ["tenant_id", "portfolio_id"], ["portfolios.tenant_id", "portfolios.id"]
        ),
        Index("ix_plans_tenant_id_day", "tenant_id", "day"),
        Index("ix_plans_tenant_id_status", "tenant_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    portfolio_id: Mapped[str] = mapped_column(String(64))
    day: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), info=vocabulary(PlanStatus))
    request: Mapped[dict[str, Any] | None]
    """What was asked (``{"markets": [...]}``); None on plans from before revision 0002."""
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
