"""Routes of plans: run the optimiser in the background, read the result, submit its bids.

``POST /v1/plans`` queues a plan (202) and a `JobRunner` thread moves it queued -> running
-> done (with objective, revenue by market and the proposed bids) or failed (with the
reason, e.g. the optimiser's missing-price message). ``POST /v1/plans/{id}/submit`` turns
the proposed bids into submitted bids, validated as ``POST /v1/bids`` validates them.

A tenant may have `AccessLimits.tenant_plans` plans queued or running at once; one more is a
429. ``DELETE /v1/plans/{id}`` cancels a queued or running plan: the plan is failed at once
with the error ``cancelled by key ...``; a queued run never starts; a running one stops at
its next safe point (before reading prices, before the solve), and a solve already under
way runs to its end in its worker thread, after which its result is discarded (the plan
stays failed). Plan runs share `jobs.DEFAULT_WORKERS` threads, so cancelled solves still
finishing hold at most that many.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from markets.bids import Bid
from markets.registry import MarketRegistry
from trading.api.deps import PageNumber, Reader, Services, Writer
from trading.api.edge import EdgeRoute
from trading.api.errors import ApiError
from trading.api.jobs import JobRunner, PriceSource
from trading.api.schemas import (
    ErrorBody,
    PlanAccepted,
    PlanPublic,
    PlanRequest,
    SubmissionPublic,
    ViolationsBody,
)
from trading.api.submission import (
    earlier_submission,
    market_violations,
    record_refusal,
    resolve_products,
)
from trading.compliance.evidence import treatment_record
from trading.store import (
    Actor,
    BidStatus,
    PlanRecord,
    PlanStatus,
    Repository,
    TransitionError,
)
from trading.store.checks import MAX_PAGE_SIZE
from trading.store.inputs import MAX_BIDS_PER_CALL

router = APIRouter(prefix="/v1/plans", tags=["plans"], route_class=EdgeRoute)

_BIDS = TypeAdapter(list[Bid])


@dataclass(frozen=True)
class PlanServices:
    """What plan runs need besides the store: forecast prices and a job runner."""

    prices: PriceSource
    jobs: JobRunner
    registry: MarketRegistry
    """The market plugins plans trade on: the same ones that validate and clear bids."""


def _plan_services(request: Request) -> PlanServices:
    return request.app.state.plan_services


PlanDeps = Annotated[PlanServices, Depends(_plan_services)]

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, unknown or revoked API key"},
    422: {"model": ErrorBody, "description": "a parameter names a bad value"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "no such plan for the caller's tenant"}
}
_FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "the key's role may not plan or submit"}
}


def run_plan(
    repository: Repository,
    actor: Actor,
    plan_id: str,
    markets: Sequence[str],
    prices: PriceSource,
    registry: MarketRegistry,
    stop: threading.Event | None = None,
) -> PlanRecord | None:
    """Run a queued plan to done or failed; every failure is stored with its reason.

    `stop` set (the plan was cancelled): the run ends at its next safe point and stores
    nothing; a finished solve's result is discarded. Returns the plan as stored (None if
    it vanished meanwhile).
    """
    from trading.cli.optimise import availability
    from trading.optimiser.build import OptimiserOptions
    from trading.optimiser.inputs import Horizon
    from trading.optimiser.plan import optimise

    stop = stop if stop is not None else threading.Event()
    try:
        plan = repository.set_plan_status(plan_id, PlanStatus.RUNNING, actor)
    except TransitionError:  # cancelled before it started
        return repository.get_plan(actor.tenant_id, plan_id)
    try:
        stored = repository.get_portfolio(actor.tenant_id, plan.portfolio_id)
        if stored is None:
            raise LookupError(f"portfolio {plan.portfolio_id!r} no longer exists")
        portfolio = stored.portfolio()
        zones = {s.bidding_zone for s in portfolio.sites}
        if stop.is_set():
            return repository.get_plan(actor.tenant_id, plan_id)
        inputs = prices.prices(zones, markets)
        profiles, note = availability(portfolio, Horizon.of(plan.day), None)
        if stop.is_set():
            return repository.get_plan(actor.tenant_id, plan_id)
        result = optimise(
            portfolio,
            plan.day,
            inputs,
            profiles=profiles,
            options=OptimiserOptions(markets=tuple(markets)),
            registry=registry,
        )
    except Exception as exc:  # every failure ends the plan as failed, with its message
        message = str(exc).strip() or type(exc).__name__
        return _finish(repository, actor, plan_id, PlanStatus.FAILED, error=message)
    document = {
        "markets": list(markets),
        "optimiser_plan_id": result.plan_id,
        "objective_eur": result.objective_eur,
        "revenue_by_market": dict(result.revenue_by_market),
        "costs_by_kind": dict(result.costs_by_kind),
        "excluded_assets": dict(result.excluded_assets),
        "bids": [bid.model_dump(mode="json", exclude_none=True) for bid in result.bids],
        "solver": {
            "status": result.solver.status,
            "gap": result.solver.gap,
            "bound_eur": result.solver.bound_eur,
            "build_s": round(result.solver.build_s, 3),
            "solve_s": round(result.solver.solve_s, 3),
        },
        "notes": [*result.notes, *([note] if note else [])],
        "treatments": {
            asset.id: treatment_record(portfolio.treatment(asset, plan.day))
            for asset in portfolio.assets
            if asset.id not in result.excluded_assets
        },
    }
    return _finish(repository, actor, plan_id, PlanStatus.DONE, result=document)


def _finish(
    repository: Repository,
    actor: Actor,
    plan_id: str,
    to_status: PlanStatus,
    **outcome: Any,
) -> PlanRecord | None:
    """Store the run's outcome, unless the plan was cancelled meanwhile (then discard it)."""
    try:
        return repository.set_plan_status(plan_id, to_status, actor, **outcome)
    except TransitionError:
        structlog.get_logger(__name__).info(
            "plan_outcome_discarded", plan_id=plan_id, outcome=to_status.value
        )
        return repository.get_plan(actor.tenant_id, plan_id)


def queue_plan(
    repository: Repository,
    plan_services: PlanServices,
    actor: Actor,
    plan_id: str,
    markets: Sequence[str],
) -> None:
    """Run the queued plan `plan_id` in the background (see `run_plan`)."""
    prices, registry, jobs = plan_services.prices, plan_services.registry, plan_services.jobs
    stop = jobs.stop_event(job_name(plan_id))
    jobs.submit(
        lambda: run_plan(repository, actor, plan_id, markets, prices, registry, stop),
        job_name(plan_id),
    )


def job_name(plan_id: str) -> str:
    """The `JobRunner` name of a plan's run."""
    return f"plan {plan_id}"


INTERRUPTED = "the server stopped while this plan ran; POST /v1/plans to run it again"
"""The error of a plan that was running when its server stopped."""


def recover_plans(repository: Repository, plan_services: PlanServices) -> tuple[int, int]:
    """Take up what a stopped server left: run its queued plans, fail its running ones.

    A queued plan runs with the markets it was asked for (day-ahead only if it predates
    stored requests); a running one is failed with `INTERRUPTED` rather than silently
    re-run, so that a plan that crashed the server is not run into the crash again.
    Returns (queued again, failed).
    """
    queued = failed = 0
    for plan in repository.unfinished_plans():
        actor = Actor.system(plan.tenant_id)
        if plan.status is PlanStatus.RUNNING:
            repository.set_plan_status(plan.id, PlanStatus.FAILED, actor, error=INTERRUPTED)
            failed += 1
            continue
        markets = (plan.request or {}).get("markets") or ["day_ahead"]
        queue_plan(repository, plan_services, actor, plan.id, tuple(markets))
        queued += 1
    return queued, failed


@router.post(
    "",
    status_code=202,
    summary="Run the optimiser for a portfolio and day, in the background",
    responses={
        **_FORBIDDEN,
        404: {"model": ErrorBody, "description": "no such portfolio for the caller's tenant"},
        **_AUTH_ERRORS,
    },
)
def create_plan(
    services: Services,
    plan_services: PlanDeps,
    actor: Writer,
    body: PlanRequest,
    response: Response,
) -> PlanAccepted:
    """Queue a plan; poll ``GET /v1/plans/{id}`` (queued, running, done or failed)."""
    from trading.optimiser.build import MARKET_CHOICES

    unknown = [m for m in body.markets if m not in MARKET_CHOICES]
    if unknown or len(set(body.markets)) != len(body.markets):
        raise ApiError(
            422,
            "InvalidRequest",
            f"markets={body.markets}: choose distinct markets of {', '.join(MARKET_CHOICES)}",
            {
                "problems": [
                    {
                        "subject": "request",
                        "field": "body.markets",
                        "value": ",".join(body.markets),
                        "rule": f"distinct markets of {', '.join(MARKET_CHOICES)}",
                    }
                ]
            },
        )
    if services.repository.get_portfolio(actor.tenant_id, body.portfolio_id) is None:
        raise ApiError(404, "NotFound", f"portfolio_id={body.portfolio_id!r} does not exist")
    services.access.check_plans(actor.tenant_id, unfinished_plans(services, actor.tenant_id))
    markets = tuple(body.markets)
    plan = services.repository.create_plan(
        actor, body.portfolio_id, body.day, request={"markets": list(markets)}
    )
    queue_plan(services.repository, plan_services, actor, plan.id, markets)
    location = f"/v1/plans/{plan.id}"
    response.headers["Location"] = location
    return PlanAccepted(id=plan.id, status=plan.status.value, location=location)


PlanId = Annotated[str, Path(max_length=100)]


def unfinished_plans(services: Services, tenant_id: str) -> int:
    """How many plans of the tenant are queued or running (in the store: every process's)."""
    return sum(
        services.repository.list_plans(tenant_id, status=status, limit=1).total
        for status in (PlanStatus.QUEUED, PlanStatus.RUNNING)
    )


@router.delete(
    "/{plan_id}",
    summary="Cancel a queued or running plan",
    responses={
        **_FORBIDDEN,
        409: {"model": ErrorBody, "description": "the plan is done or failed already"},
        **_AUTH_ERRORS,
        **_NOT_FOUND,
    },
)
def cancel_plan(
    services: Services, plan_services: PlanDeps, actor: Writer, plan_id: PlanId
) -> PlanPublic:
    """Fail the plan at once with ``cancelled by key ...``: a queued run never starts; a
    running one stops at its next safe point (a solve under way finishes in the background
    and its result is discarded)."""
    plan = _own_plan(services, actor.tenant_id, plan_id)
    if plan.status in (PlanStatus.DONE, PlanStatus.FAILED):
        raise ApiError(
            409,
            "PlanFinished",
            f"plan {plan_id!r} is {plan.status.value} already; only a queued or running plan "
            "can be cancelled",
            {"status": plan.status.value},
        )
    plan_services.jobs.cancel(job_name(plan_id))
    error = f"cancelled by key {actor.key_id} at {services.clock.now().isoformat()}"
    try:
        cancelled = services.repository.set_plan_status(
            plan_id, PlanStatus.FAILED, actor, error=error
        )
    except TransitionError:  # it finished meanwhile
        plan = _own_plan(services, actor.tenant_id, plan_id)
        raise ApiError(
            409,
            "PlanFinished",
            f"plan {plan_id!r} finished ({plan.status.value}) before it could be cancelled",
            {"status": plan.status.value},
        ) from None
    return PlanPublic.of(cancelled)


def _own_plan(services: Services, tenant_id: str, plan_id: str) -> PlanRecord:
    plan = services.repository.get_plan(tenant_id, plan_id)
    if plan is None:
        raise ApiError(404, "NotFound", f"plan_id={plan_id!r} does not exist")
    return plan


class PlanPage(BaseModel):
    """One page of plans, oldest first."""

    model_config = ConfigDict(frozen=True)

    items: list[PlanPublic]
    page: int
    limit: int
    total: int


@router.get("", summary="List the tenant's plans", responses=_AUTH_ERRORS)
def list_plans(
    services: Services,
    actor: Reader,
    portfolio_id: Annotated[str | None, Query(max_length=200, examples=["sample-vpp"])] = None,
    day: Annotated[date | None, Query(description="market-local delivery day, YYYY-MM-DD")] = None,
    status: PlanStatus | None = None,
    page: PageNumber = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> PlanPage:
    """A page of the caller's tenant's plans matching every filter, oldest first."""
    found = services.repository.list_plans(
        actor.tenant_id, portfolio_id=portfolio_id, day=day, status=status, page=page, limit=limit
    )
    return PlanPage(
        items=[PlanPublic.of(p) for p in found.items],
        page=found.page,
        limit=found.limit,
        total=found.total,
    )


@router.get("/{plan_id}", summary="A plan's status and result", responses=_AUTH_ERRORS | _NOT_FOUND)
def get_plan(services: Services, actor: Reader, plan_id: PlanId) -> PlanPublic:
    """Status; when done, objective, revenue by market and the proposed bids."""
    return PlanPublic.of(_own_plan(services, actor.tenant_id, plan_id))


@router.post(
    "/{plan_id}/submit",
    status_code=201,
    summary="Submit a done plan's proposed bids",
    responses={
        200: {"model": SubmissionPublic, "description": "already submitted: the first answer"},
        **_FORBIDDEN,
        409: {"model": ErrorBody, "description": "the plan is not done"},
        **_AUTH_ERRORS,
        **_NOT_FOUND,
        422: {"model": ViolationsBody, "description": "every market rule every bid breaks"},
    },
)
def submit_plan(
    services: Services, actor: Writer, plan_id: PlanId, response: Response
) -> SubmissionPublic:
    """Validate the plan's bids at the current time and store them as submitted, linked to it.

    All or nothing, as ``POST /v1/bids``. Submitting the plan again returns the first
    answer (200, ``replayed``).
    """
    plan = _own_plan(services, actor.tenant_id, plan_id)
    if plan.status is not PlanStatus.DONE:
        raise ApiError(
            409,
            "PlanNotDone",
            f"plan {plan_id!r} is {plan.status.value}; only a done plan's bids can be submitted",
            {"status": plan.status.value},
        )
    try:
        bids = _BIDS.validate_python((plan.result or {}).get("bids", []))
    except ValidationError as exc:
        raise ApiError(409, "PlanUnreadable", f"plan {plan_id!r}: stored bids: {exc}") from None
    if not bids:
        raise ApiError(409, "PlanEmpty", f"plan {plan_id!r} proposes no bids")
    if len(bids) > MAX_BIDS_PER_CALL:
        raise ApiError(
            409,
            "PlanTooLarge",
            f"plan {plan_id!r} proposes {len(bids)} bids, over {MAX_BIDS_PER_CALL}",
        )
    key = f"plan-{plan.id}"
    resolved, refused = resolve_products(services.registry, bids)
    if refused:
        now = services.clock.now()
        raise record_refusal(services.repository, services.registry, actor, bids, refused, key, now)
    new_bids = [replace(b, plan_id=plan.id) for b in resolved if b is not None]
    earlier = earlier_submission(services.repository, actor.tenant_id, key, new_bids)
    if earlier is not None:
        response.status_code = 200
        return SubmissionPublic.of(earlier)
    now = services.clock.now()
    refused = market_violations(services.registry, bids, [b.country for b in new_bids], now)
    if refused:
        raise record_refusal(services.repository, services.registry, actor, bids, refused, key, now)
    refused = services.risk.check(actor.tenant_id, bids, new_bids)
    if refused:  # kept as a decision, citing the limit's version (trading.api.limits)
        raise record_refusal(services.repository, services.registry, actor, bids, refused, key, now)
    result = services.repository.add_bids(actor.tenant_id, actor.key_id, new_bids, key, at=now)
    if result.created:
        for record in result.bids:
            services.metrics.bids.labels(BidStatus.SUBMITTED.value, record.market).inc()
    else:
        response.status_code = 200
    return SubmissionPublic.of(result)
