"""Feature flags per dispatcher pool.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Expand only: one new table, ``pool_flags`` (one row per tenant, pool and flag that was
set; a flag without a row has its default). A release before this one never reads it: its
pools follow every flag's default (aFRR activation on), so both can run on one database
during a rolling deploy. The downgrade drops it (the changes stay in the audit log).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGS = "'afrr_activation', 'virtual_trader', 'allocation_strategy'"


def upgrade() -> None:
    """Apply this change."""
    op.create_table(
        "pool_flags",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("pool", sa.String(length=64), nullable=False),
        sa.Column("flag", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=True),
        sa.CheckConstraint(f"flag IN ({FLAGS})", name=op.f("ck_pool_flags_flag")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_pool_flags_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["api_keys.id"], name=op.f("fk_pool_flags_updated_by_api_keys")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "pool", "flag", name=op.f("pk_pool_flags")),
    )


def downgrade() -> None:
    """Undo this change exactly."""
    op.drop_table("pool_flags")
