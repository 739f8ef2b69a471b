"""Bid decisions keep their evidence: plugin distribution, version and rule ids.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Expand only: three nullable columns on ``bid_events`` (``plugin_distribution``,
``plugin_version``, ``rule_ids``), filled on the step that creates a bid, and one new
table, ``bid_refusals``, one row per bid of a submission the market rules refused (the
bid itself is not stored as a bid). A release before this one writes neither and reads
neither, so both releases can run on one database during a rolling deploy; bids it
creates simply carry no evidence. The downgrade drops the table and the columns (the
evidence recorded since is lost).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("bid_events") as batch:
        batch.add_column(sa.Column("plugin_distribution", sa.String(200), nullable=True))
        batch.add_column(sa.Column("plugin_version", sa.String(64), nullable=True))
        batch.add_column(sa.Column("rule_ids", _json(), nullable=True))
    op.create_table(
        "bid_refusals",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("client_bid_id", sa.String(200), nullable=True),
        sa.Column("product_id", sa.Text(), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("market", sa.String(32), nullable=True),
        sa.Column("plugin_distribution", sa.String(200), nullable=True),
        sa.Column("plugin_version", sa.String(64), nullable=True),
        sa.Column("rule_ids", _json(), nullable=False),
        sa.Column("violations", _json(), nullable=False),
        sa.Column("document", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_refusals")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_bid_refusals_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_bid_refusals_key_id_api_keys")
        ),
    )
    op.create_index(
        op.f("ix_bid_refusals_tenant_id_at"), "bid_refusals", ["tenant_id", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_bid_refusals_tenant_id_at"), table_name="bid_refusals")
    op.drop_table("bid_refusals")
    with op.batch_alter_table("bid_events") as batch:
        batch.drop_column("rule_ids")
        batch.drop_column("plugin_version")
        batch.drop_column("plugin_distribution")
