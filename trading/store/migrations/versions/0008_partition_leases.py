"""Partition leases of the dispatcher (owner, fencing token, expiry).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Expand only: one new table, ``partition_leases``, that only the dispatcher's cluster
(`dispatch.cluster`) writes. A release before this one never touches it. The downgrade
drops it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this change."""
    op.create_table(
        "partition_leases",
        sa.Column("partition", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("partition", name=op.f("pk_partition_leases")),
    )


def downgrade() -> None:
    """Undo this change exactly."""
    op.drop_table("partition_leases")
