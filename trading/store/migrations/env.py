"""Alembic environment of the store; run through `trading.store.migrate`, never a CWD ini.

The database URL comes from ``config.attributes["url"]`` (set by `trading.store.migrate`).
An upgrade or downgrade runs in one transaction on both backends, and two processes
migrating the same database at once (a server and `vpp keys create` started together) take
turns: on SQLite the transaction begins ``BEGIN IMMEDIATE`` (the second waits for the write
lock, then finds the schema at head), on PostgreSQL it first takes a transaction-scoped
advisory lock. Migrations are
rendered in batch mode so that ALTERs work on SQLite too. On SQLite,
foreign keys are switched off while migrating (a batch ALTER copies and drops tables,
and dropping a referenced table with foreign keys on would cascade or fail), checked
with ``PRAGMA foreign_key_check`` before commit, and switched back on afterwards.
"""

from __future__ import annotations

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import JSON, Connection

import trading.store.models  # noqa: F401 - registers every table on the metadata
from trading.store.base import Base
from trading.store.engine import WRITE, create_engine_for, database_url
from trading.store.timestamps import UTCDateTime

MIGRATION_LOCK_ID = 0x7670705F6D6967  # "vpp_mig": the PostgreSQL advisory lock of migrations

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | bool:
    """Render the store's own column types as plain SQLAlchemy, so that a generated
    migration never imports the application (its models change; migrations must not)."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, JSON) and "postgresql" in getattr(obj, "_variant_mapping", {}):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        **kwargs,
    )


def run_offline() -> None:
    """Write the migration SQL instead of running it (``--sql``)."""
    _configure(url=database_url(config.attributes.get("url")), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate the database at ``config.attributes["url"]``, in one transaction."""
    engine = create_engine_for(config.attributes.get("url"))
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                _run_sqlite(connection)
            else:
                _run(connection)
    finally:
        engine.dispose()


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        context.run_migrations()


def _run_sqlite(connection: Connection) -> None:
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction: effective
    connection.execution_options(**{WRITE: True})  # BEGIN IMMEDIATE: migrations take turns
    try:
        # SQLAlchemy emits BEGIN itself (see trading.store.engine), which makes SQLite's DDL
        # transactional; Alembic assumes otherwise for SQLite unless told.
        _configure(connection=connection, transactional_ddl=True)
        with context.begin_transaction():
            context.run_migrations()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left rows with dangling foreign keys: {broken}")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_offline()
else:
    run_online()
