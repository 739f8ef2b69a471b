"""Aware datetimes go in and come out equal, in UTC, on SQLite and PostgreSQL; naive ones never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from store_factories import single
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from trading.store import Actor, InvalidInputError, Repository, create_engine_for
from trading.store.timestamps import NaiveDatetimeError, UTCDateTime, as_utc

MOMENTS = [
    datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),  # last microsecond before DST
    datetime(2026, 3, 29, 3, 0, tzinfo=ZoneInfo("Europe/Berlin")),  # first after DST
    datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")),  # repeated hour
    datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-5))),
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=14))),
]


def _table() -> sa.Table:
    return sa.Table(
        "moments",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=True),
    )


@pytest.fixture
def moments_engine(db_url: str):
    engine = create_engine_for(db_url)
    table = _table()
    table.metadata.create_all(engine)
    yield engine, table
    engine.dispose()


def test_aware_datetimes_round_trip_as_utc(moments_engine) -> None:
    engine, table = moments_engine
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"id": i, "at": m} for i, m in enumerate(MOMENTS)])
        connection.execute(table.insert(), [{"id": 99, "at": None}])
    with engine.connect() as connection:
        rows = dict(connection.execute(sa.select(table.c.id, table.c.at)).all())
    assert rows.pop(99) is None
    for index, moment in enumerate(MOMENTS):
        back = rows[index]
        # PEP 495: a fold=1 time never equals one in another zone; compare in UTC.
        assert back == moment.astimezone(UTC), (moment, back)
        assert back.tzinfo is UTC
        assert back.utcoffset() == timedelta(0)


def test_comparisons_in_sql_follow_time_order(moments_engine) -> None:
    engine, table = moments_engine
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"id": i, "at": m} for i, m in enumerate(MOMENTS)])
    cutoff = datetime(2026, 1, 1, 17, 0, 0, 123456, tzinfo=UTC)  # == MOMENTS[3]
    with engine.connect() as connection:
        later = connection.execute(
            sa.select(table.c.id).where(table.c.at >= cutoff).order_by(table.c.at)
        ).scalars()
        assert list(later) == [3, 0, 1, 2]


def test_sqlite_stores_fixed_width_utc_text(tmp_path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 't.sqlite3'}")
    table = _table()
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"id": 1, "at": MOMENTS[1]}])
        raw = connection.exec_driver_sql("SELECT CAST(at AS TEXT) FROM moments").scalar()
    engine.dispose()
    assert raw == "2026-03-29 01:00:00.000000"


def test_naive_datetimes_are_refused(moments_engine) -> None:
    engine, table = moments_engine
    with pytest.raises(sa.exc.StatementError) as caught, engine.begin() as connection:
        connection.execute(table.insert(), [{"id": 1, "at": datetime(2026, 1, 1, 12)}])
    assert isinstance(caught.value.orig, NaiveDatetimeError)
    with pytest.raises(NaiveDatetimeError, match="has no time zone"):
        as_utc(datetime(2026, 1, 1), "cleared_at")


def test_stored_rows_come_back_aware_in_utc(repo: Repository, tenant: str) -> None:
    bid_id = repo.add_bids(tenant, None, [single(0, status="submitted")], "k").bid_ids[0]
    cleared_at = datetime(2026, 3, 1, 12, 42, 7, 250000, tzinfo=ZoneInfo("Europe/Berlin"))
    clearing = repo.record_clearing(
        bid_id,
        Actor.system(tenant),
        status="accepted",
        cleared_volume_mw=1.0,
        clearing_price=42.0,
        remuneration_price=42.0,
        cleared_at=cleared_at,
    )
    bid = repo.get_bid(tenant, bid_id)
    assert bid is not None
    assert clearing.cleared_at == cleared_at
    assert clearing.cleared_at.tzinfo is UTC
    stored = repo.get_clearing(tenant, bid_id)
    assert stored is not None
    assert stored.cleared_at == cleared_at
    assert stored.cleared_at.tzinfo is UTC
    for moment in (bid.delivery_start, bid.gate_closure, bid.created_at, bid.updated_at):
        assert moment.tzinfo is UTC
    assert bid.delivery_start == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def test_naive_datetimes_in_repository_calls_name_the_field(repo: Repository, tenant: str) -> None:
    bid_id = repo.add_bids(tenant, None, [single(0, status="submitted")], "k").bid_ids[0]
    with pytest.raises(InvalidInputError, match=r"cleared_at=.*has no time zone"):
        repo.record_clearing(
            bid_id,
            Actor.system(tenant),
            status="rejected",
            cleared_volume_mw=0,
            clearing_price=None,
            remuneration_price=None,
            cleared_at=datetime(2026, 3, 1, 12),
        )
