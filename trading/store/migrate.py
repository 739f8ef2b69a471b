"""Run the store's Alembic migrations from code: no alembic.ini, no dependence on the CWD.

    upgrade(url)                 # an empty or older database -> the newest schema
    downgrade(url, "base")       # back to empty (every migration has a downgrade)
    current_revision(url)        # where a database is; None if never migrated
    schema_diff(url)             # what autogenerate sees between the database and the models

From a shell: ``python -m trading.store [--url URL] COMMAND``, COMMAND one of
``upgrade [REV] [--sql]``, ``downgrade REV [--sql]`` (``--sql`` prints the SQL and runs
nothing), ``current``, ``heads``, ``revision -m MESSAGE --rev-id NNNN [--autogenerate]``
(writes a new file into ``trading/store/migrations/versions/``; see docs/migrations.md).
`url` defaults as in `trading.store.engine.database_url`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import trading.store.models  # noqa: F401 - registers every table on the metadata
from trading.store.base import Base
from trading.store.engine import create_engine_for

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""The Alembic script directory, inside the package (shipped in the wheel)."""


def alembic_config(url: str | None = None) -> Config:
    """An Alembic `Config` for the store's migrations and the database at `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["url"] = url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision` (default: the newest)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None, revision: str) -> None:
    """Migrate the database at `url` down to `revision` (``"base"``: no tables left)."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The newest revision the package ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(url: str | None = None) -> str | None:
    """The revision the database at `url` is at; None if it was never migrated."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def schema_diff(url: str | None = None) -> list[Any]:
    """Alembic autogenerate's differences between the database at `url` and the models.

    Empty when the migrations produce exactly the schema the models declare.
    """
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """``python -m trading.store``: see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m trading.store")
    parser.add_argument("--url", help="database URL (default: $VPP_DB_URL, else the file)")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("upgrade")
    up.add_argument("revision", nargs="?", default="head")
    down = commands.add_parser("downgrade")
    down.add_argument("revision")
    for sub in (up, down):
        sub.add_argument("--sql", action="store_true", help="print the SQL, run nothing")
    commands.add_parser("current")
    commands.add_parser("heads")
    new = commands.add_parser("revision")
    new.add_argument("-m", "--message", required=True)
    new.add_argument("--autogenerate", action="store_true")
    new.add_argument("--rev-id", help="the revision id, e.g. 0002 (the next number)")
    args = parser.parse_args(argv)
    config = alembic_config(args.url)
    if args.command == "upgrade":
        command.upgrade(config, args.revision, sql=args.sql)
    elif args.command == "downgrade":
        command.downgrade(config, args.revision, sql=args.sql)
    elif args.command == "current":
        print(current_revision(args.url) or "<empty: never migrated>")
    elif args.command == "heads":
        print(head_revision())
    else:
        command.revision(
            config, message=args.message, autogenerate=args.autogenerate, rev_id=args.rev_id
        )
