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

Only for plain INSERTs of values the caller gives: Python-side column defaults do not
fire, so every column without a server default must be in the rows (an autoincrement
primary key may be left out).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

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


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (column name -> value; every row with the same columns) into `table`
    in `connection`'s transaction: one ``executemany``, or on PostgreSQL one ``COPY``."""
    if not rows:
        return
    converter = RowConverter(table, tuple(rows[0]), connection.dialect)
    insert_values(connection, converter, [converter.values(row) for row in rows])


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
    except driver.Error as exc:  # as SQLAlchemy reports it (IntegrityError, OperationalError...)
        raise DBAPIError.instance(sql, None, exc, driver.Error) from exc


def _memoised(processor: _Processor) -> Callable[[Any], Any]:
    """`processor` (None: the identity), remembering its answer for each time value: the
    rows of one group share a handful of instants (accepted at, delivery start, gate)."""
    if processor is None:
        return _same
    done: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if type(value) not in _REPEATED:
            return processor(value)
        try:
            return done[value]
        except KeyError:
            done[value] = result = processor(value)
            return result

    return convert


def _same(value: Any) -> Any:
    return value


_REPEATED = (datetime, date)


def new_ids(count: int) -> list[str]:
    """`count` random UUIDs (version 4) as text, from one read of the system's randomness
    (one `uuid.uuid4` reads it once per id, which costs a system call each)."""
    pool = os.urandom(16 * count)
    return [str(uuid.UUID(bytes=pool[16 * i : 16 * i + 16], version=4)) for i in range(count)]
