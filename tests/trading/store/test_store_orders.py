"""The store's order tools on every database: replace a bid, cancel-all, the change feed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_factories import DAY, day_ahead, portfolio_document
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from markets.bids import SingleBid
from trading.store import Actor, BidStatus, NewBid, Repository
from trading.store.ops.events import changes_after, last_change_id
from trading.store.ops.orders import (
    CancelFilters,
    GateClosedError,
    NotLiveError,
    OrderDesk,
    cancel_all,
    replace_bid,
)
from trading.store.repository import prepare_submission
from trading.store.vocabulary import AuditAction

GATE = day_ahead()[0].gate_closure
BEFORE = GATE - timedelta(hours=1)


def bid(index: int, price: float = 50.0, name: str | None = None) -> NewBid:
    product = day_ahead()[index]
    document = SingleBid(
        product_id=product.product_id, volume_mw=1.0, price_eur_per_mwh=price, bid_id=name
    )
    return NewBid.from_product(document, product, status=BidStatus.SUBMITTED)


def test_a_replacement_withdraws_the_old_version_and_hands_over_its_bid_id(
    repo: Repository, tenant: str
) -> None:
    (old,) = repo.add_bids(tenant, None, [bid(0, 50.0, "desk/1")], "first").bids
    submission = prepare_submission(tenant, None, [bid(0, 60.0, "desk/1")], "second", at=BEFORE)
    desk = OrderDesk(repo.engine)
    actor = Actor.system(tenant)
    done = desk.run(lambda s: replace_bid(s, actor, old.id, submission, BEFORE))
    (new,) = done.new.bids
    assert done.old.status is BidStatus.WITHDRAWN
    assert repo.get_bid(tenant, new.id).document["bid_id"] == "desk/1"
    assert repo.bid_history(tenant, old.id)[-1].reason == f"replaced by bid {new.id}"
    assert repo.bid_history(tenant, new.id)[0].reason == f"created, replacing bid {old.id}"
    replay = desk.run(lambda s: replace_bid(s, actor, old.id, submission, BEFORE))
    assert replay.new.created is False
    assert replay.new.bids[0].id == new.id
    other = prepare_submission(tenant, None, [bid(0, 61.0)], "third", at=BEFORE)
    with pytest.raises(NotLiveError, match=f"replaced by bid {new.id}"):
        desk.run(lambda s: replace_bid(s, actor, old.id, other, BEFORE))


def test_a_replacement_after_the_gate_changes_nothing(repo: Repository, tenant: str) -> None:
    (old,) = repo.add_bids(tenant, None, [bid(0)], "first").bids
    submission = prepare_submission(tenant, None, [bid(0, 60.0)], "second", at=GATE)
    with pytest.raises(GateClosedError, match="has passed"):
        OrderDesk(repo.engine).run(
            lambda s: replace_bid(s, Actor.system(tenant), old.id, submission, GATE)
        )
    assert repo.get_bid(tenant, old.id).status is BidStatus.SUBMITTED
    assert repo.list_bids(tenant).total == 1


def test_cancel_all_takes_the_tenants_live_bids_only(repo: Repository, tenant: str) -> None:
    repo.create_tenant("globex", "Globex Energy")
    ours = repo.add_bids(tenant, None, [bid(0), bid(1)], "ours").bids
    (theirs,) = repo.add_bids("globex", None, [bid(0)], "theirs").bids
    done = OrderDesk(repo.engine).run(
        lambda s: cancel_all(s, Actor.system(tenant), CancelFilters(zone="DE"), BEFORE, None)
    )
    assert {b.id for b in done.withdrawn} == {b.id for b in ours}
    assert repo.get_bid("globex", theirs.id).status is BidStatus.SUBMITTED
    late = OrderDesk(repo.engine).run(
        lambda s: cancel_all(s, Actor.system("globex"), CancelFilters(), GATE, "halt")
    )
    assert late.withdrawn == ()
    assert [k.bid.id for k in late.kept] == [theirs.id]


def test_the_feed_holds_the_tenants_changes_in_order_and_no_other(
    repo: Repository, tenant: str
) -> None:
    repo.create_tenant("globex", "Globex Energy")
    desk = OrderDesk(repo.engine)
    start = desk.run(lambda s: last_change_id(s, tenant))
    (ours,) = repo.add_bids(tenant, None, [bid(0)], "ours").bids
    (theirs,) = repo.add_bids("globex", None, [bid(0)], "theirs").bids
    desk.run(lambda s: cancel_all(s, Actor.system(tenant), CancelFilters(), BEFORE, None))
    changes = desk.run(lambda s: changes_after(s, tenant, start))
    assert [c.action for c in changes] == [
        AuditAction.BID_CREATE,
        AuditAction.BID_TRANSITION,
        AuditAction.BID_CANCEL_ALL,
    ]
    assert [c.id for c in changes] == sorted(c.id for c in changes)
    assert changes[1].bid is not None
    assert changes[1].bid.status is BidStatus.WITHDRAWN
    assert all(theirs.id not in c.subject for c in changes)
    skipped = desk.run(lambda s: changes_after(s, tenant, start, skip={changes[0].id}))
    assert [c.id for c in skipped] == [c.id for c in changes[1:]]
    assert ours.id == changes[0].bid.id


def test_the_feed_carries_clearings_and_plans_with_their_entities(
    repo: Repository, tenant: str
) -> None:
    actor = Actor.system(tenant)
    repo.save_portfolio(actor, portfolio_document(tenant))
    desk = OrderDesk(repo.engine)
    start = desk.run(lambda s: last_change_id(s, tenant))
    (ours,) = repo.add_bids(tenant, None, [bid(0)], "ours").bids
    repo.record_clearing(
        ours.id,
        actor,
        status="accepted",
        cleared_volume_mw=1.0,
        clearing_price=42.0,
        remuneration_price=42.0,
        cleared_at=GATE,
    )
    plan = repo.create_plan(actor, "sample-vpp", DAY)
    repo.set_plan_status(plan.id, "running", actor)
    changes = desk.run(lambda s: changes_after(s, tenant, start))
    by_action = {c.action: c for c in changes}
    cleared = by_action[AuditAction.BID_CLEAR]
    assert cleared.clearing is not None
    assert cleared.clearing.clearing_price == 42.0
    assert cleared.bid.status is BidStatus.ACCEPTED
    assert by_action[AuditAction.PLAN_CREATE].plan.id == plan.id
    assert by_action[AuditAction.PLAN_STATUS].plan.status.value == "running"
