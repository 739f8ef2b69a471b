"""The engine's books: positions, schedule versions, metering per ISP, settlements.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Expand only: four new tables (``engine_positions``, ``engine_schedules``,
``engine_metering``, ``engine_settlements``) that only the engine writes and only the
engine's routes read. A release before this one never touches them, so both can run on
one database during a rolling deploy. The downgrade drops the four tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this change."""
    op.create_table(
        "engine_metering",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("portfolio_id", sa.String(length=64), nullable=False),
        sa.Column("asset_id", sa.String(length=64), nullable=False),
        sa.Column("isp_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("zone", sa.String(length=16), nullable=False),
        sa.Column("measured_mwh", sa.Double(), nullable=False),
        sa.Column("truth_mwh", sa.Double(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "portfolio_id"],
            ["portfolios.tenant_id", "portfolios.id"],
            name=op.f("fk_engine_metering_tenant_id_portfolios"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_engine_metering_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "portfolio_id", "asset_id", "isp_start", name=op.f("pk_engine_metering")
        ),
    )
    with op.batch_alter_table("engine_metering", schema=None) as batch_op:
        batch_op.create_index(
            "ix_engine_metering_tenant_id_day", ["tenant_id", "day"], unique=False
        )

    op.create_table(
        "engine_schedules",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("portfolio_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("plan_id", sa.String(length=128), nullable=False),
        sa.Column(
            "bid_ids", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "portfolio_id"],
            ["portfolios.tenant_id", "portfolios.id"],
            name=op.f("fk_engine_schedules_tenant_id_portfolios"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_engine_schedules_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_schedules")),
    )
    with op.batch_alter_table("engine_schedules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_engine_schedules_tenant_id_day", ["tenant_id", "day"], unique=False
        )

    op.create_table(
        "engine_settlements",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("portfolio_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "portfolio_id"],
            ["portfolios.tenant_id", "portfolios.id"],
            name=op.f("fk_engine_settlements_tenant_id_portfolios"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_engine_settlements_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "portfolio_id", "day", name=op.f("pk_engine_settlements")
        ),
    )
    op.create_table(
        "engine_positions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("portfolio_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bid_id", sa.String(length=36), nullable=False),
        sa.Column("market", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=160), nullable=False),
        sa.Column("zone", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("pool", sa.String(length=64), nullable=True),
        sa.Column("delivery_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mw", sa.Double(), nullable=False),
        sa.Column("remuneration", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bid_id"], ["bids.id"], name=op.f("fk_engine_positions_bid_id_bids")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "portfolio_id"],
            ["portfolios.tenant_id", "portfolios.id"],
            name=op.f("fk_engine_positions_tenant_id_portfolios"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_engine_positions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_positions")),
    )
    with op.batch_alter_table("engine_positions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_engine_positions_tenant_id_day", ["tenant_id", "day"], unique=False
        )


def downgrade() -> None:
    """Undo this change exactly."""
    with op.batch_alter_table("engine_positions", schema=None) as batch_op:
        batch_op.drop_index("ix_engine_positions_tenant_id_day")

    op.drop_table("engine_positions")
    op.drop_table("engine_settlements")
    with op.batch_alter_table("engine_schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_engine_schedules_tenant_id_day")

    op.drop_table("engine_schedules")
    with op.batch_alter_table("engine_metering", schema=None) as batch_op:
        batch_op.drop_index("ix_engine_metering_tenant_id_day")

    op.drop_table("engine_metering")
