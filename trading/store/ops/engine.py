"""The engine's books in the store: positions, schedule versions, metering, settlements.

Written by the engine acting for a tenant (`trading.engine.books`), read tenant-scoped by
the desk's routes. Every read takes the tenant and finds only that tenant's rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from trading.store.errors import NotFoundError
from trading.store.models import (
    BidRow,
    ClearingRow,
    MeteringRow,
    PositionRow,
    ScheduleVersionRow,
    SettlementRow,
    TenantRow,
)
from trading.store.ops.tenants import require_tenant
from trading.store.records import (
    ClearingRecord,
    MeteringRecord,
    PositionRecord,
    ScheduleVersionRecord,
    SettlementRecord,
)
from trading.store.vocabulary import BidStatus, ClearingStatus

IN_CHUNK = 500
"""Bid ids per ``IN (...)`` list (well below SQLite's bound on parameters)."""


def add_positions(
    session: Session,
    tenant_id: str,
    portfolio_id: str,
    day: date,
    entries: Sequence[Mapping[str, Any]],
) -> int:
    """Add position-book entries (fields of `PositionRow` less tenant, portfolio, day);
    the number added."""
    require_tenant(session, tenant_id)
    session.add_all(
        PositionRow(tenant_id=tenant_id, portfolio_id=portfolio_id, day=day, **dict(entry))
        for entry in entries
    )
    return len(entries)


@dataclass(frozen=True)
class UnbookedClearing:
    """An accepted clearing whose bid has no position-book entry yet: the bid as stored
    (its document, its first product's gate closure) and the market's result."""

    bid_id: str
    document: dict[str, Any]
    gate_closure: datetime
    clearing: ClearingRecord


def unbooked_clearings(session: Session, tenant_id: str) -> list[UnbookedClearing]:
    """The tenant's accepted clearings whose bid is in no `engine_positions` row, oldest
    clearing first.

    Indexed: the tenant's accepted bids through ``ix_bids_tenant_id_status``, their
    results by primary key, and the tenant's booked bid ids through
    ``ix_engine_positions_tenant_id_day`` (read once, not per bid)."""
    booked = select(PositionRow.bid_id).where(PositionRow.tenant_id == tenant_id)
    rows = session.execute(
        select(BidRow.id, BidRow.document, BidRow.gate_closure, ClearingRow)
        .join(ClearingRow, ClearingRow.bid_id == BidRow.id)
        .where(
            BidRow.tenant_id == tenant_id,
            BidRow.status == BidStatus.ACCEPTED.value,
            ClearingRow.status == ClearingStatus.ACCEPTED.value,
            BidRow.id.not_in(booked),
        )
        .order_by(ClearingRow.cleared_at, BidRow.id)
    ).all()
    return [
        UnbookedClearing(row.id, dict(row.document), row.gate_closure, ClearingRecord.of(row[3]))
        for row in rows
    ]


def book_positions(
    session: Session,
    tenant_id: str,
    portfolio_id: str,
    by_bid: Mapping[str, Sequence[tuple[date, Mapping[str, Any]]]],
) -> list[str]:
    """Store each bid's position-book entries ((delivery day, fields of `PositionRow` less
    tenant, portfolio, day) per product) unless the bid has entries already; the ids of
    the bids booked now, sorted.

    Exactly once without a unique index: the tenant's row is locked first (``FOR NO KEY
    UPDATE`` on PostgreSQL, which inserts referencing the tenant do not wait for; SQLite's
    write transactions are serial), so two bookings of one tenant run one after the
    other and the second sees the first's rows and skips them."""
    locked = session.scalar(
        select(TenantRow.id).where(TenantRow.id == tenant_id).with_for_update(key_share=True)
    )
    if locked is None:
        raise NotFoundError("tenant", str(tenant_id))
    wanted = sorted(by_bid)
    already: set[str] = set()
    for k in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[k : k + IN_CHUNK]
        already |= set(
            session.scalars(
                select(PositionRow.bid_id)
                .where(PositionRow.tenant_id == tenant_id, PositionRow.bid_id.in_(chunk))
                .distinct()
            )
        )
    booked = [bid_id for bid_id in wanted if bid_id not in already and by_bid[bid_id]]
    session.add_all(
        PositionRow(tenant_id=tenant_id, portfolio_id=portfolio_id, day=day, **dict(fields))
        for bid_id in booked
        for day, fields in by_bid[bid_id]
    )
    session.flush()
    return booked


def list_positions(session: Session, tenant_id: str, day: date) -> list[PositionRecord]:
    """The tenant's position-book entries of delivery day `day`, by start and id."""
    rows = session.scalars(
        select(PositionRow)
        .where(PositionRow.tenant_id == tenant_id, PositionRow.day == day)
        .order_by(PositionRow.delivery_start, PositionRow.id)
    )
    return [PositionRecord.of(row) for row in rows]


def add_schedule_version(
    session: Session,
    tenant_id: str,
    portfolio_id: str,
    day: date,
    *,
    schedule_id: str,
    version: int,
    reason: str,
    plan_id: str,
    bid_ids: Sequence[str],
    issued_at: datetime,
    document: Mapping[str, Any],
) -> ScheduleVersionRecord:
    """Store an issued schedule version."""
    require_tenant(session, tenant_id)
    row = ScheduleVersionRow(
        id=schedule_id,
        tenant_id=tenant_id,
        portfolio_id=portfolio_id,
        day=day,
        version=version,
        reason=reason,
        plan_id=plan_id,
        bid_ids={"bids": list(bid_ids)},
        issued_at=issued_at,
        document=dict(document),
    )
    session.add(row)
    session.flush()
    return ScheduleVersionRecord.of(row)


def current_schedule(
    session: Session, tenant_id: str, at: datetime | None = None
) -> ScheduleVersionRecord | None:
    """The tenant's latest schedule version issued at or before `at` (default: any), or
    None."""
    query = select(ScheduleVersionRow).where(ScheduleVersionRow.tenant_id == tenant_id)
    if at is not None:
        query = query.where(ScheduleVersionRow.issued_at <= at)
    row = session.scalars(
        query.order_by(
            ScheduleVersionRow.issued_at.desc(),
            ScheduleVersionRow.day.desc(),
            ScheduleVersionRow.version.desc(),
        ).limit(1)
    ).first()
    return None if row is None else ScheduleVersionRecord.of(row)


def add_metering(
    session: Session,
    tenant_id: str,
    portfolio_id: str,
    day: date,
    rows: Sequence[Mapping[str, Any]],
) -> int:
    """Store metered energy per asset and ISP (fields of `MeteringRow` less tenant,
    portfolio, day); a row already stored for the asset and ISP is replaced."""
    require_tenant(session, tenant_id)
    session.execute(
        delete(MeteringRow).where(
            MeteringRow.tenant_id == tenant_id,
            MeteringRow.portfolio_id == portfolio_id,
            MeteringRow.day == day,
        )
    )
    session.add_all(
        MeteringRow(tenant_id=tenant_id, portfolio_id=portfolio_id, day=day, **dict(row))
        for row in rows
    )
    return len(rows)


def list_metering(session: Session, tenant_id: str, day: date) -> list[MeteringRecord]:
    """The tenant's metered energy of day `day`, by ISP and asset."""
    rows = session.scalars(
        select(MeteringRow)
        .where(MeteringRow.tenant_id == tenant_id, MeteringRow.day == day)
        .order_by(MeteringRow.isp_start, MeteringRow.asset_id)
    )
    return [MeteringRecord.of(row) for row in rows]


def save_settlement(
    session: Session,
    tenant_id: str,
    portfolio_id: str,
    day: date,
    document: Mapping[str, Any],
    settled_at: datetime,
) -> SettlementRecord:
    """Store (or replace) the settlement of a portfolio's day."""
    require_tenant(session, tenant_id)
    row = session.get(SettlementRow, (tenant_id, portfolio_id, day))
    if row is None:
        row = SettlementRow(tenant_id=tenant_id, portfolio_id=portfolio_id, day=day)
        session.add(row)
    row.document = dict(document)
    row.settled_at = settled_at
    session.flush()
    return SettlementRecord.of(row)


def list_settlements(session: Session, tenant_id: str, day: date) -> list[SettlementRecord]:
    """The tenant's settlements of day `day`, one per portfolio."""
    rows = session.scalars(
        select(SettlementRow)
        .where(SettlementRow.tenant_id == tenant_id, SettlementRow.day == day)
        .order_by(SettlementRow.portfolio_id)
    )
    return [SettlementRecord.of(row) for row in rows]
