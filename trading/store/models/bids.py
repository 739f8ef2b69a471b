"""Bids, the submissions that created them, their lifecycle events and clearing results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from trading.store.base import STORE_ONLY, Base, EventId, JSONDocument, vocabulary
from trading.store.vocabulary import BidStatus, ClearingStatus, check_values

BID_STATUS_CHECK = f"IN ({check_values(BidStatus)})"


class BidSubmissionRow(Base):
    """One `add_bids` call: the idempotency key, unique per tenant, and the request's hash.

    The unique constraint on (tenant_id, idempotency_key) is what makes a replay, or two
    racing calls with the same key, store one copy of the bids.
    """

    __tablename__ = "bid_submissions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_bid_submissions_tenant_key"),
        Index(
            "ix_bid_submissions_unpublished",
            "id",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None] = mapped_column(
        doc="when its bids became visible to readers [UTC]; NULL while a large batch is "
        "still written in chunks (see `Repository._add_chunked`)"
    )


class BidRow(Base):
    """A bid: the `markets.bids` document as JSON plus the columns one filters by.

    `product_id`, `delivery_start` and `gate_closure` are those of the bid's first product
    (a block bid spans several); `delivery_day` is the market-local delivery day.
    """

    __tablename__ = "bids"
    __table_args__ = (
        CheckConstraint(f"status {BID_STATUS_CHECK}", name="status"),
        UniqueConstraint("submission_id", "position", name="uq_bids_submission_position"),
        Index("ix_bids_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_bids_tenant_id_status", "tenant_id", "status"),
        Index("ix_bids_tenant_id_delivery_day", "tenant_id", "delivery_day"),
        Index("ix_bids_tenant_id_market", "tenant_id", "market"),
        Index("ix_bids_tenant_id_product_id", "tenant_id", "product_id"),
        Index("ix_bids_status_gate_closure", "status", "gate_closure"),
        Index("uq_bids_tenant_id_client_bid_id", "tenant_id", "client_bid_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    submission_id: Mapped[str] = mapped_column(ForeignKey("bid_submissions.id"))
    position: Mapped[int] = mapped_column(Integer, doc="position in its submission, from 0")
    product_id: Mapped[str] = mapped_column(String(128))
    market: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2))
    delivery_day: Mapped[date] = mapped_column(doc="market-local delivery day")
    delivery_start: Mapped[datetime]
    gate_closure: Mapped[datetime] = mapped_column(
        doc="last instant the bid may change (exclusive)"
    )
    status: Mapped[str] = mapped_column(String(16), info=vocabulary(BidStatus))
    document: Mapped[dict[str, Any]]
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id"), index=True)
    client_bid_id: Mapped[str | None] = mapped_column(String(200), info=STORE_ONLY)
    """The submitter's ``bid_id`` (unique per tenant); NULL when it gave none. A copy of the
    document's ``bid_id`` for the unique index, so it stays in the store."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BidEventRow(Base):
    """One step of a bid's lifecycle; `from_status` is NULL for the step that created it."""

    __tablename__ = "bid_events"
    __table_args__ = (
        CheckConstraint(
            f"from_status IS NULL OR from_status {BID_STATUS_CHECK}", name="from_status"
        ),
        CheckConstraint(f"to_status {BID_STATUS_CHECK}", name="to_status"),
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    bid_id: Mapped[str] = mapped_column(ForeignKey("bids.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16), info=vocabulary(BidStatus))
    to_status: Mapped[str] = mapped_column(String(16), info=vocabulary(BidStatus))
    at: Mapped[datetime]
    key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    rule_version: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None]
    plugin_distribution: Mapped[str | None] = mapped_column(
        String(200),
        doc="the market plugin's distribution that accepted the bid (the step that created it)",
    )
    plugin_version: Mapped[str | None] = mapped_column(
        String(64), doc="that distribution's version"
    )
    rule_ids: Mapped[list[str] | None] = mapped_column(
        JSONDocument, doc="ids of the market rule values that judged the bid"
    )


class BidRefusalRow(Base):
    """A bid the market rules refused: the decision is kept, the bid is not stored as a bid.

    One row per bid of a refused submission (all or nothing: a bid that broke no rule itself
    is refused with its submission and has no `violations`). `country` and `market` are
    those of the product id, NULL where the id names no market plugin's product.
    """

    __tablename__ = "bid_refusals"
    __table_args__ = (Index("ix_bid_refusals_tenant_id_at", "tenant_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    at: Mapped[datetime] = mapped_column(doc="when the submission was refused")
    key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, doc="position in its submission, from 0")
    client_bid_id: Mapped[str | None] = mapped_column(
        String(200), doc="the submitter's bid_id, if it gave one"
    )
    product_id: Mapped[str] = mapped_column(Text, doc="the bid's (first) product id")
    country: Mapped[str | None] = mapped_column(String(2))
    market: Mapped[str | None] = mapped_column(String(32))
    plugin_distribution: Mapped[str | None] = mapped_column(
        String(200), doc="the market plugin's distribution that judged the bid"
    )
    plugin_version: Mapped[str | None] = mapped_column(
        String(64), doc="that distribution's version"
    )
    rule_ids: Mapped[list[str]] = mapped_column(
        JSONDocument, doc="ids of the market rule values that judged the bid"
    )
    violations: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONDocument, doc="the rules the bid broke, each with its rule_id; [] if none"
    )
    document: Mapped[dict[str, Any]] = mapped_column(doc="the bid as submitted")


class ClearingRow(Base):
    """A market's result for one bid (at most one per bid).

    Prices are in the product's unit: EUR/MWh for energy, EUR/MW/h for balancing capacity.
    `clearing_price` is the market's price, `remuneration_price` what this bid is paid
    (the clearing price under pay-as-cleared, the bid's own price under pay-as-bid).
    """

    __tablename__ = "clearing_results"
    __table_args__ = (
        CheckConstraint(f"status IN ({check_values(ClearingStatus)})", name="status"),
    )

    bid_id: Mapped[str] = mapped_column(ForeignKey("bids.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), info=vocabulary(ClearingStatus))
    cleared_volume_mw: Mapped[float] = mapped_column(
        Double, doc="cleared volume [MW], the bid's sign; 0 if rejected"
    )
    clearing_price: Mapped[float | None] = mapped_column(
        Double, doc="the market's clearing price [EUR/MWh; EUR/MW/h for capacity]"
    )
    remuneration_price: Mapped[float | None] = mapped_column(
        Double,
        doc="what the bid is paid per unit: the clearing price, or its own under "
        "pay-as-bid [EUR/MWh; EUR/MW/h]",
    )
    cleared_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    details: Mapped[dict[str, Any] | None] = mapped_column(
        doc="market, pricing rule, products; a rejection's reason"
    )
