"""A submission's bids become visible when it is published.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

``bid_submissions.published_at`` [UTC]: when the submission's bids became visible to
readers. A large batch on SQLite is written in chunks, each its own short transaction, with
``published_at`` NULL; one last transaction sets it, and every read of bids and their
events leaves out the bids of unpublished submissions (`trading.store.published`). Every
existing submission was written whole, so the upgrade sets its ``published_at`` to its
``created_at``. A partial index holds the unpublished ones alone (almost always none), so
the readers' filter costs one look into an empty index.

Not for a rolling deploy: a release before this one writes submissions with a NULL
``published_at``, which this release neither shows nor keeps (its start-up sweep deletes
unpublished submissions). The downgrade drops the column and the index; submissions still
unpublished then (a batch whose writer died between chunks) would become visible, so it
deletes them first, with their bids and events.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPUBLISHED = "published_at IS NULL"


def upgrade() -> None:
    """Apply this change."""
    with op.batch_alter_table("bid_submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE bid_submissions SET published_at = created_at")
    op.create_index(
        "ix_bid_submissions_unpublished",
        "bid_submissions",
        ["id"],
        unique=False,
        sqlite_where=sa.text(UNPUBLISHED),
        postgresql_where=sa.text(UNPUBLISHED),
    )


def downgrade() -> None:
    """Undo this change (deleting the unpublished chunks first, see the module's text)."""
    unpublished = f"SELECT id FROM bid_submissions WHERE {UNPUBLISHED}"
    op.execute(
        "DELETE FROM bid_events WHERE bid_id IN "
        f"(SELECT id FROM bids WHERE submission_id IN ({unpublished}))"
    )
    op.execute(f"DELETE FROM bids WHERE submission_id IN ({unpublished})")
    op.execute(f"DELETE FROM bid_submissions WHERE {UNPUBLISHED}")
    op.drop_index("ix_bid_submissions_unpublished", table_name="bid_submissions")
    with op.batch_alter_table("bid_submissions", schema=None) as batch_op:
        batch_op.drop_column("published_at")
