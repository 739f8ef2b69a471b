"""Which of many names a tenant already holds under a unique (tenant_id, name) index.

The bid writer asks this of every group it commits: which of the group's ``bid_id``\\ s,
and which of its idempotency keys, are taken. Asked as ``tenant_id = :t AND name IN
(...)``, PostgreSQL plans from its statistics, and those of a tenant that has just grown
(a new tenant, or any in the minute before autovacuum's next ``ANALYZE``) say it holds a
handful of rows: the planner then reads every row of the tenant through the index's first
column and filters the names, a look-up that grows with the tenant (measured: 11-23 ms of
a 4 x 8-bid group commit's 45-65 ms once the tenant held a few thousand bids, under
load 12). `held_ids` asks for each name on its own (``unnest`` and a ``LATERAL`` probe
with ``LIMIT 1``, which the planner cannot flatten into that scan): one probe of the
unique index per name, whatever the statistics. It is run unprepared, planned for its
values each time: psycopg prepares a statement on the server from its fifth run, and
PostgreSQL then plans it once for any parameters whenever that looks no dearer; the plan
it kept, made while a new tenant held a few bids, took the (tenant_id, product_id) index
and read every bid of the tenant for each name (39-66 ms a group, against 0.2 ms planned
for the values). SQLite's planner uses both columns of the index as it is, so there the
plain ``IN`` stays.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Table, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


def held_ids(
    session: Session, table: Table, column: str, tenant_id: str, names: Collection[str]
) -> list[str]:
    """The ids of `table`'s rows of `tenant_id` whose `column` is one of `names` (at most one
    each: `table` has a unique index on ``(tenant_id, column)``), in no particular order."""
    if not names:
        return []
    wanted = sorted(names)
    if session.get_bind().dialect.name != "postgresql":
        query = select(table.c.id).where(
            table.c.tenant_id == tenant_id, table.c[column].in_(wanted)
        )
        return list(session.scalars(query))
    connection = session.connection()
    statement = probe_sql(connection.dialect, table, column, "%(names)s", "%(tenant)s")
    driver = connection.dialect.loaded_dbapi
    raw = connection.connection.driver_connection  # type: ignore[union-attr]
    try:  # planned for these values each time, never prepared (see the module's docstring)
        rows = raw.execute(statement, {"names": wanted, "tenant": tenant_id}, prepare=False)
        return [row[0] for row in rows.fetchall()]
    except driver.Error as exc:  # as SQLAlchemy reports it (DataError, OperationalError...)
        raise DBAPIError.instance(statement, None, exc, driver.Error) from exc


def probe_sql(dialect: Dialect, table: Table, column: str, names: str, tenant: str) -> str:
    """PostgreSQL: the SQL of `held_ids`, its parameters written as `names` (an array of
    text) and `tenant`: one ``LIMIT 1`` probe of the unique index per name."""
    quote = dialect.identifier_preparer.quote
    return (
        f"SELECT held.id FROM unnest(CAST({names} AS text[])) AS wanted(name) "
        f"CROSS JOIN LATERAL (SELECT candidate.id FROM {quote(table.name)} AS candidate "
        f"WHERE candidate.tenant_id = {tenant} "
        f"AND candidate.{quote(column)} = wanted.name LIMIT 1) AS held"
    )
