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

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from markets.products import MarketId
from trading.store.checks import check_enum, check_idempotency_key, check_page
from trading.store.engine import WRITE, create_engine_for, session_factory
from trading.store.errors import invalid
from trading.store.inputs import Actor, NewBid, prepare_bids
from trading.store.ops import audit as audit_ops
from trading.store.ops import bids as bid_ops
from trading.store.ops import keys as key_ops
from trading.store.ops import lifecycle, plans, portfolios, tenants
from trading.store.ops import limits as limit_ops
from trading.store.records import (
    AddBidsResult,
    ApiKeyRecord,
    AssetRecord,
    AuditRecord,
    BidEventRecord,
    BidRecord,
    ClearingRecord,
    NewApiKey,
    Page,
    PlanRecord,
    PortfolioRecord,
    TenantRecord,
)
from trading.store.timestamps import as_utc
from trading.store.vocabulary import (
    AuditAction,
    BidStatus,
    ClearingStatus,
    PlanStatus,
    RiskLimitKind,
    Role,
)

T = TypeVar("T")


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
    """Everything the API and the engine read and write, each call in one transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)

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
    def _write(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            session.connection(execution_options={WRITE: True})
            yield session

    def _write_once_more_on_race(self, operation: Callable[[Session], T]) -> T:
        """Run `operation` in a write transaction; after a unique-key race, once more.

        The second run sees the row the other writer committed and answers accordingly
        (an update, or a `ConflictError`).
        """
        try:
            with self._write() as session:
                return operation(session)
        except IntegrityError:
            with self._write() as session:
                return operation(session)

    # --- tenants and keys ---------------------------------------------------------------

    def create_tenant(self, tenant_id: str, name: str) -> TenantRecord:
        """Add a tenant; `ConflictError` if the id is taken."""
        return self._write_once_more_on_race(lambda s: tenants.create_tenant(s, tenant_id, name))

    def get_tenant(self, tenant_id: str) -> TenantRecord | None:
        """The tenant, or None."""
        with self._read() as session:
            return tenants.get_tenant(session, tenant_id)

    def create_api_key(
        self,
        tenant_id: str,
        role: Role | str,
        name: str,
        actor: Actor | None = None,
        *,
        expires_at: datetime | None = None,
    ) -> NewApiKey:
        """A new key; its plaintext is in the result only. `actor` None: the engine itself.
        `expires_at` [aware]: when it stops working (None: never)."""
        who = self._acting_for(tenant_id, actor, "api key")
        with self._write() as session:
            return key_ops.create_api_key(
                session, tenant_id, role, name, who, expires_at=expires_at
            )

    def rotate_api_key(
        self,
        tenant_id: str,
        key_id: str,
        actor: Actor | None = None,
        *,
        expires_at: datetime | None = None,
        grace_s: float = 0.0,
    ) -> NewApiKey:
        """A successor of a key (see `trading.store.ops.keys.rotate_api_key`)."""
        who = self._acting_for(tenant_id, actor, "api key")
        with self._write() as session:
            return key_ops.rotate_api_key(
                session, tenant_id, key_id, who, expires_at=expires_at, grace_s=grace_s
            )

    def verify_api_key(self, plaintext: str) -> ApiKeyRecord | None:
        """The key, if `plaintext` is a valid, unrevoked key (constant-time compare); else None."""
        with self._read() as session:
            return key_ops.verify_api_key(session, plaintext)

    def revoke_api_key(
        self, tenant_id: str, key_id: str, actor: Actor | None = None
    ) -> ApiKeyRecord:
        """Revoke a key of the tenant; revoking twice changes nothing."""
        who = self._acting_for(tenant_id, actor, "api key")
        with self._write() as session:
            return key_ops.revoke_api_key(session, tenant_id, key_id, who)

    def list_api_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        """The tenant's keys (never their secrets), revoked ones included."""
        with self._read() as session:
            return key_ops.list_api_keys(session, tenant_id)

    # --- risk limits (see trading.store.ops.limits) -------------------------------------

    def list_risk_limits(self, tenant_id: str) -> list[limit_ops.RiskLimitRecord]:
        """The tenant's risk limits, by kind."""
        with self._read() as session:
            return limit_ops.list_limits(session, tenant_id)

    def set_risk_limit(
        self, actor: Actor, kind: RiskLimitKind | str, value: float
    ) -> limit_ops.RiskLimitRecord:
        """Set a limit of `actor`'s tenant (an admin key, or the engine); audited."""
        with self._write() as session:
            return limit_ops.set_limit(session, actor, kind, value)

    def clear_risk_limit(self, actor: Actor, kind: RiskLimitKind | str) -> bool:
        """Remove a limit of `actor`'s tenant; False if it had none. Audited."""
        with self._write() as session:
            return limit_ops.clear_limit(session, actor, kind)

    def live_bids(self, tenant_id: str, days: Sequence[date]) -> list[limit_ops.LiveBid]:
        """The tenant's submitted and accepted bids of the delivery days `days`."""
        with self._read() as session:
            return limit_ops.live_bids(session, tenant_id, days)

    # --- portfolios ---------------------------------------------------------------------

    def save_portfolio(self, actor: Actor, document: Mapping[str, Any]) -> PortfolioRecord:
        """Validate and store a portfolio of `actor`'s tenant (a new version if it exists)."""
        return self._write_once_more_on_race(
            lambda s: portfolios.save_portfolio(s, actor, document)
        )

    def get_portfolio(self, tenant_id: str, portfolio_id: str) -> PortfolioRecord | None:
        """The tenant's portfolio, or None."""
        with self._read() as session:
            return portfolios.get_portfolio(session, tenant_id, portfolio_id)

    def list_portfolios(self, tenant_id: str) -> list[PortfolioRecord]:
        """The tenant's portfolios, by id."""
        with self._read() as session:
            return portfolios.list_portfolios(session, tenant_id)

    def list_assets(
        self,
        tenant_id: str,
        *,
        portfolio_id: str | None = None,
        kind: str | None = None,
        site_id: str | None = None,
        country: str | None = None,
    ) -> list[AssetRecord]:
        """The tenant's assets matching every filter given."""
        with self._read() as session:
            return portfolios.list_assets(
                session,
                tenant_id,
                portfolio_id=portfolio_id,
                kind=kind,
                site_id=site_id,
                country=country,
            )

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
        self, submissions: Sequence[bid_ops.Submission]
    ) -> list[AddBidsResult | Exception]:
        """Store many checked submissions (`prepare_submission`) in one transaction.

        Each gets its result or the `StoreError` that refused it, as `add_bids` would;
        a refused one writes nothing and leaves the others be. If another writer took
        one of the idempotency keys or bid_ids meanwhile (a unique constraint fails the group),
        each submission is stored on its own transaction, and each gets its own outcome
        (the one that lost gets the winner's result; any error of its own is its outcome
        alone, never its neighbours'). Any other failure of the group's transaction
        raises: nothing of it was stored.
        """
        try:
            with self._write() as session:
                return bid_ops.add_submissions(session, submissions)
        except IntegrityError:
            if len(submissions) > 1:
                return [self._add_alone(s) for s in submissions]
            # It lost a race for a unique key (its idempotency key, or a bid_id) to another
            # writer: once more, seeing the winner's rows (a replay, or the bid_id's 409).
            with self._write() as session:
                return bid_ops.add_submissions(session, submissions)

    def _add_alone(self, submission: bid_ops.Submission) -> AddBidsResult | Exception:
        try:
            return self.add_submissions([submission])[0]
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

    def get_bid(self, tenant_id: str, bid_id: str) -> BidRecord | None:
        """The tenant's bid, or None (also when the id is another tenant's bid)."""
        with self._read() as session:
            return bid_ops.get_bid(session, tenant_id, bid_id)

    def list_bids(
        self,
        tenant_id: str,
        *,
        market: str | None = None,
        product_id: str | None = None,
        status: BidStatus | str | None = None,
        delivery_day: date | None = None,
        page: int = 1,
        limit: int = 100,
    ) -> Page[BidRecord]:
        """A page of the tenant's bids matching every filter; oldest first, batches in order."""
        page, limit = check_page(page, limit)
        wanted = None if status is None else check_enum(BidStatus, "bids", "status", status)
        if market is not None:
            check_enum(MarketId, "bids", "market", market)
        if delivery_day is not None and type(delivery_day) is not date:
            raise invalid("bids", "delivery_day", delivery_day, "must be a date")
        with self._read() as session:
            return bid_ops.list_bids(
                session,
                tenant_id,
                market=market,
                product_id=product_id,
                status=wanted,
                delivery_day=delivery_day,
                page=page,
                limit=limit,
            )

    def bid_history(self, tenant_id: str, bid_id: str) -> list[BidEventRecord] | None:
        """Every lifecycle step of the tenant's bid, oldest first; None if no such bid."""
        with self._read() as session:
            return bid_ops.bid_history(session, tenant_id, bid_id)

    def transition(
        self,
        bid_id: str,
        to_status: BidStatus | str,
        actor: Actor,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
        *,
        rule_version: str | None = None,
    ) -> BidRecord:
        """Move a bid of `actor`'s tenant to `to_status`, with an event and an audit row.

        Allowed: draft -> submitted; submitted -> withdrawn, accepted, rejected. Anything
        else raises `TransitionError` naming from and to.
        """
        with self._write() as session:
            return lifecycle.transition(
                session, bid_id, to_status, actor, reason, details, rule_version
            )

    def record_clearing(
        self,
        bid_id: str,
        actor: Actor,
        *,
        status: ClearingStatus | str,
        cleared_volume_mw: float,
        clearing_price: float | None,
        remuneration_price: float | None,
        cleared_at: datetime,
        details: Mapping[str, Any] | None = None,
    ) -> ClearingRecord:
        """Store a submitted bid's clearing [MW; EUR/MWh or EUR/MW/h] and accept or reject it."""
        with self._write() as session:
            return lifecycle.record_clearing(
                session,
                bid_id,
                actor,
                status=status,
                cleared_volume_mw=cleared_volume_mw,
                clearing_price=clearing_price,
                remuneration_price=remuneration_price,
                cleared_at=cleared_at,
                details=details,
            )

    def get_clearing(self, tenant_id: str, bid_id: str) -> ClearingRecord | None:
        """The clearing result of the tenant's bid, or None."""
        with self._read() as session:
            return lifecycle.get_clearing(session, tenant_id, bid_id)

    # --- plans --------------------------------------------------------------------------

    def create_plan(
        self,
        actor: Actor,
        portfolio_id: str,
        day: date,
        *,
        request: Mapping[str, Any] | None = None,
    ) -> PlanRecord:
        """Queue a plan of a portfolio of `actor`'s tenant for delivery day `day`; `request`
        (JSON data, e.g. ``{"markets": [...]}``) keeps what was asked."""
        with self._write() as session:
            return plans.create_plan(session, actor, portfolio_id, day, request)

    def unfinished_plans(self) -> list[PlanRecord]:
        """Every tenant's queued or running plans, oldest first (for a restart)."""
        with self._read() as session:
            return plans.unfinished_plans(session)

    def set_plan_status(
        self,
        plan_id: str,
        to_status: PlanStatus | str,
        actor: Actor,
        *,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> PlanRecord:
        """queued -> running | failed; running -> done (with `result`) | failed (`error`)."""
        with self._write() as session:
            return plans.set_plan_status(
                session, plan_id, to_status, actor, result=result, error=error
            )

    def get_plan(self, tenant_id: str, plan_id: str) -> PlanRecord | None:
        """The tenant's plan, or None."""
        with self._read() as session:
            return plans.get_plan(session, tenant_id, plan_id)

    def list_plans(
        self,
        tenant_id: str,
        *,
        portfolio_id: str | None = None,
        day: date | None = None,
        status: PlanStatus | str | None = None,
        page: int = 1,
        limit: int = 100,
    ) -> Page[PlanRecord]:
        """A page of the tenant's plans matching every filter; oldest first."""
        page, limit = check_page(page, limit)
        wanted = None if status is None else check_enum(PlanStatus, "plans", "status", status)
        if day is not None and type(day) is not date:
            raise invalid("plans", "day", day, "must be a date")
        with self._read() as session:
            return plans.list_plans(
                session,
                tenant_id,
                portfolio_id=portfolio_id,
                day=day,
                status=wanted,
                page=page,
                limit=limit,
            )

    def delete_plan(self, plan_id: str, actor: Actor) -> None:
        """Delete a plan of `actor`'s tenant; refused while running or referred to by bids."""
        with self._write() as session:
            plans.delete_plan(session, plan_id, actor)

    # --- audit --------------------------------------------------------------------------

    def list_audit(
        self,
        tenant_id: str,
        *,
        action: AuditAction | str | None = None,
        subject: str | None = None,
        key_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
        limit: int = 100,
    ) -> Page[AuditRecord]:
        """A page of the tenant's audit rows, oldest first; `since` <= at < `until`."""
        page, limit = check_page(page, limit)
        wanted = None if action is None else check_enum(AuditAction, "audit", "action", action)
        with self._read() as session:
            return audit_ops.list_audit(
                session,
                tenant_id,
                action=wanted,
                subject=subject,
                key_id=key_id,
                since=since,
                until=until,
                page=page,
                limit=limit,
            )

    @staticmethod
    def _acting_for(tenant_id: str, actor: Actor | None, subject: str) -> Actor:
        if actor is None:
            return Actor.system(tenant_id)
        if actor.tenant_id != tenant_id:
            rule = f"is not the acting key's tenant {actor.tenant_id!r}"
            raise invalid(subject, "tenant_id", tenant_id, rule)
        return actor
