"""Dependencies every route shares: the services, the caller, and what its role may do.

Routes take `Services`, `Reader`, `Writer` or `Admin` as ``Annotated`` aliases, so that a
route reads as domain code. Roles: every role may read its tenant's data; trader and admin
may submit and withdraw bids; analyst and compliance only read; compliance and admin read
the audit log; admin alone manages keys and risk limits and reads ``/metrics``. An admin
acts on its own tenant only (the store has no tenant above tenants).

Authentication: a client address that failed too often answers 429 before its key is
looked up; every failure is logged and counted (`trading.api.ratelimit`); an
authenticated request counts towards its tenant's request quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from markets.registry import MarketRegistry
from trading.api.errors import ApiError
from trading.api.key_cache import KeyCache
from trading.api.limits import RiskLimits
from trading.api.metrics import ApiMetrics
from trading.api.ratelimit import AccessGuard
from trading.exchange.clock import Clock
from trading.store import Actor, Repository, Role, SubmissionWriter
from trading.store.ops.keys import parse_key

WRITE_ROLES = frozenset({Role.TRADER, Role.ADMIN})
"""Roles that may submit and withdraw bids."""

AUDIT_ROLES = frozenset({Role.COMPLIANCE, Role.ADMIN})
"""Roles that may read the tenant's audit log."""

MAX_PAGE = 1_000_000
"""The highest page number a list accepts: its offset, (page - 1) x limit, must stay within
the database's 64-bit integers (a larger page is a 422 naming it, not a 500)."""


@dataclass(frozen=True)
class ApiServices:
    """What the routes work with, built once by `create_app`."""

    repository: Repository
    clock: Clock
    registry: MarketRegistry
    metrics: ApiMetrics
    writer: SubmissionWriter
    """Stores submitted bids, many requests' per transaction."""
    keys: KeyCache
    """Verified API keys, remembered for up to a second."""
    access: AccessGuard
    """Failed logins per address, requests and plans per tenant."""
    risk: RiskLimits
    """The tenants' risk limits, checked on each submission."""


async def _services(request: Request) -> ApiServices:
    return request.app.state.services


Services = Annotated[ApiServices, Depends(_services)]

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")
_bearer = HTTPBearer(auto_error=False, description="an API key as a bearer token")


async def _caller(
    request: Request,
    services: Services,
    api_key: Annotated[str | None, Depends(_api_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor behind the request's key; 401 if the key is missing, unknown, revoked or
    expired; 429 if the client address failed too often or the tenant is over its quota."""
    plaintext = api_key or (bearer.credentials if bearer is not None else None)
    address = request.client.host if request.client is not None else "unknown"
    record = services.keys.cached(plaintext) if plaintext else None
    if record is None:
        services.access.check_address(address)
        if not plaintext:
            services.access.failed(address, "missing key")
            raise ApiError(
                401, "Unauthorized", "missing API key: send X-API-Key or Authorization: Bearer"
            )
        # a database read: off the event loop
        record = await run_in_threadpool(services.keys.verify, plaintext)
    if record is None:
        reason = "malformed key" if parse_key(plaintext or "") is None else "key refused"
        services.access.failed(address, reason)
        raise ApiError(401, "Unauthorized", "the API key is unknown, revoked or expired")
    services.access.admit(record.tenant_id)
    return Actor(tenant_id=record.tenant_id, key_id=record.id, role=record.role)


async def _writer(actor: Annotated[Actor, Depends(_caller)]) -> Actor:
    """The caller, if its role may change bids; else 403 naming the role."""
    if actor.role not in WRITE_ROLES:
        allowed = ", ".join(sorted(WRITE_ROLES))
        raise ApiError(
            403, "Forbidden", f"role={actor.role} may only read; submitting needs {allowed}"
        )
    return actor


async def _admin(actor: Annotated[Actor, Depends(_caller)]) -> Actor:
    """The caller, if its role is admin; else 403 naming the role."""
    if actor.role is not Role.ADMIN:
        raise ApiError(403, "Forbidden", f"role={actor.role} may not do this; it needs admin")
    return actor


async def _auditor(actor: Annotated[Actor, Depends(_caller)]) -> Actor:
    """The caller, if its role may read the audit log; else 403 naming the role."""
    if actor.role not in AUDIT_ROLES:
        allowed = ", ".join(sorted(AUDIT_ROLES))
        raise ApiError(
            403, "Forbidden", f"role={actor.role} may not read the audit log; it needs {allowed}"
        )
    return actor


Reader = Annotated[Actor, Depends(_caller)]
"""Any authenticated caller."""

Writer = Annotated[Actor, Depends(_writer)]
"""An authenticated caller whose role may submit and withdraw bids."""

Admin = Annotated[Actor, Depends(_admin)]
"""An authenticated caller of role admin (its own tenant's keys, limits, ``/metrics``)."""

Auditor = Annotated[Actor, Depends(_auditor)]
"""An authenticated caller of role compliance or admin (its own tenant's audit log)."""

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="a retry with the same key and body returns the first answer",
        examples=["desk-1-2026-06-13-0001"],
    ),
]

PageNumber = Annotated[
    int,
    Query(ge=1, le=MAX_PAGE, description=f"page of the list, from 1 to {MAX_PAGE}"),
]
"""The ``page`` query parameter of a list, bounded so that its offset fits the database."""
