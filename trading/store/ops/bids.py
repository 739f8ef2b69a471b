"""Bids: add a batch under an idempotency key, read one, list with filters, read history.

Idempotency: a batch is one `BidSubmissionRow`, unique per (tenant, idempotency key), and
holds the SHA-256 of the request. A replay with the same request returns the bids stored
the first time; the same key with a different request is refused. The submission row is
flushed before any bid, so a second writer racing with the same key fails on the unique
constraint before writing anything else (see `Repository.add_bids` for the retry).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulatory.problems import Problem
from trading.store.errors import IdempotencyKeyReusedError, raise_problems
from trading.store.inputs import Actor, PreparedBid
from trading.store.models import BidEventRow, BidRow, BidSubmissionRow, PlanRow
from trading.store.ops.audit import audit, count
from trading.store.ops.keys import key_actor
from trading.store.ops.tenants import require_tenant
from trading.store.records import AddBidsResult, BidEventRecord, BidRecord, Page
from trading.store.timestamps import utc_now
from trading.store.vocabulary import AuditAction, BidStatus


def request_digest(bids: Sequence[PreparedBid]) -> str:
    """Hex SHA-256 of a batch's canonical JSON: equal for equal requests, whatever the order
    of keys in the documents or the time zone of the datetimes."""
    canonical = json.dumps([bid.canonical() for bid in bids], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def find_submission(
    session: Session, tenant_id: str, idempotency_key: str, digest: str
) -> AddBidsResult | None:
    """The stored result of an earlier call with this key, or None if there was none.

    `IdempotencyKeyReusedError` if the earlier call's request differs from `digest`.
    """
    submission = session.scalar(
        select(BidSubmissionRow).where(
            BidSubmissionRow.tenant_id == tenant_id,
            BidSubmissionRow.idempotency_key == idempotency_key,
        )
    )
    if submission is None:
        return None
    if submission.request_sha256 != digest:
        raise IdempotencyKeyReusedError(tenant_id, idempotency_key)
    rows = session.scalars(
        select(BidRow).where(BidRow.submission_id == submission.id).order_by(BidRow.position)
    )
    bids = tuple(BidRecord.of(r) for r in rows)
    return AddBidsResult(submission.id, idempotency_key, bids, created=False)


def add_bids(
    session: Session,
    tenant_id: str,
    key_id: str | None,
    bids: Sequence[PreparedBid],
    idempotency_key: str,
    digest: str,
) -> AddBidsResult:
    """Store `bids` as one submission, or return the earlier result for this key."""
    require_tenant(session, tenant_id)
    actor = key_actor(session, tenant_id, key_id, "bids")
    earlier = find_submission(session, tenant_id, idempotency_key, digest)
    if earlier is not None:
        return earlier
    _check_plans(session, tenant_id, bids)
    now = utc_now()
    submission = BidSubmissionRow(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        idempotency_key=idempotency_key,
        request_sha256=digest,
        key_id=actor.key_id,
        created_at=now,
    )
    session.add(submission)
    session.flush()  # a racing twin fails here, before anything else is written
    rows = [
        _bid_row(tenant_id, submission.id, position, bid, now) for position, bid in enumerate(bids)
    ]
    session.add_all(rows)
    session.flush()
    for row, bid in zip(rows, bids, strict=True):
        _record_creation(session, actor, row, bid, idempotency_key)
    return AddBidsResult(
        submission.id, idempotency_key, tuple(BidRecord.of(r) for r in rows), created=True
    )


def _bid_row(
    tenant_id: str, submission_id: str, position: int, bid: PreparedBid, now: datetime
) -> BidRow:
    return BidRow(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        submission_id=submission_id,
        position=position,
        product_id=bid.product_id,
        market=bid.market,
        country=bid.country,
        delivery_day=bid.delivery_day,
        delivery_start=bid.delivery_start,
        gate_closure=bid.gate_closure,
        status=bid.status.value,
        document=bid.document,
        plan_id=bid.plan_id,
        created_at=now,
        updated_at=now,
    )


def _record_creation(
    session: Session, actor: Actor, row: BidRow, bid: PreparedBid, idempotency_key: str
) -> None:
    session.add(
        BidEventRow(
            bid_id=row.id,
            from_status=None,
            to_status=row.status,
            at=row.created_at,
            key_id=actor.key_id,
            reason="created",
            rule_version=bid.rule_version,
            details=bid.validation,
        )
    )
    audit(
        session,
        actor,
        AuditAction.BID_CREATE,
        f"bid {row.id}",
        {
            "submission_id": row.submission_id,
            "idempotency_key": idempotency_key,
            "product_id": row.product_id,
            "status": row.status,
            "rule_version": bid.rule_version,
            "validation": bid.validation,
        },
        at=row.created_at,
    )


def _check_plans(session: Session, tenant_id: str, bids: Sequence[PreparedBid]) -> None:
    wanted = {bid.plan_id for bid in bids if bid.plan_id is not None}
    if not wanted:
        return
    found = set(
        session.scalars(
            select(PlanRow.id).where(PlanRow.tenant_id == tenant_id, PlanRow.id.in_(wanted))
        )
    )
    raise_problems(
        Problem(f"bid #{index + 1}", "plan_id", bid.plan_id, f"is not a plan of {tenant_id!r}")
        for index, bid in enumerate(bids)
        if bid.plan_id is not None and bid.plan_id not in found
    )


def get_bid(session: Session, tenant_id: str, bid_id: str) -> BidRecord | None:
    """The tenant's bid `bid_id`, or None (also when it is another tenant's)."""
    row = session.scalar(select(BidRow).where(BidRow.id == bid_id, BidRow.tenant_id == tenant_id))
    return BidRecord.of(row) if row is not None else None


def list_bids(
    session: Session,
    tenant_id: str,
    *,
    market: str | None = None,
    product_id: str | None = None,
    status: BidStatus | None = None,
    delivery_day: date | None = None,
    page: int = 1,
    limit: int = 100,
) -> Page[BidRecord]:
    """The tenant's bids matching every filter, oldest first, a batch in its given order.

    The order (created_at, submission, position) is total, so pages never overlap or skip.
    """
    query = select(BidRow).where(BidRow.tenant_id == tenant_id)
    if market is not None:
        query = query.where(BidRow.market == market)
    if product_id is not None:
        query = query.where(BidRow.product_id == product_id)
    if status is not None:
        query = query.where(BidRow.status == status.value)
    if delivery_day is not None:
        query = query.where(BidRow.delivery_day == delivery_day)
    total = count(session, query)
    rows = session.scalars(
        query.order_by(BidRow.created_at, BidRow.submission_id, BidRow.position)
        .offset((page - 1) * limit)
        .limit(limit)
    )
    return Page(tuple(BidRecord.of(r) for r in rows), page, limit, total)


def bid_history(session: Session, tenant_id: str, bid_id: str) -> list[BidEventRecord] | None:
    """Every lifecycle step of the tenant's bid, oldest first; None if it has no such bid."""
    if get_bid(session, tenant_id, bid_id) is None:
        return None
    rows = session.scalars(
        select(BidEventRow).where(BidEventRow.bid_id == bid_id).order_by(BidEventRow.id)
    )
    return [BidEventRecord.of(r) for r in rows]
