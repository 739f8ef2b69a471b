"""Feature flags per dispatcher pool: read by any key of the tenant, set by its admins.

A pool is a bidding zone of the tenant's stored portfolios (the engine runs one dispatcher
pool per zone). ``GET /v1/pools/flags`` lists every flag of every pool with its value in
force, default, allowed values and who last set it, when and why; ``PUT
/v1/pools/{pool}/flags/{flag}`` sets one (admin keys only; audited as ``pool_flag.set``
with the old and new value and the reason). A change made here is used by the engine at
its next tick: the route and the engine share one `trading.engine.flags.PoolFlags`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from trading.api.deps import Admin, Reader, Services
from trading.api.edge import EdgeRoute
from trading.api.errors import ApiError
from trading.api.public import public_fields
from trading.api.schemas import ErrorBody
from trading.engine.flags import PoolFlags
from trading.store.ops.flags import FLAGS, MAX_REASON_CHARS
from trading.store.records import PoolFlagRecord
from trading.store.vocabulary import PoolFlag

router = APIRouter(prefix="/v1/pools", tags=["pools"], route_class=EdgeRoute)

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, unknown, revoked or expired API key"},
    422: {"model": ErrorBody, "description": "a field names a bad value"},
}

PoolName = Annotated[
    str, Path(min_length=1, max_length=64, description="a bidding zone", examples=["DE_LU"])
]
FlagName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description=f"one of {', '.join(f.value for f in PoolFlag)}",
        examples=["afrr_activation"],
    ),
]


class FlagSet(public_fields(PoolFlagRecord, exclude=("tenant_id",))):
    """A flag of a pool, as just set."""


class FlagState(BaseModel):
    """A flag of a pool: its value in force and, if it was ever set, who set it, when, why."""

    model_config = ConfigDict(frozen=True)

    pool: str
    flag: str
    value: str = Field(description="the value in force")
    default: str = Field(description="the value of a flag never set")
    allowed: list[str]
    meaning: str
    reason: str | None = Field(None, description="why it was last set; null: never set")
    updated_at: datetime | None = Field(None, description="when it was last set (UTC)")
    updated_by: str | None = Field(
        None, description="the admin key that set it; null: never set, or the operator"
    )


class FlagList(BaseModel):
    """Every flag of every pool of the tenant."""

    model_config = ConfigDict(frozen=True)

    pools: list[str] = Field(description="the tenant's pools: its stored bidding zones")
    items: list[FlagState]


class FlagChange(BaseModel):
    """A flag's new value, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: str | bool = Field(
        description="on/off flags: on, off, true or false; allocation_strategy: a name",
        examples=["off"],
    )
    reason: str = Field(
        min_length=1,
        max_length=MAX_REASON_CHARS,
        description="why (kept in the audit log)",
        examples=["battery maintenance in the NL pool"],
    )


def pool_flags(request: Request) -> PoolFlags:
    """The app's flags (shared with the engine in ``vpp serve``)."""
    return request.app.state.pool_flags


def _states(pool: str, records: dict[str, PoolFlagRecord]) -> list[FlagState]:
    out = []
    for flag, rule in FLAGS.items():
        stored = records.get(flag.value)
        out.append(
            FlagState(
                pool=pool,
                flag=flag.value,
                value=rule.default if stored is None else stored.value,
                default=rule.default,
                allowed=list(rule.values),
                meaning=rule.meaning,
                reason=None if stored is None else stored.reason,
                updated_at=None if stored is None else stored.updated_at,
                updated_by=None if stored is None else stored.updated_by,
            )
        )
    return out


def _listing(services: Services, tenant: str, pool: str | None) -> FlagList:
    pools = services.repository.tenant_pools(tenant)
    by_pool: dict[str, dict[str, PoolFlagRecord]] = {}
    for record in services.repository.list_pool_flags(tenant):
        by_pool.setdefault(record.pool, {})[record.flag.value] = record
    names = sorted(set(pools) | set(by_pool))
    if pool is not None:
        if pool not in names:
            known = ", ".join(names) or "none: the tenant has no portfolio stored"
            raise ApiError(404, "NotFound", f"pool={pool!r}: not a pool of the tenant ({known})")
        names = [pool]
    items = [state for name in names for state in _states(name, by_pool.get(name, {}))]
    return FlagList(pools=pools, items=items)


@router.get("/flags", summary="Every pool's flags", responses=_ERRORS)
def list_flags(services: Services, actor: Reader) -> FlagList:
    """Each flag of each pool of the caller's tenant: value in force, default, allowed
    values, and who last set it, when and why."""
    return _listing(services, actor.tenant_id, None)


@router.get(
    "/{pool}/flags",
    summary="One pool's flags",
    responses=_ERRORS | {404: {"model": ErrorBody, "description": "no such pool"}},
)
def list_pool_flags(services: Services, actor: Reader, pool: PoolName) -> FlagList:
    """Each flag of one pool of the caller's tenant."""
    return _listing(services, actor.tenant_id, pool)


@router.put(
    "/{pool}/flags/{flag}",
    summary="Set a pool's flag (admin)",
    responses=_ERRORS | {403: {"model": ErrorBody, "description": "the key is not admin"}},
)
async def set_flag(
    request: Request, actor: Admin, pool: PoolName, flag: FlagName, body: FlagChange
) -> FlagSet:
    """Set one flag of one pool (audited with the old and new value and the reason); the
    engine's pool obeys it from its next tick."""
    flags = pool_flags(request)
    record = await run_in_threadpool(flags.set, actor, pool, flag, body.value, body.reason)
    return FlagSet.of(record)
