"""API key expiry and rotation, and per-tenant risk limits, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from store_factories import batch, single
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from trading.store import (
    Actor,
    AuditAction,
    BidStatus,
    InvalidInputError,
    NotFoundError,
    Repository,
    Role,
)
from trading.store.ops.keys import KeyRefusedError
from trading.store.vocabulary import RiskLimitKind


def test_a_key_stops_verifying_and_acting_at_its_expiry(repo: Repository, tenant: str) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    created = repo.create_api_key(tenant, "trader", "short", expires_at=soon)
    assert created.record.expires_at == soon
    assert repo.verify_api_key(created.plaintext) == created.record
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
    assert repo.verify_api_key(created.plaintext) is None
    assert not created.record.active
    with pytest.raises(KeyRefusedError, match="expired at"):
        repo.add_bids(tenant, created.record.id, batch(1), "after-expiry")
    assert repo.list_bids(tenant).total == 0


def test_an_expiry_in_the_past_or_without_a_zone_is_refused(repo: Repository, tenant: str) -> None:
    with pytest.raises(InvalidInputError, match="expires_at") as past:
        repo.create_api_key(tenant, "trader", "x", expires_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert "must be after now" in str(past.value)
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        repo.create_api_key(tenant, "trader", "x", expires_at=datetime(2099, 1, 1))


def test_rotating_replaces_a_key_by_one_of_the_same_role_and_name(
    repo: Repository, tenant: str
) -> None:
    old = repo.create_api_key(tenant, "trader", "desk 7")
    new = repo.rotate_api_key(tenant, old.record.id)
    assert (new.record.role, new.record.name) == (Role.TRADER, "desk 7")
    assert new.record.id != old.record.id
    assert repo.verify_api_key(old.plaintext) is None
    assert repo.verify_api_key(new.plaintext) == new.record
    row = repo.list_audit(tenant, action=AuditAction.API_KEY_ROTATE).items[0]
    assert row.subject == f"api_key {old.record.id}"
    assert row.details is not None
    assert row.details["successor"] == new.record.id
    with pytest.raises(InvalidInputError, match="revoked or expired"):
        repo.rotate_api_key(tenant, old.record.id)


def test_a_rotation_with_grace_lets_the_old_key_work_until_then(
    repo: Repository, tenant: str
) -> None:
    old = repo.create_api_key(tenant, "analyst", "report")
    repo.rotate_api_key(tenant, old.record.id, grace_s=3600)
    still = repo.verify_api_key(old.plaintext)
    assert still is not None
    assert still.expires_at is not None
    assert timedelta(minutes=59) < still.expires_at - datetime.now(UTC) <= timedelta(hours=1)
    with pytest.raises(InvalidInputError, match="grace_s"):
        repo.rotate_api_key(tenant, old.record.id, grace_s=-1)


def test_another_tenants_key_cannot_be_rotated(repo: Repository, tenant: str) -> None:
    repo.create_tenant("globex", "Globex")
    theirs = repo.create_api_key("globex", "trader", "desk")
    with pytest.raises(NotFoundError):
        repo.rotate_api_key(tenant, theirs.record.id)
    assert repo.verify_api_key(theirs.plaintext) is not None


def _admin(repo: Repository, tenant: str) -> Actor:
    return repo.create_api_key(tenant, "admin", "risk").record.actor


def test_limits_are_set_changed_cleared_and_audited(repo: Repository, tenant: str) -> None:
    admin = _admin(repo, tenant)
    repo.set_risk_limit(admin, RiskLimitKind.MAX_BID_MW, 50)
    changed = repo.set_risk_limit(admin, "max_bid_mw", 25.5)
    assert (changed.value, changed.updated_by) == (25.5, admin.key_id)
    assert [(r.kind, r.value) for r in repo.list_risk_limits(tenant)] == [
        (RiskLimitKind.MAX_BID_MW, 25.5)
    ]
    assert repo.clear_risk_limit(admin, RiskLimitKind.MAX_BID_MW)
    assert not repo.clear_risk_limit(admin, RiskLimitKind.MAX_BID_MW)
    assert repo.list_risk_limits(tenant) == []
    audit = repo.list_audit(tenant, subject="risk_limit max_bid_mw").items
    assert [(a.action, a.details) for a in audit] == [
        (AuditAction.RISK_LIMIT_SET, {"old": None, "new": 50.0}),
        (AuditAction.RISK_LIMIT_SET, {"old": 50.0, "new": 25.5}),
        (AuditAction.RISK_LIMIT_CLEAR, {"old": 25.5, "new": None}),
    ]
    assert {a.key_id for a in audit} == {admin.key_id}


@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan"), 1e300, "10", True])
def test_a_limit_must_be_a_positive_finite_number(
    repo: Repository, tenant: str, value: object
) -> None:
    with pytest.raises(InvalidInputError, match="max_net_position_mw"):
        repo.set_risk_limit(_admin(repo, tenant), "max_net_position_mw", value)  # type: ignore[arg-type]
    assert repo.list_risk_limits(tenant) == []


def test_only_an_admin_key_changes_limits_and_kinds_are_closed(
    repo: Repository, tenant: str
) -> None:
    trader = repo.create_api_key(tenant, "trader", "desk").record.actor
    with pytest.raises(InvalidInputError, match="only an admin key"):
        repo.set_risk_limit(trader, RiskLimitKind.MAX_BID_MW, 10)
    with pytest.raises(InvalidInputError, match="kind"):
        repo.set_risk_limit(_admin(repo, tenant), "max_leverage", 10)
    assert repo.list_risk_limits(tenant) == []


def test_limits_and_live_bids_belong_to_their_tenant(repo: Repository, tenant: str) -> None:
    repo.create_tenant("globex", "Globex")
    repo.set_risk_limit(_admin(repo, tenant), RiskLimitKind.MAX_BID_MW, 5)
    assert repo.list_risk_limits("globex") == []
    submitted = [single(i, status=BidStatus.SUBMITTED) for i in range(3)]
    stored = repo.add_bids(tenant, None, [*submitted, single(3)], "three-and-a-draft")
    day = stored.bids[0].delivery_day
    assert len(repo.live_bids(tenant, [day])) == 3
    assert repo.live_bids("globex", [day]) == []
    repo.transition(stored.bids[0].id, BidStatus.WITHDRAWN, Actor.system(tenant), "test")
    assert len(repo.live_bids(tenant, [day])) == 2
