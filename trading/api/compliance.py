"""Routes an auditor reads: refused bids with their evidence, and the tenant's audit log.

A refused submission stores no bid, but its decision: ``GET /v1/refusals/{id}`` shows the
refused bid, the market plugin's distribution and version, the ids of the rules applied
and every violation with its rule id (a tenant's risk limit as
``vpp-engine:risk_limit.<kind>@<when the limit was set>``); any role of the tenant may
read it, as it may read its bids. ``GET /v1/audit`` pages through the tenant's audit
log: who did what, when; roles ``compliance`` and ``admin`` only. Both are
tenant-scoped: another tenant's refusal is a 404, its audit rows are never listed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime

from trading.api.deps import Auditor, PageNumber, Reader, Services
from trading.api.edge import EdgeRoute
from trading.api.errors import ApiError
from trading.api.schemas import AuditPage, AuditPublic, ErrorBody, RefusalPage, RefusalPublic
from trading.store import AuditAction
from trading.store.checks import MAX_PAGE_SIZE

router = APIRouter(prefix="/v1", tags=["compliance"], route_class=EdgeRoute)

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, unknown or revoked API key"},
    422: {"model": ErrorBody, "description": "a parameter names a bad value"},
}

Since = Annotated[
    AwareDatetime | None,
    Query(
        description="from this instant on (inclusive), with its offset",
        examples=["2026-06-14T00:00Z"],
    ),
]
Until = Annotated[
    AwareDatetime | None,
    Query(
        description="before this instant (exclusive), with its offset",
        examples=["2026-06-15T00:00Z"],
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


@router.get("/refusals", summary="The tenant's refused bids", responses=_AUTH_ERRORS)
def list_refusals(
    services: Services,
    actor: Reader,
    since: Since = None,
    until: Until = None,
    bid_id: Annotated[
        str | None, Query(max_length=200, description="the submitter's own bid_id")
    ] = None,
    page: PageNumber = 1,
    limit: Limit = 100,
) -> RefusalPage:
    """A page of the caller's tenant's refused bids, oldest first, each with the plugin
    and rule ids that judged it and its violations."""
    found = services.repository.list_refusals(
        actor.tenant_id, since=since, until=until, client_bid_id=bid_id, page=page, limit=limit
    )
    return RefusalPage(
        items=[RefusalPublic.of(r) for r in found.items],
        page=found.page,
        limit=found.limit,
        total=found.total,
    )


@router.get(
    "/refusals/{refusal_id}",
    summary="One refused bid with its evidence",
    responses=_AUTH_ERRORS
    | {404: {"model": ErrorBody, "description": "no such refusal for the caller's tenant"}},
)
def get_refusal(
    services: Services,
    actor: Reader,
    refusal_id: Annotated[str, Path(max_length=100)],
) -> RefusalPublic:
    """The refused bid as submitted, when, by which key, the market plugin's distribution
    and version, the ids of the rules applied and every violation with its rule id."""
    record = services.repository.get_refusal(actor.tenant_id, refusal_id)
    if record is None:
        raise ApiError(404, "NotFound", f"refusal_id={refusal_id!r} does not exist")
    return RefusalPublic.of(record)


@router.get(
    "/audit",
    summary="The tenant's audit log (compliance, admin)",
    responses=_AUTH_ERRORS
    | {403: {"model": ErrorBody, "description": "the key's role may not read the audit log"}},
)
def list_audit(
    services: Services,
    actor: Auditor,
    action: AuditAction | None = None,
    subject: Annotated[str | None, Query(max_length=200, examples=["bid b-01J..."])] = None,
    key_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Since = None,
    until: Until = None,
    page: PageNumber = 1,
    limit: Limit = 100,
) -> AuditPage:
    """A page of the caller's tenant's audit rows, oldest first, matching every filter:
    every change with the key and role that made it (null: the engine itself)."""
    found = services.repository.list_audit(
        actor.tenant_id,
        action=action,
        subject=subject,
        key_id=key_id,
        since=since,
        until=until,
        page=page,
        limit=limit,
    )
    return AuditPage(
        items=[AuditPublic.of(r) for r in found.items],
        page=found.page,
        limit=found.limit,
        total=found.total,
    )
