"""Bids: add a batch under an idempotency key, read one, list with filters, read history.

Idempotency: a batch is one `BidSubmissionRow`, unique per (tenant, idempotency key), and
holds the SHA-256 of the request. A replay with the same request returns the bids stored
the first time; the same key with a different request is refused. A group of submissions
is checked with a few queries and inserted with one multi-row INSERT per table; a writer
racing in another process with the same key fails on the unique constraint (see
`Repository.add_bids` for the retry).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from markets.products import MarketId
from regulatory.problems import Problem
from trading.pacing import pace
from trading.store.bulk import (
    RowConverter,
    drop_parked,
    insert_parked,
    insert_tables,
    insert_values,
    new_ids,
    park_values,
)
from trading.store.checks import check_enum, check_page
from trading.store.errors import (
    BidIdTakenError,
    ConflictError,
    IdempotencyKeyReusedError,
    NotFoundError,
    StoreError,
    invalid,
    raise_problems,
)
from trading.store.held import held_ids
from trading.store.inputs import Actor, PreparedBid
from trading.store.models import (
    ApiKeyRow,
    AuditRow,
    BidEventRow,
    BidRow,
    BidSubmissionRow,
    PlanRow,
    TenantRow,
)
from trading.store.ops.audit import count
from trading.store.ops.keys import key_refused, refused_because
from trading.store.published import UNPUBLISHED, published_bids
from trading.store.records import AddBidsResult, BidEventRecord, BidRecord, Page
from trading.store.timestamps import utc_now
from trading.store.vocabulary import AuditAction, BidStatus, Role


def request_digest(bids: Sequence[PreparedBid]) -> str:
    """Hex SHA-256 of a batch's canonical JSON: equal for equal requests, whatever the order
    of keys in the documents or the time zone of the datetimes.

    The JSON of the list, ``[b1,b2,...]``, is written bid by bid (the same text as one
    ``json.dumps`` of the list, which holds the interpreter lock for all of it: 50 ms for
    5,000 bids), pacing between bids (`trading.pacing`)."""
    digest = hashlib.sha256(b"[")
    for index, bid in enumerate(bids):
        text = json.dumps(bid.canonical(), sort_keys=True, separators=(",", ":"))
        digest.update(("," + text if index else text).encode("utf-8"))
        pace()
    digest.update(b"]")
    return digest.hexdigest()


def find_submission(
    session: Session, tenant_id: str, idempotency_key: str, digest: str
) -> AddBidsResult | None:
    """The stored result of an earlier call with this key, or None if there was none.

    `IdempotencyKeyReusedError` if the earlier call's request differs from `digest`.
    """
    submission = session.scalar(
        select(BidSubmissionRow).where(
            BidSubmissionRow.tenant_id == tenant_id,
            BidSubmissionRow.idempotency_key == idempotency_key,
        )
    )
    if submission is None:
        return None
    if submission.request_sha256 != digest:
        raise IdempotencyKeyReusedError(tenant_id, idempotency_key)
    if submission.published_at is None:
        raise in_flight(f"idempotency_key={idempotency_key}")
    rows = session.scalars(
        select(BidRow).where(BidRow.submission_id == submission.id).order_by(BidRow.position)
    )
    bids = tuple(BidRecord.of(r) for r in rows)
    return AddBidsResult(submission.id, idempotency_key, bids, created=False)


@dataclass(frozen=True)
class Submission:
    """One `add_bids` call, checked and hashed, waiting to be written."""

    tenant_id: str
    key_id: str | None
    bids: tuple[PreparedBid, ...]
    idempotency_key: str
    digest: str
    at: datetime | None = None
    """When it was accepted [UTC]; None: when written."""
    key_generated: bool = False
    """`idempotency_key` was made for this call (the caller gave none): nothing earlier can
    be stored under it, so it is not looked up."""


def add_bids(
    session: Session,
    tenant_id: str,
    key_id: str | None,
    bids: Sequence[PreparedBid],
    idempotency_key: str,
    digest: str,
    at: datetime | None = None,
) -> AddBidsResult:
    """Store `bids` as one submission accepted at `at` (default: now), or return the
    earlier result for this key."""
    (outcome,) = add_submissions(
        session, [Submission(tenant_id, key_id, tuple(bids), idempotency_key, digest, at)]
    )
    if isinstance(outcome, StoreError):
        raise outcome
    return outcome


def add_submissions(
    session: Session,
    submissions: Sequence[Submission],
    staged: Mapping[int, Staged] | None = None,
    *,
    trust_staged_names: bool = True,
    head_only: bool = False,
) -> list[AddBidsResult | StoreError]:
    """Store many submissions in `session`'s transaction: each one's result or its error.

    The checks of `add_bids` run for each (tenant exists, key may act, plan ids are the
    tenant's, a reused idempotency key carries the same request), with a handful of
    queries for the whole group; the rows of every stored submission (submission, bids,
    creation events, audit entries) are then inserted with one multi-row INSERT per table.
    A key given twice in one group is stored once: the later call gets the earlier's
    result, as a replay. A refused submission writes nothing and does not affect the
    others. `IntegrityError` (a racing writer in another process took a key first) fails
    the whole group; the caller retries each submission on its own.

    `staged`: rows built before the transaction (`stage`), by the submission's index in
    `submissions`; used where the transaction finds the same actor and time, else the
    rows are built here. A staged submission whose bid_ids were all free when it was
    staged (`Staged.names_free`) is not looked up again here (thousands of names, read
    while every other writer waits): should another writer take one meanwhile, the unique
    index fails the INSERT with `IntegrityError`, and the caller's retry passes
    `trust_staged_names=False`, which looks every name up.

    `head_only`: of the staged rows, insert the submission rows alone (the first step of a
    batch written in chunks, `Repository._add_chunked`); rows built here go in whole.
    """
    now = utc_now()
    tenants = _existing_tenants(session, {s.tenant_id for s in submissions})
    keys = _keys(session, {s.key_id for s in submissions if s.key_id is not None})
    earlier = _earlier_submissions(session, submissions)
    plans = _plans_of(session, submissions)
    looked_up = [
        submission
        for index, submission in enumerate(submissions)
        if not (trust_staged_names and staged is not None and _names_free(staged.get(index)))
    ]
    named = _stored_bid_ids(session, looked_up)
    outcomes: list[AddBidsResult | StoreError] = []
    in_group: dict[tuple[str, str], tuple[str, AddBidsResult | None]] = {}
    rows = _Rows(session.get_bind().dialect)
    heads = _Rows(session.get_bind().dialect)
    for index, submission in enumerate(submissions):
        try:
            actor = _actor(submission, tenants, keys)
            pair = (submission.tenant_id, submission.idempotency_key)
            found = earlier.get(pair) or in_group.get(pair)
            if found is not None:
                digest, result = found
                if digest != submission.digest:
                    raise IdempotencyKeyReusedError(*pair)
                if result is None:  # a batch under this key is still written in chunks
                    raise in_flight(f"idempotency_key={submission.idempotency_key}")
                outcomes.append(replace(result, created=False))
                continue
            _check_plan_ids(submission, plans)
            twins = _twins(submission, named)
        except StoreError as refused:
            outcomes.append(refused)
            continue
        if twins is not None:  # the same bids again, under their bid_ids: their answer
            outcomes.append(twins)
            continue
        at = submission.at or now
        ready = None if staged is None else staged.get(index)
        if ready is not None and ready.actor == actor and ready.at == at:
            if head_only:
                heads.extend(ready.rows)
            else:
                rows.extend(ready.rows)
            result = ready.result
        else:
            result = rows.add(submission, actor, at)
        in_group[pair] = (submission.digest, result)
        for record in result.bids:
            if record.document.get("bid_id") is not None:
                named[(record.tenant_id, record.document["bid_id"])] = (record, result, True)
        outcomes.append(result)
    rows.insert(session)
    heads.insert(session, tables=_TABLES[:1])
    return outcomes


def acting(session: Session, submission: Submission) -> Actor | None:
    """Who `submission` would be stored as now, or None if it would be refused for its
    tenant or key (read only: what `stage` builds the rows for)."""
    tenants = _existing_tenants(session, {submission.tenant_id})
    keys = _keys(session, set() if submission.key_id is None else {submission.key_id})
    try:
        return _actor(submission, tenants, keys)
    except StoreError:
        return None


def names_free(session: Session, submission: Submission) -> bool:
    """Whether none of `submission`'s bid_ids is stored yet (read only; see `Staged`)."""
    return not _stored_bid_ids(session, [submission])


@dataclass(frozen=True)
class Staged:
    """A submission's rows, built and converted before its transaction."""

    actor: Actor
    at: datetime
    rows: _Rows
    result: AddBidsResult
    names_free: bool = False
    """None of its bid_ids was stored when it was staged (`names_free`): the transaction
    then leaves them to the unique index (see `add_submissions`)."""
    published: bool = True
    """Its submission row is built published; False: unpublished, for a batch written in
    chunks (`Repository._add_chunked`), which only that writer may insert."""


def _names_free(staged: Staged | None) -> bool:
    return staged is not None and staged.names_free


def stage(
    dialect: Dialect,
    submission: Submission,
    actor: Actor,
    at: datetime,
    *,
    names_free: bool = False,
    published: bool = True,
) -> Staged:
    """The rows `add_submissions` would insert for `submission` by `actor` at `at`, built
    outside any transaction: a large batch's Python work (records, JSON, conversions)
    then happens before the write lock is taken, not while every other writer waits.
    `names_free`: its bid_ids were found free (`names_free`), in a read of its own.
    `published` False: its submission row is built unpublished (written in chunks)."""
    rows = _Rows(dialect)
    result = rows.add(submission, actor, at, published=published)
    return Staged(actor, at, rows, result, names_free, published)


_TABLES: tuple[Table, ...] = tuple(
    model.__table__  # type: ignore[misc]
    for model in (BidSubmissionRow, BidRow, BidEventRow, AuditRow)
)
"""The tables a submission writes, in the order their foreign keys need."""


class _Rows:
    """The rows a group of submissions inserts, table by table, each converted for the
    driver as it is added (`trading.store.bulk.RowConverter`); on SQLite they may be parked
    in temporary tables of a connection ahead of the transaction (`park`)."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._converters: dict[str, RowConverter] = {}
        self._values: dict[str, list[list[Any]]] = {table.name: [] for table in _TABLES}
        self._parked: dict[str, list[tuple[RowConverter, str]]] = {t.name: [] for t in _TABLES}
        self._bid_count = 0

    def _put(self, table: Table, row: dict[str, Any]) -> None:
        converter = self._converters.get(table.name)
        if converter is None:
            converter = RowConverter(table, tuple(row), self._dialect)
            self._converters[table.name] = converter
        self._values[table.name].append(converter.values(row))

    def add(
        self, submission: Submission, actor: Actor, at: datetime, *, published: bool = True
    ) -> AddBidsResult:
        """Build `submission`'s rows; `published` False: its submission row is unpublished
        (``published_at`` NULL, see `trading.store.published`), else published at `at`."""
        submissions, bids, events, audit = _TABLES
        submission_id = str(uuid.uuid4())
        self._put(
            submissions,
            {
                "id": submission_id,
                "tenant_id": submission.tenant_id,
                "idempotency_key": submission.idempotency_key,
                "request_sha256": submission.digest,
                "key_id": actor.key_id,
                "created_at": at,
                "published_at": at if published else None,
            },
        )
        records = []
        ids = new_ids(len(submission.bids))
        role = actor.role.value if actor.role else None
        for position, bid in enumerate(submission.bids):
            pace()
            record = _bid_record(
                ids[position], submission.tenant_id, submission_id, position, bid, at
            )
            status = bid.status.value
            records.append(record)
            self._put(bids, _bid_values(record, status))
            self._put(events, _creation_event(record, status, bid, actor))
            self._put(
                audit,
                _creation_audit(record, status, bid, actor, role, submission.idempotency_key),
            )
        self._bid_count += len(records)
        return AddBidsResult(submission_id, submission.idempotency_key, tuple(records), True)

    def extend(self, other: _Rows) -> None:
        """Take `other`'s rows too (built by the same code: the same columns per table)."""
        for name, values in other._values.items():
            if values:
                self._converters.setdefault(name, other._converters[name])
                self._values[name].extend(values)
            self._parked[name].extend(other._parked[name])
        self._bid_count += other._bid_count

    def park(self, driver_connection: Any) -> None:
        """SQLite: move the rows into temporary tables of `driver_connection` (no lock on
        the database is taken); `insert` on that connection copies them in. `unpark`
        drops the tables."""
        for table in _TABLES:
            values = self._values[table.name]
            if values:
                converter = self._converters[table.name]
                name = park_values(driver_connection, converter, values)
                self._parked[table.name].append((converter, name))
                self._values[table.name] = []

    def unpark(self, driver_connection: Any) -> None:
        """Drop the temporary tables of `park` (their rows are inserted, or not wanted)."""
        for parked in self._parked.values():
            for _converter, name in parked:
                drop_parked(driver_connection, name)

    def insert(
        self,
        session: Session,
        tables: Sequence[Table] = _TABLES,
        span: tuple[int, int] | None = None,
    ) -> None:
        """INSERT the rows of `tables` (default: all, in foreign-key order); `span`
        (first, end): only the rows at those positions of each table (the chunks of a
        batch written in chunks, `Repository._add_chunked`)."""
        connection = session.connection()
        first, end = (0, None) if span is None else span
        if not any(self._parked[t.name] for t in tables):  # each table's rows in memory
            insert_tables(
                connection,
                [
                    (self._converters[t.name], self._values[t.name][first:end])
                    for t in tables
                    if self._values[t.name]
                ],
            )
            return
        for table in tables:
            values = self._values[table.name][first:end]
            if values:
                insert_values(connection, self._converters[table.name], values)
            for converter, name in self._parked[table.name]:
                insert_parked(connection, converter, name, span)

    def bid_count(self) -> int:
        """How many bids the rows hold (parked or not)."""
        return self._bid_count


def in_flight(subject: str) -> ConflictError:
    """The refusal of a request that meets a batch still written in chunks
    (`Repository._add_chunked`): it is neither stored nor refused yet."""
    return ConflictError(
        subject,
        "is held by a batch of this tenant still being stored; retry in a moment for its "
        "answer (the batch's own, or a refusal once it is stored)",
    )


def insert_chunk(session: Session, staged: Staged, first: int, end: int) -> None:
    """One chunk of a batch written in chunks: the bids at positions first <= i < end of
    `staged` (parked, unpublished) and their creation events."""
    staged.rows.insert(session, tables=_TABLES[1:3], span=(first, end))


def publish(session: Session, submission: Submission, staged: Staged) -> None:
    """The last step of a batch written in chunks: its key is checked again (revoked or
    expired meanwhile: the `StoreError` that refuses it), its audit rows go in, and its
    submission is published, all in `session`'s transaction. `ConflictError` if the
    submission is no longer there unpublished (another process's start-up sweep deleted
    its chunks): nothing of it is stored then."""
    tenants = _existing_tenants(session, {submission.tenant_id})
    keys = _keys(session, set() if submission.key_id is None else {submission.key_id})
    _actor(submission, tenants, keys)
    staged.rows.insert(session, tables=_TABLES[3:])
    submission_id = staged.result.submission_id
    done = session.execute(
        update(BidSubmissionRow)
        .where(BidSubmissionRow.id == submission_id, BidSubmissionRow.published_at.is_(None))
        .values(published_at=utc_now())
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            f"submission {submission_id}",
            "its chunks were deleted before it was published (a start-up sweep of another "
            "process); nothing of it is stored, submit it again",
        )


def sweep_unpublished(session: Session) -> int:
    """Delete every unpublished submission with its bids and their events (the chunks of a
    batch whose writer died before publishing it); how many submissions. Nothing of them
    was ever shown or acknowledged (`trading.store.published`)."""
    ids = list(session.scalars(UNPUBLISHED))
    for submission_id in ids:
        discard(session, submission_id)
    return len(ids)


def discard(session: Session, submission_id: str) -> None:
    """Delete submission `submission_id` with its bids and their events, if it is still
    unpublished (a published one is never touched)."""
    unpublished = select(BidSubmissionRow.id).where(
        BidSubmissionRow.id == submission_id, BidSubmissionRow.published_at.is_(None)
    )
    bids = select(BidRow.id).where(BidRow.submission_id.in_(unpublished))
    session.execute(delete(BidEventRow).where(BidEventRow.bid_id.in_(bids)))
    session.execute(delete(BidRow).where(BidRow.submission_id.in_(unpublished)))
    session.execute(delete(BidSubmissionRow).where(BidSubmissionRow.id.in_(unpublished)))


_Named = dict[tuple[str, str], tuple[BidRecord, AddBidsResult, bool]]
"""(tenant, bid_id) -> the stored bid of that id, the submission that stored it, and
whether that submission is published (False: a batch still written in chunks)."""


def _client_bid_id(bid: PreparedBid) -> str | None:
    value = bid.document.get("bid_id")
    return value if isinstance(value, str) else None


def _stored_bid_ids(session: Session, submissions: Sequence[Submission]) -> _Named:
    """The stored bids under the bid_ids the group names, tenant by tenant."""
    by_tenant: dict[str, set[str]] = {}
    for submission in submissions:
        for bid in submission.bids:
            if (name := _client_bid_id(bid)) is not None:
                by_tenant.setdefault(submission.tenant_id, set()).add(name)
    ids = [
        bid_id
        for tenant_id, wanted in by_tenant.items()
        for bid_id in held_ids(session, _BIDS, "client_bid_id", tenant_id, wanted)
    ]
    found: _Named = {}
    if ids:  # the names are free almost always: then this one probe per name was all
        for row, key, published_at in session.execute(_BIDS_BY_ID, {"ids": ids}):
            record = BidRecord.of(row)
            result = AddBidsResult(row.submission_id, key, (record,), created=False)
            found[(row.tenant_id, row.client_bid_id)] = (record, result, published_at is not None)
    return found


def _twins(submission: Submission, named: _Named) -> AddBidsResult | None:
    """The stored answer if every bid of `submission` is stored already under its bid_id.

    None if none of its bid_ids is taken; `BidIdTakenError` if one is taken by a bid with
    another body, or if only some of its bids are stored.
    """
    found: list[BidRecord] = []
    first: AddBidsResult | None = None
    for bid in submission.bids:
        name = _client_bid_id(bid)
        stored = named.get((submission.tenant_id, name)) if name is not None else None
        if stored is None:
            continue
        record, result, published = stored
        if not published:  # a batch in flight holds the name: neither a replay nor a 409 yet
            raise in_flight(f"bid_id={name}")
        if record.document != bid.document or record.product_id != bid.product_id:
            raise BidIdTakenError(submission.tenant_id, str(name), record.id)
        found.append(record)
        first = first or result
    if first is None:
        return None
    if len(found) != len(submission.bids):
        record = found[0]
        raise BidIdTakenError(submission.tenant_id, str(record.document["bid_id"]), record.id)
    return AddBidsResult(first.submission_id, first.idempotency_key, tuple(found), created=False)


# The group's look-ups, built once (a statement built per call costs more than the query).
_TENANTS = select(TenantRow.id).where(TenantRow.id.in_(bindparam("ids", expanding=True)))
_KEYS = select(
    ApiKeyRow.id, ApiKeyRow.tenant_id, ApiKeyRow.role, ApiKeyRow.revoked_at, ApiKeyRow.expires_at
).where(ApiKeyRow.id.in_(bindparam("ids", expanding=True)))
_BIDS_BY_ID = (
    select(BidRow, BidSubmissionRow.idempotency_key, BidSubmissionRow.published_at)
    .join(BidSubmissionRow, BidSubmissionRow.id == BidRow.submission_id)
    .where(BidRow.id.in_(bindparam("ids", expanding=True)))
)
_SUBMISSIONS_BY_ID = select(BidSubmissionRow).where(
    BidSubmissionRow.id.in_(bindparam("ids", expanding=True))
)
_BIDS: Table = BidRow.__table__  # type: ignore[assignment]
_SUBMISSIONS: Table = BidSubmissionRow.__table__  # type: ignore[assignment]


def _existing_tenants(session: Session, wanted: set[str]) -> set[str]:
    return set(session.scalars(_TENANTS, {"ids": sorted(wanted)}))


def _keys(session: Session, wanted: set[str]) -> dict[str, Any]:
    if not wanted:
        return {}
    return {row.id: row for row in session.execute(_KEYS, {"ids": sorted(wanted)})}


def _actor(submission: Submission, tenants: set[str], keys: dict[str, Any]) -> Actor:
    """As `key_actor`, on keys read for the whole group."""
    tenant_id, key_id = submission.tenant_id, submission.key_id
    if tenant_id not in tenants:
        raise NotFoundError("tenant", str(tenant_id))
    if key_id is None:
        return Actor.system(tenant_id)
    row = keys.get(key_id)
    facts = None if row is None else (row.tenant_id, row.revoked_at, row.expires_at)
    if (refusal := refused_because(tenant_id, facts)) is not None:
        raise key_refused("bids", key_id, refusal)
    return Actor(tenant_id=tenant_id, key_id=key_id, role=Role(row.role))


def _earlier_submissions(
    session: Session, submissions: Sequence[Submission]
) -> dict[tuple[str, str], tuple[str, AddBidsResult | None]]:
    """Stored submissions under the group's (tenant, idempotency key) pairs, with their bids."""
    by_tenant: dict[str, set[str]] = {}
    for submission in submissions:
        if not submission.key_generated:
            by_tenant.setdefault(submission.tenant_id, set()).add(submission.idempotency_key)
    ids = [
        submission_id
        for tenant_id, wanted in by_tenant.items()
        for submission_id in held_ids(session, _SUBMISSIONS, "idempotency_key", tenant_id, wanted)
    ]
    if not ids:
        return {}
    found = {row.id: row for row in session.scalars(_SUBMISSIONS_BY_ID, {"ids": ids})}
    bids: dict[str, list[BidRecord]] = {submission_id: [] for submission_id in found}
    for bid in session.scalars(
        select(BidRow).where(BidRow.submission_id.in_(found)).order_by(BidRow.position)
    ):
        bids[bid.submission_id].append(BidRecord.of(bid))
    return {
        (row.tenant_id, row.idempotency_key): (
            row.request_sha256,
            None
            if row.published_at is None  # still written in chunks: no answer yet
            else AddBidsResult(row.id, row.idempotency_key, tuple(bids[row.id]), created=False),
        )
        for row in found.values()
    }


def _plans_of(session: Session, submissions: Sequence[Submission]) -> set[tuple[str, str]]:
    wanted = {bid.plan_id for s in submissions for bid in s.bids if bid.plan_id is not None}
    if not wanted:
        return set()
    rows = session.execute(select(PlanRow.tenant_id, PlanRow.id).where(PlanRow.id.in_(wanted)))
    return {(row.tenant_id, row.id) for row in rows}


def _check_plan_ids(submission: Submission, plans: set[tuple[str, str]]) -> None:
    tenant_id = submission.tenant_id
    raise_problems(
        Problem(f"bid #{index + 1}", "plan_id", bid.plan_id, f"is not a plan of {tenant_id!r}")
        for index, bid in enumerate(submission.bids)
        if bid.plan_id is not None and (tenant_id, bid.plan_id) not in plans
    )


def _bid_record(
    bid_id: str, tenant_id: str, submission_id: str, position: int, bid: PreparedBid, at: datetime
) -> BidRecord:
    return BidRecord(
        id=bid_id,
        tenant_id=tenant_id,
        submission_id=submission_id,
        position=position,
        product_id=bid.product_id,
        market=bid.market,
        country=bid.country,
        delivery_day=bid.delivery_day,
        delivery_start=bid.delivery_start,
        gate_closure=bid.gate_closure,
        status=bid.status,
        document=bid.document,
        plan_id=bid.plan_id,
        created_at=at,
        updated_at=at,
    )


def _bid_values(record: BidRecord, status: str) -> dict[str, Any]:
    """The row of `record`: its fields, the status as text (`status`), and the store-only
    copy of the document's ``bid_id`` (the unique index's column)."""
    values = {name: getattr(record, name) for name in _BID_FIELDS}
    values["status"] = status
    client_bid_id = record.document.get("bid_id")
    values["client_bid_id"] = client_bid_id if isinstance(client_bid_id, str) else None
    return values


_BID_FIELDS = tuple(f.name for f in fields(BidRecord))
"""The bid's columns a record holds (the record is derived from `BidRow`)."""


def _creation_event(
    record: BidRecord, status: str, bid: PreparedBid, actor: Actor
) -> dict[str, Any]:
    return {
        "bid_id": record.id,
        "from_status": None,
        "to_status": status,
        "at": record.created_at,
        "key_id": actor.key_id,
        "reason": "created",
        "rule_version": bid.rule_version,
        "details": bid.validation,  # one mapping per product: serialised once (bulk)
        "plugin_distribution": bid.plugin_distribution,
        "plugin_version": bid.plugin_version,
        "rule_ids": bid.rule_ids,  # a tuple, stored as a JSON list; serialised once per value
    }


_BID_CREATE = AuditAction.BID_CREATE.value


def _creation_audit(
    record: BidRecord,
    status: str,
    bid: PreparedBid,
    actor: Actor,
    role: str | None,
    idempotency_key: str,
) -> dict[str, Any]:
    return {
        "at": record.created_at,
        "tenant_id": actor.tenant_id,
        "key_id": actor.key_id,
        "role": role,
        "action": _BID_CREATE,
        "subject": f"bid {record.id}",
        "details": {
            "submission_id": record.submission_id,
            "idempotency_key": idempotency_key,
            "product_id": record.product_id,
            "status": status,
            "rule_version": bid.rule_version,
            "validation": bid.validation,
            "plugin_distribution": bid.plugin_distribution,
            "plugin_version": bid.plugin_version,
            "rule_ids": None if bid.rule_ids is None else list(bid.rule_ids),
        },
    }


def get_bid(session: Session, tenant_id: str, bid_id: str) -> BidRecord | None:
    """The tenant's bid `bid_id`, or None (also when it is another tenant's)."""
    row = session.scalar(select(BidRow).where(BidRow.id == bid_id, BidRow.tenant_id == tenant_id))
    return BidRecord.of(row) if row is not None else None


def list_bids(
    session: Session,
    tenant_id: str,
    *,
    market: str | None = None,
    product_id: str | None = None,
    status: BidStatus | str | None = None,
    delivery_day: date | None = None,
    page: int = 1,
    limit: int = 100,
) -> Page[BidRecord]:
    """The tenant's bids matching every filter, oldest first, a batch in its given order.

    The order (created_at, submission, position) is total, so pages never overlap or skip.
    A bad filter or page is an `InvalidInputError` naming it.
    """
    page, limit = check_page(page, limit)
    status = None if status is None else check_enum(BidStatus, "bids", "status", status)
    if market is not None:
        check_enum(MarketId, "bids", "market", market)
    if delivery_day is not None and type(delivery_day) is not date:
        raise invalid("bids", "delivery_day", delivery_day, "must be a date")
    query = select(BidRow).where(BidRow.tenant_id == tenant_id, published_bids())
    if market is not None:
        query = query.where(BidRow.market == market)
    if product_id is not None:
        query = query.where(BidRow.product_id == product_id)
    if status is not None:
        query = query.where(BidRow.status == status.value)
    if delivery_day is not None:
        query = query.where(BidRow.delivery_day == delivery_day)
    total = count(session, query)
    rows = session.scalars(
        query.order_by(BidRow.created_at, BidRow.submission_id, BidRow.position)
        .offset((page - 1) * limit)
        .limit(limit)
    )
    return Page(tuple(BidRecord.of(r) for r in rows), page, limit, total)


def bid_history(session: Session, tenant_id: str, bid_id: str) -> list[BidEventRecord] | None:
    """Every lifecycle step of the tenant's bid, oldest first; None if it has no such bid."""
    if get_bid(session, tenant_id, bid_id) is None:
        return None
    rows = session.scalars(
        select(BidEventRow).where(BidEventRow.bid_id == bid_id).order_by(BidEventRow.id)
    )
    return [BidEventRecord.of(r) for r in rows]
