"""The writer's driver-level INSERT stores exactly what the ORM would: the same rows read
back, whatever path wrote them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from trading.store import Repository, bulk
from trading.store.bulk import PIPELINE_ROWS, RowConverter, insert_rows, insert_tables, new_ids
from trading.store.models import AuditRow, TenantRow


def _rows(tenant: str, subject: str) -> list[dict[str, object]]:
    berlin_winter = timezone(timedelta(hours=1))
    return [
        {
            "at": datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=UTC),
            "tenant_id": tenant,
            "key_id": None,
            "role": None,
            "action": "bid.create",
            "subject": subject,
            "details": {"price": 42.5, "nested": {"text": "Zürich ✓"}, "list": [1, None]},
        },
        {
            "at": datetime(2026, 10, 25, 2, 30, tzinfo=berlin_winter),  # stored as 01:30 UTC
            "tenant_id": tenant,
            "key_id": None,
            "role": None,
            "action": "bid.create",
            "subject": subject,
            "details": None,
        },
    ]


def _read(repo: Repository, subject: str) -> list[tuple[object, ...]]:
    with repo.engine.connect() as connection:
        found = connection.execute(
            select(AuditRow.at, AuditRow.action, AuditRow.details, AuditRow.details.is_(None))
            .where(AuditRow.subject == subject)
            .order_by(AuditRow.id)
        )
        return [tuple(row) for row in found]


def test_rows_written_by_the_driver_path_read_back_as_the_orm_wrote_them(
    repo: Repository, tenant: str
) -> None:
    with repo.engine.begin() as connection:
        connection.execute(insert(AuditRow), _rows(tenant, "through-orm"))
        insert_rows(connection, AuditRow.__table__, _rows(tenant, "through-driver"))
    orm, driver = _read(repo, "through-orm"), _read(repo, "through-driver")
    assert driver == orm
    assert driver[1][0] == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert driver[0][2] == {"price": 42.5, "nested": {"text": "Zürich ✓"}, "list": [1, None]}


def test_a_column_the_table_lacks_is_named(repo: Repository, tenant: str) -> None:
    rows = [{**_rows(tenant, "x")[0], "colour": "red"}]
    with repo.engine.begin() as connection, pytest.raises(KeyError, match="colour"):
        insert_rows(connection, AuditRow.__table__, rows)


def test_new_ids_are_distinct_version_7_uuids_in_ascending_order() -> None:
    """Time-ordered ids: the indexes they key are appended to, not written all over."""
    ms = 1_796_000_000_000  # December 2026
    ids = new_ids(5000, now_ms=ms)
    assert len(set(ids)) == 5000
    parsed = [uuid.UUID(i) for i in ids]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    assert all(u.int >> 80 == ms for u in parsed)
    assert ids == sorted(ids)
    later = new_ids(3, now_ms=ms + 1)
    assert min(later) > max(ids)
    assert new_ids(3, now_ms=ms) != new_ids(3, now_ms=ms)  # random within the millisecond


@pytest.mark.parametrize("pipeline_rows", [0, PIPELINE_ROWS])
def test_tables_inserted_together_store_every_row_and_report_a_broken_constraint(
    repo: Repository, tenant: str, pipeline_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group's tables go in together (on PostgreSQL one pipeline when small, else COPY
    per table); a broken constraint is an `IntegrityError` and leaves nothing stored."""
    monkeypatch.setattr(bulk, "PIPELINE_ROWS", pipeline_rows)
    table = TenantRow.__table__
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [{"id": f"t-{i}", "name": f"T{i}", "created_at": at} for i in range(3)]
    audit = _rows("t-1", "together")
    with repo.engine.begin() as connection:
        tenants = RowConverter(table, tuple(rows[0]), connection.dialect)
        entries = RowConverter(AuditRow.__table__, tuple(audit[0]), connection.dialect)
        insert_tables(
            connection,
            [
                (tenants, [tenants.values(r) for r in rows]),
                (entries, [entries.values(a) for a in audit]),
            ],
        )
    with repo.engine.connect() as connection:
        stored = connection.scalars(select(TenantRow.id).where(TenantRow.id.like("t-%")))
        assert sorted(stored) == ["t-0", "t-1", "t-2"]
        subjects = select(AuditRow.subject).where(AuditRow.subject == "together")
        assert len(connection.scalars(subjects).all()) == 2
    twice = {"id": "t-twice", "name": "Twice", "created_at": at}
    tenants = RowConverter(table, tuple(twice), repo.engine.dialect)
    both = [(tenants, [tenants.values(twice), tenants.values(twice)])]
    with pytest.raises(IntegrityError), repo.engine.begin() as connection:
        insert_tables(connection, both)
    with repo.engine.connect() as connection:
        assert connection.scalar(select(TenantRow.id).where(TenantRow.id == "t-twice")) is None


def test_a_broken_constraint_is_reported_as_sqlalchemy_reports_it(
    repo: Repository, tenant: str
) -> None:
    """The writer retries a group on `IntegrityError`: the driver path must raise that too."""
    row = {"id": "t-dup", "name": "Twice", "created_at": datetime(2026, 1, 1, tzinfo=UTC)}
    with pytest.raises(IntegrityError), repo.engine.begin() as connection:
        insert_rows(connection, TenantRow.__table__, [row, row])
    with repo.engine.connect() as connection:
        assert connection.scalar(select(TenantRow.id).where(TenantRow.id == "t-dup")) is None
