"""Schedule versions in the store, on SQLite and PostgreSQL: the engine names a schedule
after its portfolio and day, so two tenants whose portfolios share an id issue the same
schedule ids, and each must keep its own."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from trading.samples import sample_site_portfolio
from trading.store import Actor, Repository

DAY = date(2026, 6, 15)


def _issue(repo: Repository, tenant: str, version: int, reason: str) -> None:
    repo.add_schedule_version(
        tenant,
        "rdam",
        DAY,
        schedule_id=f"sch-rdam-{DAY}-v{version}",
        version=version,
        reason=reason,
        plan_id=f"plan-{tenant}",
        bid_ids=[],
        issued_at=datetime(2026, 6, 14, 12, version, tzinfo=UTC),
        document={"tenant": tenant},
    )


def test_two_tenants_with_the_same_portfolio_id_keep_their_own_schedules(
    repo: Repository,
) -> None:
    for tenant in ("acme", "globex"):
        repo.create_tenant(tenant, tenant.title())
        repo.save_portfolio(
            Actor.system(tenant), sample_site_portfolio("nl-rotterdam", "rdam", tenant)
        )
    _issue(repo, "acme", 1, "acme's first")
    _issue(repo, "globex", 1, "globex's first")  # the same schedule id: refused before 0010
    _issue(repo, "globex", 2, "globex's re-plan")
    acme, globex = repo.current_schedule("acme"), repo.current_schedule("globex")
    assert acme is not None
    assert globex is not None
    assert (acme.reason, acme.document) == ("acme's first", {"tenant": "acme"})
    assert (globex.reason, globex.version) == ("globex's re-plan", 2)


def test_one_tenant_cannot_issue_the_same_schedule_id_twice(repo: Repository) -> None:
    repo.create_tenant("acme", "Acme")
    repo.save_portfolio(Actor.system("acme"), sample_site_portfolio("nl-rotterdam", "rdam", "acme"))
    _issue(repo, "acme", 1, "first")
    with pytest.raises(sa.exc.IntegrityError):
        _issue(repo, "acme", 1, "the same id again")
