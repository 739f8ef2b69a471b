"""Engines and sessions: SQLite by default, PostgreSQL by URL.

Which database, in order:

1. the `url` argument;
2. the environment variable ``VPP_DB_URL``;
3. an SQLite file in the user's data directory, ``$XDG_DATA_HOME/vpp-engine/vpp.sqlite3``
   (``~/.local/share/vpp-engine/vpp.sqlite3`` when ``XDG_DATA_HOME`` is unset;
   ``%LOCALAPPDATA%\\vpp-engine\\vpp.sqlite3`` on Windows). The folder is created if absent.
   A data directory rather than the working directory, so that the books do not depend on
   where the server was started from.

A new SQLite file is created readable and writable by its owner only (mode 0600).
Every SQLite connection gets WAL journaling (readers never wait for the writer),
``foreign_keys=ON``, ``synchronous=FULL`` (a committed bid survives a power cut) and a
busy timeout; transactions are started by SQLAlchemy with ``BEGIN``, or
``BEGIN IMMEDIATE`` for writes (see `WRITE`), so a write never fails half-way because
another connection wrote first. PostgreSQL connections use psycopg 3 with the session
time zone set to UTC.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL, Connection
from sqlalchemy.orm import Session, sessionmaker

from trading.settings import VppSettings
from trading.store.errors import invalid

DB_URL_ENV = "VPP_DB_URL"
"""Environment variable naming the database URL when none is passed."""

DEFAULT_BUSY_TIMEOUT_S = 10.0
"""How long an SQLite connection waits for another writer before giving up [s]."""

WRITE = "vpp_store_write"
"""Execution option marking a write transaction; on SQLite it begins ``BEGIN IMMEDIATE``."""

SUPPORTED = "sqlite:///<path>, postgresql+psycopg://user@host:port/database"


def default_database_path() -> Path:
    """Where the default SQLite database lives (see the module docstring)."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "vpp-engine" / "vpp.sqlite3"


def database_url(url: str | None = None) -> URL:
    """The URL to use: `url`, else ``$VPP_DB_URL``, else the default SQLite file.

    ``postgresql://`` and ``postgres://`` mean psycopg 3 (``postgresql+psycopg://``).
    Raises `InvalidInputError` for anything but SQLite or PostgreSQL.
    """
    text = url or VppSettings.from_environ().db_url
    if not text:
        path = default_database_path()
        return URL.create("sqlite", database=str(path))
    try:
        parsed = make_url(text)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError, ValueError
        raise invalid("database", "url", text, f"is not a database URL ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "postgres" or (backend == "postgresql" and parsed.drivername == "postgresql"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        return parsed
    shown = parsed.render_as_string(hide_password=True)
    raise invalid("database", "url", shown, f"is not supported; use {SUPPORTED}")


def create_engine_for(
    url: str | None = None, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S, echo: bool = False
) -> Engine:
    """An engine for `url` (see `database_url`), configured as the module docstring says.

    `busy_timeout_s` [s] bounds how long an SQLite connection waits for the write lock.
    """
    target = database_url(url)
    if target.get_backend_name() == "sqlite":
        return _sqlite_engine(target, busy_timeout_s, echo)
    return _postgres_engine(target, echo)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on `engine`; objects stay readable after commit (`expire_on_commit=False`)."""
    return sessionmaker(engine, expire_on_commit=False)


DB_FILE_MODE = 0o600
"""Permissions of a new SQLite database file: the owner's alone (it holds key hashes and
every tenant's books); SQLite gives its -wal and -shm files the same."""


def _sqlite_engine(url: URL, busy_timeout_s: float, echo: bool) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        path = Path(url.database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _create_private(path)
    engine = create_engine(url, echo=echo, connect_args={"timeout": busy_timeout_s})
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the sqlite3 module, emits BEGIN (see `_begin`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _create_private(path: Path) -> None:
    """Create `path` empty with `DB_FILE_MODE` unless it exists (SQLite fills it on connect)."""
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, DB_FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)


def _postgres_engine(url: URL, echo: bool) -> Engine:
    given = url.query.get("options", ())
    given = (given,) if isinstance(given, str) else given
    options = " ".join((*given, "-c timezone=UTC"))
    url = url.difference_update_query(["options"])
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args={"options": options})
