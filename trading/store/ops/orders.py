"""The desk's order tools in the store: replace a bid by a new version, cancel many at once.

Replace: in one transaction the old bid (locked) moves to withdrawn with a reason naming
the new version, and the new version is stored as a submission of its own whose creation
event names the old one; both stay readable with their histories. The old version gives
up its client ``bid_id`` so that the new version may carry it. With an idempotency key, a
retry of the same replacement answers the first result.

Cancel-all: every submitted bid of the tenant matching the filters is locked; those
before their gate closure move to withdrawn, the others are named with the reason they
stay. One audit row records the call, its filters and its outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from trading.store.engine import WRITE, session_factory
from trading.store.errors import ConflictError
from trading.store.inputs import Actor
from trading.store.models import BidEventRow, BidRow
from trading.store.ops.audit import audit
from trading.store.ops.bids import Submission, add_submissions, find_submission
from trading.store.ops.keys import key_actor
from trading.store.ops.lifecycle import apply_transition, locked_bid
from trading.store.published import published_bids
from trading.store.records import AddBidsResult, BidRecord
from trading.store.timestamps import utc_now
from trading.store.vocabulary import AuditAction, BidStatus

T = TypeVar("T")


class OrderDesk:
    """Runs the order operations of this module, each in one write transaction on `engine`."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            session.connection(execution_options={WRITE: True})
            yield session

    def run(self, operation: Callable[[Session], T]) -> T:
        """`operation` in a write transaction (committed if it returns, rolled back if not)."""
        with self._write() as session:
            return operation(session)


class GateClosedError(ConflictError):
    """The bid's gate closure has passed: it can no longer be changed."""

    def __init__(self, bid_id: str, gate_closure: datetime, now: datetime) -> None:
        self.bid_id, self.gate_closure, self.now = bid_id, gate_closure, now
        super().__init__(
            f"bid {bid_id}",
            f"gate closure {gate_closure.isoformat()} has passed (now {now.isoformat()})",
        )


class NotLiveError(ConflictError):
    """The bid is not submitted (withdrawn, replaced, cleared): it cannot be replaced."""

    def __init__(self, bid_id: str, status: BidStatus, reason: str | None) -> None:
        self.bid_id, self.status, self.reason = bid_id, status, reason
        why = f" ({reason})" if reason else ""
        super().__init__(f"bid {bid_id}", f"is {status.value}{why}; only a submitted bid changes")


@dataclass(frozen=True)
class Replacement:
    """The outcome of a replace: the old version as it is now and the new version's submission."""

    old: BidRecord
    new: AddBidsResult


def replace_bid(
    session: Session, actor: Actor, old_bid_id: str, submission: Submission, now: datetime
) -> Replacement:
    """Withdraw the tenant's submitted bid `old_bid_id` and store `submission` (one bid) as
    its new version, both at `now` [UTC].

    `NotFoundError` if the bid is absent or another tenant's; `NotLiveError` if it is not
    submitted; `GateClosedError` if its gate closure is at or before `now`;
    `IdempotencyKeyReusedError` / `BidIdTakenError` as for a submission. A replay of the
    same idempotency key and body returns the first replacement (``new.created`` False).
    """
    actor = key_actor(session, actor.tenant_id, actor.key_id, f"bid {old_bid_id}")
    row = locked_bid(session, old_bid_id, actor.tenant_id)
    earlier = find_submission(
        session, actor.tenant_id, submission.idempotency_key, submission.digest
    )
    if earlier is not None:
        return Replacement(BidRecord.of(row), earlier)
    status = BidStatus(row.status)
    if status is not BidStatus.SUBMITTED:
        raise NotLiveError(old_bid_id, status, _last_reason(session, old_bid_id))
    if row.gate_closure <= now:
        raise GateClosedError(old_bid_id, row.gate_closure, now)
    # the old version gives its client bid_id to the new one (its document keeps it)
    session.execute(update(BidRow).where(BidRow.id == row.id).values(client_bid_id=None))
    (outcome,) = add_submissions(session, [submission])
    if isinstance(outcome, Exception):
        raise outcome
    new_id = outcome.bids[0].id
    session.execute(
        update(BidEventRow)
        .where(BidEventRow.bid_id == new_id, BidEventRow.from_status.is_(None))
        .values(reason=f"created, replacing bid {old_bid_id}")
    )
    session.refresh(row)
    apply_transition(
        session,
        row,
        BidStatus.WITHDRAWN,
        actor,
        f"replaced by bid {new_id}",
        {"replaced_by": new_id},
        None,
    )
    audit(
        session,
        actor,
        AuditAction.BID_REPLACE,
        f"bid {old_bid_id}",
        {"replaced_by": new_id, "idempotency_key": submission.idempotency_key},
        at=now,
    )
    session.flush()
    return Replacement(BidRecord.of(row), outcome)


def _last_reason(session: Session, bid_id: str) -> str | None:
    return session.scalar(
        select(BidEventRow.reason)
        .where(BidEventRow.bid_id == bid_id)
        .order_by(BidEventRow.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class CancelFilters:
    """Which of the tenant's submitted bids a cancel-all takes; None: any."""

    market: str | None = None
    zone: str | None = None
    """The bidding zone: the product id's first part (``DE`` in ``DE:day_ahead:...``)."""
    delivery_day: date | None = None
    """The market-local delivery day."""

    def as_dict(self) -> dict[str, str | None]:
        day = None if self.delivery_day is None else self.delivery_day.isoformat()
        return {"market": self.market, "zone": self.zone, "delivery_day": day}


@dataclass(frozen=True)
class Kept:
    """A bid cancel-all could not withdraw, and why."""

    bid: BidRecord
    reason: str


@dataclass(frozen=True)
class Cancellation:
    """What a cancel-all did: the bids it withdrew and those it had to keep."""

    withdrawn: tuple[BidRecord, ...]
    kept: tuple[Kept, ...]


def cancel_all(
    session: Session, actor: Actor, filters: CancelFilters, now: datetime, reason: str | None
) -> Cancellation:
    """Withdraw every submitted bid of `actor`'s tenant matching `filters` whose gate closure
    is after `now` [UTC]; name the matching ones past their gate as kept. Audited once."""
    actor = key_actor(session, actor.tenant_id, actor.key_id, "bids of the tenant")
    query = select(BidRow).where(
        BidRow.tenant_id == actor.tenant_id,
        BidRow.status == BidStatus.SUBMITTED.value,
        published_bids(),
    )
    if filters.market is not None:
        query = query.where(BidRow.market == filters.market)
    if filters.zone is not None:
        query = query.where(BidRow.country == filters.zone)
    if filters.delivery_day is not None:
        query = query.where(BidRow.delivery_day == filters.delivery_day)
    rows = session.scalars(
        query.order_by(BidRow.created_at, BidRow.submission_id, BidRow.position).with_for_update()
    ).all()
    why = reason or "cancel-all through the API"
    withdrawn: list[BidRecord] = []
    kept: list[Kept] = []
    for row in rows:
        if row.gate_closure <= now:
            text = (
                f"gate closure {row.gate_closure.isoformat()} has passed "
                f"(now {now.isoformat()}); the bid is with the market"
            )
            kept.append(Kept(BidRecord.of(row), text))
            continue
        apply_transition(
            session, row, BidStatus.WITHDRAWN, actor, why, {"cancel_all": filters.as_dict()}, None
        )
        withdrawn.append(BidRecord.of(row))
    audit(
        session,
        actor,
        AuditAction.BID_CANCEL_ALL,
        f"tenant {actor.tenant_id}",
        {
            "filters": filters.as_dict(),
            "reason": why,
            "withdrawn": [b.id for b in withdrawn],
            "kept": [{"id": k.bid.id, "reason": k.reason} for k in kept],
        },
        at=utc_now(),
    )
    session.flush()
    return Cancellation(tuple(withdrawn), tuple(kept))
