"""Routes of bids: submit (idempotent), list, read with history, withdraw before the gate."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from markets.bids import Bid
from markets.calendar import iso_z, local_label
from markets.registry import MarketRegistry
from trading.api.deps import (
    ApiServices,
    IdempotencyKey,
    PageNumber,
    Reader,
    Services,
    Writer,
)
from trading.api.edge import PARSED_JSON, EdgeRoute
from trading.api.errors import ApiError
from trading.api.events import CHANGES
from trading.api.heap import full_collections_deferred
from trading.api.schemas import (
    EXAMPLE_BID,
    BidEventPublic,
    BidPage,
    BidPublic,
    BidViolations,
    BidWithHistory,
    ClearingPublic,
    ErrorBody,
    SubmissionPublic,
    ViolationsBody,
    WithdrawRequest,
)
from trading.api.submission import (
    earlier_submission,
    market_violations,
    record_refusal,
    resolve_products,
)
from trading.pacing import PACER, in_background, pace
from trading.store import Actor, AddBidsResult, BidRecord, BidStatus, NewBid
from trading.store.checks import MAX_PAGE_SIZE
from trading.store.inputs import MAX_BIDS_PER_CALL
from trading.store.repository import prepare_submission

OFF_LOOP_BIDS = 64
"""A submission of more bids is read into bids and checked in a worker thread, so that one
large batch does not hold up the event loop (and every other client's requests)."""

_BID_LIST = TypeAdapter(list[Bid])
"""A large submission body's type, validated `STEP_BIDS` at a time (FastAPI validates the
rest, and names a malformed bid's fields)."""

STEP_BIDS = 50
"""A large batch is validated and its answer rendered this many bids at a time: each step
is one call into pydantic's compiled code, which holds the interpreter lock throughout
(5,000 bids in one call: 10-50 ms in which the event loop could not run)."""


def _validated(document: list[Any]) -> list[Bid]:
    """`document` (a JSON list) as bids, `STEP_BIDS` at a time, pacing between steps;
    `ValidationError` if any bid is malformed (the caller then lets FastAPI name them)."""
    bids: list[Bid] = []
    for first in range(0, len(document), STEP_BIDS):
        bids.extend(_BID_LIST.validate_python(document[first : first + STEP_BIDS]))
        pace()
    return bids


class _BatchRoute(EdgeRoute):
    """An `EdgeRoute` that turns a large JSON batch into bids in a worker thread.

    FastAPI validates a body on the event loop: 5,000 bids took 20-40 ms of it (more on a
    busy machine), during which no other request moved. Here a batch of more than
    `OFF_LOOP_BIDS` bids is validated in a worker thread first; FastAPI then finds bid
    models, which pydantic passes through without looking at their fields again (a few
    ms). A batch that fails is left as it came: FastAPI's own validation names every
    error, exactly as before.
    """

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            document = request.scope.get(PARSED_JSON)
            if isinstance(document, list) and len(document) > OFF_LOOP_BIDS:
                try:
                    async with PACER.watch():
                        bids = await run_in_threadpool(in_background(_validated), document)
                except ValidationError:
                    pass  # FastAPI validates the document itself and answers its 422
                else:
                    request.scope[PARSED_JSON] = bids
            return await handler(request)

        return route


router = APIRouter(prefix="/v1/bids", tags=["bids"], route_class=_BatchRoute)

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, unknown or revoked API key"},
    422: {"model": ErrorBody, "description": "a parameter names a bad value"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "no such bid for the caller's tenant"}
}

SubmittedBids = Annotated[
    Bid | list[Bid],
    Body(
        openapi_examples={
            "one bid": {"summary": "a single day-ahead bid", "value": EXAMPLE_BID},
            "a batch": {
                "summary": "several bids, stored together or not at all",
                "value": [EXAMPLE_BID, {**EXAMPLE_BID, "bid_id": "desk-1/0002"}],
            },
        }
    ),
]


@router.post(
    "",
    status_code=201,
    summary="Submit one bid or a batch",
    responses={
        200: {"model": SubmissionPublic, "description": "a replay: the first call's answer"},
        403: {"model": ErrorBody, "description": "the key's role may not submit"},
        409: {"model": ErrorBody, "description": "Idempotency-Key reused for other bids"},
        **_AUTH_ERRORS,
        422: {"model": ViolationsBody, "description": "every market rule every bid breaks"},
    },
)
async def submit_bids(
    services: Services,
    actor: Writer,
    body: SubmittedBids,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SubmissionPublic:
    """Validate each bid by its market plugin at the current time and store them as submitted.

    All or nothing: if any bid breaks a rule, none is stored and the 422 lists every
    violation of every bid (rule, limit, value, the rule's id). The refusal itself is
    stored, a record per bid with the plugin and rule ids that judged it
    (``refusal_id``: ``GET /v1/refusals/{refusal_id}``). A bid after its gate closure is refused
    with the ``<market>.gate_closure`` violation naming the closure time. With an
    ``Idempotency-Key``, a retry of the same bids returns the first answer (200,
    ``replayed``) and stores nothing twice, also once the bids would no longer pass.
    The answer comes once the bids are durably stored.
    """
    bids = body if isinstance(body, list) else [body]
    if not 1 <= len(bids) <= MAX_BIDS_PER_CALL:
        raise ApiError(
            422,
            "InvalidRequest",
            f"body holds {len(bids)} bids; send 1 to {MAX_BIDS_PER_CALL}",
        )
    now = services.clock.now()
    if len(bids) <= OFF_LOOP_BIDS:
        return await _submit(services, actor, bids, response, idempotency_key, now, big=False)
    # its work in worker threads gives way to the loop's requests, and its objects are not
    # walked by full collections while it is in flight (trading.api.heap)
    async with PACER.watch():
        with full_collections_deferred():
            return await _submit(services, actor, bids, response, idempotency_key, now, big=True)


async def _submit(
    services: ApiServices,
    actor: Actor,
    bids: list[Bid],
    response: Response,
    idempotency_key: str | None,
    now: datetime,
    *,
    big: bool,
) -> SubmissionPublic | Response:
    """`submit_bids` at `now`; `big`: the checks run as background work in worker threads
    (`trading.pacing`), and the answer is rendered there too."""
    screen = partial(_screen, services.registry, bids, now)
    new_bids, refused, known = await run_in_threadpool(in_background(screen)) if big else screen()
    refuse = partial(
        record_refusal,
        services.repository,
        services.registry,
        actor,
        bids,
        refused,
        idempotency_key,
        now,
    )
    if refused and not known:
        raise await run_in_threadpool(refuse)
    if refused:
        if idempotency_key is not None:  # a retry after the gate still gets its first answer
            earlier = await run_in_threadpool(
                earlier_submission, services.repository, actor.tenant_id, idempotency_key, new_bids
            )
            if earlier is not None:
                response.status_code = 200
                return SubmissionPublic.of(earlier)
        raise await run_in_threadpool(refuse)
    prepare = partial(
        prepare_submission, actor.tenant_id, actor.key_id, new_bids, idempotency_key, now
    )
    submission = await run_in_threadpool(in_background(prepare)) if big else prepare()
    async with services.risk.guard(actor, bids, new_bids, idempotency_key, now):
        result = await asyncio.wrap_future(services.writer.submit_prepared(submission))
    if result.created:
        CHANGES.notify()  # open event streams read at once
        for market, count in Counter(record.market for record in result.bids).items():
            services.metrics.bids.labels(BidStatus.SUBMITTED.value, market).inc(count)
    else:
        response.status_code = 200
    if big:  # thousands of bids to render: off the loop, as FastAPI would render them
        content = await run_in_threadpool(in_background(_rendered), result)
        return Response(content, response.status_code or 201, media_type="application/json")
    return SubmissionPublic.of(result)


_SUBMISSION_JSON = TypeAdapter(SubmissionPublic)


_BIDS_JSON = TypeAdapter(list[BidPublic])


def _rendered(result: AddBidsResult) -> bytes:
    """The answer's JSON body, as FastAPI renders a `SubmissionPublic`: the bids
    `STEP_BIDS` at a time, pacing between steps, spliced into the submission's own."""
    head = SubmissionPublic(
        submission_id=result.submission_id,
        idempotency_key=result.idempotency_key,
        replayed=not result.created,
        bids=[],
    )
    shell = _SUBMISSION_JSON.dump_json(head, by_alias=True)
    if not shell.endswith(b"[]}"):  # the bids are not the last field: render it whole
        return _SUBMISSION_JSON.dump_json(SubmissionPublic.of(result), by_alias=True)
    parts = []
    for first in range(0, len(result.bids), STEP_BIDS):
        step = [BidPublic.of(record) for record in result.bids[first : first + STEP_BIDS]]
        parts.append(_BIDS_JSON.dump_json(step, by_alias=True)[1:-1])
        pace()
    return shell[:-2] + b",".join(parts) + b"]}"


def _screen(
    registry: MarketRegistry, bids: list[Bid], now: datetime
) -> tuple[list[NewBid], list[BidViolations], bool]:
    """Each bid resolved to its product and checked against its market's rules at `now`:
    (the bids to store, the refused ones, whether every product exists)."""
    resolved, unknown = resolve_products(registry, bids)
    if unknown:
        return [], unknown, False
    new_bids = [b for b in resolved if b is not None]
    return new_bids, market_violations(registry, bids, [b.country for b in new_bids], now), True


@router.get("", summary="List the tenant's bids", responses=_AUTH_ERRORS)
def list_bids(
    services: Services,
    actor: Reader,
    market: Annotated[str | None, Query(examples=["day_ahead"])] = None,
    product: Annotated[str | None, Query(examples=["DE:day_ahead:SDAC:2026-06-14T22:00Z"])] = None,
    status: BidStatus | None = None,
    delivery_day: Annotated[date | None, Query(description="market-local, YYYY-MM-DD")] = None,
    page: PageNumber = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> BidPage:
    """A page of the caller's tenant's bids matching every filter, oldest first."""
    found = services.repository.list_bids(
        actor.tenant_id,
        market=market,
        product_id=product,
        status=status,
        delivery_day=delivery_day,
        page=page,
        limit=limit,
    )
    return BidPage(
        items=[BidPublic.of(b) for b in found.items],
        page=found.page,
        limit=found.limit,
        total=found.total,
    )


BidId = Annotated[str, Path(max_length=100, examples=["b-01J..."])]


def _own_bid(services: Services, tenant_id: str, bid_id: str) -> BidRecord:
    record = services.repository.get_bid(tenant_id, bid_id)
    if record is None:
        raise ApiError(404, "NotFound", f"bid_id={bid_id!r} does not exist")
    return record


@router.get("/{bid_id}", summary="One bid with its history", responses=_AUTH_ERRORS | _NOT_FOUND)
def get_bid(services: Services, actor: Reader, bid_id: BidId) -> BidWithHistory:
    """The bid and every lifecycle step, oldest first (another tenant's bid: 404)."""
    record = _own_bid(services, actor.tenant_id, bid_id)
    history = services.repository.bid_history(actor.tenant_id, bid_id) or []
    clearing = services.repository.get_clearing(actor.tenant_id, bid_id)
    return BidWithHistory(
        **BidPublic.of(record).model_dump(),
        history=[BidEventPublic.of(e) for e in history],
        clearing=None if clearing is None else ClearingPublic.of(clearing),
    )


@router.post(
    "/{bid_id}/withdraw",
    summary="Withdraw a submitted bid before its gate closure",
    responses={
        403: {"model": ErrorBody, "description": "the key's role may not withdraw"},
        409: {"model": ErrorBody, "description": "the gate has closed, or the bid is final"},
        **_AUTH_ERRORS,
        **_NOT_FOUND,
    },
)
def withdraw_bid(
    services: Services,
    actor: Writer,
    bid_id: BidId,
    body: Annotated[WithdrawRequest | None, Body()] = None,
) -> BidPublic:
    """Move a submitted bid to withdrawn; refused (409) at or after its gate closure."""
    record = _own_bid(services, actor.tenant_id, bid_id)
    now = services.clock.now()
    if now >= record.gate_closure:
        closure = iso_z(record.gate_closure)
        if record.country in services.registry:
            zone = services.registry.get(record.country).timezone
            closure = f"{closure} ({local_label(record.gate_closure, zone)})"
        raise ApiError(
            409,
            "GateClosed",
            f"bid {bid_id!r} can no longer be withdrawn: gate closure {closure} has passed "
            f"(now {iso_z(now)})",
            {"gate_closure": iso_z(record.gate_closure), "now": iso_z(now)},
        )
    reason = body.reason if body is not None else None
    changed = services.repository.transition(
        bid_id, BidStatus.WITHDRAWN, actor, reason or "withdrawn through the API"
    )
    CHANGES.notify()
    services.metrics.bids.labels(BidStatus.WITHDRAWN.value, changed.market).inc()
    return BidPublic.of(changed)
