"""A submitter's ``bid_id`` is unique per tenant: ``bids.client_bid_id`` and its index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Expand only: one nullable column, ``bids.client_bid_id`` (the ``bid_id`` of the submitted
document), and the unique index ``uq_bids_tenant_id_client_bid_id`` on
``(tenant_id, client_bid_id)``. NULLs never collide, so bids without an id, and those a
release before this one writes, are not affected; bids stored before this migration keep
NULL and reserve no id (they may hold repeated ids, which a backfill would have to
resolve first). The downgrade drops both.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "uq_bids_tenant_id_client_bid_id"


def upgrade() -> None:
    with op.batch_alter_table("bids") as batch:
        batch.add_column(sa.Column("client_bid_id", sa.String(200), nullable=True))
    op.create_index(NAME, "bids", ["tenant_id", "client_bid_id"], unique=True)


def downgrade() -> None:
    op.drop_index(NAME, table_name="bids")
    with op.batch_alter_table("bids") as batch:
        batch.drop_column("client_bid_id")
