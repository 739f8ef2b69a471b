"""The desk's order routes: replace a bid by a new version, and cancel-all (the kill switch).

``PUT /v1/bids/{id}`` validates the new version exactly as a submission (market plugin at
the server's time, then the tenant's risk limits) and stores it while the old version
moves to withdrawn with a reason naming the new one; both keep their histories.
``POST /v1/bids/cancel-all`` withdraws every submitted bid of the caller's tenant matching
optional filters that is still before its gate, and names the ones it could not.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from markets.bids import Bid
from markets.calendar import iso_z, local_label
from trading.api.deps import IdempotencyKey, Services, Writer
from trading.api.edge import EdgeRoute
from trading.api.errors import ApiError
from trading.api.events import CHANGES
from trading.api.schemas import (
    EXAMPLE_BID,
    BidPublic,
    ErrorBody,
    SubmissionPublic,
    ViolationsBody,
)
from trading.api.submission import (
    earlier_submission,
    market_violations,
    record_refusal,
    resolve_products,
)
from trading.store import BidStatus
from trading.store.ops.orders import (
    CancelFilters,
    GateClosedError,
    OrderDesk,
    cancel_all,
    replace_bid,
)
from trading.store.repository import prepare_submission

router = APIRouter(prefix="/v1/bids", tags=["orders"], route_class=EdgeRoute)


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, unknown or revoked API key"},
    403: {"model": ErrorBody, "description": "the key's role may not change bids"},
}


class ReplacementPublic(_Public):
    """The answer to a replace: the old version (now withdrawn) and the new one's submission."""

    replaced: BidPublic = Field(description="the old version, withdrawn, naming its successor")
    submission: SubmissionPublic = Field(description="the new version, as a submission")


class CancelAllRequest(_Public):
    """Which of the tenant's submitted bids to withdraw; a filter left out matches any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    market: str | None = Field(default=None, max_length=64, examples=["day_ahead"])
    zone: str | None = Field(
        default=None,
        max_length=16,
        description="bidding zone: the product id's first part",
        examples=["DE"],
    )
    delivery_day: date | None = Field(default=None, description="market-local, YYYY-MM-DD")
    reason: str | None = Field(default=None, max_length=500, examples=["desk halt"])


class KeptBid(_Public):
    """A matching bid cancel-all could not withdraw, and why."""

    id: str
    status: BidStatus
    gate_closure: str
    reason: str


class CancelAllPublic(_Public):
    """What cancel-all did."""

    withdrawn_count: int
    withdrawn: list[str] = Field(description="ids of the bids withdrawn now")
    kept: list[KeptBid] = Field(description="matching bids that stay, each with why")


def _desk(services: Services) -> OrderDesk:
    return OrderDesk(services.repository.engine)  # a sessionmaker: cheap to build


def _gate_closed(services: Services, error: GateClosedError, country: str) -> ApiError:
    closure = _closure_label(services, error.gate_closure, country)
    return ApiError(
        409,
        "GateClosed",
        f"bid {error.bid_id!r} can no longer be replaced: gate closure {closure} has passed "
        f"(now {iso_z(error.now)})",
        {"gate_closure": iso_z(error.gate_closure), "now": iso_z(error.now)},
    )


@router.put(
    "/{bid_id}",
    summary="Replace a submitted bid by a new version before its gate closure",
    responses={
        200: {"model": ReplacementPublic, "description": "a replay: the first call's answer"},
        404: {"model": ErrorBody, "description": "no such bid for the caller's tenant"},
        409: {"model": ErrorBody, "description": "gate closed, bid not submitted, or key reused"},
        422: {"model": ViolationsBody, "description": "every rule the new version breaks"},
        **_ERRORS,
    },
    status_code=201,
)
async def replace(
    services: Services,
    actor: Writer,
    bid_id: Annotated[str, Path(max_length=100)],
    body: Annotated[Bid, Body(openapi_examples={"new version": {"value": EXAMPLE_BID}})],
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ReplacementPublic:
    """Store `body` as the new version of bid `bid_id` and withdraw the old version.

    The new version is checked as a new bid (market plugin at the server's time, the
    tenant's risk limits; a 422 lists every violation) and may name any product, also
    the old one's. The old version must be submitted and before its gate closure (else
    409 naming the gate closure, or its status). History: the old version's last step is
    ``withdrawn`` with reason ``replaced by bid <new id>``, the new version's first step
    ``created, replacing bid <old id>``. With an ``Idempotency-Key``, a retry answers the
    first result (200, ``replayed``).
    """
    old = await run_in_threadpool(services.repository.get_bid, actor.tenant_id, bid_id)
    if old is None:
        raise ApiError(404, "NotFound", f"bid_id={bid_id!r} does not exist")
    resolved, refused = resolve_products(services.registry, [body])
    now = services.clock.now()
    refuse = partial(record_refusal, services.repository, services.registry, actor, [body])
    if refused:
        raise await run_in_threadpool(refuse, refused, idempotency_key, now)
    new_bid = resolved[0]
    assert new_bid is not None  # resolve_products refused it otherwise
    if idempotency_key is not None:
        earlier = await run_in_threadpool(
            earlier_submission, services.repository, actor.tenant_id, idempotency_key, [new_bid]
        )
        if earlier is not None:
            response.status_code = 200
            return ReplacementPublic(
                replaced=BidPublic.of(old), submission=SubmissionPublic.of(earlier)
            )
    if now >= old.gate_closure:
        raise _gate_closed(services, GateClosedError(bid_id, old.gate_closure, now), old.country)
    refused = market_violations(services.registry, [body], [new_bid.country], now)
    if refused:
        raise await run_in_threadpool(refuse, refused, idempotency_key, now)
    submission = prepare_submission(
        actor.tenant_id, actor.key_id, [new_bid], idempotency_key, at=now
    )
    async with services.risk.guard(actor, [body], [new_bid], idempotency_key, now):
        try:
            done = await run_in_threadpool(
                _desk(services).run,
                lambda session: replace_bid(session, actor, bid_id, submission, now),
            )
        except GateClosedError as closed:
            raise _gate_closed(services, closed, old.country) from None
    if done.new.created:
        CHANGES.notify()
        services.metrics.bids.labels(BidStatus.WITHDRAWN.value, done.old.market).inc()
        services.metrics.bids.labels(BidStatus.SUBMITTED.value, done.new.bids[0].market).inc()
    else:
        response.status_code = 200
    return ReplacementPublic(
        replaced=BidPublic.of(done.old), submission=SubmissionPublic.of(done.new)
    )


@router.post(
    "/cancel-all",
    summary="Withdraw every submitted bid of the tenant before its gate (the kill switch)",
    responses=_ERRORS | {422: {"model": ErrorBody, "description": "a filter names a bad value"}},
)
async def cancel_all_bids(
    services: Services,
    actor: Writer,
    body: Annotated[CancelAllRequest | None, Body()] = None,
) -> CancelAllPublic:
    """Withdraw, in one transaction, every submitted bid of the caller's tenant matching
    `market`, `zone` and `delivery_day` (each optional) whose gate closure is still ahead
    at the server's time. Matching bids past their gate stay submitted and are listed
    under ``kept`` with the reason. Audited as ``bid.cancel_all``."""
    request = body or CancelAllRequest()
    filters = CancelFilters(request.market, request.zone, request.delivery_day)
    now = services.clock.now()
    done = await run_in_threadpool(
        _desk(services).run,
        lambda session: cancel_all(session, actor, filters, now, request.reason),
    )
    for record in done.withdrawn:
        services.metrics.bids.labels(BidStatus.WITHDRAWN.value, record.market).inc()
    CHANGES.notify()
    return CancelAllPublic(
        withdrawn_count=len(done.withdrawn),
        withdrawn=[b.id for b in done.withdrawn],
        kept=[
            KeptBid(
                id=k.bid.id,
                status=k.bid.status,
                gate_closure=_closure_label(services, k.bid.gate_closure, k.bid.country),
                reason=k.reason,
            )
            for k in done.kept
        ],
    )


def _closure_label(services: Services, closure: Any, country: str) -> str:
    text = iso_z(closure)
    if country in services.registry:
        text = f"{text} ({local_label(closure, services.registry.get(country).timezone)})"
    return text
