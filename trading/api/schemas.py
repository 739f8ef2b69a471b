"""Request and response models of the API.

The models of stored entities (bids, their events and clearings, plans, assets,
portfolios) are derived from the store's records with `public_fields` (see
`trading.api.public`): their stored fields are declared once, in the store's models; each
says here only which stored fields it leaves out and which fields it adds.

Volumes in MW (positive = sell, negative = buy for energy bids); prices in EUR/MWh, or
EUR/MW/h for balancing capacity; times ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from markets.violations import Violation
from trading.api.public import public_fields
from trading.store import (
    AddBidsResult,
    AssetRecord,
    AuditRecord,
    BidEventRecord,
    BidRecord,
    BidRefusalRecord,
    ClearingRecord,
    PlanRecord,
    PortfolioRecord,
)

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
    rule_ids: list[str] = Field(
        default_factory=list,
        description="the id of the rule each violation breaks, in the order of `violations`",
    )
    refusal_id: str | None = Field(
        default=None,
        description="the stored record of this refusal: GET /v1/refusals/{refusal_id}",
    )


class ViolationsBody(_Public):
    """A submission refused by the market rules: every violation of every bid."""

    error: str = Field(default="BidViolations")
    message: str
    bids: list[BidViolations]


class BidPublic(
    public_fields(
        BidRecord, exclude=("tenant_id",), rename={"document": "bid"}, optional=("plan_id",)
    )
):
    """A stored bid; `bid` is the submitted document."""


class BidEventPublic(public_fields(BidEventRecord, exclude=("id", "bid_id"))):
    """One lifecycle step of a bid, with the rule version that validated it."""


class ClearingPublic(
    public_fields(ClearingRecord, exclude=("bid_id", "recorded_at"), optional=("details",))
):
    """The market's result for a bid: accepted or rejected, volume and prices."""

    status: str = Field(examples=["accepted"])


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


class RefusalPublic(public_fields(BidRefusalRecord, exclude=("tenant_id",))):
    """A bid the market rules refused: the decision, never stored as a bid, with the plugin
    (distribution, version) and the ids of the rules that judged it."""


class RefusalPage(_Public):
    """One page of refused bids, oldest first."""

    items: list[RefusalPublic]
    page: int
    limit: int
    total: int


class AuditPublic(public_fields(AuditRecord, exclude=("tenant_id",))):
    """One audited action: who (key and role; null when the engine acted), what, when."""


class AuditPage(_Public):
    """One page of the tenant's audit log, oldest first."""

    items: list[AuditPublic]
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


class PlanPublic(
    public_fields(
        PlanRecord,
        exclude=("tenant_id", "request", "result", "updated_at"),
        optional=("error", "started_at", "finished_at"),
    )
):
    """A plan run; when done, its objective, revenue by market and proposed bids."""

    status: str = Field(examples=["done"])
    markets: list[str] = Field(default_factory=list)
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
    treatments: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description="each planned asset's regulatory treatment: country, rule_set_version, "
        "rule_set_valid_from, the rule_ids it rests on, its uncertain parts",
    )

    @classmethod
    def of(cls, record: PlanRecord, **extra: Any) -> PlanPublic:
        """The public form of a plan: the stored facts, and its result's figures once done."""
        result = record.result or {}
        return super().of(
            record,
            markets=result.get("markets") or (record.request or {}).get("markets", []),
            objective_eur=result.get("objective_eur"),
            revenue_by_market=result.get("revenue_by_market"),
            costs_by_kind=result.get("costs_by_kind"),
            excluded_assets=result.get("excluded_assets"),
            notes=result.get("notes"),
            bids=result.get("bids"),
            solver=result.get("solver"),
            treatments=result.get("treatments"),
            **extra,
        )


class AssetPublic(public_fields(AssetRecord, exclude=("tenant_id",))):
    """An asset of a stored portfolio, by the fields one searches on, its service dates, and
    whether it is in service on the day asked for."""

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


class PortfolioPublic(
    public_fields(PortfolioRecord, exclude=("tenant_id", "document", "created_at"))
):
    """A stored portfolio: its version (1 on first save) and its assets."""

    assets: list[AssetPublic]
