"""`GET /v1/dispatch/assets`: the caller's tenant's assets in the engine's pools, as the
dispatcher sees them now: state, last measured power [MW, + injection] and its age [s].

The age is in seconds of the engine's clock (simulated seconds under ``vpp serve
--clock-speed``); a reading older than the pool's deadline is not ``fresh`` and counts as
nothing (`dispatch.board`). Without an engine (``vpp serve --no-engine``) or before the
tenant's day runs, ``running`` is false with the reason and the list is empty.
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from trading.api.deps import Reader
from trading.api.edge import EdgeRoute
from trading.api.engine_status import OFF
from trading.api.schemas import ErrorBody

router = APIRouter(prefix="/v1/dispatch", tags=["delivery"], route_class=EdgeRoute)


class AssetsSource(Protocol):
    """What the route reads of the engine."""

    def dispatch_assets(self, tenant: str) -> dict[str, Any]:
        """The tenant's assets (see `EngineService.dispatch_assets`)."""
        ...


class DispatchAsset(BaseModel):
    """One asset as the dispatcher sees it now."""

    model_config = ConfigDict(frozen=True)

    asset_id: str
    pool: str = Field(description="its pool: the bidding zone")
    kind: str
    state: str = Field(
        description="available, commanded, acknowledged, executing, degraded, unavailable, "
        "quarantined; not_started before its pool's first tick"
    )
    in_pool: bool = Field(description="whether it is given setpoints")
    last_mw: float | None = Field(None, description="last measured power [MW], + injection")
    age_s: float | None = Field(
        None, description="age of that reading [s of the engine's clock]; null: never read"
    )
    read_at: str | None = Field(None, description="when it was read (UTC)")
    fresh: bool = Field(description="the reading may count as delivery (young enough)")
    last_read_failed: bool = Field(description="the latest read attempt got no answer")


class DispatchAssets(BaseModel):
    """The tenant's assets in the engine's running day."""

    model_config = ConfigDict(frozen=True)

    running: bool
    reason: str | None = Field(None, description="why no day runs, or the day's last error")
    day: str | None = None
    now: str | None = Field(None, description="the engine's clock, UTC")
    assets: list[DispatchAsset]


@router.get(
    "/assets",
    summary="The tenant's assets in the dispatcher",
    responses={401: {"model": ErrorBody, "description": "missing, unknown or revoked key"}},
)
def dispatch_assets(request: Request, actor: Reader) -> DispatchAssets:
    """Per asset of the caller's tenant: state, last measured power and its age."""
    engine: Any = getattr(request.app.state, "engine", None)
    if engine is None or not hasattr(engine, "dispatch_assets"):
        return DispatchAssets(running=False, reason=OFF, assets=[])
    source: AssetsSource = engine
    return DispatchAssets(**source.dispatch_assets(actor.tenant_id))
