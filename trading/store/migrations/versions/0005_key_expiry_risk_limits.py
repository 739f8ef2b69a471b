"""API keys may expire; tenants get risk limits.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Expand only: one nullable column, ``api_keys.expires_at`` (NULL: the key never expires),
and one new table, ``risk_limits`` (one row per tenant and limit kind). A release before
this one ignores both: its keys never expire and it checks no risk limit, so both can
run on one database during a rolling deploy. The downgrade drops the table and column.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIMIT_KINDS = "'max_bid_mw', 'max_net_position_mw', 'max_notional_eur_per_day'"


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "risk_limits",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "kind", name=op.f("pk_risk_limits")),
        sa.CheckConstraint(f"kind IN ({LIMIT_KINDS})", name=op.f("ck_risk_limits_kind")),
        sa.CheckConstraint("value > 0", name=op.f("ck_risk_limits_value")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_risk_limits_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["api_keys.id"], name=op.f("fk_risk_limits_updated_by_api_keys")
        ),
    )


def downgrade() -> None:
    op.drop_table("risk_limits")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
