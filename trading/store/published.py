"""Which bids readers see: those of published submissions.

A submission is published when its ``published_at`` is set. Small submissions are written
published, in one transaction. A large batch on SQLite is written in chunks, each a short
transaction of its own, under a submission whose ``published_at`` stays NULL until one last
transaction sets it (`Repository._add_chunked`); until then its bids and their events exist
in the tables but no read shows them, so readers see a batch whole or not at all.

Every read that lists bids or their creation events (not by a bid's id: the ids of an
unpublished batch are known to no one yet) adds `published_bids`. The batch's audit rows,
which the event stream reads, are written by the publishing transaction itself. Unpublished
submissions are found through a partial index that holds them alone (almost always empty),
so the filter costs one look into that index.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, select

from trading.store.models import BidRow, BidSubmissionRow

UNPUBLISHED: Select[tuple[str]] = select(BidSubmissionRow.id).where(
    BidSubmissionRow.published_at.is_(None)
)
"""The ids of the submissions not yet published."""


def published_bids() -> ColumnElement[bool]:
    """WHERE clause: the bid belongs to a published submission."""
    return BidRow.submission_id.not_in(UNPUBLISHED)
