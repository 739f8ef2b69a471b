"""Many rows into one table with one driver call: the bid writer's hot path.

SQLAlchemy's ORM bulk insert spends most of its time per row and per parameter in Python
(building parameter dictionaries, caching keys, applying each column's conversion). A
group commit of a busy desk inserts thousands of rows a second into four tables, so
`insert_rows` compiles each table's INSERT once per dialect and column set, applies the
columns' own bind conversions (the same `TypeEngine.bind_processor` functions SQLAlchemy
uses, so a value is stored exactly as through the ORM: aware datetimes as UTC, JSON as
text or JSONB) in one tight loop, and hands the rows to the driver: sqlite3's
``executemany`` (a C loop), or PostgreSQL's ``COPY`` through psycopg. The conversion
(`RowConverter`) and the insert (`insert_values`) can also be called apart, so that a
writer converts a large batch before its transaction and holds the write lock only for
the driver's part.

On SQLite a converted batch can also be parked ahead of its transaction (`park_values`):
its values go into a temporary table of the connection, which takes no lock on the
database, and the transaction copies them in with one ``INSERT ... SELECT``
(`insert_parked`), run by SQLite alone without the interpreter lock or a Python loop per
row. The write lock, which every other writer waits for, is then held for SQLite's own
b-tree work and the commit.

Only for plain INSERTs of values the caller gives: Python-side column defaults do not
fire, so every column without a server default must be in the rows (an autoincrement
primary key may be left out).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from trading.pacing import pace

_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _CompiledInsert:
    sql: str
    columns: tuple[str, ...]
    """Parameter order of `sql`: column names."""
    processors: tuple[_Processor, ...]


_COMPILED: dict[tuple[str, str, tuple[str, ...]], _CompiledInsert] = {}


def _compiled(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _CompiledInsert:
    key = (dialect.name, table.name, columns)
    found = _COMPILED.get(key)
    if found is None:
        unknown = [name for name in columns if name not in table.c]
        if unknown:
            raise KeyError(f"table {table.name} has no column(s) {', '.join(unknown)}")
        statement = insert(table).compile(dialect=dialect, column_keys=list(columns))
        order = tuple(statement.positiontup or ()) if statement.positional else columns
        processors = tuple(
            table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order
        )
        found = _CompiledInsert(statement.string, order, processors)
        _COMPILED[key] = found
    return found


class RowConverter:
    """Rows of one table (column name -> value, every row with the same columns) turned
    into the driver's values, column by column as SQLAlchemy would bind them.

    A converter remembers the conversion of each time value it met (see `_memoised`): make
    one per group of rows, not one for the life of the process. Converting is the Python
    half of an insert; a writer can do it before its transaction begins (`values`) and
    hand the values to `insert_values` inside it.
    """

    def __init__(self, table: Table, columns: Sequence[str], dialect: Dialect) -> None:
        self.table = table
        self.compiled = _compiled(table, tuple(columns), dialect)
        self._steps = tuple(
            zip(self.compiled.columns, map(_memoised, self.compiled.processors), strict=True)
        )

    def values(self, row: Mapping[str, Any]) -> list[Any]:
        """`row`'s values in the INSERT's parameter order, converted for the driver."""
        return [convert(row[name]) for name, convert in self._steps]


def insert_values(
    connection: Connection, converter: RowConverter, values: Sequence[Sequence[Any]]
) -> None:
    """INSERT rows converted by `converter` into its table in `connection`'s transaction:
    one ``executemany``, or on PostgreSQL one ``COPY``."""
    if not values:
        return
    compiled = converter.compiled
    if connection.dialect.name == "postgresql":
        _copy(connection, converter.table, compiled.columns, values)
    else:  # SQLite: positional parameters, in `compiled.columns` order
        connection.exec_driver_sql(compiled.sql, [tuple(v) for v in values])


PIPELINE_ROWS = 256
"""On PostgreSQL, tables of at most this many rows in all are inserted together in one
pipeline (`insert_tables`): one round trip to the server instead of two per table."""


def insert_tables(
    connection: Connection, tables: Sequence[tuple[RowConverter, Sequence[Sequence[Any]]]]
) -> None:
    """INSERT each table's converted rows, in the order given, in `connection`'s
    transaction. On PostgreSQL a few rows in all (`PIPELINE_ROWS`) go as one pipeline of
    ``executemany`` (a small group commit then waits for one round trip, not a ``COPY``'s
    two per table); more go by ``COPY``, table by table (`insert_values`)."""
    tables = [(converter, values) for converter, values in tables if values]
    if not tables:
        return
    rows = sum(len(values) for _, values in tables)
    if connection.dialect.name != "postgresql" or rows > PIPELINE_ROWS:
        for converter, values in tables:
            insert_values(connection, converter, values)
        return
    driver = connection.dialect.loaded_dbapi
    raw = connection.connection.driver_connection  # type: ignore[union-attr]
    statement = ""
    try:
        with raw.pipeline(), raw.cursor() as cursor:
            for converter, values in tables:
                statement = _positional_insert(connection, converter)
                cursor.executemany(statement, values)
    except driver.Error as exc:  # as SQLAlchemy reports it (IntegrityError, OperationalError...)
        raise DBAPIError.instance(statement, None, exc, driver.Error) from exc


def _positional_insert(connection: Connection, converter: RowConverter) -> str:
    """``INSERT INTO t (c1, ...) VALUES (%s, ...)`` in `converter`'s column order."""
    quote = connection.dialect.identifier_preparer.quote
    columns = converter.compiled.columns
    return (
        f"INSERT INTO {quote(converter.table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (column name -> value; every row with the same columns) into `table`
    in `connection`'s transaction: one ``executemany``, or on PostgreSQL one ``COPY``."""
    if not rows:
        return
    converter = RowConverter(table, tuple(rows[0]), connection.dialect)
    insert_values(connection, converter, [converter.values(row) for row in rows])


def park_values(
    driver_connection: Any, converter: RowConverter, values: Sequence[Sequence[Any]]
) -> str:
    """SQLite: rows converted by `converter` into a new temporary table of
    `driver_connection` (a ``sqlite3.Connection`` outside any transaction of the database),
    whose name is returned; see `insert_parked`, `drop_parked`.

    The table's columns have no declared type, so SQLite keeps each value as bound, and the
    ``INSERT ... SELECT`` applies the real columns' affinities exactly as binding would.
    """
    name = f"vpp_parked_{uuid.uuid4().hex}"
    columns = converter.compiled.columns
    slots = ", ".join("?" * len(columns))
    driver_connection.execute(f'CREATE TEMP TABLE "{name}" ({", ".join(map(_quoted, columns))})')
    driver_connection.executemany(f'INSERT INTO temp."{name}" VALUES ({slots})', values)
    return name


def insert_parked(
    connection: Connection,
    converter: RowConverter,
    name: str,
    span: tuple[int, int] | None = None,
) -> None:
    """INSERT the rows parked in temporary table `name` (`park_values`, on this connection)
    into `converter`'s table, in `connection`'s transaction, with one statement.
    `span` (first, end): only the rows parked at positions first <= i < end (from 0)."""
    columns = ", ".join(map(_quoted, converter.compiled.columns))
    where = "" if span is None else f" WHERE rowid > {int(span[0])} AND rowid <= {int(span[1])}"
    connection.exec_driver_sql(
        f"INSERT INTO main.{_quoted(converter.table.name)} ({columns}) "
        f'SELECT {columns} FROM temp."{name}"{where} ORDER BY rowid'
    )


def drop_parked(driver_connection: Any, name: str) -> None:
    """Drop the temporary table `name` of `park_values` (outside any transaction)."""
    driver_connection.execute(f'DROP TABLE IF EXISTS temp."{name}"')


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _copy(
    connection: Connection, table: Table, columns: Sequence[str], values: Sequence[Sequence[Any]]
) -> None:
    """The rows through PostgreSQL's ``COPY ... FROM STDIN`` (psycopg writes each row in C;
    its pipelined ``executemany`` spends a tenth of a millisecond of Python per row)."""
    quote = connection.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    driver = connection.dialect.loaded_dbapi
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor, cursor.copy(sql) as copy:
            for row in values:
                copy.write_row(row)
                pace()
    except driver.Error as exc:  # as SQLAlchemy reports it (IntegrityError, OperationalError...)
        raise DBAPIError.instance(sql, None, exc, driver.Error) from exc


def _memoised(processor: _Processor) -> Callable[[Any], Any]:
    """`processor` (None: the identity), remembering its answer for values a group repeats:
    time values and tuples by value (the rows of one group share a handful of instants and
    rule-id lists), mappings and lists by identity (one validation mapping serves every bid
    of a product, see `trading.store.inputs`), so each is converted (JSON: serialised) once.
    A mapping or list is held while remembered, so that its id is not reused meanwhile."""
    if processor is None:
        return _same
    by_value: dict[Any, Any] = {}
    by_identity: dict[int, tuple[Any, Any]] = {}

    def convert(value: Any) -> Any:
        kind = type(value)
        if kind in _BY_VALUE:
            try:
                return by_value[value]
            except KeyError:
                by_value[value] = result = processor(value)
                return result
            except TypeError:  # a tuple holding something unhashable
                return processor(value)
        if kind in _BY_IDENTITY:
            held = by_identity.get(id(value))
            if held is not None and held[0] is value:
                return held[1]
            result = processor(value)
            by_identity[id(value)] = (value, result)
            return result
        return processor(value)

    return convert


def _same(value: Any) -> Any:
    return value


_BY_VALUE = frozenset({datetime, date, tuple})
_BY_IDENTITY = frozenset({dict, list})


def new_ids(count: int, *, now_ms: int | None = None) -> list[str]:
    """`count` new ids, ascending: UUIDs of version 7 (RFC 9562) as text.

    Each holds the Unix time in milliseconds (`now_ms`, default the system's) in its first
    48 bits and 74 bits that start at a random value and count up through the call, so the
    ids of one call are in ascending order, and ids made later sort after earlier ones.
    Ids as primary keys and in the indexes of events and audit entries are then appended
    at the end of each b-tree instead of landing at random pages all over it (the pages a
    transaction dirties, writes to the WAL and syncs grow with the table otherwise). One
    read of the system's randomness per call.
    """
    stamp = (time.time_ns() // 1_000_000 if now_ms is None else now_ms) & _MS_MASK
    start = int.from_bytes(os.urandom(10)) & _START_MASK  # headroom: + count never carries
    head = (stamp << 80) | (0x7 << 76)
    return [_v7_text(head, start + i) for i in range(count)]


_MS_MASK = (1 << 48) - 1
_START_MASK = (1 << 73) - 1
_RAND_B_BITS = 62
_VARIANT = 0b10 << _RAND_B_BITS


def _v7_text(head: int, counter: int) -> str:
    """The UUID text of version-7 `head` (time and version bits) with `counter`'s 74 bits
    split around the variant bits."""
    rand_a = counter >> _RAND_B_BITS
    rand_b = counter & ((1 << _RAND_B_BITS) - 1)
    value = head | (rand_a << 64) | _VARIANT | rand_b
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
