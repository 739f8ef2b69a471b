"""`create_app`: the API over a repository, a clock and the market plugins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Response
from starlette.concurrency import run_in_threadpool

from markets.registry import MarketRegistry, default_registry
from trading.api import (
    admin,
    bids,
    compliance,
    delivery,
    dispatch_assets,
    engine_status,
    events,
    markets,
    orders,
    plans,
    pool_flags,
    portfolio,
)
from trading.api.deps import ApiServices, Services
from trading.api.edge import DEFAULT_MAX_BODY_BYTES, EdgeGuard
from trading.api.errors import database_away, install_error_handlers, problem_response
from trading.api.jobs import FolderPrices, JobRunner, PriceSource
from trading.api.key_cache import DEFAULT_TTL_S, KeyCache
from trading.api.limits import RiskLimits
from trading.api.metrics import ApiMetrics
from trading.api.ratelimit import AccessGuard, AccessLimits
from trading.api.schemas import Health, Readiness
from trading.engine.flags import PoolFlags
from trading.exchange.clock import Clock
from trading.settings import VppSettings
from trading.store import Repository, SubmissionWriter
from trading.store.readiness import readiness

MAX_BODY_ENV = "VPP_MAX_BODY_BYTES"
"""Environment variable: the largest request body the API reads [bytes]."""

DESCRIPTION = """
The traders' API of vpp-engine. Authenticate with an API key (`X-API-Key: <key>` or
`Authorization: Bearer <key>`; create one with `vpp keys create`). A trader or admin key
submits and withdraws bids; analyst and compliance keys read. A tenant sees only its own
bids. Volumes in MW (positive = sell), prices in EUR/MWh (EUR/MW/h for balancing
capacity), times in UTC.
"""


def create_app(
    repository: Repository,
    clock: Clock,
    registry: MarketRegistry | None = None,
    *,
    prices: PriceSource | None = None,
    jobs: JobRunner | None = None,
    key_ttl_s: float = DEFAULT_TTL_S,
    access: AccessLimits | None = None,
    max_body_bytes: int | None = None,
    engine: engine_status.EngineSource | None = None,
) -> FastAPI:
    """The FastAPI app; `clock` decides gate closures, `registry` the market plugins.

    `prices` feeds plan runs (default: the project's sample prices, read when a plan
    runs); `jobs` runs them in the background (default: a new `JobRunner`). A verified
    API key is trusted for `key_ttl_s` seconds without a look-up (see `KeyCache`; 0: look
    up every request). `access`: failed-login, request and plan limits (default: from
    the environment, see `AccessLimits.from_env`). A request body larger than
    `max_body_bytes` is refused with 413 before it is read (default
    ``$VPP_MAX_BODY_BYTES``, else 4 MiB; see `EdgeGuard`). `engine`: the engine running
    beside the API (`vpp serve`), shown on ``GET /v1/engine``, ``GET /v1/dispatch/assets``
    and in the metrics; the pool flags set over the API are its own (`engine.flags`), so
    that its pools obey a change at their next tick.
    """
    metrics = ApiMetrics()
    writer = SubmissionWriter(repository, metrics_registry=metrics.registry)
    runner = jobs if jobs is not None else JobRunner()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _sweep_unpublished(repository)
        writer.open()
        yield
        writer.close()  # what was accepted is written before the process ends
        if jobs is None:  # a runner given by the caller is the caller's to shut down
            runner.shutdown()

    app = FastAPI(
        title="vpp-engine trading API", version="1", description=DESCRIPTION, lifespan=lifespan
    )
    registry = registry if registry is not None else default_registry()
    app.state.services = ApiServices(
        repository=repository,
        clock=clock,
        registry=registry,
        metrics=metrics,
        writer=writer,
        keys=KeyCache(repository.verify_api_key, ttl_s=key_ttl_s),
        access=AccessGuard(access if access is not None else AccessLimits.from_env()),
        risk=RiskLimits(repository, registry),
    )
    app.state.plan_services = plans.PlanServices(
        prices=prices if prices is not None else FolderPrices(),
        jobs=runner,
        registry=registry,
    )
    app.state.engine = engine
    shared_flags = getattr(engine, "flags", None)
    app.state.pool_flags = (
        shared_flags if isinstance(shared_flags, PoolFlags) else PoolFlags(repository)
    )
    if engine is not None:
        metrics.registry.register(engine_status.EngineCollector(engine))
    install_error_handlers(app)
    app.add_middleware(EdgeGuard, max_body_bytes=_max_body_bytes(max_body_bytes))
    metrics.install(app)
    app.include_router(orders.router)  # before bids: /v1/bids/cancel-all is no bid id
    app.include_router(bids.router)
    app.include_router(events.router)
    app.include_router(markets.router)
    app.include_router(plans.router)
    app.include_router(portfolio.router)
    app.include_router(delivery.router)
    app.include_router(engine_status.router)
    app.include_router(dispatch_assets.router)
    app.include_router(pool_flags.router)
    app.include_router(admin.router)
    app.include_router(admin.metrics_router)
    app.include_router(compliance.router)

    @app.get("/healthz", tags=["service"], summary="Liveness")
    def healthz(services: Services) -> Health:
        """ok while the process serves requests, and the API's current time (the database
        is not read: see /readyz)."""
        return Health(status="ok", now=services.clock.now())

    @app.get(
        "/readyz",
        tags=["service"],
        summary="Readiness",
        responses={503: {"model": Readiness, "description": "database away or not migrated"}},
    )
    async def readyz(services: Services) -> Response:
        """200 if the database answers and is at the migrations' head; else 503 with
        ``Retry-After`` saying which."""
        state = await run_in_threadpool(readiness, services.repository.engine)
        if state.ready:
            body = Readiness(status="ready", database=state.revision, head=state.head)
            return Response(body.model_dump_json(), media_type="application/json")
        if state.reason.startswith("database unreachable"):
            return database_away()
        return problem_response(503, "NotMigrated", state.reason, headers={"Retry-After": "5"})

    return app


def _sweep_unpublished(repository: Repository) -> None:
    """Delete the chunks of batches a writer never published (it died between two chunks,
    `Repository.sweep_unpublished`), before any bid is taken. Logged; a database away is
    logged too and left to the next start (the chunks stay invisible meanwhile)."""
    log = structlog.get_logger(__name__)
    try:
        swept = repository.sweep_unpublished()
    except Exception:
        log.exception("unpublished_sweep_failed")
        return
    if swept:
        log.warning("unpublished_batches_swept", batches=swept)


def _max_body_bytes(given: int | None) -> int:
    if given is not None:
        return given
    configured = VppSettings.from_environ().max_body_bytes
    return DEFAULT_MAX_BODY_BYTES if configured is None else configured
