"""Whether a database can serve: it answers, and it is at the newest migration shipped."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from trading.store.migrate import head_revision


@dataclass(frozen=True)
class Readiness:
    """`ready` if the database answered at `revision` == `head`; else `reason` says why."""

    ready: bool
    revision: str | None
    head: str
    reason: str


@lru_cache(maxsize=1)
def _head() -> str:
    return head_revision()


def readiness(engine: Engine) -> Readiness:
    """Ask the database at `engine` for its migration revision (one short read)."""
    head = _head()
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return Readiness(False, None, head, f"database unreachable: {first}")
    if revision != head:
        reason = (
            f"database at migration {revision or 'none'}, this server needs {head}: "
            "run `python -m trading.store upgrade`"
        )
        return Readiness(False, revision, head, reason)
    return Readiness(True, revision, head, "ready")
