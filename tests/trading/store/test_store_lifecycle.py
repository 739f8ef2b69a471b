"""Bid lifecycle: allowed moves write an event and an audit row; others name from and to."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from store_factories import single
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from trading.store import (
    BID_TRANSITIONS,
    Actor,
    AuditAction,
    BidStatus,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    Repository,
    TransitionError,
)

ALLOWED = [(a, b) for a, targets in BID_TRANSITIONS.items() for b in sorted(targets)]
REFUSED = [(a, b) for a in BidStatus for b in BidStatus if b not in BID_TRANSITIONS[a]]
PATH_TO = {
    BidStatus.DRAFT: [],
    BidStatus.SUBMITTED: [BidStatus.SUBMITTED],
    BidStatus.ACCEPTED: [BidStatus.SUBMITTED, BidStatus.ACCEPTED],
    BidStatus.REJECTED: [BidStatus.SUBMITTED, BidStatus.REJECTED],
    BidStatus.WITHDRAWN: [BidStatus.SUBMITTED, BidStatus.WITHDRAWN],
}


@pytest.fixture
def trader(repo: Repository, tenant: str) -> Actor:
    return repo.create_api_key(tenant, "trader", "desk 1").record.actor


def _bid_in(repo: Repository, actor: Actor, status: BidStatus) -> str:
    bid_id = repo.add_bids(actor.tenant_id, actor.key_id, [single(0)], f"k-{status}").bid_ids[0]
    for step in PATH_TO[status]:
        repo.transition(bid_id, step, actor)
    return bid_id


def test_the_lifecycle_is_the_documented_one() -> None:
    assert sorted(ALLOWED) == sorted(
        [
            (BidStatus.DRAFT, BidStatus.SUBMITTED),
            (BidStatus.SUBMITTED, BidStatus.WITHDRAWN),
            (BidStatus.SUBMITTED, BidStatus.ACCEPTED),
            (BidStatus.SUBMITTED, BidStatus.REJECTED),
        ]
    )


@pytest.mark.parametrize(("from_status", "to_status"), ALLOWED, ids=lambda s: str(s))
def test_allowed_transitions_are_recorded(
    repo: Repository, trader: Actor, from_status: BidStatus, to_status: BidStatus
) -> None:
    bid_id = _bid_in(repo, trader, from_status)
    moved = repo.transition(
        bid_id, to_status, trader, "by hand", {"ticket": 7}, rule_version="2025-10-01"
    )
    assert moved.status is to_status
    assert repo.get_bid(trader.tenant_id, bid_id).status is to_status
    last = repo.bid_history(trader.tenant_id, bid_id)[-1]
    assert (last.from_status, last.to_status) == (from_status, to_status)
    assert (last.key_id, last.reason, last.details) == (trader.key_id, "by hand", {"ticket": 7})
    assert last.rule_version == "2025-10-01"
    audit = repo.list_audit(trader.tenant_id, subject=f"bid {bid_id}").items[-1]
    assert audit.action == AuditAction.BID_TRANSITION
    assert (audit.key_id, audit.role, audit.tenant_id) == (trader.key_id, "trader", "acme")
    assert audit.details["from"] == from_status
    assert audit.details["to"] == to_status


@pytest.mark.parametrize(("from_status", "to_status"), REFUSED, ids=lambda s: str(s))
def test_other_transitions_are_refused_by_name(
    repo: Repository, trader: Actor, from_status: BidStatus, to_status: BidStatus
) -> None:
    bid_id = _bid_in(repo, trader, from_status)
    events = len(repo.bid_history(trader.tenant_id, bid_id))
    with pytest.raises(TransitionError) as caught:
        repo.transition(bid_id, to_status, trader)
    error = caught.value
    assert (error.from_status, error.to_status) == (from_status, to_status)
    assert f"status {from_status} -> {to_status} is not an allowed transition" in str(error)
    assert repo.get_bid(trader.tenant_id, bid_id).status is from_status
    assert len(repo.bid_history(trader.tenant_id, bid_id)) == events


def test_an_unknown_status_is_an_input_error(repo: Repository, trader: Actor) -> None:
    bid_id = _bid_in(repo, trader, BidStatus.DRAFT)
    with pytest.raises(InvalidInputError, match="to_status='expired' must be one of"):
        repo.transition(bid_id, "expired", trader)


def test_another_tenants_bid_cannot_be_moved(repo: Repository, trader: Actor) -> None:
    bid_id = _bid_in(repo, trader, BidStatus.DRAFT)
    repo.create_tenant("other", "Other")
    intruder = repo.create_api_key("other", "admin", "root").record.actor
    with pytest.raises(NotFoundError, match=f"bid '{bid_id}' does not exist for tenant 'other'"):
        repo.transition(bid_id, "submitted", intruder)
    assert repo.get_bid(trader.tenant_id, bid_id).status is BidStatus.DRAFT


def test_clearing_accepts_a_submitted_bid(repo: Repository, trader: Actor) -> None:
    bid_id = _bid_in(repo, trader, BidStatus.SUBMITTED)
    exchange = Actor.system(trader.tenant_id)
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    clearing = repo.record_clearing(
        bid_id,
        exchange,
        status="accepted",
        cleared_volume_mw=0.5,
        clearing_price=61.2,
        remuneration_price=61.2,
        cleared_at=at,
        details={"exchange_ref": "X-1"},
    )
    assert (clearing.status, clearing.cleared_volume_mw, clearing.clearing_price) == (
        "accepted",
        0.5,
        61.2,
    )
    assert repo.get_bid(trader.tenant_id, bid_id).status is BidStatus.ACCEPTED
    assert repo.get_clearing(trader.tenant_id, bid_id) == clearing
    last = repo.bid_history(trader.tenant_id, bid_id)[-1]
    assert (last.from_status, last.to_status, last.key_id) == ("submitted", "accepted", None)
    actions = [a.action for a in repo.list_audit(trader.tenant_id, subject=f"bid {bid_id}").items]
    assert actions[-2:] == [AuditAction.BID_TRANSITION, AuditAction.BID_CLEAR]
    # the same report again is a no-op; a different one is a conflict
    again = repo.record_clearing(
        bid_id,
        exchange,
        status="accepted",
        cleared_volume_mw=0.5,
        clearing_price=61.2,
        remuneration_price=61.2,
        cleared_at=at,
    )
    assert again == clearing
    with pytest.raises(ConflictError, match="a different result was recorded already"):
        repo.record_clearing(
            bid_id,
            exchange,
            status="accepted",
            cleared_volume_mw=0.4,
            clearing_price=61.2,
            remuneration_price=61.2,
            cleared_at=at,
        )


def test_clearing_rejects_a_submitted_bid(repo: Repository, trader: Actor) -> None:
    bid_id = _bid_in(repo, trader, BidStatus.SUBMITTED)
    repo.record_clearing(
        bid_id,
        Actor.system(trader.tenant_id),
        status="rejected",
        cleared_volume_mw=0,
        clearing_price=70.0,
        remuneration_price=None,
        cleared_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
    )
    assert repo.get_bid(trader.tenant_id, bid_id).status is BidStatus.REJECTED


def test_a_draft_cannot_be_cleared(repo: Repository, trader: Actor) -> None:
    bid_id = _bid_in(repo, trader, BidStatus.DRAFT)
    with pytest.raises(TransitionError, match="draft -> accepted"):
        repo.record_clearing(
            bid_id,
            Actor.system(trader.tenant_id),
            status="accepted",
            cleared_volume_mw=1,
            clearing_price=1.0,
            remuneration_price=1.0,
            cleared_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
        )
    assert repo.get_clearing(trader.tenant_id, bid_id) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "partial"}, "status='partial' must be one of accepted, rejected"),
        ({"cleared_volume_mw": float("nan")}, "cleared_volume_mw=nan must be a finite number"),
        ({"cleared_volume_mw": 0}, "cleared_volume_mw=0 must not be 0 when accepted"),
        ({"clearing_price": None}, "clearing_price=None is required when the bid is accepted"),
        (
            {"status": "rejected", "cleared_volume_mw": 2.0},
            "cleared_volume_mw=2.0 must be 0 when rejected",
        ),
        ({"details": {"bad": float("inf")}}, "details="),
    ],
)
def test_bad_clearing_input_names_the_field(
    repo: Repository, trader: Actor, changes: dict, message: str
) -> None:
    bid_id = _bid_in(repo, trader, BidStatus.SUBMITTED)
    arguments = {
        "status": "accepted",
        "cleared_volume_mw": 1.0,
        "clearing_price": 50.0,
        "remuneration_price": 50.0,
        "cleared_at": datetime(2026, 3, 1, 12, tzinfo=UTC),
        **changes,
    }
    with pytest.raises(InvalidInputError) as caught:
        repo.record_clearing(bid_id, Actor.system(trader.tenant_id), **arguments)
    assert message in str(caught.value)
    assert repo.get_bid(trader.tenant_id, bid_id).status is BidStatus.SUBMITTED


def test_racing_transitions_let_exactly_one_win(repo: Repository, trader: Actor) -> None:
    bid_id = _bid_in(repo, trader, BidStatus.SUBMITTED)
    targets = [BidStatus.ACCEPTED, BidStatus.WITHDRAWN, BidStatus.REJECTED, BidStatus.WITHDRAWN]
    barrier = threading.Barrier(len(targets))

    def move(target: BidStatus) -> BidStatus | TransitionError:
        barrier.wait(timeout=10)
        try:
            return repo.transition(bid_id, target, trader).status
        except TransitionError as refused:
            return refused

    with ThreadPoolExecutor(len(targets)) as pool:
        outcomes = list(pool.map(move, targets))
    winners = [o for o in outcomes if isinstance(o, BidStatus)]
    assert len(winners) == 1
    assert repo.get_bid(trader.tenant_id, bid_id).status is winners[0]
    assert all(o.from_status == winners[0] for o in outcomes if isinstance(o, TransitionError))
    history = repo.bid_history(trader.tenant_id, bid_id)
    assert [e.to_status for e in history] == [BidStatus.DRAFT, BidStatus.SUBMITTED, winners[0]]
