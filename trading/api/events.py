"""``GET /v1/events``: the caller's tenant's bid, clearing and plan changes as server-sent events.

The feed is the audit log (`trading.store.ops.events`): every change is written there in
the transaction that makes it, so the stream carries changes made by any process on the
same database (the API, the exchange loop, the CLI), and ``Last-Event-ID`` resumes after
any event ever sent, also after a restart. Each open stream reads the database at once
when a bid route of this process signals a change (`CHANGES`), else every `POLL_S`
seconds while it has nothing to send (clearings, plan runs, other processes). The key is
checked again on every poll: a revoked key ends the stream within about a second.

On PostgreSQL ids are taken at insert but rows become visible at commit, so a row can
appear after a higher id was sent; each stream looks `LOOKBACK_IDS` ids back and sends
such a late row once (a resumed stream starts exactly after its ``Last-Event-ID``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from markets.calendar import iso_z
from trading.api.deps import Reader, Services
from trading.api.edge import EdgeRoute
from trading.api.errors import ApiError
from trading.api.schemas import BidPublic, ClearingPublic, ErrorBody
from trading.store.engine import session_factory
from trading.store.ops.events import Change, changes_after, last_change_id
from trading.store.vocabulary import AuditAction

router = APIRouter(prefix="/v1", tags=["events"], route_class=EdgeRoute)

POLL_S = 0.25
"""How long an idle stream waits between two reads of the database [s]."""
LOOKBACK_IDS = 1000
"""How far below the newest id sent a stream still looks for rows committed late [ids]."""
PING_S = 15
"""Seconds between two keep-alive comments on an idle stream [s]."""


class ChangeSignal:
    """Wakes the open streams of this process when one of its routes changed bids.

    A hint only: a stream still reads the database, and polls every `POLL_S` without it
    (a wake-up that falls between a stream's read and its wait is caught by that poll).
    Safe to call from any thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        """Wake every waiting stream."""
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    async def wait(self, timeout_s: float) -> None:
        """Return at the next `notify`, or after `timeout_s` seconds."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(entry)
        try:
            await asyncio.wait_for(entry[1].wait(), timeout_s)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(entry)


CHANGES = ChangeSignal()
"""The process's signal: bid routes notify it after a change is committed."""

EVENT_TYPES: dict[AuditAction, str] = {
    AuditAction.BID_CREATE: "bid.created",
    AuditAction.BID_TRANSITION: "bid.status",
    AuditAction.BID_CLEAR: "clearing",
    AuditAction.BID_REPLACE: "bid.replaced",
    AuditAction.BID_CANCEL_ALL: "bid.cancel_all",
    AuditAction.PLAN_CREATE: "plan.created",
    AuditAction.PLAN_STATUS: "plan.status",
    AuditAction.PLAN_DELETE: "plan.deleted",
}
"""The event type of each audit action the feed carries."""


def event_body(change: Change) -> dict[str, Any]:
    """The JSON of one event: id, type, time (the server's clock, UTC), subject, details and
    the entity as it was when the event was read."""
    entity: dict[str, Any] | None = None
    if change.plan is not None:
        plan = change.plan
        entity = {
            "kind": "plan",
            "id": plan.id,
            "portfolio_id": plan.portfolio_id,
            "day": plan.day.isoformat(),
            "status": plan.status.value,
            "error": plan.error,
            "updated_at": iso_z(plan.updated_at),
        }
    elif change.bid is not None:
        entity = {"kind": "bid", **BidPublic.of(change.bid).model_dump(mode="json")}
        if change.clearing is not None:
            entity["clearing"] = ClearingPublic.of(change.clearing).model_dump(mode="json")
    return {
        "id": str(change.id),
        "type": EVENT_TYPES[change.action],
        "time": iso_z(change.at),
        "subject": change.subject,
        "details": change.details,
        "entity": entity,
    }


def _plaintext(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@router.get(
    "/events",
    summary="Stream the tenant's bid, clearing and plan changes (server-sent events)",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "the event stream"},
        401: {"model": ErrorBody, "description": "missing, unknown or revoked API key"},
        422: {"model": ErrorBody, "description": "Last-Event-ID is not an event id"},
    },
)
async def events(
    request: Request,
    services: Services,
    actor: Reader,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", max_length=20, description="resume after this event id"),
    ] = None,
) -> EventSourceResponse:
    """Every change of the caller's tenant from now on (or after ``Last-Event-ID``), as
    ``text/event-stream``: each event has ``id``, ``event`` (its type: ``bid.created``,
    ``bid.status``, ``clearing``, ``bid.replaced``, ``bid.cancel_all``, ``plan.created``,
    ``plan.status``, ``plan.deleted``) and JSON ``data`` with ``id``, ``type``, ``time``
    (UTC, the server's clock), ``subject``, ``details`` and ``entity`` (the bid with its
    clearing, or the plan, as it is when sent). Another tenant's changes are never sent.
    """
    tenant_id = actor.tenant_id
    sessions = session_factory(services.repository.engine)

    def read_last() -> int:
        with sessions() as session:
            return last_change_id(session, tenant_id)

    if last_event_id is None:
        start = await run_in_threadpool(read_last)
    elif last_event_id.isdigit():
        start = int(last_event_id)
    else:
        raise ApiError(
            422,
            "InvalidRequest",
            f"Last-Event-ID={last_event_id!r}: an event id is a whole number >= 0",
            {"field": "Last-Event-ID", "value": last_event_id, "rule": "whole number >= 0"},
        )
    plaintext = _plaintext(request)

    def read(after: int, skip: frozenset[int]) -> list[Change]:
        with sessions() as session:
            return changes_after(session, tenant_id, after, skip)

    async def key_valid() -> bool:
        if plaintext is None:
            return False
        if services.keys.cached(plaintext) is not None:
            return True
        return await run_in_threadpool(services.keys.verify, plaintext) is not None

    async def stream() -> AsyncIterator[ServerSentEvent]:
        newest = start
        sent: set[int] = set()
        while True:
            if not await key_valid():
                body = {"error": "Unauthorized", "detail": "the API key is revoked or expired"}
                yield ServerSentEvent(data=json.dumps(body), event="error")
                return
            floor = max(start, newest - LOOKBACK_IDS)
            sent = {i for i in sent if i > floor}
            changes = await run_in_threadpool(read, floor, frozenset(sent))
            for change in changes:
                body = event_body(change)
                yield ServerSentEvent(
                    data=json.dumps(body, separators=(",", ":")),
                    event=body["type"],
                    id=body["id"],
                )
                sent.add(change.id)
                newest = max(newest, change.id)
            if not changes:
                await CHANGES.wait(POLL_S)

    return EventSourceResponse(stream(), ping=PING_S, headers={"Cache-Control": "no-store"})
