"""One declaration per stored entity: the store's model says the fields, the record and the
API model follow it; a column marked store-only reaches neither."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import AsgiClient
from fastapi import FastAPI
from sqlalchemy import Double, String, create_engine, inspect, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from trading.api import create_app
from trading.api.public import PublicModel, public_fields
from trading.exchange.clock import ManualClock
from trading.store import Repository, upgrade
from trading.store.base import STORE_ONLY, vocabulary
from trading.store.records import RECORDS, AssetRecord, Record
from trading.store.timestamps import UTCDateTime
from trading.store.vocabulary import BidStatus

AT = datetime.fromisoformat("2026-06-14T08:00:00+00:00")


def declare(with_desk: bool) -> tuple[type[DeclarativeBase], type[Record], type[PublicModel]]:
    """A scratch entity as a project author would write it: the table's model, its record
    and its API model; `with_desk` adds one column to the model and nothing else."""

    class ScratchBase(DeclarativeBase):
        type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - read by SQLAlchemy

    class OrderRow(ScratchBase):
        __tablename__ = "orders"

        id: Mapped[str] = mapped_column(String(36), primary_key=True)
        tenant_id: Mapped[str] = mapped_column(String(64))
        volume_mw: Mapped[float] = mapped_column(Double, doc="volume [MW], + sell")
        status: Mapped[str] = mapped_column(String(16), info=vocabulary(BidStatus))
        secret: Mapped[str] = mapped_column(String(64), info=STORE_ONLY)
        created_at: Mapped[datetime]
        if with_desk:
            desk: Mapped[str | None] = mapped_column(String(40), doc="the desk that placed it")

    class OrderRecord(Record, row=OrderRow):
        """An order."""

    class OrderPublic(public_fields(OrderRecord, exclude=("tenant_id",))):
        """An order, as the API shows it."""

    return ScratchBase, OrderRecord, OrderPublic


@pytest.mark.parametrize("with_desk", [False, True])
def test_a_column_added_to_a_model_reaches_the_record_and_the_api_with_no_other_edit(
    tmp_path: Path, with_desk: bool
) -> None:
    base, record_type, public_type = declare(with_desk)
    engine = create_engine(f"sqlite:///{tmp_path / 'scratch.sqlite3'}")
    base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO orders (id, tenant_id, volume_mw, status, secret, created_at"
                + (", desk" if with_desk else "")
                + ") VALUES ('o-1', 'acme', 2.5, 'submitted', 'hash-of-secret', "
                + "'2026-06-14 08:00:00.000000'"
                + (", 'desk 7'" if with_desk else "")
                + ")"
            )
        )
    (row_type,) = base.registry.mappers
    with Session(engine) as session:
        row = session.scalars(select(row_type.class_)).one()
        record = record_type.of(row)
    shown = public_type.of(record).model_dump(mode="json")
    schema = public_type.model_json_schema()["properties"]

    assert record.status is BidStatus.SUBMITTED
    assert record.created_at == AT
    assert not hasattr(record, "secret")
    assert "hash-of-secret" not in json.dumps(shown)
    assert "tenant_id" not in shown
    assert schema["volume_mw"]["description"] == "volume [MW], + sell"
    if with_desk:
        assert record.desk == "desk 7"
        assert shown["desk"] == "desk 7"
        assert schema["desk"]["description"] == "the desk that placed it"
        assert list(shown) == ["id", "volume_mw", "status", "created_at", "desk"]
    else:
        assert "desk" not in shown
        assert "desk" not in schema
        assert list(shown) == ["id", "volume_mw", "status", "created_at"]


STORE_ONLY_COLUMNS = {("api_keys", "secret_sha256"), ("bids", "client_bid_id")}
"""What never leaves the store: a key's secret hash; the index copy of a bid's ``bid_id``
(the submitter reads it in the bid's document)."""

RECORD_ONLY = {AssetRecord: {"commissioning_date", "decommissioning_date"}}
"""Record fields that are not columns of their table (read from a stored document)."""


def test_every_record_holds_its_migrated_tables_columns_but_the_store_only_ones(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    upgrade(url)
    tables = inspect(create_engine(url))
    for record in RECORDS:
        table = record.__row__.__tablename__
        columns = {column["name"] for column in tables.get_columns(table)}
        hidden = {name for where, name in STORE_ONLY_COLUMNS if where == table}
        fields = set(record.__dataclass_fields__) - RECORD_ONLY.get(record, set())
        assert fields == columns - hidden, record.__name__


API_VIEWS = {
    # schema: (table, stored fields it does not show, renamed, API-only fields)
    "BidPublic": ("bids", {"tenant_id"}, {"document": "bid"}, set()),
    "BidEventPublic": ("bid_events", {"id", "bid_id"}, {}, set()),
    "ClearingPublic": ("clearing_results", {"bid_id", "recorded_at"}, {}, set()),
    "PlanPublic": (
        "plans",
        {"tenant_id", "request", "result", "updated_at"},
        {},
        {
            "markets",
            "objective_eur",
            "revenue_by_market",
            "costs_by_kind",
            "excluded_assets",
            "notes",
            "bids",
            "solver",
            "treatments",
        },
    ),
    "AssetPublic": (
        "assets",
        {"tenant_id"},
        {},
        {"commissioning_date", "decommissioning_date", "in_service", "service_note"},
    ),
    "PortfolioPublic": ("portfolios", {"tenant_id", "document", "created_at"}, {}, {"assets"}),
    "KeyPublic": ("api_keys", set(), {}, {"active"}),
    "LimitPublic": ("risk_limits", {"tenant_id"}, {}, set()),
    "RefusalPublic": ("bid_refusals", {"tenant_id"}, {}, set()),
    "AuditPublic": ("audit_log", {"tenant_id"}, {}, set()),
}
"""What each API model of a stored entity shows of its table."""


def test_the_api_shows_every_stored_column_but_the_declared_exclusions(
    repo: Repository, clock: ManualClock
) -> None:
    app: FastAPI = create_app(repo, clock)
    schemas = app.openapi()["components"]["schemas"]
    tables = inspect(repo.engine)
    for name, (table, left_out, renamed, api_only) in API_VIEWS.items():
        columns = {column["name"] for column in tables.get_columns(table)}
        hidden = {column for where, column in STORE_ONLY_COLUMNS if where == table}
        stored = {renamed.get(c, c) for c in columns - hidden - left_out}
        assert set(schemas[name]["properties"]) == stored | api_only, name


def test_an_api_keys_stored_hash_is_in_no_answer_of_the_admin_routes(
    api: AsgiClient, repo: Repository
) -> None:
    admin = api.with_key(repo.create_api_key("acme", "admin", "ops").plaintext)
    created = admin.post("/v1/admin/keys", json={"role": "trader", "name": "desk 9"})
    listed = admin.get("/v1/admin/keys")
    with repo.engine.connect() as connection:
        hashes = (
            connection.execute(text("SELECT secret_sha256 FROM api_keys WHERE tenant_id='acme'"))
            .scalars()
            .all()
        )

    assert created.status_code == 201, created.text
    assert listed.status_code == 200, listed.text
    assert len(hashes) == len(listed.json()) == 4  # trader, analyst, ops, desk 9
    for answer in (created.text, listed.text):
        assert not any(digest in answer for digest in hashes)
        assert "secret" not in answer
