"""`Repository`: the store's operations for the API and the engine, each one transaction.

Tenant isolation: every read takes the tenant and finds only that tenant's rows; every
change is made by an `Actor` of a tenant and finds only that tenant's rows (another
tenant's bid is "not found", never "forbidden", so ids leak nothing). Which role may call
what is the API's decision; the store records who did it.

Idempotency of `add_bids`: see `trading.store.ops.bids`. Two calls racing with one key
both look for the key; on SQLite the write transactions are serial (``BEGIN IMMEDIATE``),
so the second finds the first's submission; on PostgreSQL both may miss it, and the
second then fails on the unique (tenant, key) constraint when the first commits. That
`IntegrityError` is caught, the transaction rolled back, and the first call's stored
result read back and returned. No duplicate can be written on either backend.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from datetime import datetime
from functools import partial
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trading.pacing import PACER
from trading.store.checks import check_idempotency_key
from trading.store.engine import WRITE, create_engine_for, session_factory
from trading.store.errors import StoreError, invalid
from trading.store.inputs import NewBid, prepare_bids
from trading.store.ops import audit as audit_ops
from trading.store.ops import bids as bid_ops
from trading.store.ops import decisions as decision_ops
from trading.store.ops import engine as engine_ops
from trading.store.ops import flags as flag_ops
from trading.store.ops import keys as key_ops
from trading.store.ops import lifecycle, plans, portfolios, tenants
from trading.store.ops import limits as limit_ops
from trading.store.ops import refusals as refusal_ops
from trading.store.records import (
    AddBidsResult,
)
from trading.store.timestamps import as_utc
from trading.store.turns import TurnLock

STAGED_BIDS = 256
"""A submission of at least this many bids has its rows built before its transaction."""

CHUNKED_BIDS = 1000
"""On SQLite, a submission of at least this many bids is written in chunks of
`CHUNK_BIDS`, each a transaction of its own, and published by one more (see
`Repository._add_chunked`): the write lock, which every other writer waits for, is held
for one chunk at a time."""

CHUNK_BIDS = 250
"""Bids (with their creation events) per chunk of a batch written in chunks."""


def _stages(submission: bid_ops.Submission) -> bool:
    """Whether `add_submissions` builds `submission`'s rows before its transaction."""
    return len(submission.bids) >= STAGED_BIDS and submission.at is not None


T = TypeVar("T")
P = ParamSpec("P")
Operation = Callable[Concatenate[Session, P], T]
"""A store operation: a function of `trading.store.ops` taking the session first."""


def _reads(operation: Operation[P, T]) -> Callable[Concatenate[Repository, P], T]:
    """A repository method running `operation` in a read transaction of its own."""
    return _method(operation, lambda repository, run: repository._in_read(run), "read")


def _writes(
    operation: Operation[P, T], *, once_more_on_race: bool = False
) -> Callable[Concatenate[Repository, P], T]:
    """A repository method running `operation` in a write transaction of its own; with
    `once_more_on_race`, once more after a unique-key race (see `_in_write`)."""
    return _method(
        operation,
        lambda repository, run: repository._in_write(run, once_more_on_race),
        "write",
    )


def _method(
    operation: Operation[P, T],
    transaction: Callable[[Repository, Callable[[Session], T]], T],
    kind: str,
) -> Callable[Concatenate[Repository, P], T]:
    """`operation` as a method: its signature without the session, its docstring."""

    def method(self: Repository, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return transaction(self, lambda session: operation(session, *args, **kwargs))

    functools.update_wrapper(method, operation)
    signature = inspect.signature(operation)
    _session, *parameters = signature.parameters.values()
    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self_parameter, *parameters]
    )
    where = f"{operation.__module__}.{operation.__name__}"
    method.__doc__ = (
        f"{inspect.cleandoc(operation.__doc__ or '')}\n\nOne {kind} transaction; see `{where}`."
    )
    return method


def prepare_submission(
    tenant_id: str,
    key_id: str | None,
    bids: Sequence[NewBid],
    idempotency_key: str | None,
    at: datetime | None = None,
) -> bid_ops.Submission:
    """Check an `add_bids` call's bids, key and time, and hash its request.

    `idempotency_key` None: the caller gave none, and a fresh one (``auto-<uuid>``) is
    made, under which no earlier submission can exist (the writer does not look for one).
    `InvalidInputError` lists every problem; nothing is read or written.
    """
    generated = idempotency_key is None
    key = f"auto-{uuid.uuid4()}" if generated else check_idempotency_key(idempotency_key)
    if at is not None and at.utcoffset() is None:
        raise invalid("submission", "at", at.isoformat(), "must be timezone-aware (UTC)")
    prepared = tuple(prepare_bids(bids))
    digest = bid_ops.request_digest(prepared)
    return bid_ops.Submission(
        tenant_id,
        key_id,
        prepared,
        key,
        digest,
        None if at is None else as_utc(at, "at"),
        key_generated=generated,
    )


class Repository:
    """Everything the API and the engine read and write, each call in one transaction.

    Most methods are the operations of `trading.store.ops` run in a transaction of their
    own (`_reads`, `_writes`): their signatures and docstrings are the operations' own,
    less the session, and are not repeated here. A new operation becomes a method with one
    line. The methods written out here add more than a transaction (the group commit of
    submissions and its retries; the checks of `list_bids`' filters).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)
        self._serial: AbstractContextManager[object] = (
            TurnLock() if engine.dialect.name == "sqlite" else nullcontext()
        )
        """SQLite lets one transaction write at a time: this process's writers queue here,
        in turn, each woken the instant the one before commits, rather than in SQLite's
        busy handler (which sleeps and polls, up to 100 ms a time, once a wait passes a few
        ms). In turn: a batch written in chunks waits behind the small submissions queued
        meanwhile, between two chunks (`trading.store.turns`)."""
        self._held: Callable[[], AbstractContextManager[object]] = (
            PACER.held if engine.dialect.name == "sqlite" else nullcontext
        )
        """A write transaction on SQLite holds the one write lock: background work
        (`trading.pacing`) must not pause while holding it, or every writer waits too."""

    @classmethod
    def from_url(cls, url: str | None = None) -> Repository:
        """A repository on `url` (see `trading.store.engine.database_url`)."""
        return cls(create_engine_for(url))

    @property
    def engine(self) -> Engine:
        """The engine this repository uses."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    # --- transactions -------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def _write(self, bind: Connection | None = None) -> Iterator[Session]:
        """A write transaction, on `bind` if given (a connection with the `WRITE` option)."""
        sessions = self._sessions if bind is None else partial(self._sessions, bind=bind)
        with self._serial, self._held(), sessions() as session, session.begin():
            session.connection(execution_options=None if bind is not None else {WRITE: True})
            yield session

    def _in_read(self, operation: Callable[[Session], T]) -> T:
        with self._read() as session:
            return operation(session)

    def _in_write(self, operation: Callable[[Session], T], once_more_on_race: bool) -> T:
        """Run `operation` in a write transaction; with `once_more_on_race`, once more after
        a unique-key race: the second run sees the row the other writer committed and
        answers accordingly (an update, or a `ConflictError`)."""
        try:
            with self._write() as session:
                return operation(session)
        except IntegrityError:
            if not once_more_on_race:
                raise
            with self._write() as session:
                return operation(session)

    # --- tenants and keys ---------------------------------------------------------------

    create_tenant = _writes(tenants.create_tenant, once_more_on_race=True)
    get_tenant = _reads(tenants.get_tenant)
    create_api_key = _writes(key_ops.create_api_key)
    rotate_api_key = _writes(key_ops.rotate_api_key)
    verify_api_key = _reads(key_ops.verify_api_key)
    revoke_api_key = _writes(key_ops.revoke_api_key)
    list_api_keys = _reads(key_ops.list_api_keys)

    # --- risk limits --------------------------------------------------------------------

    list_risk_limits = _reads(limit_ops.list_limits)
    set_risk_limit = _writes(limit_ops.set_limit)
    clear_risk_limit = _writes(limit_ops.clear_limit)
    live_bids = _reads(limit_ops.live_bids)

    # --- pool flags ---------------------------------------------------------------------

    list_pool_flags = _reads(flag_ops.list_flags)
    all_pool_flags = _reads(flag_ops.all_flags)
    tenant_pools = _reads(flag_ops.tenant_pools)
    set_pool_flag = _writes(flag_ops.set_flag)

    # --- portfolios ---------------------------------------------------------------------

    save_portfolio = _writes(portfolios.save_portfolio, once_more_on_race=True)
    get_portfolio = _reads(portfolios.get_portfolio)
    list_portfolios = _reads(portfolios.list_portfolios)
    list_assets = _reads(portfolios.list_assets)

    # --- bids ---------------------------------------------------------------------------

    def add_bids(
        self,
        tenant_id: str,
        key_id: str | None,
        bids: Sequence[NewBid],
        idempotency_key: str,
        *,
        at: datetime | None = None,
    ) -> AddBidsResult:
        """Store `bids` for the tenant, once per `idempotency_key`.

        The same key with the same bids returns the first call's result (``created`` is
        False), also when calls race; the same key with other bids raises
        `IdempotencyKeyReusedError`. `key_id` is the acting API key (None: the engine).
        `at` [UTC, aware] is the instant the submission was accepted, the one its market
        rules were checked at (the API's clock); default now. `InvalidInputError` lists
        every problem of every bid.
        """
        (outcome,) = self.add_submissions(
            [prepare_submission(tenant_id, key_id, bids, idempotency_key, at)]
        )
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def add_submissions(
        self,
        submissions: Sequence[bid_ops.Submission],
        staged: Mapping[int, bid_ops.Staged] | None = None,
    ) -> list[AddBidsResult | Exception]:
        """Store many checked submissions (`prepare_submission`) in one transaction.

        Each gets its result or the `StoreError` that refused it, as `add_bids` would;
        a refused one writes nothing and leaves the others be. If another writer took
        one of the idempotency keys or bid_ids meanwhile (a unique constraint fails the group),
        each submission is stored on its own transaction, and each gets its own outcome
        (the one that lost gets the winner's result; any error of its own is its outcome
        alone, never its neighbours'). Any other failure of the group's transaction
        raises: nothing of it was stored.

        The rows of a submission of `STAGED_BIDS` bids or more are built, and its bid_ids
        looked up, before the transaction begins (`bid_ops.stage`), so that the write lock
        is held for the database's part alone; on SQLite they are also parked in temporary
        tables of the connection the transaction then uses, which copies them with one
        ``INSERT ... SELECT`` per table. `staged` gives rows built already (by index).
        """
        if staged is not None:
            return self._add(submissions, staged, None)
        with self._parking(submissions) as parking:
            ready = self._stage(submissions, parking)
            try:
                chunked = {i for i, one in ready.items() if not one.published}
                if not chunked:
                    return self._add(submissions, ready, parking)
                return self._add_some_chunked(submissions, ready, parking, chunked)
            finally:
                if parking is not None:
                    driver = parking.connection.driver_connection
                    for one in ready.values():
                        one.rows.unpark(driver)

    def _add(
        self,
        submissions: Sequence[bid_ops.Submission],
        staged: Mapping[int, bid_ops.Staged],
        bind: Connection | None,
    ) -> list[AddBidsResult | Exception]:
        try:
            with self._write(bind) as session:
                return bid_ops.add_submissions(session, submissions, staged)
        except IntegrityError:
            if len(submissions) > 1:
                return [self._add_alone(s, staged.get(i), bind) for i, s in enumerate(submissions)]
            # It lost a race for a unique key (its idempotency key, or a bid_id) to another
            # writer: once more, seeing the winner's rows (a replay, or the bid_id's 409).
            with self._write(bind) as session:
                return bid_ops.add_submissions(
                    session, submissions, staged, trust_staged_names=False
                )

    @contextmanager
    def _parking(self, submissions: Sequence[bid_ops.Submission]) -> Iterator[Connection | None]:
        """On SQLite, when a submission will be staged: a connection of its own for the call
        (temporary tables belong to one connection); else None."""
        if self._engine.dialect.name != "sqlite" or not any(_stages(s) for s in submissions):
            yield None
            return
        with self._engine.connect() as connection:
            yield connection.execution_options(**{WRITE: True})

    def _stage(
        self, submissions: Sequence[bid_ops.Submission], parking: Connection | None = None
    ) -> dict[int, bid_ops.Staged]:
        """The rows of each large submission with an acceptance time, built for the actor
        it would be stored as now (read in a transaction of its own, which takes no lock),
        and parked on `parking` if given (`bid_ops._Rows.park`)."""
        large = [(index, s) for index, s in enumerate(submissions) if _stages(s)]
        if not large:
            return {}
        with self._read() as session:
            actors = [
                (i, s, bid_ops.acting(session, s), bid_ops.names_free(session, s)) for i, s in large
            ]
        dialect = self._engine.dialect
        staged = {
            index: bid_ops.stage(
                dialect,
                submission,
                actor,
                submission.at,
                names_free=free,
                published=not (parking is not None and len(submission.bids) >= CHUNKED_BIDS),
            )
            for index, submission, actor, free in actors
            if actor is not None and submission.at is not None
        }
        if parking is not None:
            driver = parking.connection.driver_connection
            for one in staged.values():
                one.rows.park(driver)
        return staged

    def _add_some_chunked(
        self,
        submissions: Sequence[bid_ops.Submission],
        staged: Mapping[int, bid_ops.Staged],
        parking: Connection,
        chunked: set[int],
    ) -> list[AddBidsResult | Exception]:
        """`_add` for the submissions not in `chunked` (one group), then `_add_chunked` for
        each in `chunked`; the outcomes in the order of `submissions`."""
        whole = [i for i in range(len(submissions)) if i not in chunked]
        outcomes: dict[int, AddBidsResult | Exception] = {}
        if whole:
            done = self._add(
                [submissions[i] for i in whole],
                {n: staged[i] for n, i in enumerate(whole) if i in staged},
                parking,
            )
            outcomes.update(zip(whole, done, strict=True))
        for index in sorted(chunked):
            outcomes[index] = self._add_chunked(submissions[index], staged[index], parking)
        return [outcomes[i] for i in range(len(submissions))]

    def _add_chunked(
        self, submission: bid_ops.Submission, staged: bid_ops.Staged, parking: Connection
    ) -> AddBidsResult | Exception:
        """Write one large submission in chunks; its result once published, or its error.

        First a transaction checks it as `add_submissions` does (tenant, key, idempotency
        key, bid_ids, plans) and inserts its submission row unpublished; then each chunk of
        `CHUNK_BIDS` bids with their creation events goes in by a transaction of its own
        (copied from the rows parked on `parking`), other writers taking their turn between
        two; a last transaction checks the key again, inserts the audit rows and publishes
        it. Readers see none of its bids before that last commit (`trading.store.published`),
        all of them after. A failure after the first step deletes what went in; a crash
        leaves the chunks unpublished, for the sweep at the next start (`sweep_unpublished`).
        A bid_id taken by another writer meanwhile fails a chunk on the unique index: the
        chunks are deleted and the submission written whole again, which names the taken id.
        """
        try:
            with self._write(parking) as session:
                (outcome,) = bid_ops.add_submissions(
                    session, [submission], {0: staged}, head_only=True
                )
        except IntegrityError:  # lost a race for its idempotency key or a bid_id
            return self._add_whole(submission, parking)
        if outcome is not staged.result:  # a replay, a refusal, or written whole already
            return outcome
        submission_id = staged.result.submission_id
        total = staged.rows.bid_count()
        try:
            for first in range(0, total, CHUNK_BIDS):
                with self._write(parking) as session:
                    bid_ops.insert_chunk(session, staged, first, min(first + CHUNK_BIDS, total))
            with self._write(parking) as session:
                bid_ops.publish(session, submission, staged)
        except IntegrityError:  # a bid_id taken meanwhile: written whole, its 409 named
            self._discard(submission_id, parking)
            return self._add_whole(submission, parking)
        except StoreError as refused:  # its key revoked meanwhile, or its chunks swept
            self._discard(submission_id, parking)
            return refused
        except BaseException:
            # the database may be away: then the start-up sweep deletes them
            with suppress(Exception):
                self._discard(submission_id, parking)
            raise
        return staged.result

    def _add_whole(
        self, submission: bid_ops.Submission, bind: Connection
    ) -> AddBidsResult | Exception:
        """`submission` in one transaction, its rows built in it (published at once)."""
        try:
            return self._add([submission], {}, bind)[0]
        except Exception as exc:  # this submission's own failure, reported as its outcome
            return exc

    def _discard(self, submission_id: str, bind: Connection | None = None) -> None:
        """Delete the unpublished submission `submission_id` and what went in of it."""
        with self._write(bind) as session:
            bid_ops.discard(session, submission_id)

    def sweep_unpublished(self) -> int:
        """Delete the chunks of every batch never published (its writer died between two
        chunks); how many batches. `vpp serve` calls it at start, before taking bids."""
        with self._write() as session:
            return bid_ops.sweep_unpublished(session)

    def _add_alone(
        self,
        submission: bid_ops.Submission,
        staged: bid_ops.Staged | None,
        bind: Connection | None,
    ) -> AddBidsResult | Exception:
        try:
            return self._add([submission], {} if staged is None else {0: staged}, bind)[0]
        except Exception as exc:  # this submission's own failure, reported as its outcome
            return exc

    def find_submission(
        self, tenant_id: str, idempotency_key: str, bids: Sequence[NewBid]
    ) -> AddBidsResult | None:
        """The stored result of an earlier `add_bids` with this key and these bids, or None.

        `IdempotencyKeyReusedError` if the key was used for other bids. Reads only, so a
        retry can get its answer even when the bids would no longer pass their rules.
        """
        key = check_idempotency_key(idempotency_key)
        digest = bid_ops.request_digest(prepare_bids(bids))
        with self._read() as session:
            return bid_ops.find_submission(session, tenant_id, key, digest)

    get_bid = _reads(bid_ops.get_bid)

    list_bids = _reads(bid_ops.list_bids)
    bid_history = _reads(bid_ops.bid_history)
    transition = _writes(lifecycle.transition)
    record_clearing = _writes(lifecycle.record_clearing)
    get_clearing = _reads(lifecycle.get_clearing)
    record_refusals = _writes(refusal_ops.record_refusals)
    get_refusal = _reads(refusal_ops.get_refusal)
    list_refusals = _reads(refusal_ops.list_refusals)
    decisions_between = _reads(decision_ops.decisions_between)

    # --- plans --------------------------------------------------------------------------

    create_plan = _writes(plans.create_plan)
    unfinished_plans = _reads(plans.unfinished_plans)
    set_plan_status = _writes(plans.set_plan_status)
    get_plan = _reads(plans.get_plan)
    list_plans = _reads(plans.list_plans)
    delete_plan = _writes(plans.delete_plan)

    # --- audit --------------------------------------------------------------------------

    list_audit = _reads(audit_ops.list_audit)
    audit_between = _reads(decision_ops.audit_between)

    # --- the engine's books (trading.engine) ---------------------------------------------

    add_positions = _writes(engine_ops.add_positions)
    list_positions = _reads(engine_ops.list_positions)
    unbooked_clearings = _reads(engine_ops.unbooked_clearings)
    book_positions = _writes(engine_ops.book_positions)
    add_schedule_version = _writes(engine_ops.add_schedule_version)
    current_schedule = _reads(engine_ops.current_schedule)
    add_metering = _writes(engine_ops.add_metering)
    list_metering = _reads(engine_ops.list_metering)
    save_settlement = _writes(engine_ops.save_settlement)
    list_settlements = _reads(engine_ops.list_settlements)
