"""Plans: queue a run, move it through running to done or failed, read, list and delete."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trading.store.checks import check_enum, check_page, json_problems
from trading.store.errors import (
    ConflictError,
    NotFoundError,
    TransitionError,
    invalid,
    raise_problems,
)
from trading.store.inputs import Actor
from trading.store.models import BidRow, PlanRow, PortfolioRow
from trading.store.ops.audit import audit, count
from trading.store.ops.keys import key_actor
from trading.store.ops.tenants import require_tenant
from trading.store.records import Page, PlanRecord
from trading.store.timestamps import utc_now
from trading.store.vocabulary import PLAN_TRANSITIONS, AuditAction, PlanStatus


def create_plan(
    session: Session,
    actor: Actor,
    portfolio_id: str,
    day: date,
    request: Mapping[str, Any] | None = None,
) -> PlanRecord:
    """Queue a plan of the tenant's portfolio `portfolio_id` for delivery day `day`;
    `request` (JSON data) keeps what was asked, for a run after a restart."""
    raise_problems(json_problems("plan", "request", request))
    tenant_id = actor.tenant_id
    require_tenant(session, tenant_id)
    actor = key_actor(session, tenant_id, actor.key_id, "plan")
    if type(day) is not date:
        raise invalid("plan", "day", day, "must be a date (the delivery day)")
    if session.get(PortfolioRow, (tenant_id, portfolio_id)) is None:
        raise invalid("plan", "portfolio_id", portfolio_id, f"is not a portfolio of {tenant_id!r}")
    now = utc_now()
    row = PlanRow(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        portfolio_id=portfolio_id,
        day=day,
        status=PlanStatus.QUEUED.value,
        request=dict(request) if request is not None else None,
        result=None,
        error=None,
        created_at=now,
        updated_at=now,
        started_at=None,
        finished_at=None,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor,
        AuditAction.PLAN_CREATE,
        f"plan {row.id}",
        {"portfolio_id": portfolio_id, "day": day.isoformat()},
    )
    return PlanRecord.of(row)


def set_plan_status(
    session: Session,
    plan_id: str,
    to_status: PlanStatus | str,
    actor: Actor,
    *,
    result: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> PlanRecord:
    """Move the tenant's plan along `PLAN_TRANSITIONS`.

    Done needs `result` (the optimiser's plan as JSON data); failed needs `error`.
    """
    subject = f"plan {plan_id}"
    target = check_enum(PlanStatus, subject, "to_status", to_status)
    raise_problems(json_problems(subject, "result", result))
    if target is PlanStatus.DONE and result is None:
        raise invalid(subject, "result", None, "is required to finish a plan")
    if target is PlanStatus.FAILED and not (isinstance(error, str) and error.strip()):
        raise invalid(subject, "error", error, "must say why the plan failed")
    if target is not PlanStatus.DONE and result is not None:
        raise invalid(subject, "result", "a mapping", f"is only taken moving to done, not {target}")
    if target is not PlanStatus.FAILED and error is not None:
        raise invalid(subject, "error", error, f"is only taken moving to failed, not {target}")
    actor = key_actor(session, actor.tenant_id, actor.key_id, subject)
    row = session.scalar(
        select(PlanRow)
        .where(PlanRow.id == plan_id, PlanRow.tenant_id == actor.tenant_id)
        .with_for_update()
    )
    if row is None:
        raise NotFoundError("plan", str(plan_id), actor.tenant_id)
    current = PlanStatus(row.status)
    if target not in PLAN_TRANSITIONS[current]:
        raise TransitionError(subject, current.value, target.value, PLAN_TRANSITIONS[current])
    now = utc_now()
    row.status, row.updated_at = target.value, now
    if target is PlanStatus.RUNNING:
        row.started_at = now
    else:
        row.finished_at = now
        row.result = dict(result) if result is not None else None
        row.error = error
    audit(
        session,
        actor,
        AuditAction.PLAN_STATUS,
        subject,
        {"from": current.value, "to": target.value, "error": error},
        at=now,
    )
    return PlanRecord.of(row)


def get_plan(session: Session, tenant_id: str, plan_id: str) -> PlanRecord | None:
    """The tenant's plan `plan_id`, or None (also when it is another tenant's)."""
    row = session.scalar(
        select(PlanRow).where(PlanRow.id == plan_id, PlanRow.tenant_id == tenant_id)
    )
    return PlanRecord.of(row) if row is not None else None


def list_plans(
    session: Session,
    tenant_id: str,
    *,
    portfolio_id: str | None = None,
    day: date | None = None,
    status: PlanStatus | str | None = None,
    page: int = 1,
    limit: int = 100,
) -> Page[PlanRecord]:
    """A page of the tenant's plans matching every filter, oldest first (ties by id).

    `InvalidInputError` names a bad page, limit, status or day before anything is read.
    """
    page, limit = check_page(page, limit)
    status = None if status is None else check_enum(PlanStatus, "plans", "status", status)
    if day is not None and type(day) is not date:
        raise invalid("plans", "day", day, "must be a date")
    query = select(PlanRow).where(PlanRow.tenant_id == tenant_id)
    if portfolio_id is not None:
        query = query.where(PlanRow.portfolio_id == portfolio_id)
    if day is not None:
        query = query.where(PlanRow.day == day)
    if status is not None:
        query = query.where(PlanRow.status == status.value)
    total = count(session, query)
    rows = session.scalars(
        query.order_by(PlanRow.created_at, PlanRow.id).offset((page - 1) * limit).limit(limit)
    )
    return Page(tuple(PlanRecord.of(r) for r in rows), page, limit, total)


def unfinished_plans(session: Session) -> list[PlanRecord]:
    """Every tenant's queued or running plans, oldest first: what a restart must take up."""
    rows = session.scalars(
        select(PlanRow)
        .where(PlanRow.status.in_([PlanStatus.QUEUED.value, PlanStatus.RUNNING.value]))
        .order_by(PlanRow.created_at, PlanRow.id)
    )
    return [PlanRecord.of(r) for r in rows]


def delete_plan(session: Session, plan_id: str, actor: Actor) -> None:
    """Delete the tenant's plan; refused while it runs or while bids refer to it."""
    subject = f"plan {plan_id}"
    actor = key_actor(session, actor.tenant_id, actor.key_id, subject)
    row = session.scalar(
        select(PlanRow)
        .where(PlanRow.id == plan_id, PlanRow.tenant_id == actor.tenant_id)
        .with_for_update()
    )
    if row is None:
        raise NotFoundError("plan", str(plan_id), actor.tenant_id)
    if row.status == PlanStatus.RUNNING.value:
        raise ConflictError(subject, "is running; it can be deleted once done or failed")
    bids = session.scalar(select(func.count()).where(BidRow.plan_id == plan_id)) or 0
    if bids:
        raise ConflictError(subject, f"{bids} bid(s) refer to it; bids are never deleted")
    audit(
        session,
        actor,
        AuditAction.PLAN_DELETE,
        subject,
        {"portfolio_id": row.portfolio_id, "day": row.day.isoformat(), "status": row.status},
    )
    session.delete(row)
