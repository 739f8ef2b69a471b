"""An index for the clearing loop's question: which submitted bids have reached their gate.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

Expand only: one index, ``ix_bids_status_gate_closure`` on ``bids (status, gate_closure)``.
Releases before it run unchanged (they never name the index). On a large PostgreSQL table
build it beforehand with ``CREATE INDEX CONCURRENTLY`` under the same name; this migration
then finds it and skips the build.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_bids_status_gate_closure"


def upgrade() -> None:
    existing = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("bids")}
    if NAME not in existing:
        op.create_index(NAME, "bids", ["status", "gate_closure"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="bids")
