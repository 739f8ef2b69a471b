"""Decisions keep their evidence in the store: plugin and rule ids on a bid's creation step
(also through the group writer's bulk path), refusals stored without a bid, the period's
decisions and audit log for the auditor's export. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from store_factories import day_ahead, single
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from markets.bids import SingleBid
from markets.registry import default_registry
from trading.compliance.evidence import evidence_for
from trading.store import (
    Actor,
    AuditAction,
    InvalidInputError,
    NewRefusal,
    NotFoundError,
    Repository,
    Role,
    SubmissionWriter,
)
from trading.store.repository import prepare_submission
from trading.store.writer import BULK_BIDS

PRICE_MAX = day_ahead()[0].rules["price_max"].rule_id
"""The id of the DE day-ahead price cap record in force on the test day."""


def _with_evidence(index: int, **kwargs):
    product = day_ahead()[index]
    bid = SingleBid(product_id=product.product_id, volume_mw=1.0, price_eur_per_mwh=50.0)
    evidence = evidence_for(default_registry(), "DE", bid)
    return single(
        index,
        plugin_distribution=evidence.plugin.distribution,
        plugin_version=evidence.plugin.version,
        rule_ids=evidence.rule_ids,
        **kwargs,
    )


def test_a_bid_keeps_the_plugin_and_rule_ids_that_accepted_it(
    repo: Repository, tenant: str
) -> None:
    bid_id = repo.add_bids(tenant, None, [_with_evidence(3)], "req-1").bid_ids[0]
    (event,) = repo.bid_history(tenant, bid_id) or []
    assert event.plugin_distribution == "vpp-engine"
    assert event.plugin_version is not None
    assert PRICE_MAX in (event.rule_ids or [])
    (row,) = repo.list_audit(tenant, action=AuditAction.BID_CREATE).items
    assert row.details["rule_ids"] == event.rule_ids


def test_the_group_writers_bulk_path_carries_the_evidence(repo: Repository, tenant: str) -> None:
    # A batch of BULK_BIDS goes through its own lane and bulk.insert_rows (COPY on PostgreSQL).
    bids = [_with_evidence(i % 90, volume_mw=1.0 + i) for i in range(BULK_BIDS)]
    writer = SubmissionWriter(repo, metrics_registry=CollectorRegistry())
    try:
        submission = prepare_submission(tenant, None, bids, "bulk-1")
        result = writer.submit_prepared(submission).result(timeout=60)
    finally:
        writer.close()
    assert len(result.bids) == BULK_BIDS
    last = result.bids[-1]
    (event,) = repo.bid_history(tenant, last.id) or []
    assert event.plugin_distribution == "vpp-engine"
    assert event.rule_ids == list(bids[-1].rule_ids or [])


def test_bad_evidence_is_refused_naming_the_field(repo: Repository, tenant: str) -> None:
    with pytest.raises(InvalidInputError, match=r"plugin_version.*1 to 64 characters"):
        repo.add_bids(tenant, None, [single(0, plugin_version="v" * 65)], "req-1")
    with pytest.raises(InvalidInputError, match=r"rule_ids\[1\]"):
        repo.add_bids(tenant, None, [single(0, rule_ids=["ok", ""])], "req-2")
    with pytest.raises(InvalidInputError, match=r"rule_ids.*must be a list"):
        repo.add_bids(tenant, None, [single(0, rule_ids="DE.x")], "req-3")


def _refusal(position: int = 0, **kwargs) -> NewRefusal:
    values = {
        "position": position,
        "product_id": day_ahead()[position].product_id,
        "document": {"type": "single", "price_eur_per_mwh": 99999.0},
        "rule_ids": [PRICE_MAX],
        "violations": [{"rule": "day_ahead.price_max", "rule_id": PRICE_MAX}],
        "client_bid_id": f"desk/{position}",
        "country": "DE",
        "market": "day_ahead",
        "plugin_distribution": "vpp-engine",
        "plugin_version": "0.1.0",
    }
    return NewRefusal(**{**values, **kwargs})


def test_a_refusal_is_stored_without_a_bid_and_audited(repo: Repository, tenant: str) -> None:
    key = repo.create_api_key(tenant, Role.TRADER, "desk").record
    at = datetime(2026, 6, 14, 8, 0, tzinfo=UTC)
    stored = repo.record_refusals(
        key.actor, [_refusal(0), _refusal(1, violations=[])], idempotency_key="k-1", at=at
    )
    assert len(stored.ids) == 2
    assert repo.list_bids(tenant).total == 0
    first = repo.get_refusal(tenant, stored.ids[0])
    assert first is not None
    assert (first.at, first.key_id, first.client_bid_id) == (at, key.id, "desk/0")
    assert first.rule_ids == [PRICE_MAX]
    assert first.violations[0]["rule_id"] == PRICE_MAX
    assert first.document["price_eur_per_mwh"] == 99999.0
    (audit,) = repo.list_audit(tenant, action=AuditAction.BID_REFUSE).items
    assert audit.details["refusal_ids"] == list(stored.ids)
    assert audit.details["broken_rule_ids"] == [PRICE_MAX]
    assert (audit.key_id, audit.role) == (key.id, Role.TRADER)
    assert repo.list_refusals(tenant, client_bid_id="desk/1").items[0].violations == []


def test_refusals_are_the_tenants_own(repo: Repository, tenant: str) -> None:
    repo.create_tenant("globex", "Globex")
    stored = repo.record_refusals(Actor.system(tenant), [_refusal()])
    assert repo.get_refusal("globex", stored.ids[0]) is None
    assert repo.list_refusals("globex").total == 0
    assert repo.list_refusals(tenant).total == 1


def test_bad_refusals_are_refused_naming_field_and_value(repo: Repository, tenant: str) -> None:
    with pytest.raises(InvalidInputError, match=r"country='DEU'.*at most 2 characters"):
        repo.record_refusals(Actor.system(tenant), [_refusal(country="DEU")])
    with pytest.raises(InvalidInputError, match=r"document\.note.*NUL"):
        repo.record_refusals(Actor.system(tenant), [_refusal(document={"note": "a\x00b"})])
    with pytest.raises(InvalidInputError, match="at least one bid"):
        repo.record_refusals(Actor.system(tenant), [])
    with pytest.raises(InvalidInputError, match=r"at=.*time zone"):
        repo.record_refusals(Actor.system(tenant), [_refusal()], at=datetime(2026, 6, 14))
    with pytest.raises(NotFoundError, match="nobody"):
        repo.record_refusals(Actor.system("nobody"), [_refusal()])
    assert repo.list_refusals(tenant).total == 0


def test_the_periods_decisions_hold_acceptances_and_refusals_in_order(
    repo: Repository, tenant: str
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    repo.add_bids(tenant, None, [_with_evidence(0)], "req-1")
    repo.record_refusals(Actor.system(tenant), [_refusal(1)], at=datetime.now(UTC))
    repo.create_tenant("globex", "Globex")
    repo.record_refusals(Actor.system("globex"), [_refusal(2)], at=datetime.now(UTC))
    end = datetime.now(UTC) + timedelta(seconds=1)

    ours = repo.decisions_between(start, end, tenant)
    assert [d["decision"] for d in ours] == ["accepted", "refused"]
    accepted, refused = ours
    assert accepted["plugin_distribution"] == "vpp-engine"
    assert PRICE_MAX in accepted["rule_ids"]
    assert accepted["bid_id"] is not None
    assert refused["bid_id"] is None
    assert refused["violations"][0]["rule_id"] == PRICE_MAX
    assert len(repo.decisions_between(start, end)) == 3  # every tenant
    assert repo.decisions_between(end, end + timedelta(days=1)) == []
    with pytest.raises(InvalidInputError, match=r"until=.*must be after since"):
        repo.decisions_between(end, start)

    rows = repo.audit_between(start, end)
    assert {r.action for r in rows} >= {AuditAction.BID_CREATE.value, "bid.refuse"}
    assert {r.tenant_id for r in repo.audit_between(start, end, "globex")} == {"globex"}
