"""The first schema: tenants, API keys, audit log, portfolios, assets, plans, bids.

Revision ID: 0001
Revises:
Create Date: 2026-01-12

Expand only: creates every table; nothing existed before. Timestamps are
``timestamp with time zone`` on PostgreSQL and UTC text on SQLite (see
`trading.store.timestamps`); JSON documents are ``jsonb`` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = "'trader', 'analyst', 'compliance', 'admin'"
BID_STATUSES = "'draft', 'submitted', 'accepted', 'rejected', 'withdrawn'"
PLAN_STATUSES = "'queued', 'running', 'done', 'failed'"
CLEARING_STATUSES = "'accepted', 'rejected'"


def _instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _event_id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create every table, with named keys, checks and indexes."""
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("revoked_at", _instant(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.CheckConstraint(f"role IN ({ROLES})", name=op.f("ck_api_keys_role")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_api_keys_tenant_id_tenants")
        ),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_api_keys_secret_sha256")),
    )
    op.create_index(op.f("ix_api_keys_tenant_id"), "api_keys", ["tenant_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", _event_id(), autoincrement=True, nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("details", _json(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.CheckConstraint(f"role IS NULL OR role IN ({ROLES})", name=op.f("ck_audit_log_role")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_audit_log_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_audit_log_key_id_api_keys")
        ),
    )
    op.create_index(op.f("ix_audit_log_tenant_at"), "audit_log", ["tenant_id", "at"])
    op.create_index(op.f("ix_audit_log_tenant_action"), "audit_log", ["tenant_id", "action"])
    op.create_index(op.f("ix_audit_log_tenant_subject"), "audit_log", ["tenant_id", "subject"])
    op.create_table(
        "portfolios",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("document", _json(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("updated_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_portfolios")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_portfolios_tenant_id_tenants")
        ),
    )
    op.create_table(
        "assets",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("portfolio_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "portfolio_id", "id", name=op.f("pk_assets")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "portfolio_id"],
            ["portfolios.tenant_id", "portfolios.id"],
            name=op.f("fk_assets_tenant_id_portfolios"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_assets_tenant_id_id"), "assets", ["tenant_id", "id"])
    op.create_index(op.f("ix_assets_tenant_id_kind"), "assets", ["tenant_id", "kind"])
    op.create_index(op.f("ix_assets_tenant_id_site_id"), "assets", ["tenant_id", "site_id"])
    op.create_index(op.f("ix_assets_tenant_id_country"), "assets", ["tenant_id", "country"])
    op.create_table(
        "plans",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("portfolio_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", _json(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("updated_at", _instant(), nullable=False),
        sa.Column("started_at", _instant(), nullable=True),
        sa.Column("finished_at", _instant(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.CheckConstraint(f"status IN ({PLAN_STATUSES})", name=op.f("ck_plans_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_plans_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "portfolio_id"],
            ["portfolios.tenant_id", "portfolios.id"],
            name=op.f("fk_plans_tenant_id_portfolios"),
        ),
    )
    op.create_index(op.f("ix_plans_tenant_id_day"), "plans", ["tenant_id", "day"])
    op.create_index(op.f("ix_plans_tenant_id_status"), "plans", ["tenant_id", "status"])
    op.create_table(
        "bid_submissions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("created_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_submissions")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name=op.f("uq_bid_submissions_tenant_key")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_bid_submissions_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_bid_submissions_key_id_api_keys")
        ),
    )
    op.create_table(
        "bids",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("submission_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(128), nullable=False),
        sa.Column("market", sa.String(32), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("delivery_day", sa.Date(), nullable=False),
        sa.Column("delivery_start", _instant(), nullable=False),
        sa.Column("gate_closure", _instant(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("document", _json(), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=True),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("updated_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids")),
        sa.CheckConstraint(f"status IN ({BID_STATUSES})", name=op.f("ck_bids_status")),
        sa.UniqueConstraint("submission_id", "position", name=op.f("uq_bids_submission_position")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_bids_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["bid_submissions.id"],
            name=op.f("fk_bids_submission_id_bid_submissions"),
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_bids_plan_id_plans")),
    )
    op.create_index(op.f("ix_bids_tenant_id_created_at"), "bids", ["tenant_id", "created_at"])
    op.create_index(op.f("ix_bids_tenant_id_status"), "bids", ["tenant_id", "status"])
    op.create_index(op.f("ix_bids_tenant_id_delivery_day"), "bids", ["tenant_id", "delivery_day"])
    op.create_index(op.f("ix_bids_tenant_id_market"), "bids", ["tenant_id", "market"])
    op.create_index(op.f("ix_bids_tenant_id_product_id"), "bids", ["tenant_id", "product_id"])
    op.create_index(op.f("ix_bids_plan_id"), "bids", ["plan_id"])
    op.create_table(
        "bid_events",
        sa.Column("id", _event_id(), autoincrement=True, nullable=False),
        sa.Column("bid_id", sa.String(36), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rule_version", sa.String(64), nullable=True),
        sa.Column("details", _json(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_events")),
        sa.CheckConstraint(
            f"from_status IS NULL OR from_status IN ({BID_STATUSES})",
            name=op.f("ck_bid_events_from_status"),
        ),
        sa.CheckConstraint(f"to_status IN ({BID_STATUSES})", name=op.f("ck_bid_events_to_status")),
        sa.ForeignKeyConstraint(["bid_id"], ["bids.id"], name=op.f("fk_bid_events_bid_id_bids")),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_bid_events_key_id_api_keys")
        ),
    )
    op.create_index(op.f("ix_bid_events_bid_id"), "bid_events", ["bid_id"])
    op.create_table(
        "clearing_results",
        sa.Column("bid_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cleared_volume_mw", sa.Double(), nullable=False),
        sa.Column("clearing_price", sa.Double(), nullable=True),
        sa.Column("remuneration_price", sa.Double(), nullable=True),
        sa.Column("cleared_at", _instant(), nullable=False),
        sa.Column("recorded_at", _instant(), nullable=False),
        sa.Column("details", _json(), nullable=True),
        sa.PrimaryKeyConstraint("bid_id", name=op.f("pk_clearing_results")),
        sa.CheckConstraint(
            f"status IN ({CLEARING_STATUSES})", name=op.f("ck_clearing_results_status")
        ),
        sa.ForeignKeyConstraint(
            ["bid_id"], ["bids.id"], name=op.f("fk_clearing_results_bid_id_bids")
        ),
    )


def downgrade() -> None:
    """Drop every table, children first."""
    op.drop_table("clearing_results")
    op.drop_index(op.f("ix_bid_events_bid_id"), table_name="bid_events")
    op.drop_table("bid_events")
    for index in (
        "ix_bids_plan_id",
        "ix_bids_tenant_id_product_id",
        "ix_bids_tenant_id_market",
        "ix_bids_tenant_id_delivery_day",
        "ix_bids_tenant_id_status",
        "ix_bids_tenant_id_created_at",
    ):
        op.drop_index(op.f(index), table_name="bids")
    op.drop_table("bids")
    op.drop_table("bid_submissions")
    op.drop_index(op.f("ix_plans_tenant_id_status"), table_name="plans")
    op.drop_index(op.f("ix_plans_tenant_id_day"), table_name="plans")
    op.drop_table("plans")
    for index in (
        "ix_assets_tenant_id_country",
        "ix_assets_tenant_id_site_id",
        "ix_assets_tenant_id_kind",
        "ix_assets_tenant_id_id",
    ):
        op.drop_index(op.f(index), table_name="assets")
    op.drop_table("assets")
    op.drop_table("portfolios")
    for index in (
        "ix_audit_log_tenant_subject",
        "ix_audit_log_tenant_action",
        "ix_audit_log_tenant_at",
    ):
        op.drop_index(op.f(index), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_api_keys_tenant_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("tenants")
