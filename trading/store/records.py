"""What the store hands back: immutable snapshots of rows, detached from any session.

Times are aware UTC datetimes; JSON documents are plain dicts. Prices and volumes keep
the units of the columns they come from (MW; EUR/MWh or EUR/MW/h by product).

A record is not written out field by field: ``class BidRecord(Record, row=BidRow)`` makes
a frozen dataclass whose fields are `BidRow`'s columns, in the table's order and with the
columns' types (see `Record`). A record's body adds only what the row does not hold
(fields read from a document, computed properties). Adding a column to a model thus
adds it to the record, and to the API model derived from the record
(`trading.api.public`), with no other edit.

Why dataclasses derived from the mapper rather than the ORM rows themselves
(``MappedAsDataclass``), pydantic models or SQLModel: a record must be immutable and
outlive its session, which a mapped instance is not; a bid's record is built for every bid
on the submission path without an ORM row, where a plain frozen dataclass costs what the
hand-written ones did; and the store should not depend on the API's validation library.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Self, TypeVar, get_args

from sqlalchemy import Column

from markets.bids import Bid, parse_bid
from regulatory.loading import validate_portfolio_data
from regulatory.portfolio import Portfolio
from trading.store.base import Base
from trading.store.inputs import Actor
from trading.store.models import (
    ApiKeyRow,
    AssetRow,
    AuditRow,
    BidEventRow,
    BidRefusalRow,
    BidRow,
    ClearingRow,
    MeteringRow,
    PlanRow,
    PoolFlagRow,
    PortfolioRow,
    PositionRow,
    RiskLimitRow,
    ScheduleVersionRow,
    SettlementRow,
    TenantRow,
)

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


def shown_columns(row: type[Base]) -> Iterator[tuple[str, Column[Any]]]:
    """(attribute name, column) of every column of `row` that leaves the store, in the
    table's order: all but those marked `STORE_ONLY`."""
    mapper = row.__mapper__
    for attribute in mapper.column_attrs:
        (column,) = attribute.columns
        if not column.info.get("store_only"):
            yield attribute.key, column


def column_type(row: type[Base], name: str, column: Column[Any]) -> Any:
    """The Python type a record gives column `name` of `row`: the model's ``Mapped[...]``
    annotation, the column's vocabulary (a `StrEnum`) in place of ``str``."""
    values: type[StrEnum] | None = column.info.get("vocabulary")
    if values is not None:
        return values | None if column.nullable else values
    for klass in row.__mro__:
        if name in (annotations := inspect.get_annotations(klass, eval_str=True)):
            return get_args(annotations[name])[0]
    raise TypeError(f"{row.__name__}.{name} has no Mapped[...] annotation")


def _converter(column: Column[Any]) -> Callable[[Any], Any] | None:
    values: type[StrEnum] | None = column.info.get("vocabulary")
    if values is None:
        return None
    if column.nullable:
        return lambda value: None if value is None else values(value)
    return values


class Record:
    """Base of the store's records: ``class XRecord(Record, row=XRow)`` is a frozen,
    keyword-only dataclass with a field per column of `XRow` (`shown_columns`), typed as
    the model says (`column_type`), then the fields the class body declares itself.

    A nullable column's field defaults to None. The column's ``doc`` travels in the field's
    metadata (``"doc"``), as does a body field's ``field(metadata={"doc": ...})``.
    """

    __row__: ClassVar[type[Base]]
    __columns__: ClassVar[tuple[tuple[str, Callable[[Any], Any] | None], ...]]

    def __init_subclass__(cls, *, row: type[Base], **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = inspect.get_annotations(cls)
        columns: dict[str, Any] = {}
        converters = []
        for name, column in shown_columns(row):
            if name in own:
                raise TypeError(f"{cls.__name__}.{name} repeats a column of {row.__name__}")
            columns[name] = column_type(row, name, column)
            converters.append((name, _converter(column)))
            doc = {"doc": column.doc} if column.doc else {}
            default = None if column.nullable else dataclasses.MISSING
            setattr(cls, name, field(default=default, metadata=doc))
        cls.__annotations__ = columns | own
        cls.__row__ = row
        cls.__columns__ = tuple(converters)
        dataclass(frozen=True, kw_only=True)(cls)

    @classmethod
    def of(cls, row: Base, **extra: Any) -> Self:
        """Snapshot of `row`; `extra` gives the fields that are not columns."""
        values = {
            name: getattr(row, name) if convert is None else convert(getattr(row, name))
            for name, convert in cls.__columns__
        }
        return cls(**values, **extra)


class TenantRecord(Record, row=TenantRow):
    """A tenant."""


class ApiKeyRecord(Record, row=ApiKeyRow):
    """An API key's public facts; never its secret or the secret's hash (`STORE_ONLY`).
    `expires_at` [UTC]: from this instant on the key no longer authenticates; None: never."""

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


@dataclass(frozen=True)
class NewApiKey:
    """A key just created: `plaintext` is shown this once and stored nowhere."""

    record: ApiKeyRecord
    plaintext: str = field(repr=False)


class PortfolioRecord(Record, row=PortfolioRow):
    """A stored portfolio: its validated document and its version (1 on first save)."""

    def portfolio(self) -> Portfolio:
        """The document as a validated `regulatory.Portfolio`."""
        return validate_portfolio_data(self.document, source=f"portfolio {self.id}")


class AssetRecord(Record, row=AssetRow):
    """An asset of a stored portfolio, by the fields one searches on, and its service dates
    (from the portfolio's document; None where the document does not say)."""

    commissioning_date: date | None = field(default=None, metadata={"doc": "first day in service"})
    decommissioning_date: date | None = field(
        default=None, metadata={"doc": "first day out of service; null = no end date"}
    )

    @classmethod
    def of(cls, row: AssetRow, dates: ServiceDates | None = None) -> Self:  # type: ignore[override]
        """Snapshot of `row`, with the asset's service `dates` where known."""
        commissioning, decommissioning = dates if dates is not None else (None, None)
        return super().of(
            row, commissioning_date=commissioning, decommissioning_date=decommissioning
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


class BidRecord(Record, row=BidRow):
    """A stored bid. Volumes and prices are in its `document` (see `markets.bids`)."""

    @property
    def bid(self) -> Bid:
        """The bid as its `markets.bids` model."""
        return parse_bid(self.document)


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


class BidEventRecord(Record, row=BidEventRow):
    """One lifecycle step; `from_status` is None for the step that created the bid."""


class BidRefusalRecord(Record, row=BidRefusalRow):
    """A bid the market rules refused, with the plugin and rule ids that judged it."""


class ClearingRecord(Record, row=ClearingRow):
    """A market's result for a bid: volume [MW], prices [EUR/MWh or EUR/MW/h by product]."""


class PlanRecord(Record, row=PlanRow):
    """A plan run; `result` once done, `error` once failed; `request` is what was asked of
    it (e.g. ``{"markets": ["day_ahead"]}``), None if not kept."""


class AuditRecord(Record, row=AuditRow):
    """One audited action; `key_id` and `role` are None when the engine itself acted."""


class RiskLimitRecord(Record, row=RiskLimitRow):
    """One limit of a tenant: `value` in the unit `kind` names (MW or EUR)."""


RECORDS: tuple[type[Record], ...] = (
    TenantRecord,
    ApiKeyRecord,
    PortfolioRecord,
    AssetRecord,
    BidRecord,
    BidEventRecord,
    BidRefusalRecord,
    ClearingRecord,
    PlanRecord,
    AuditRecord,
    RiskLimitRecord,
)
"""Every stored entity's record."""


class PositionRecord(Record, row=PositionRow):
    """One product of one accepted bid in the engine's position book."""


class ScheduleVersionRecord(Record, row=ScheduleVersionRow):
    """One schedule version the engine issued."""


class MeteringRecord(Record, row=MeteringRow):
    """One asset's energy in one ISP [MWh]."""


class SettlementRecord(Record, row=SettlementRow):
    """A settled delivery day of one portfolio."""


class PoolFlagRecord(Record, row=PoolFlagRow):
    """One flag of one pool of a tenant, as last set."""
