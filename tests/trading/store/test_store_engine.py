"""Engines: which database by default, and the settings of every SQLite connection."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from trading.store import (
    InvalidInputError,
    Repository,
    create_engine_for,
    database_url,
    default_database_path,
    upgrade,
)


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'x.sqlite3'}", busy_timeout_s=2.5)
    try:
        with engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 2500
            assert pragma("synchronous") == 2  # FULL
    finally:
        engine.dispose()


def test_wal_mode_is_on_for_a_migrated_database(tmp_path: Path) -> None:
    path = tmp_path / "books.sqlite3"
    repo = Repository.from_url(f"sqlite:///{path}")
    try:
        upgrade(f"sqlite:///{path}")
        repo.create_tenant("acme", "Acme")
        with repo.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert Path(f"{path}-wal").exists()
    finally:
        repo.close()
    # WAL is a property of the file: a plain sqlite3 connection sees it too.
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_foreign_keys_are_enforced(repo) -> None:
    with pytest.raises(sa.exc.IntegrityError), repo.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO api_keys (id, tenant_id, role, name, secret_sha256, created_at) "
            "VALUES ('k1', 'nobody', 'trader', 'x', 'h', '2026-01-01 00:00:00')"
        )


def test_default_url_comes_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VPP_DB_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    assert database_url().database == str(tmp_path / "env.sqlite3")


def test_default_url_is_a_file_in_the_user_data_directory(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VPP_DB_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    expected = tmp_path / "vpp-engine" / "vpp.sqlite3"
    assert default_database_path() == expected
    assert database_url().database == str(expected)
    engine = create_engine_for()
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()
    assert expected.exists()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_plain_postgres_urls_mean_psycopg(scheme: str) -> None:
    url = database_url(f"{scheme}://u@db:5432/vpp")
    assert url.drivername == "postgresql+psycopg"


def test_unsupported_databases_are_refused_by_name() -> None:
    with pytest.raises(InvalidInputError) as caught:
        database_url("mysql://root:secret@db/vpp")
    message = str(caught.value)
    assert "url=" in message
    assert "is not supported" in message
    assert "secret" not in message


def test_postgres_sessions_run_in_utc(pg_url: str) -> None:
    engine = create_engine_for(pg_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW timezone").scalar() == "UTC"
            assert connection.exec_driver_sql("SHOW search_path").scalar().startswith("test_")
    finally:
        engine.dispose()


def test_a_new_sqlite_file_is_private_to_its_owner(tmp_path) -> None:
    import stat

    from trading.store import upgrade

    path = tmp_path / "fresh" / "books.sqlite3"
    upgrade(f"sqlite:///{path}")
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:  # a write: the -wal file exists meanwhile
            connection.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
            wal = path.with_name(path.name + "-wal")
            assert stat.S_IMODE(wal.stat().st_mode) & 0o077 == 0
    finally:
        engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
