"""Group commit of bid submissions: a writer thread, many submissions per transaction.

Every `Repository.add_bids` call is its own transaction, and on SQLite every transaction
ends in an fsync (``synchronous=FULL``) under the one write lock: concurrent API requests
would queue for that lock one fsync at a time. A `SubmissionWriter` owns the writes of a
process instead. Callers hand it a submission and wait on a future; its thread takes
whatever has queued up meanwhile (up to `max_group`), checks and inserts the whole group
in one transaction (`trading.store.ops.bids.add_submissions`), commits once, and only
then resolves each future. A submission of `BULK_BIDS` bids or more goes to a second
thread of its own, so that one large batch never holds up the small ones behind it. A
future resolves only after its rows are durable, so an acknowledged submission survives
a crash the instant after; one refused submission does not affect the others of its group.

    writer = SubmissionWriter(repository)
    result = writer.add_bids("acme", key_id, bids, "req-1", at=now)   # blocks until durable
    future = writer.submit("acme", key_id, bids, "req-2")             # or wait elsewhere
    writer.close()

The group is written by `Repository.add_submissions` (which retries each submission on its
own if another process took one of the idempotency keys first). Every submission is checked
for storability before it is queued (`prepare_submission`), so one tenant's text cannot
fail another's transaction; should a group's transaction fail all the same, each member is
written again on its own, so that a submission can only ever fail itself. Only when the
database itself is unreachable (the connection was lost) does the group fail at once, with
that error, and nothing of it is stored.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Histogram
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from trading.pacing import PACER
from trading.store.inputs import NewBid
from trading.store.ops import bids as bid_ops
from trading.store.records import AddBidsResult
from trading.store.repository import Repository, prepare_submission

DEFAULT_MAX_GROUP = 256
"""Most submissions written in one transaction."""

BULK_BIDS = 256
"""A submission of at least this many bids is written by a lane of its own, so that the
small submissions of other clients are not queued behind it. Its rows are built before its
transaction (`Repository.add_submissions`), so on PostgreSQL both lanes write at once and
the large batch's Python work never holds the small lane's transaction; on SQLite the lanes
take the one write lock in turn (queued on the repository's lock, not SQLite's busy
handler), the large batch for the database's part of its insert alone (its rows parked in
temporary tables beforehand and copied in by SQLite, see `Repository.add_submissions`); one
of `CHUNKED_BIDS` bids or more takes the lock for one chunk at a time, the small lane's
transactions in between (`Repository._add_chunked`)."""

_STOP = object()
_LANES = ("small", "bulk")


@dataclass(frozen=True)
class _Queued:
    submission: bid_ops.Submission
    future: Future[AddBidsResult]


class WriterClosedError(RuntimeError):
    """The writer was closed; the submission was not taken."""


class SubmissionWriter:
    """Writes the submissions of every caller thread in groups, from one thread of its own.

    `metrics_registry`: where the group-size histogram goes (default: the process-wide
    Prometheus registry; pass a fresh `CollectorRegistry` for more than one writer).
    """

    def __init__(
        self,
        repository: Repository,
        *,
        max_group: int = DEFAULT_MAX_GROUP,
        metrics_registry: CollectorRegistry | None = None,
    ) -> None:
        if max_group < 1:
            raise ValueError(f"max_group={max_group} must be at least 1")
        self._repository = repository
        self._max_group = max_group
        self._queues: dict[str, queue.SimpleQueue[_Queued | object]] = {
            lane: queue.SimpleQueue() for lane in _LANES
        }
        self._closed = threading.Event()
        self._gate = threading.Lock()
        self._log = structlog.get_logger(__name__).bind(component="submission_writer")
        self._group_size = Histogram(
            "vpp_store_write_group_size",
            "Bid submissions committed together in one transaction",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=metrics_registry if metrics_registry is not None else REGISTRY,
        )
        self._threads: list[threading.Thread] = []
        self.open()

    def open(self) -> None:
        """Start taking submissions (again, after `close`); a no-op while open."""
        alive = [t for t in self._threads if t.is_alive()]
        if len(alive) == len(_LANES) and not self._closed.is_set():
            return
        for thread in self._threads:
            thread.join()
        self._closed.clear()
        self._threads = [
            threading.Thread(
                target=self._run, args=(lane,), name=f"vpp-store-writer-{lane}", daemon=True
            )
            for lane in _LANES
        ]
        for thread in self._threads:
            thread.start()

    def submit(
        self,
        tenant_id: str,
        key_id: str | None,
        bids: Sequence[NewBid],
        idempotency_key: str | None,
        *,
        at: datetime | None = None,
    ) -> Future[AddBidsResult]:
        """Queue a submission; its future gives what `Repository.add_bids` would return.

        `idempotency_key` None: a fresh key is made (see `prepare_submission`).
        The bids are checked here, in the caller's thread: `InvalidInputError` is raised
        at once and nothing is queued. Tenant, key, plan and idempotency checks happen in
        the writer; their errors come out of the future.
        """
        return self.submit_prepared(
            prepare_submission(tenant_id, key_id, bids, idempotency_key, at)
        )

    def submit_prepared(self, submission: bid_ops.Submission) -> Future[AddBidsResult]:
        """Queue a submission `prepare_submission` has checked; see `submit`."""
        future: Future[AddBidsResult] = Future()
        with self._gate:  # never behind the stop marker: written, or refused here
            if self._closed.is_set():
                raise WriterClosedError("the submission writer is closed")
            lane = "bulk" if len(submission.bids) >= BULK_BIDS else "small"
            self._queues[lane].put(_Queued(submission, future))
        return future

    def add_bids(
        self,
        tenant_id: str,
        key_id: str | None,
        bids: Sequence[NewBid],
        idempotency_key: str,
        *,
        at: datetime | None = None,
    ) -> AddBidsResult:
        """`submit` and wait until the submission is durable (or refused)."""
        return self.submit(tenant_id, key_id, bids, idempotency_key, at=at).result()

    def close(self, timeout_s: float = 30.0) -> None:
        """Write what is queued, then stop the thread; later submissions are refused
        until `open`."""
        with self._gate:
            if not self._closed.is_set():
                self._closed.set()
                for waiting in self._queues.values():
                    waiting.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=timeout_s)

    # --- the writer thread ---------------------------------------------------------------

    def _run(self, lane: str) -> None:
        try:
            if lane == "bulk":  # large batches give way to the event loop (trading.pacing)
                with PACER.background():
                    self._serve(self._queues[lane])
            else:
                self._serve(self._queues[lane])
        except Exception:  # never expected; logged so that a dead writer is never silent
            self._log.exception("writer_stopped")
            self._closed.set()

    def _serve(self, waiting: queue.SimpleQueue[_Queued | object]) -> None:
        while True:
            first = waiting.get()
            if first is _STOP:
                return
            group = [first]
            stop = False
            while len(group) < self._max_group:
                try:
                    item = waiting.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                group.append(item)
            self._write([g for g in group if isinstance(g, _Queued)])
            if stop:
                return

    def _write(self, group: list[_Queued]) -> None:
        # A caller that gave up (e.g. its request was cancelled) got no answer: its
        # submission is not written, and a retry with the same key stores it once.
        group = [q for q in group if q.future.set_running_or_notify_cancel()]
        if not group:
            return
        self._group_size.observe(len(group))
        try:
            outcomes = self._repository.add_submissions([q.submission for q in group])
        except Exception as exc:  # the transaction failed: nothing of the group is stored
            if len(group) == 1 or _database_away(exc):
                self._log.exception("group_not_written", submissions=len(group))
                for queued in group:
                    queued.future.set_exception(exc)
                return
            self._log.warning("group_retried_alone", submissions=len(group), error=repr(exc))
            outcomes = [self._alone(q.submission) for q in group]
        for queued, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, Exception):
                queued.future.set_exception(outcome)
            else:
                queued.future.set_result(outcome)

    def _alone(self, submission: bid_ops.Submission) -> AddBidsResult | Exception:
        """One submission in a transaction of its own: its result, or its own error."""
        try:
            return self._repository.add_submissions([submission])[0]
        except Exception as exc:  # this submission's failure, reported to it alone
            self._log.exception("submission_not_written", tenant_id=submission.tenant_id)
            return exc


def _database_away(error: BaseException) -> bool:
    """Whether `error` says the database could not be reached (retrying alone is futile)."""
    return isinstance(error, DBAPIError) and (
        error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)
    )
