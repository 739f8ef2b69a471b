"""Portfolios as validated documents, with their assets broken out into indexed rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from trading.store.base import Base


class PortfolioRow(Base):
    """A tenant's portfolio: the validated `regulatory.Portfolio` document as JSON.

    Keyed by (tenant, portfolio id): two tenants may use the same portfolio id. Saving a
    portfolio again replaces the document and increments `version`.
    """

    __tablename__ = "portfolios"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    document: Mapped[dict[str, Any]]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AssetRow(Base):
    """One asset of a stored portfolio, for queries by kind, site and country.

    The asset's full definition lives in the portfolio document; these columns copy the
    fields one searches by, and are rewritten with the document.
    """

    __tablename__ = "assets"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "portfolio_id"],
            ["portfolios.tenant_id", "portfolios.id"],
            ondelete="CASCADE",
        ),
        Index("ix_assets_tenant_id_id", "tenant_id", "id"),
        Index("ix_assets_tenant_id_kind", "tenant_id", "kind"),
        Index("ix_assets_tenant_id_site_id", "tenant_id", "site_id"),
        Index("ix_assets_tenant_id_country", "tenant_id", "country"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    portfolio_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))
