"""Partition leases of the dispatcher: which controller owns which partition of the fleet.

One row per partition. The owner holds the lease until `expires_at` unless it renews it;
`token` is the fencing token, raised by one at every change of owner and never lowered, so
a device that refuses commands carrying a token lower than the highest it has seen cannot
be commanded by an owner whose lease was taken (see `dispatch.cluster.leases`, which does
the conditional updates, and docs/scale.md). Times UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from trading.store.base import Base


class PartitionLeaseRow(Base):
    """The lease of one partition of the dispatcher's fleet."""

    __tablename__ = "partition_leases"

    partition: Mapped[str] = mapped_column(String(128), primary_key=True, doc="partition id")
    owner: Mapped[str | None] = mapped_column(
        String(128), doc="who holds the lease (None: released or never taken)"
    )
    token: Mapped[int] = mapped_column(
        BigInteger, doc="fencing token: + 1 at every change of owner, never lowered"
    )
    acquired_at: Mapped[datetime | None] = mapped_column(doc="when the owner took it (UTC)")
    renewed_at: Mapped[datetime | None] = mapped_column(doc="the owner's last renewal (UTC)")
    expires_at: Mapped[datetime | None] = mapped_column(
        doc="the lease is free from this instant unless renewed before (UTC)"
    )
