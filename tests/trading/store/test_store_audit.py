"""The audit log: who did what to which subject, when, under which rule version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from store_factories import day_ahead, single
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from trading.store import AuditAction, ConflictError, InvalidInputError, Repository


def test_bid_creation_records_the_rule_version_that_validated_it(
    repo: Repository, tenant: str
) -> None:
    key = repo.create_api_key(tenant, "trader", "desk").record
    bid_id = repo.add_bids(tenant, key.id, [single(3)], "req-1").bid_ids[0]
    (row,) = repo.list_audit(tenant, action=AuditAction.BID_CREATE).items
    assert (row.subject, row.key_id, row.role, row.tenant_id) == (
        f"bid {bid_id}",
        key.id,
        "trader",
        tenant,
    )
    assert row.details["rule_version"] == day_ahead()[3].valid_from.isoformat()
    assert row.details["validation"]["product_id"] == day_ahead()[3].product_id
    assert row.details["idempotency_key"] == "req-1"


def test_a_replay_adds_no_audit_rows(repo: Repository, tenant: str) -> None:
    repo.add_bids(tenant, None, [single(0)], "req-1")
    before = repo.list_audit(tenant).total
    repo.add_bids(tenant, None, [single(0)], "req-1")
    assert repo.list_audit(tenant).total == before


def test_audit_queries_filter_by_time_key_and_page(repo: Repository, tenant: str) -> None:
    start = datetime.now(UTC)
    key = repo.create_api_key(tenant, "trader", "desk").record
    repo.add_bids(tenant, key.id, [single(i) for i in range(5)], "req-1")
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert repo.list_audit(tenant, key_id=key.id).total == 5
    everything = repo.list_audit(tenant, since=start, until=after, limit=1000)
    assert everything.total == 6  # the key's creation and five bids
    assert repo.list_audit(tenant, since=after).total == 0
    pages = [repo.list_audit(tenant, page=p, limit=4).items for p in (1, 2)]
    whole = repo.list_audit(tenant, limit=1000).items  # the tenant's creation too: 7 rows
    assert [r.id for page in pages for r in page] == [r.id for r in whole]
    assert [r.id for r in whole][1:] == [r.id for r in everything.items]
    stamps = [r.at for r in everything.items]
    assert stamps == sorted(stamps)
    with pytest.raises(InvalidInputError, match=r"action='bid\.delete' must be one of"):
        repo.list_audit(tenant, action="bid.delete")
    with pytest.raises(InvalidInputError, match=r"since=.* has no time zone"):
        repo.list_audit(tenant, since=datetime(2026, 1, 1))


def test_tenants_are_created_once(repo: Repository, tenant: str) -> None:
    with pytest.raises(ConflictError, match="tenant 'acme': exists already"):
        repo.create_tenant(tenant, "Again")
    with pytest.raises(InvalidInputError, match="id='bad id' must be 1 to 64 letters"):
        repo.create_tenant("bad id", "Bad")
    assert repo.list_audit(tenant, action="tenant.create").total == 1
