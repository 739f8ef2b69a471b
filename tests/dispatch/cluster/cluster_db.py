"""A migrated lease table on SQLite, and on PostgreSQL where 127.0.0.1:5432 answers (each
PostgreSQL test in a schema of its own). Imported by the cluster tests (not a conftest)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from dispatch.cluster.leases import PartitionLeases
from trading.store import upgrade
from trading.store.engine import create_engine_for
from trading.store.models import PartitionLeaseRow

PG_URL = os.environ.get("VPP_TEST_POSTGRES_URL") or (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres]),
]


def migrated_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database migrated to the newest revision; the PostgreSQL schema is dropped
    afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'leases.sqlite3'}"
        upgrade(url)
        yield url
        return
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = (
            sa.make_url(PG_URL)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
        upgrade(url)
        yield url
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


def leases_on(url: str) -> PartitionLeases:
    """Lease operations on the database at `url` (its own engine)."""
    return PartitionLeases(create_engine_for(url), PartitionLeaseRow.__table__)
