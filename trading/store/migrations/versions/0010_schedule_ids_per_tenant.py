"""Schedule ids are unique per tenant, not across tenants.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

``engine_schedules`` had the schedule id alone as its primary key, and the engine names a
schedule after its portfolio and day (``sch-<portfolio>-<day>-v<n>``): two tenants whose
portfolios share an id collided, and the second tenant's day failed at every re-plan. The
key becomes (tenant_id, id). Every existing row stays unique under the wider key, so the
upgrade keeps them all; the downgrade fails (leaving the table as it was) if two tenants
now hold the same id, rather than dropping one of their schedules.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this change."""
    with op.batch_alter_table("engine_schedules", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint("pk_engine_schedules", type_="primary")
        batch_op.create_primary_key("pk_engine_schedules", ["tenant_id", "id"])


def downgrade() -> None:
    """Undo this change exactly."""
    with op.batch_alter_table("engine_schedules", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint("pk_engine_schedules", type_="primary")
        batch_op.create_primary_key("pk_engine_schedules", ["id"])
