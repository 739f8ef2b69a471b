"""Pool flags in the store, on SQLite and PostgreSQL: set by an admin key or the operator,
each change audited with old, new and reason; the table's CHECK keeps the flag names
closed even against a write that bypasses the operations."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from trading.samples import sample_site_portfolio
from trading.store import Actor, InvalidInputError, Repository
from trading.store.vocabulary import AuditAction, PoolFlag


@pytest.fixture
def acme(repo: Repository) -> Repository:
    repo.create_tenant("acme", "Acme")
    repo.save_portfolio(Actor.system("acme"), sample_site_portfolio("nl-rotterdam", "rdam", "acme"))
    return repo


def test_admin_and_operator_changes_are_audited_and_others_refused(acme: Repository) -> None:
    assert acme.tenant_pools("acme") == ["NL"]
    admin = acme.create_api_key("acme", "admin", "ops").record.actor
    trader = acme.create_api_key("acme", "trader", "desk").record.actor
    with pytest.raises(InvalidInputError, match="only an admin key may set pool flags"):
        acme.set_pool_flag(trader, "NL", "afrr_activation", "off", "not mine")
    first = acme.set_pool_flag(admin, "NL", PoolFlag.AFRR_ACTIVATION, "off", "  maintenance  ")
    assert (first.value, first.reason, first.updated_by) == ("off", "maintenance", admin.key_id)
    second = acme.set_pool_flag(Actor.system("acme"), "NL", "afrr_activation", "on", "done")
    assert (second.value, second.updated_by) == ("on", None)
    assert [(r.flag, r.value) for r in acme.list_pool_flags("acme")] == [
        (PoolFlag.AFRR_ACTIVATION, "on")
    ]
    rows = acme.list_audit("acme", action=AuditAction.POOL_FLAG_SET).items
    assert [(r.key_id, r.details["old"], r.details["new"], r.details["reason"]) for r in rows] == [
        (admin.key_id, "on", "off", "maintenance"),
        (None, "off", "on", "done"),
    ]
    assert [r.tenant_id for r in acme.all_pool_flags()] == ["acme"]


def test_the_table_refuses_a_flag_name_it_does_not_know(acme: Repository) -> None:
    with pytest.raises(sa.exc.IntegrityError), acme.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO pool_flags (tenant_id, pool, flag, value, reason, updated_at) "
                "VALUES ('acme', 'NL', 'no_such_flag', 'on', 'x', CURRENT_TIMESTAMP)"
            )
        )
