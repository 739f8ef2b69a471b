"""A bid's lifecycle: status transitions and the market's clearing result.

Every move is checked against `BID_TRANSITIONS`, locks the bid row (``FOR UPDATE`` on
PostgreSQL; SQLite's write transactions are serial), and writes one `BidEventRow` and
one audit row in the same transaction as the status change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.store.checks import aware_problems, check_enum, check_finite, json_problems
from trading.store.errors import (
    ConflictError,
    NotFoundError,
    TransitionError,
    invalid,
    raise_problems,
)
from trading.store.inputs import Actor
from trading.store.models import BidEventRow, BidRow, ClearingRow
from trading.store.ops.audit import audit
from trading.store.ops.keys import key_actor
from trading.store.records import BidRecord, ClearingRecord
from trading.store.timestamps import as_utc, utc_now
from trading.store.vocabulary import BID_TRANSITIONS, AuditAction, BidStatus, ClearingStatus

MAX_REASON = 2000
"""Longest reason text a transition may carry [characters]."""


def locked_bid(session: Session, bid_id: str, tenant_id: str) -> BidRow:
    """The tenant's bid, locked for update; `NotFoundError` if absent or another tenant's."""
    row = session.scalar(
        select(BidRow).where(BidRow.id == bid_id, BidRow.tenant_id == tenant_id).with_for_update()
    )
    if row is None:
        raise NotFoundError("bid", str(bid_id), tenant_id)
    return row


def transition(
    session: Session,
    bid_id: str,
    to_status: BidStatus | str,
    actor: Actor,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
    rule_version: str | None = None,
) -> BidRecord:
    """Move the bid of `actor`'s tenant to `to_status`, recording who, why and under which rules.

    `TransitionError` names from, to and the allowed moves; `NotFoundError` if the bid is
    absent or another tenant's.
    """
    target = check_enum(BidStatus, f"bid {bid_id}", "to_status", to_status)
    subject = f"bid {bid_id}"
    if reason is not None and not (isinstance(reason, str) and len(reason) <= MAX_REASON):
        raise invalid(subject, "reason", reason, f"must be text of at most {MAX_REASON} characters")
    if rule_version is not None and not (isinstance(rule_version, str) and rule_version):
        raise invalid(subject, "rule_version", rule_version, "must be non-empty text or None")
    raise_problems(json_problems(subject, "details", details))
    actor = key_actor(session, actor.tenant_id, actor.key_id, subject)
    row = locked_bid(session, bid_id, actor.tenant_id)
    apply_transition(session, row, target, actor, reason, details, rule_version)
    return BidRecord.of(row)


def apply_transition(
    session: Session,
    row: BidRow,
    target: BidStatus,
    actor: Actor,
    reason: str | None,
    details: Mapping[str, Any] | None,
    rule_version: str | None,
) -> None:
    """Check and apply one move of a locked bid row, with its event and audit rows."""
    current = BidStatus(row.status)
    allowed = BID_TRANSITIONS[current]
    if target not in allowed:
        raise TransitionError(f"bid {row.id}", current.value, target.value, allowed)
    now = utc_now()
    row.status, row.updated_at = target.value, now
    event_details = dict(details) if details is not None else None
    session.add(
        BidEventRow(
            bid_id=row.id,
            from_status=current.value,
            to_status=target.value,
            at=now,
            key_id=actor.key_id,
            reason=reason,
            rule_version=rule_version,
            details=event_details,
        )
    )
    audit(
        session,
        actor,
        AuditAction.BID_TRANSITION,
        f"bid {row.id}",
        {
            "from": current.value,
            "to": target.value,
            "reason": reason,
            "rule_version": rule_version,
            "details": event_details,
        },
        at=now,
    )


def record_clearing(
    session: Session,
    bid_id: str,
    actor: Actor,
    *,
    status: ClearingStatus | str,
    cleared_volume_mw: float,
    clearing_price: float | None,
    remuneration_price: float | None,
    cleared_at: datetime,
    details: Mapping[str, Any] | None = None,
) -> ClearingRecord:
    """Store the market's result for a submitted bid and move it to accepted or rejected.

    Volumes [MW] carry the bid's sign (energy: + sold, - bought); prices are in the
    product's unit [EUR/MWh or EUR/MW/h]. An accepted bid needs a non-zero volume and both
    prices; a rejected one a zero volume. Recording the identical result again returns
    it; a different one is a `ConflictError`.
    """
    subject = f"clearing of bid {bid_id}"
    result = check_enum(ClearingStatus, subject, "status", status)
    check_finite(subject, "cleared_volume_mw", cleared_volume_mw)
    check_finite(subject, "clearing_price", clearing_price, optional=True)
    check_finite(subject, "remuneration_price", remuneration_price, optional=True)
    raise_problems(
        [
            *aware_problems(subject, "cleared_at", cleared_at),
            *json_problems(subject, "details", details),
        ]
    )
    if result is ClearingStatus.REJECTED and cleared_volume_mw != 0:
        raise invalid(subject, "cleared_volume_mw", cleared_volume_mw, "must be 0 when rejected")
    if result is ClearingStatus.ACCEPTED:
        if cleared_volume_mw == 0:
            raise invalid(
                subject, "cleared_volume_mw", 0, "must not be 0 when accepted (that is rejected)"
            )
        for name, price in (
            ("clearing_price", clearing_price),
            ("remuneration_price", remuneration_price),
        ):
            if price is None:
                raise invalid(subject, name, None, "is required when the bid is accepted")
    cleared_at = as_utc(cleared_at, "cleared_at")
    actor = key_actor(session, actor.tenant_id, actor.key_id, subject)
    row = locked_bid(session, bid_id, actor.tenant_id)
    earlier = session.get(ClearingRow, bid_id)
    given = (result.value, float(cleared_volume_mw), clearing_price, remuneration_price)
    if earlier is not None:
        stored = (
            earlier.status,
            earlier.cleared_volume_mw,
            earlier.clearing_price,
            earlier.remuneration_price,
        )
        if stored == given and earlier.cleared_at == cleared_at:
            return ClearingRecord.of(earlier)
        raise ConflictError(subject, f"a different result was recorded already: {stored}")
    target = BidStatus.ACCEPTED if result is ClearingStatus.ACCEPTED else BidStatus.REJECTED
    apply_transition(session, row, target, actor, "cleared", {"clearing": result.value}, None)
    clearing = ClearingRow(
        bid_id=bid_id,
        status=result.value,
        cleared_volume_mw=float(cleared_volume_mw),
        clearing_price=clearing_price,
        remuneration_price=remuneration_price,
        cleared_at=cleared_at,
        recorded_at=utc_now(),
        details=dict(details) if details is not None else None,
    )
    session.add(clearing)
    audit(
        session,
        actor,
        AuditAction.BID_CLEAR,
        f"bid {bid_id}",
        {
            "status": result.value,
            "cleared_volume_mw": float(cleared_volume_mw),
            "clearing_price": clearing_price,
            "remuneration_price": remuneration_price,
            "cleared_at": cleared_at.isoformat(),
        },
    )
    session.flush()
    return ClearingRecord.of(clearing)


def get_clearing(session: Session, tenant_id: str, bid_id: str) -> ClearingRecord | None:
    """The clearing result of the tenant's bid, or None (none yet, or not the tenant's)."""
    row = session.scalar(
        select(ClearingRow)
        .join(BidRow, BidRow.id == ClearingRow.bid_id)
        .where(ClearingRow.bid_id == bid_id, BidRow.tenant_id == tenant_id)
    )
    return ClearingRecord.of(row) if row is not None else None
