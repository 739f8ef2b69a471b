"""Adding, reading and listing bids: idempotency (also under races), isolation, filters."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from store_factories import DAY, batch, block, day_ahead, portfolio_document, single
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from markets.bids import SingleBid
from trading.store import (
    Actor,
    BidStatus,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NewBid,
    NotFoundError,
    Repository,
    upgrade,
)
from trading.store.ops import bids as bid_ops


def _count(repo: Repository, table: str) -> int:
    with repo.engine.connect() as connection:
        return connection.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar()


def test_added_bids_are_stored_with_their_metadata(repo: Repository, tenant: str) -> None:
    result = repo.add_bids(tenant, None, [single(5, volume_mw=-2.5), block(8)], "req-1")
    assert result.created
    assert len(result.bid_ids) == 2
    first = repo.get_bid(tenant, result.bid_ids[0])
    assert first == result.bids[0]
    product = day_ahead()[5]
    assert first.product_id == product.product_id
    assert (first.market, first.country, first.delivery_day) == ("day_ahead", "DE", DAY)
    assert first.delivery_start == product.delivery_start
    assert first.gate_closure == product.gate_closure
    assert first.status is BidStatus.DRAFT
    assert isinstance(first.bid, SingleBid)
    assert first.bid.volume_mw == -2.5
    second = result.bids[1]
    assert second.product_id == day_ahead()[8].product_id
    assert second.bid.product_ids == tuple(p.product_id for p in day_ahead()[8:12])
    history = repo.bid_history(tenant, first.id)
    assert [(e.from_status, e.to_status) for e in history] == [(None, BidStatus.DRAFT)]
    assert history[0].rule_version == product.valid_from.isoformat()


def test_the_same_key_returns_the_first_result_and_stores_one_copy(
    repo: Repository, tenant: str
) -> None:
    first = repo.add_bids(tenant, None, batch(3), "req-1")
    again = repo.add_bids(tenant, None, batch(3), "req-1")
    assert first.created
    assert not again.created
    assert again.bid_ids == first.bid_ids
    assert again.bids == first.bids
    assert _count(repo, "bids") == 3
    assert _count(repo, "bid_submissions") == 1
    assert _count(repo, "bid_events") == 3


def test_a_key_reused_for_other_bids_is_refused(repo: Repository, tenant: str) -> None:
    repo.add_bids(tenant, None, batch(3), "req-1")
    with pytest.raises(IdempotencyKeyReusedError, match="idempotency_key='req-1'"):
        repo.add_bids(tenant, None, batch(2), "req-1")
    assert _count(repo, "bids") == 3


def test_keys_are_per_tenant(repo: Repository, tenant: str) -> None:
    repo.create_tenant("other", "Other Trading")
    mine = repo.add_bids(tenant, None, batch(2), "req-1")
    theirs = repo.add_bids("other", None, batch(2), "req-1")
    assert theirs.created
    assert set(theirs.bid_ids).isdisjoint(mine.bid_ids)


def test_racing_calls_with_one_key_store_one_copy(repo: Repository, tenant: str) -> None:
    threads = 6
    barrier = threading.Barrier(threads)

    def call(_: int):
        barrier.wait(timeout=10)
        return repo.add_bids(tenant, None, batch(4), "race-1")

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(call, range(threads)))
    assert len({r.bid_ids for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert _count(repo, "bids") == 4
    assert _count(repo, "bid_submissions") == 1


def test_a_lost_race_on_the_unique_key_returns_the_winner(
    repo: Repository, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The winner's submission is committed, but this call's lookup misses it (as a lookup
    # racing with the winner's commit does): the insert hits the unique constraint.
    winner = repo.add_bids(tenant, None, batch(2), "req-1")
    lookups: list[str] = []
    real_group, real_one = bid_ops._earlier_submissions, bid_ops.find_submission

    def stale_first(*args, **kwargs):
        lookups.append("group")
        return {} if len(lookups) == 1 else real_group(*args, **kwargs)

    def read_back(*args, **kwargs):
        lookups.append("read-back")
        return real_one(*args, **kwargs)

    monkeypatch.setattr(bid_ops, "_earlier_submissions", stale_first)
    monkeypatch.setattr(bid_ops, "find_submission", read_back)
    loser = repo.add_bids(tenant, None, batch(2), "req-1")
    assert lookups == ["group", "group"]  # missed; after the IntegrityError, found on a rerun
    assert loser.bid_ids == winner.bid_ids
    assert not loser.created
    assert _count(repo, "bids") == 2
    with pytest.raises(IdempotencyKeyReusedError):
        repo.add_bids(tenant, None, batch(3), "req-1")


def test_lookups_racing_past_each_other_still_store_one_copy(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL only: SQLite serialises writers at BEGIN IMMEDIATE, so there the second
    # lookup always sees the first commit. Here both lookups miss before either inserts.
    upgrade(pg_url)
    repo = Repository.from_url(pg_url)
    try:
        repo.create_tenant("acme", "Acme")
        barrier = threading.Barrier(2)
        real_group, real_one = bid_ops._earlier_submissions, bid_ops.find_submission
        passed = threading.local()
        calls: list[str] = []

        def both_miss(*args, **kwargs):
            calls.append("group")
            found = real_group(*args, **kwargs)
            if not getattr(passed, "done", False):
                passed.done = True
                barrier.wait(timeout=10)
            return found

        def read_back(*args, **kwargs):
            calls.append("read-back")
            return real_one(*args, **kwargs)

        monkeypatch.setattr(bid_ops, "_earlier_submissions", both_miss)
        monkeypatch.setattr(bid_ops, "find_submission", read_back)
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda _: repo.add_bids("acme", None, batch(3), "k"), [0, 1]))
        assert results[0].bid_ids == results[1].bid_ids
        assert sorted(r.created for r in results) == [False, True]
        assert _count(repo, "bids") == 3
        # both missed; the loser ran once more after its IntegrityError and found the winner
        assert calls == ["group", "group", "group"]
    finally:
        repo.close()


def test_another_tenants_bid_is_not_found(repo: Repository, tenant: str) -> None:
    repo.create_tenant("other", "Other Trading")
    bid_id = repo.add_bids(tenant, None, batch(1), "req-1").bid_ids[0]
    assert repo.get_bid("other", bid_id) is None
    assert repo.bid_history("other", bid_id) is None
    assert repo.list_bids("other").total == 0
    assert repo.get_bid(tenant, bid_id) is not None


def test_bids_of_an_unknown_tenant_are_refused(repo: Repository) -> None:
    with pytest.raises(NotFoundError, match="tenant 'ghost' does not exist"):
        repo.add_bids("ghost", None, batch(1), "req-1")


def test_a_key_of_another_tenant_cannot_add_bids(repo: Repository, tenant: str) -> None:
    repo.create_tenant("other", "Other Trading")
    key = repo.create_api_key("other", "trader", "their desk").record
    with pytest.raises(InvalidInputError, match=rf"key_id='{key.id}' is not an API key of"):
        repo.add_bids(tenant, key.id, batch(1), "req-1")


def test_every_problem_of_a_batch_is_reported(repo: Repository, tenant: str) -> None:
    product = day_ahead()[0]
    good = single(0)
    bad_shape = NewBid.from_product({"type": "single", "product_id": product.product_id}, product)
    wrong_market = NewBid(
        bid=good.bid,
        market="intraday_auction",
        country="DE",
        delivery_day=DAY,
        delivery_start=product.delivery_start,
        gate_closure=product.gate_closure,
    )
    naive = NewBid(
        bid=good.bid,
        market="day_ahead",
        country="DE",
        delivery_day=DAY,
        delivery_start=datetime(2026, 3, 1, 23),
        gate_closure=product.gate_closure,
        status=BidStatus.ACCEPTED,
    )
    with pytest.raises(InvalidInputError) as caught:
        repo.add_bids(tenant, None, [good, bad_shape, wrong_market, naive], "req-1")
    found = {(p.subject, p.field) for p in caught.value.problems}
    assert found == {
        ("bid #2", "bid.volume_mw"),
        ("bid #2", "bid.price_eur_per_mwh"),
        ("bid #3", "bid.product_id"),
        ("bid #4", "delivery_start"),
        ("bid #4", "status"),
    }
    message = str(caught.value)
    assert "is not a product of market='intraday_auction'" in message
    assert "a new bid's status must be one of draft, submitted" in message
    assert _count(repo, "bids") == 0


@pytest.mark.parametrize(
    ("key", "field"),
    [("", "idempotency_key"), ("has space", "idempotency_key"), ("x" * 201, "idempotency_key")],
)
def test_bad_idempotency_keys_are_refused(repo: Repository, tenant: str, key, field) -> None:
    with pytest.raises(InvalidInputError, match=field):
        repo.add_bids(tenant, None, batch(1), key)


def test_an_empty_batch_is_refused(repo: Repository, tenant: str) -> None:
    with pytest.raises(InvalidInputError, match="must be a non-empty list"):
        repo.add_bids(tenant, None, [], "req-1")


def test_gate_closure_must_precede_delivery(repo: Repository, tenant: str) -> None:
    product = day_ahead()[0]
    late = NewBid(
        bid=single(0).bid,
        market="day_ahead",
        country="DE",
        delivery_day=DAY,
        delivery_start=product.delivery_start,
        gate_closure=product.delivery_start,
    )
    with pytest.raises(InvalidInputError, match=r"gate_closure=.* must be before delivery_start"):
        repo.add_bids(tenant, None, [late], "req-1")


def test_list_filters_by_market_product_status_and_day(repo: Repository, tenant: str) -> None:
    later_day = date(2026, 3, 3)
    other_day = day_ahead(later_day)[0]
    other = NewBid.from_product(
        SingleBid(product_id=other_day.product_id, volume_mw=1, price_eur_per_mwh=1), other_day
    )
    ids = repo.add_bids(tenant, None, [*batch(3), other], "req-1").bid_ids
    repo.transition(ids[1], "submitted", _trader(repo, tenant))
    assert repo.list_bids(tenant).total == 4
    assert [b.id for b in repo.list_bids(tenant, delivery_day=DAY).items] == list(ids[:3])
    assert [b.id for b in repo.list_bids(tenant, delivery_day=later_day).items] == [ids[3]]
    assert [b.id for b in repo.list_bids(tenant, status="submitted").items] == [ids[1]]
    product_id = day_ahead()[2].product_id
    assert [b.id for b in repo.list_bids(tenant, product_id=product_id).items] == [ids[2]]
    assert repo.list_bids(tenant, market="day_ahead").total == 4
    assert repo.list_bids(tenant, market="afrr_capacity").total == 0
    with pytest.raises(InvalidInputError, match="status='live' must be one of draft"):
        repo.list_bids(tenant, status="live")


def test_pages_are_stable_and_never_overlap(repo: Repository, tenant: str) -> None:
    ids = list(repo.add_bids(tenant, None, batch(7), "a").bid_ids)
    ids += repo.add_bids(tenant, None, [single(20)], "b").bid_ids
    pages = [repo.list_bids(tenant, page=p, limit=3) for p in (1, 2, 3, 4)]
    assert [len(p.items) for p in pages] == [3, 3, 2, 0]
    assert {p.total for p in pages} == {8}
    assert pages[0].pages == 3
    assert [b.id for p in pages for b in p.items] == ids  # given order within a batch
    assert repo.list_bids(tenant, page=2, limit=3) == pages[1]
    with pytest.raises(InvalidInputError, match="limit=0 must be a whole number from 1"):
        repo.list_bids(tenant, limit=0)
    with pytest.raises(InvalidInputError, match="page=0 must be a whole number >= 1"):
        repo.list_bids(tenant, page=0)
    with pytest.raises(InvalidInputError, match="page=92233720368547760 puts the offset past"):
        repo.list_bids(tenant, page=92233720368547760, limit=100)


def test_bids_may_belong_to_a_plan_of_the_tenant(repo: Repository, tenant: str) -> None:

    actor = Actor.system(tenant)
    repo.save_portfolio(actor, portfolio_document(tenant))
    plan = repo.create_plan(actor, "sample-vpp", DAY)
    stored = repo.add_bids(tenant, None, [single(0, plan_id=plan.id)], "req-1").bids[0]
    assert stored.plan_id == plan.id
    with pytest.raises(InvalidInputError, match="plan_id='nope' is not a plan of 'acme'"):
        repo.add_bids(tenant, None, [single(1, plan_id="nope")], "req-2")


def _trader(repo: Repository, tenant: str):
    return repo.create_api_key(tenant, "trader", "desk").record.actor


def test_created_at_is_now(repo: Repository, tenant: str) -> None:
    before = datetime.now(UTC)
    bid = repo.add_bids(tenant, None, batch(1), "req-1").bids[0]
    assert before <= bid.created_at <= datetime.now(UTC)


def test_raw_rows_hold_json_documents(repo: Repository, tenant: str) -> None:
    bid_id = repo.add_bids(tenant, None, [block(0)], "req-1").bid_ids[0]
    with repo.engine.connect() as connection:
        table = sa.table("bids", sa.column("id"), sa.column("document", sa.JSON))
        document = connection.execute(
            sa.select(table.c.document).where(table.c.id == bid_id)
        ).scalar()
    assert document["type"] == "block"
    assert len(document["product_ids"]) == 4


def test_a_submission_keeps_the_instant_it_was_accepted_at(repo: Repository, tenant: str) -> None:
    # The API's clock decides the gates; the store records that same instant, not its own.
    accepted = datetime(2026, 6, 14, 9, 59, 30, tzinfo=UTC)
    result = repo.add_bids(tenant, None, batch(2), "req-at", at=accepted)
    assert [b.created_at for b in result.bids] == [accepted, accepted]
    history = repo.bid_history(tenant, result.bid_ids[0])
    assert history is not None
    assert history[0].at == accepted
    with pytest.raises(InvalidInputError, match=r"at=.*timezone-aware"):
        repo.add_bids(tenant, None, batch(1), "req-naive", at=datetime(2026, 6, 14, 9, 59))


def test_find_submission_reads_an_earlier_answer_and_nothing_else(
    repo: Repository, tenant: str
) -> None:
    assert repo.find_submission(tenant, "req-1", batch(3)) is None
    first = repo.add_bids(tenant, None, batch(3), "req-1")
    found = repo.find_submission(tenant, "req-1", batch(3))
    assert found is not None
    assert found.bid_ids == first.bid_ids
    assert not found.created
    with pytest.raises(IdempotencyKeyReusedError):
        repo.find_submission(tenant, "req-1", batch(2))
    assert repo.find_submission("other-tenant", "req-1", batch(3)) is None
