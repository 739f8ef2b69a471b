"""Per-tenant risk limits: stored, audited, and the live bids they are checked against.

A tenant has at most one limit of each `RiskLimitKind`; none means no limit of that kind.
Only an admin key of the tenant (or the engine itself) may set or clear one; every change
is an audit row naming the old and new value. What a bid counts towards each limit is the
API's business (`trading.api.limits`); this module stores the limits and reads the
tenant's live bids (submitted or accepted) of given delivery days.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.store.checks import check_enum
from trading.store.errors import invalid
from trading.store.inputs import Actor
from trading.store.models import BidRow, RiskLimitRow
from trading.store.ops.audit import audit
from trading.store.ops.keys import key_actor
from trading.store.ops.tenants import require_tenant
from trading.store.records import RiskLimitRecord
from trading.store.timestamps import utc_now
from trading.store.vocabulary import AuditAction, BidStatus, RiskLimitKind, Role

LIVE_STATUSES = (BidStatus.SUBMITTED.value, BidStatus.ACCEPTED.value)
"""Bids that count towards a position or a day's notional."""

MAX_LIMIT_VALUE = 1e15
"""The largest value a limit may take (MW or EUR): beyond it a limit limits nothing."""


@dataclass(frozen=True)
class LiveBid:
    """A stored live bid: its document (a `markets.bids` bid as JSON) and where it trades."""

    country: str
    delivery_day: date
    document: dict[str, Any]


def list_limits(session: Session, tenant_id: str) -> list[RiskLimitRecord]:
    """The tenant's limits, by kind."""
    rows = session.scalars(
        select(RiskLimitRow).where(RiskLimitRow.tenant_id == tenant_id).order_by(RiskLimitRow.kind)
    )
    return [RiskLimitRecord.of(r) for r in rows]


def set_limit(
    session: Session, actor: Actor, kind: RiskLimitKind | str, value: float
) -> RiskLimitRecord:
    """Set the limit `kind` of `actor`'s tenant to `value` (> 0, in the kind's unit)."""
    tenant_id = actor.tenant_id
    require_tenant(session, tenant_id)
    actor = _admin(session, actor)
    kind = check_enum(RiskLimitKind, "risk limit", "kind", kind)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid("risk limit", kind.value, value, "must be a number")
    if not (math.isfinite(value) and 0 < value <= MAX_LIMIT_VALUE):
        raise invalid(
            "risk limit", kind.value, value, f"must be above 0, at most {MAX_LIMIT_VALUE:g}"
        )
    row = session.get(RiskLimitRow, (tenant_id, kind.value), with_for_update=True)
    old = None if row is None else row.value
    if row is None:
        row = RiskLimitRow(tenant_id=tenant_id, kind=kind.value)
        session.add(row)
    row.value, row.updated_at, row.updated_by = float(value), utc_now(), actor.key_id
    session.flush()
    audit(
        session,
        actor,
        AuditAction.RISK_LIMIT_SET,
        f"risk_limit {kind.value}",
        {"old": old, "new": float(value)},
    )
    return RiskLimitRecord.of(row)


def clear_limit(session: Session, actor: Actor, kind: RiskLimitKind | str) -> bool:
    """Remove the limit `kind` of `actor`'s tenant; False if there was none."""
    actor = _admin(session, actor)
    kind = check_enum(RiskLimitKind, "risk limit", "kind", kind)
    row = session.get(RiskLimitRow, (actor.tenant_id, kind.value), with_for_update=True)
    if row is None:
        return False
    audit(
        session,
        actor,
        AuditAction.RISK_LIMIT_CLEAR,
        f"risk_limit {kind.value}",
        {"old": row.value, "new": None},
    )
    session.delete(row)
    return True


def live_bids(session: Session, tenant_id: str, days: Iterable[date]) -> list[LiveBid]:
    """The tenant's submitted and accepted bids of the delivery days `days`."""
    wanted = sorted(set(days))
    if not wanted:
        return []
    rows = session.execute(
        select(BidRow.country, BidRow.delivery_day, BidRow.document).where(
            BidRow.tenant_id == tenant_id,
            BidRow.delivery_day.in_(wanted),
            BidRow.status.in_(LIVE_STATUSES),
        )
    )
    return [LiveBid(r.country, r.delivery_day, r.document) for r in rows]


def _admin(session: Session, actor: Actor) -> Actor:
    """`actor` as stored, if it is an admin key of its tenant or the engine itself."""
    checked = key_actor(session, actor.tenant_id, actor.key_id, "risk limit")
    if checked.key_id is not None and checked.role is not Role.ADMIN:
        raise invalid("risk limit", "role", checked.role, "only an admin key may change limits")
    return checked
