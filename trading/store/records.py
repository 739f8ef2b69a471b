"""What the store hands back: immutable snapshots of rows, detached from any session.

Times are aware UTC datetimes; JSON documents are plain dicts. Prices and volumes keep
the units of the columns they come from (MW; EUR/MWh or EUR/MW/h by product).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from markets.bids import Bid, parse_bid
from regulatory.loading import validate_portfolio_data
from regulatory.portfolio import Portfolio
from trading.store.inputs import Actor
from trading.store.models import (
    ApiKeyRow,
    AssetRow,
    AuditRow,
    BidEventRow,
    BidRow,
    ClearingRow,
    PlanRow,
    PortfolioRow,
    TenantRow,
)
from trading.store.vocabulary import BidStatus, ClearingStatus, PlanStatus, Role

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: `items`, which page (1-based), its size, and the total count."""

    items: tuple[T, ...]
    page: int
    limit: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages of `limit` items the whole list has."""
        return -(-self.total // self.limit)


@dataclass(frozen=True)
class TenantRecord:
    """A tenant."""

    id: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, row: TenantRow) -> TenantRecord:
        """Snapshot of `row`."""
        return cls(row.id, row.name, row.created_at)


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key's public facts; never its secret or the secret's hash."""

    id: str
    tenant_id: str
    role: Role
    name: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None
    """From this instant [UTC] on the key no longer authenticates; None: never."""

    def expired(self, now: datetime) -> bool:
        """Whether the key has expired at `now` (aware)."""
        return self.expires_at is not None and now >= self.expires_at

    @property
    def active(self) -> bool:
        """Whether the key still works now (neither revoked nor expired)."""
        return self.revoked_at is None and not self.expired(datetime.now(UTC))

    @property
    def actor(self) -> Actor:
        """The key as the actor of what it does."""
        return Actor(tenant_id=self.tenant_id, key_id=self.id, role=self.role)

    @classmethod
    def of(cls, row: ApiKeyRow) -> ApiKeyRecord:
        """Snapshot of `row`."""
        return cls(
            row.id,
            row.tenant_id,
            Role(row.role),
            row.name,
            row.created_at,
            row.revoked_at,
            row.expires_at,
        )


@dataclass(frozen=True)
class NewApiKey:
    """A key just created: `plaintext` is shown this once and stored nowhere."""

    record: ApiKeyRecord
    plaintext: str = field(repr=False)


@dataclass(frozen=True)
class PortfolioRecord:
    """A stored portfolio: its validated document and its version (1 on first save)."""

    tenant_id: str
    id: str
    name: str | None
    version: int
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    def portfolio(self) -> Portfolio:
        """The document as a validated `regulatory.Portfolio`."""
        return validate_portfolio_data(self.document, source=f"portfolio {self.id}")

    @classmethod
    def of(cls, row: PortfolioRow) -> PortfolioRecord:
        """Snapshot of `row`."""
        return cls(
            row.tenant_id,
            row.id,
            row.name,
            row.version,
            row.document,
            row.created_at,
            row.updated_at,
        )


@dataclass(frozen=True)
class AssetRecord:
    """An asset of a stored portfolio, by the fields one searches on, and its service dates
    (from the portfolio's document; None where the document does not say)."""

    tenant_id: str
    portfolio_id: str
    id: str
    kind: str
    site_id: str
    country: str
    commissioning_date: date | None = None
    decommissioning_date: date | None = None
    """The first day out of service; None = no end date."""

    @classmethod
    def of(cls, row: AssetRow, dates: ServiceDates | None = None) -> AssetRecord:
        """Snapshot of `row`, with the asset's service `dates` where known."""
        commissioning, decommissioning = dates if dates is not None else (None, None)
        return cls(
            row.tenant_id,
            row.portfolio_id,
            row.id,
            row.kind,
            row.site_id,
            row.country,
            commissioning,
            decommissioning,
        )


ServiceDates = tuple[date | None, date | None]
"""An asset's (commissioning_date, decommissioning_date)."""


def service_dates(document: dict[str, Any]) -> dict[str, ServiceDates]:
    """Asset id -> (commissioning_date, decommissioning_date) of a stored portfolio document
    (validated when saved, dates as ISO text)."""
    return {
        str(asset["id"]): (
            _day(asset.get("commissioning_date")),
            _day(asset.get("decommissioning_date")),
        )
        for asset in document.get("assets", [])
    }


def _day(value: Any) -> date | None:
    """An ISO date from a stored document; None when absent."""
    return date.fromisoformat(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class BidRecord:
    """A stored bid. Volumes and prices are in its `document` (see `markets.bids`)."""

    id: str
    tenant_id: str
    submission_id: str
    position: int
    product_id: str
    market: str
    country: str
    delivery_day: date
    delivery_start: datetime
    gate_closure: datetime
    status: BidStatus
    document: dict[str, Any]
    plan_id: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def bid(self) -> Bid:
        """The bid as its `markets.bids` model."""
        return parse_bid(self.document)

    @classmethod
    def of(cls, row: BidRow) -> BidRecord:
        """Snapshot of `row`."""
        return cls(
            id=row.id,
            tenant_id=row.tenant_id,
            submission_id=row.submission_id,
            position=row.position,
            product_id=row.product_id,
            market=row.market,
            country=row.country,
            delivery_day=row.delivery_day,
            delivery_start=row.delivery_start,
            gate_closure=row.gate_closure,
            status=BidStatus(row.status),
            document=row.document,
            plan_id=row.plan_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class AddBidsResult:
    """What `add_bids` stored under `idempotency_key`; `created` is False on a replay."""

    submission_id: str
    idempotency_key: str
    bids: tuple[BidRecord, ...]
    created: bool

    @property
    def bid_ids(self) -> tuple[str, ...]:
        """The stored bids' ids, in the order they were given."""
        return tuple(bid.id for bid in self.bids)


@dataclass(frozen=True)
class BidEventRecord:
    """One lifecycle step; `from_status` is None for the step that created the bid."""

    id: int
    bid_id: str
    from_status: BidStatus | None
    to_status: BidStatus
    at: datetime
    key_id: str | None
    reason: str | None
    rule_version: str | None
    details: dict[str, Any] | None

    @classmethod
    def of(cls, row: BidEventRow) -> BidEventRecord:
        """Snapshot of `row`."""
        return cls(
            id=row.id,
            bid_id=row.bid_id,
            from_status=BidStatus(row.from_status) if row.from_status else None,
            to_status=BidStatus(row.to_status),
            at=row.at,
            key_id=row.key_id,
            reason=row.reason,
            rule_version=row.rule_version,
            details=row.details,
        )


@dataclass(frozen=True)
class ClearingRecord:
    """A market's result for a bid: volume [MW], prices [EUR/MWh or EUR/MW/h by product]."""

    bid_id: str
    status: ClearingStatus
    cleared_volume_mw: float
    clearing_price: float | None
    remuneration_price: float | None
    cleared_at: datetime
    recorded_at: datetime
    details: dict[str, Any] | None

    @classmethod
    def of(cls, row: ClearingRow) -> ClearingRecord:
        """Snapshot of `row`."""
        return cls(
            bid_id=row.bid_id,
            status=ClearingStatus(row.status),
            cleared_volume_mw=row.cleared_volume_mw,
            clearing_price=row.clearing_price,
            remuneration_price=row.remuneration_price,
            cleared_at=row.cleared_at,
            recorded_at=row.recorded_at,
            details=row.details,
        )


@dataclass(frozen=True)
class PlanRecord:
    """A plan run; `result` once done, `error` once failed."""

    id: str
    tenant_id: str
    portfolio_id: str
    day: date
    status: PlanStatus
    request: dict[str, Any] | None
    """What was asked of the plan (e.g. ``{"markets": ["day_ahead"]}``), None if not kept."""
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: PlanRow) -> PlanRecord:
        """Snapshot of `row`."""
        return cls(
            id=row.id,
            tenant_id=row.tenant_id,
            portfolio_id=row.portfolio_id,
            day=row.day,
            status=PlanStatus(row.status),
            request=row.request,
            result=row.result,
            error=row.error,
            created_at=row.created_at,
            updated_at=row.updated_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )


@dataclass(frozen=True)
class AuditRecord:
    """One audited action; `key_id` and `role` are None when the engine itself acted."""

    id: int
    at: datetime
    tenant_id: str
    key_id: str | None
    role: Role | None
    action: str
    subject: str
    details: dict[str, Any] | None

    @classmethod
    def of(cls, row: AuditRow) -> AuditRecord:
        """Snapshot of `row`."""
        return cls(
            id=row.id,
            at=row.at,
            tenant_id=row.tenant_id,
            key_id=row.key_id,
            role=Role(row.role) if row.role else None,
            action=row.action,
            subject=row.subject,
            details=row.details,
        )
