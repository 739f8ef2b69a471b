"""Admin routes: the tenant's API keys (list, create, rotate, revoke), its risk limits, and
the Prometheus metrics.

Only a key of role admin may call them, and only on its own tenant: the store knows no
tenant above tenants, so there is no super-admin (an operator uses ``vpp keys`` and
``vpp limits`` on the database instead). A key revoked here is forgotten by this
process's key cache at once, so it answers 401 on the very next request.

``/metrics`` shows the whole process's counters (requests by route and status, bids by
status and market; no tenant label), so it needs an admin key; an operator who wants it
without a key serves it on a port of its own (``VPP_METRICS_PORT``, see `vpp serve`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from trading.api.deps import Admin, Services
from trading.api.errors import ApiError
from trading.api.public import public_fields
from trading.api.schemas import ErrorBody
from trading.store import ApiKeyRecord, NewApiKey, RiskLimitRecord, Role
from trading.store.ops.keys import MAX_GRACE_S
from trading.store.ops.limits import MAX_LIMIT_VALUE
from trading.store.vocabulary import RiskLimitKind

router = APIRouter(prefix="/v1/admin", tags=["admin"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, unknown, revoked or expired API key"},
    403: {"model": ErrorBody, "description": "the key's role is not admin"},
    422: {"model": ErrorBody, "description": "a field names a bad value"},
    429: {"model": ErrorBody, "description": "too many failed logins or requests"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "no such key of the caller's tenant"}
}


class KeyPublic(public_fields(ApiKeyRecord)):
    """An API key's public facts: never its secret."""

    active: bool = Field(description="neither revoked nor expired now")

    @classmethod
    def of(cls, record: ApiKeyRecord, **extra: Any) -> KeyPublic:
        """The public form of `record`."""
        return super().of(record, active=record.active, **extra)


class KeyCreated(KeyPublic):
    """A new key: `key` is its plaintext, shown this once and stored nowhere."""

    key: str

    @classmethod
    def of_new(cls, new: NewApiKey) -> KeyCreated:
        """The public form of a key just made, with its plaintext."""
        return cls.of(new.record, key=new.plaintext)


class KeyRequest(BaseModel):
    """A key to create for the caller's tenant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    name: str = Field(min_length=1, max_length=200, examples=["desk 2"])
    expires_at: datetime | None = Field(
        default=None, description="UTC instant the key stops working; none: never"
    )


class RotateRequest(BaseModel):
    """How to rotate a key: its successor's expiry, and how long the old one still works."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    expires_at: datetime | None = Field(default=None, description="the new key's expiry, UTC")
    grace_s: float = Field(
        default=0,
        ge=0,
        le=MAX_GRACE_S,
        description="seconds the old key keeps working [s]; 0: revoked at once",
    )


class LimitPublic(public_fields(RiskLimitRecord, exclude=("tenant_id",))):
    """A risk limit of the tenant: `value` in the unit its kind names (MW or EUR)."""


class LimitValue(BaseModel):
    """A limit's new value, in its kind's unit (MW or EUR)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float = Field(gt=0, le=MAX_LIMIT_VALUE, allow_inf_nan=False, examples=[50.0])


KeyId = Annotated[str, Path(max_length=32, pattern=r"^k[0-9a-f]{1,31}$", examples=["k0f3a..."])]


@router.get("/keys", summary="The tenant's API keys", responses=_ERRORS)
def list_keys(services: Services, actor: Admin) -> list[KeyPublic]:
    """Every key of the caller's tenant, revoked and expired ones included, oldest first."""
    return [KeyPublic.of(k) for k in services.repository.list_api_keys(actor.tenant_id)]


@router.post("/keys", status_code=201, summary="Create an API key", responses=_ERRORS)
def create_key(services: Services, actor: Admin, body: KeyRequest) -> KeyCreated:
    """A new key of the caller's tenant; its plaintext is in this answer only."""
    created = services.repository.create_api_key(
        actor.tenant_id, body.role, body.name, actor, expires_at=body.expires_at
    )
    return KeyCreated.of_new(created)


@router.post(
    "/keys/{key_id}/rotate",
    status_code=201,
    summary="Replace a key by a new one",
    responses=_ERRORS | _NOT_FOUND,
)
def rotate_key(
    services: Services,
    actor: Admin,
    key_id: KeyId,
    body: Annotated[RotateRequest | None, Body()] = None,
) -> KeyCreated:
    """A new key with the old one's role and name; the old one is revoked at once, or
    expires after ``grace_s`` seconds."""
    body = body or RotateRequest()
    created = services.repository.rotate_api_key(
        actor.tenant_id, key_id, actor, expires_at=body.expires_at, grace_s=body.grace_s
    )
    services.keys.forget(key_id)
    return KeyCreated.of_new(created)


@router.delete("/keys/{key_id}", summary="Revoke a key", responses=_ERRORS | _NOT_FOUND)
async def revoke_key(services: Services, actor: Admin, key_id: KeyId) -> KeyPublic:
    """Revoke a key of the caller's tenant; from the next request on it answers 401."""
    revoked = await run_in_threadpool(
        services.repository.revoke_api_key, actor.tenant_id, key_id, actor
    )
    services.keys.forget(key_id)
    return KeyPublic.of(revoked)


@router.get("/limits", summary="The tenant's risk limits", responses=_ERRORS)
def list_limits(services: Services, actor: Admin) -> list[LimitPublic]:
    """Every risk limit of the caller's tenant; a kind not listed is not limited."""
    return [LimitPublic.of(r) for r in services.repository.list_risk_limits(actor.tenant_id)]


@router.put("/limits/{kind}", summary="Set a risk limit", responses=_ERRORS)
def set_limit(
    services: Services, actor: Admin, kind: RiskLimitKind, body: LimitValue
) -> LimitPublic:
    """Set one limit (audited with the old and new value); it applies to the next bid."""
    record = services.repository.set_risk_limit(actor, kind, body.value)
    services.risk.forget(actor.tenant_id)
    return LimitPublic.of(record)


@router.delete(
    "/limits/{kind}",
    status_code=204,
    summary="Remove a risk limit",
    responses=_ERRORS | {404: {"model": ErrorBody, "description": "no such limit is set"}},
)
def clear_limit(services: Services, actor: Admin, kind: RiskLimitKind) -> None:
    """Remove one limit (audited); bids are no longer checked against it."""
    if not services.repository.clear_risk_limit(actor, kind):
        raise ApiError(404, "NotFound", f"kind={kind.value}: tenant has no such limit set")
    services.risk.forget(actor.tenant_id)


metrics_router = APIRouter(tags=["service"])


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics (admin key)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **_ERRORS},
)
def prometheus_metrics(services: Services, actor: Admin) -> Response:
    """Requests by route and status, latency, bids by status and market (whole process)."""
    return services.metrics.exposition()
