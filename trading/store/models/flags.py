"""Feature flags per dispatcher pool: one row per tenant, pool and flag that was set.

A pool is one of the tenant's bidding zones (the engine runs one dispatcher pool per zone
of the tenant's portfolio). A flag without a row has its default
(`trading.store.ops.flags.FLAGS`). Every change is also an audit row (who, when, old, new,
reason); this row holds the value in force and the last change's who, when and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from trading.store.base import Base, vocabulary
from trading.store.vocabulary import PoolFlag, check_values


class PoolFlagRow(Base):
    """One flag of one pool of a tenant, as last set by an admin (or the operator)."""

    __tablename__ = "pool_flags"
    __table_args__ = (CheckConstraint(f"flag IN ({check_values(PoolFlag)})", name="flag"),)

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    pool: Mapped[str] = mapped_column(
        String(64), primary_key=True, doc="the pool: a bidding zone of the tenant, e.g. DE_LU"
    )
    flag: Mapped[str] = mapped_column(
        String(32), primary_key=True, info=vocabulary(PoolFlag), doc="the flag's name"
    )
    value: Mapped[str] = mapped_column(String(64), doc="the value in force, e.g. on or off")
    reason: Mapped[str] = mapped_column(String(500), doc="why it was last set")
    updated_at: Mapped[datetime] = mapped_column(doc="when it was last set (UTC)")
    updated_by: Mapped[str | None] = mapped_column(
        ForeignKey("api_keys.id"), doc="the admin key that set it; None: the operator"
    )
