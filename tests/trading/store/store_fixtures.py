"""Fixtures of the store tests: every test runs on SQLite, and on PostgreSQL wherever
127.0.0.1:5432 answers (``VPP_TEST_POSTGRES_URL`` only overrides the URL; each PostgreSQL
test in a schema of its own; `tests/conftest.py` skips them, saying so, where the server
does not answer).

Test modules import the fixtures they use from here. This is not a ``conftest.py``: the
test folders have no ``__init__.py``, so a second ``conftest`` module would shadow
``tests/conftest.py`` for the modules that import from it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from trading.store import Repository, upgrade

__all__ = ["db_url", "pg_url", "repo", "tenant"]

PG_URL = os.environ.get("VPP_TEST_POSTGRES_URL") or (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=[pytest.mark.postgres],
    ),
]


def _schema_url(url: str, schema: str) -> str:
    """`url` with the session's search_path set to `schema` only."""
    parsed = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


@contextmanager
def _empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield _schema_url(PG_URL, schema)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: an SQLite file in `tmp_path`, or a fresh PostgreSQL schema."""
    with _empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=BACKENDS[1:])
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty PostgreSQL schema, for what only PostgreSQL does."""
    with _empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def repo(db_url: str) -> Iterator[Repository]:
    """A repository on a database migrated to the newest revision."""
    upgrade(db_url)
    repository = Repository.from_url(db_url)
    try:
        yield repository
    finally:
        repository.close()


@pytest.fixture
def tenant(repo: Repository) -> str:
    """The id of a tenant that exists."""
    return repo.create_tenant("acme", "Acme Trading").id
