"""The engine's pool flags in memory: defaults, a change through it used at once, a change
by another server on the same database seen at the next refresh, and a refresh that read
the store while a change was made does not undo that change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_setup import seeded_repository
from sqlalchemy import event

from trading.engine.flags import PoolFlags
from trading.store import Repository, Role


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    repo = seeded_repository(tmp_path / "cache.sqlite3", "acme")
    return repo


def test_a_change_elsewhere_is_seen_at_the_next_refresh_and_a_change_here_at_once(
    repository: Repository,
) -> None:
    admin = repository.create_api_key("acme", Role.ADMIN, "ops").record.actor
    here = PoolFlags(repository)
    here.ensure_loaded()
    assert here.of_pool("acme", "DE_LU") == {
        "afrr_activation": "on",
        "virtual_trader": "off",
        "allocation_strategy": "plan_then_headroom",
    }
    other_server = PoolFlags(Repository.from_url(str(repository.engine.url)))
    other_server.set(admin, "DE_LU", "afrr_activation", "off", "from the other server")
    assert here.afrr_activation("acme", "DE_LU") is True  # not read yet
    assert here.refresh() is True
    assert here.afrr_activation("acme", "DE_LU") is False
    here.set(admin, "DE_LU", "afrr_activation", True, "back on")
    assert here.afrr_activation("acme", "DE_LU") is True
    assert here.of_tenant("acme", []) == {"DE_LU": here.of_pool("acme", "DE_LU")}
    assert here.of_tenant("globex", ["NL"])["NL"]["afrr_activation"] == "on"


def test_a_refresh_that_read_before_a_change_does_not_undo_it(repository: Repository) -> None:
    admin = repository.create_api_key("acme", Role.ADMIN, "ops").record.actor
    flags = PoolFlags(repository)
    flags.ensure_loaded()
    writes = []

    @event.listens_for(repository.engine, "after_cursor_execute")
    def change_meanwhile(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # the refresh has read the store; the API's route writes before it is used
        reading = statement.lstrip().upper().startswith("SELECT") and "FROM pool_flags" in statement
        if reading and not writes:
            writes.append(True)
            flags.set(admin, "DE_LU", "afrr_activation", "off", "during the refresh")

    assert flags.refresh() is False
    assert flags.afrr_activation("acme", "DE_LU") is False  # kept, not undone
    event.remove(repository.engine, "after_cursor_execute", change_meanwhile)
    assert flags.refresh() is True
    assert flags.afrr_activation("acme", "DE_LU") is False
