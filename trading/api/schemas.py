"""Request and response models of the API, separate from the store's records.

Volumes in MW (positive = sell, negative = buy for energy bids); prices in EUR/MWh, or
EUR/MW/h for balancing capacity; times ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from markets.violations import Violation
from trading.store import AddBidsResult, BidEventRecord, BidRecord, BidStatus, ClearingRecord

EXAMPLE_BID: dict[str, Any] = {
    "type": "single",
    "product_id": "DE:day_ahead:SDAC:2026-06-14T22:00Z",
    "volume_mw": 1.5,
    "price_eur_per_mwh": 42.0,
    "bid_id": "desk-1/0001",
}
"""A day-ahead bid: sell 1.5 MW at 42 EUR/MWh or more."""


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorBody(_Public):
    """Any refusal: what went wrong, in words, and the problems naming field and value."""

    error: str = Field(examples=["NotFound"])
    message: str = Field(examples=["bid 'b-1' does not exist for tenant 'acme'"])
    problems: list[dict[str, Any]] = Field(
        default_factory=list,
        description="one entry per broken field: subject, field, value, rule",
    )


class BidViolations(_Public):
    """The market rules one bid of a submission breaks."""

    index: int = Field(description="position of the bid in the request, from 0")
    bid_id: str | None = Field(default=None, description="the submitter's own reference")
    violations: list[Violation]


class ViolationsBody(_Public):
    """A submission refused by the market rules: every violation of every bid."""

    error: str = Field(default="BidViolations")
    message: str
    bids: list[BidViolations]


class BidPublic(_Public):
    """A stored bid; `bid` is the submitted document."""

    id: str
    submission_id: str
    position: int = Field(description="position in its submission, from 0")
    product_id: str
    market: str
    country: str
    delivery_day: date = Field(description="market-local delivery day")
    delivery_start: datetime
    gate_closure: datetime = Field(description="last instant the bid may change (exclusive)")
    status: BidStatus
    plan_id: str | None = None
    bid: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: BidRecord) -> BidPublic:
        """The public form of a stored bid."""
        return cls(
            id=record.id,
            submission_id=record.submission_id,
            position=record.position,
            product_id=record.product_id,
            market=record.market,
            country=record.country,
            delivery_day=record.delivery_day,
            delivery_start=record.delivery_start,
            gate_closure=record.gate_closure,
            status=record.status,
            plan_id=record.plan_id,
            bid=record.document,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class BidEventPublic(_Public):
    """One lifecycle step of a bid, with the rule version that validated it."""

    from_status: BidStatus | None
    to_status: BidStatus
    at: datetime
    key_id: str | None
    reason: str | None
    rule_version: str | None
    details: dict[str, Any] | None

    @classmethod
    def of(cls, record: BidEventRecord) -> BidEventPublic:
        """The public form of a lifecycle event."""
        return cls(
            from_status=record.from_status,
            to_status=record.to_status,
            at=record.at,
            key_id=record.key_id,
            reason=record.reason,
            rule_version=record.rule_version,
            details=record.details,
        )


class ClearingPublic(_Public):
    """The market's result for a bid: accepted or rejected, volume and prices."""

    status: str = Field(examples=["accepted"])
    cleared_volume_mw: float = Field(
        description="cleared volume [MW], the bid's sign; 0 if rejected"
    )
    clearing_price: float | None = Field(
        description="the market's clearing price [EUR/MWh; EUR/MW/h for capacity]"
    )
    remuneration_price: float | None = Field(
        description="what the bid is paid per unit: the clearing price, or its own under "
        "pay-as-bid [EUR/MWh; EUR/MW/h]"
    )
    cleared_at: datetime
    details: dict[str, Any] | None = Field(
        default=None, description="market, pricing rule, products; a rejection's reason"
    )

    @classmethod
    def of(cls, record: ClearingRecord) -> ClearingPublic:
        """The public form of a stored clearing result."""
        return cls(
            status=record.status.value,
            cleared_volume_mw=record.cleared_volume_mw,
            clearing_price=record.clearing_price,
            remuneration_price=record.remuneration_price,
            cleared_at=record.cleared_at,
            details=record.details,
        )


class BidWithHistory(BidPublic):
    """A bid, every lifecycle step (oldest first) and, once cleared, the market's result."""

    history: list[BidEventPublic]
    clearing: ClearingPublic | None = None


class SubmissionPublic(_Public):
    """The answer to a submission; a retry with the same `Idempotency-Key` gets it again."""

    submission_id: str
    idempotency_key: str
    replayed: bool = Field(description="true when this is the stored answer to an earlier call")
    bids: list[BidPublic]

    @classmethod
    def of(cls, result: AddBidsResult) -> SubmissionPublic:
        """The public form of what the store did with a submission."""
        return cls(
            submission_id=result.submission_id,
            idempotency_key=result.idempotency_key,
            replayed=not result.created,
            bids=[BidPublic.of(b) for b in result.bids],
        )


class BidPage(_Public):
    """One page of bids, oldest first."""

    items: list[BidPublic]
    page: int
    limit: int
    total: int


class WithdrawRequest(_Public):
    """Why a bid is withdrawn (optional)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str | None = Field(default=None, max_length=500, examples=["position closed"])


class MarketSummary(_Public):
    """One market of a country."""

    market: str = Field(examples=["day_ahead"])


class CountryMarkets(_Public):
    """A country's market plugin and its markets."""

    country: str = Field(examples=["DE"])
    timezone: str = Field(examples=["Europe/Berlin"])
    origin: str = Field(description="the distribution providing the plugin")
    markets: list[MarketSummary]


class ProductPublic(_Public):
    """One product of a delivery day, every rule value resolved (see `Product.as_record`)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    product_id: str = Field(examples=["DE:day_ahead:SDAC:2026-06-14T22:00Z"])
    market: str
    gate_closure: str = Field(description="ISO 8601 UTC")


class ProductList(_Public):
    """The products of a country's delivery day."""

    country: str
    day: date
    products: list[ProductPublic]


class Health(_Public):
    """Liveness and the API's clock."""

    status: str = Field(examples=["ok"])
    now: datetime


class Readiness(_Public):
    """Whether the API can serve: the database answers and is at the migrations' head."""

    status: str = Field(examples=["ready"])
    database: str | None = Field(description="the database's migration revision")
    head: str = Field(description="the newest migration this server ships")


class PlanRequest(_Public):
    """A plan to run: a portfolio of the tenant, a delivery day, the markets to trade."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    portfolio_id: str = Field(max_length=200, examples=["sample-vpp"])
    day: date = Field(description="market-local delivery day, YYYY-MM-DD")
    markets: list[str] = Field(
        default_factory=lambda: ["day_ahead"],
        min_length=1,
        examples=[["day_ahead", "afrr_capacity"]],
    )


class PlanAccepted(_Public):
    """A plan queued: poll ``GET /v1/plans/{id}`` until it is done or failed."""

    id: str
    status: str = Field(examples=["queued"])
    location: str = Field(examples=["/v1/plans/0b6f..."])


class PlanPublic(_Public):
    """A plan run; when done, its objective, revenue by market and proposed bids."""

    id: str
    portfolio_id: str
    day: date
    status: str = Field(examples=["done"])
    markets: list[str] = Field(default_factory=list)
    error: str | None = None
    objective_eur: float | None = Field(
        default=None, description="expected net: revenue by market - costs by kind [EUR]"
    )
    revenue_by_market: dict[str, float] | None = None
    costs_by_kind: dict[str, float] | None = Field(
        default=None, description="levies and grid fees, wear, fuel, starts, ... [EUR]"
    )
    excluded_assets: dict[str, str] | None = Field(
        default=None, description="assets not in service on the day, and why"
    )
    notes: list[str] | None = None
    bids: list[dict[str, Any]] | None = Field(
        default=None, description="the proposed bids, as POST /v1/bids takes them"
    )
    solver: dict[str, Any] | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class AssetPublic(_Public):
    """An asset of a stored portfolio, by the fields one searches on, its service dates, and
    whether it is in service on the day asked for."""

    portfolio_id: str
    id: str
    kind: str
    site_id: str
    country: str
    commissioning_date: date | None = Field(description="first day in service")
    decommissioning_date: date | None = Field(
        description="first day out of service; null = no end date"
    )
    in_service: bool | None = Field(
        default=None,
        description="in service on the day `on` of the request (commissioning_date <= on < "
        "decommissioning_date); null when no day was asked for",
    )
    service_note: str | None = Field(
        default=None,
        description="why the asset is not in service on `on`, naming the date that rules it out",
        examples=["not in service on 2026-06-13: commissioned 2027-02-01"],
    )


class AssetList(_Public):
    """The tenant's assets; `in_service` refers to `on` when given."""

    items: list[AssetPublic]
    total: int
    on: date | None = Field(default=None, description="the day `in_service` refers to")


class PortfolioPublic(_Public):
    """A stored portfolio: its version (1 on first save) and its assets."""

    id: str
    name: str | None
    version: int
    assets: list[AssetPublic]
    updated_at: datetime
