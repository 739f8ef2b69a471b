"""`GET /v1/engine`: the caller's tenant's engine inside `vpp serve`, and its metrics.

The engine (`trading.engine.service.EngineService`) is handed to `create_app`; without one
(``vpp serve --no-engine``, or an app made for tests) the route answers that it is off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from fastapi import APIRouter, Request
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from trading.api.deps import Reader, Writer
from trading.api.edge import EdgeRoute
from trading.api.errors import ApiError
from trading.api.schemas import ErrorBody

router = APIRouter(prefix="/v1", tags=["delivery"], route_class=EdgeRoute)

OFF = "the engine is off in this server (vpp serve --no-engine)"


class EngineSource(Protocol):
    """What the route and the metrics read of the engine."""

    def status(self, tenant: str) -> dict[str, Any]:
        """The tenant's engine state (see `EngineService.status`)."""
        ...

    def collect(self) -> Iterable[Any]:
        """Prometheus metric families."""
        ...

    def update_forecast(
        self, tenant: str, available_mw: dict[str, list[float]], reason: str
    ) -> dict[str, Any]:
        """Replace the running day's PV/wind forecast (see `EngineService.update_forecast`)."""
        ...


class EngineStatus(BaseModel):
    """The tenant's engine: whether it runs, and the delivery day it is running."""

    model_config = ConfigDict(frozen=True)

    running: bool
    reason: str | None = Field(None, description="why it does not run, when it does not")
    portfolio: str | None = None
    portfolio_version: int | None = None
    error: str | None = Field(None, description="the last failure of the day's run, if any")
    days_run: list[str] = Field(default_factory=list, description="delivery days completed")
    now: str | None = Field(None, description="the server's clock, UTC")
    day: dict[str, Any] | None = Field(
        None,
        description="the running day: schedule version in force, last ISP metered (UTC "
        "start), ISPs metered, positions, lost assets, provisional books [EUR]",
    )
    pools: dict[str, Any] | None = Field(
        None,
        description="per pool (bidding zone): its flags in force and, while it runs, what "
        "it did with the TSO's latest aFRR request [MW, + up]",
    )
    virtual_trader: dict[str, Any] | None = Field(
        None,
        description="per delivery day and pool: what the virtual trader did (state, bids "
        "submitted, bids left out as their gate was too near, error)",
    )
    tso: dict[str, Any] | None = Field(
        None,
        description="where the aFRR activation comes from: the loopback pattern, or per "
        "pool its IEC 104 station (host, port, TSO connected, last setpoint, setpoint in "
        "force and activation asked of the pool [MW, + up], latest link events)",
    )


class EngineCollector(Collector):
    """The engine's gauges on the API's Prometheus registry."""

    def __init__(self, engine: EngineSource) -> None:
        self.engine = engine

    def collect(self) -> Iterable[Any]:
        """The engine's metric families."""
        return self.engine.collect()


@router.get(
    "/engine",
    summary="The engine of the caller's tenant",
    responses={401: {"model": ErrorBody, "description": "missing, unknown or revoked key"}},
)
def engine_status(request: Request, actor: Reader) -> EngineStatus:
    """Schedule version in force, last ISP metered and the provisional books of the running
    delivery day; ``running: false`` with the reason when the engine does not run."""
    engine: EngineSource | None = getattr(request.app.state, "engine", None)
    if engine is None:
        return EngineStatus(running=False, reason=OFF)
    return EngineStatus(**engine.status(actor.tenant_id))


class ForecastUpdate(BaseModel):
    """A new forecast of available power for the running delivery day."""

    model_config = ConfigDict(extra="forbid")

    available_mw: dict[str, list[float]] = Field(
        min_length=1,
        description="PV plant or wind farm id -> available power [MW] per quarter hour of "
        "the running delivery day (92, 96 or 100 values, UTC order), each in 0..rated",
    )
    reason: str = Field(min_length=1, max_length=500, description="why the forecast changed")


@router.put(
    "/engine/forecast",
    summary="Replace the running day's forecast of PV and wind available power",
    responses={
        401: {"model": ErrorBody, "description": "missing, unknown or revoked key"},
        409: {"model": ErrorBody, "description": "no delivery day runs for the tenant"},
        422: {"model": ErrorBody, "description": "an asset or value the day cannot take"},
    },
)
async def update_forecast(request: Request, actor: Writer, body: ForecastUpdate) -> dict[str, Any]:
    """The engine re-plans the day on it at its next round (positions held; a new schedule
    version), the embedded fleet's weather follows it (perfect forecast), and the virtual
    trader, where a pool's flag lets it, trades the difference on continuous intraday when
    the energy moved exceeds its threshold. Answers what moved per asset [MWh]."""
    engine: EngineSource | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise ApiError(409, "Conflict", OFF)
    try:
        return await run_in_threadpool(
            engine.update_forecast, actor.tenant_id, body.available_mw, body.reason
        )
    except LookupError as exc:
        raise ApiError(409, "Conflict", str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, "InvalidRequest", str(exc)) from None
