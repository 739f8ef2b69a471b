"""Plans keep what was asked of them (markets), so a queued plan can run after a restart.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

Expand only: one nullable column, ``plans.request`` (JSON). A release without it ignores
the column; a release with it reads a missing request as the default (day-ahead only), so
both can run on one database during a rolling deploy. The downgrade drops the column.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(
            sa.Column(
                "request",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("request")
