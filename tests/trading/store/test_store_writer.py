"""Group commit: many threads' submissions written together, each answered as add_bids would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client import CollectorRegistry
from store_factories import batch, day_ahead, single
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from markets.bids import SingleBid
from trading.store import (
    BidIdTakenError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NewBid,
    NotFoundError,
    Repository,
    SubmissionWriter,
    WriterClosedError,
)
from trading.store.repository import prepare_submission
from trading.store.writer import BULK_BIDS


@pytest.fixture
def writer(repo: Repository) -> Iterator[SubmissionWriter]:
    writer = SubmissionWriter(repo, metrics_registry=CollectorRegistry())
    yield writer
    writer.close()


def _count(repo: Repository, table: str) -> int:
    with repo.engine.connect() as connection:
        return connection.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar()


def test_concurrent_submissions_are_all_stored_once_and_answered(
    repo: Repository, tenant: str, writer: SubmissionWriter
) -> None:
    with ThreadPoolExecutor(16) as pool:
        results = list(
            pool.map(lambda n: writer.add_bids(tenant, None, batch(2), f"req-{n}"), range(200))
        )
    assert all(r.created for r in results)
    assert len({r.submission_id for r in results}) == 200
    stored = {b.id for b in repo.list_bids(tenant, limit=1000).items}
    assert stored == {bid_id for r in results for bid_id in r.bid_ids}
    assert _count(repo, "bids") == 400
    assert _count(repo, "bid_events") == 400
    assert _count(repo, "audit_log") >= 400


def test_a_refused_submission_leaves_its_group_be(
    repo: Repository, tenant: str, writer: SubmissionWriter
) -> None:
    first = writer.add_bids(tenant, None, batch(3), "taken")
    # Queued at once, these are mostly written as one group.
    blocker = writer.submit(tenant, None, batch(1), "blocker")
    futures = {
        "good-1": writer.submit(tenant, None, batch(1), "good-1"),
        "reused": writer.submit(tenant, None, batch(2), "taken"),
        "replay": writer.submit(tenant, None, batch(3), "taken"),
        "no-tenant": writer.submit("nobody", None, batch(1), "x"),
        "good-2": writer.submit(tenant, None, batch(1), "good-2"),
    }
    assert blocker.result(timeout=30).created
    assert futures["good-1"].result(timeout=30).created
    assert futures["good-2"].result(timeout=30).created
    with pytest.raises(IdempotencyKeyReusedError):
        futures["reused"].result(timeout=30)
    with pytest.raises(NotFoundError, match="nobody"):
        futures["no-tenant"].result(timeout=30)
    replay = futures["replay"].result(timeout=30)
    assert not replay.created
    assert replay.bid_ids == first.bid_ids
    assert _count(repo, "bids") == 3 + 1 + 1 + 1


def test_one_key_twice_in_a_group_is_stored_once(
    repo: Repository, tenant: str, writer: SubmissionWriter
) -> None:
    futures = [writer.submit(tenant, None, batch(2), "same") for _ in range(20)]
    results = [f.result(timeout=30) for f in futures]
    assert sum(r.created for r in results) == 1
    assert len({r.bid_ids for r in results}) == 1
    assert _count(repo, "bids") == 2


def test_bad_bids_are_refused_before_they_are_queued(tenant: str, writer: SubmissionWriter) -> None:
    with pytest.raises(InvalidInputError, match="bids"):
        writer.submit(tenant, None, [], "empty")
    with pytest.raises(InvalidInputError, match="idempotency_key"):
        writer.submit(tenant, None, [single(1)], "")


def test_a_closed_writer_writes_what_it_had_and_takes_nothing_more(
    repo: Repository, tenant: str
) -> None:
    writer = SubmissionWriter(repo, metrics_registry=CollectorRegistry())
    futures = [writer.submit(tenant, None, batch(1), f"req-{n}") for n in range(50)]
    writer.close()
    assert all(f.result(timeout=1).created for f in futures)
    with pytest.raises(WriterClosedError):
        writer.submit(tenant, None, batch(1), "late")
    assert _count(repo, "bids") == 50


def test_groups_are_counted_in_the_metrics(repo: Repository, tenant: str) -> None:
    registry = CollectorRegistry()
    writer = SubmissionWriter(repo, metrics_registry=registry)
    try:
        for n in range(5):
            writer.add_bids(tenant, None, batch(1), f"req-{n}")
    finally:
        writer.close()
    assert registry.get_sample_value("vpp_store_write_group_size_sum") == 5
    assert registry.get_sample_value("vpp_store_write_group_size_count") == 5


def test_one_group_holds_replays_refusals_and_new_bids_each_answered(
    repo: Repository, tenant: str
) -> None:
    # Deterministically one transaction: the repository's group write itself.
    first = repo.add_bids(tenant, None, batch(3), "taken")
    outcomes = repo.add_submissions(
        [
            prepare_submission(tenant, None, batch(1), "new"),
            prepare_submission(tenant, None, batch(1), "new"),  # twice in the group
            prepare_submission(tenant, None, batch(3), "taken"),  # replay of a stored one
            prepare_submission(tenant, None, batch(2), "taken"),  # key reused for other bids
            prepare_submission("nobody", None, batch(1), "x"),
            prepare_submission(tenant, "no-such-key", batch(1), "y"),
        ]
    )
    new, again, replay, reused, no_tenant, bad_key = outcomes
    assert new.created
    assert not again.created
    assert again.bid_ids == new.bid_ids
    assert not replay.created
    assert replay.bid_ids == first.bid_ids
    assert isinstance(reused, IdempotencyKeyReusedError)
    assert isinstance(no_tenant, NotFoundError)
    assert isinstance(bad_key, InvalidInputError)
    assert "no-such-key" in str(bad_key)
    assert _count(repo, "bids") == 4
    assert _count(repo, "bid_submissions") == 2


def test_a_closed_writer_can_be_opened_again(repo: Repository, tenant: str) -> None:
    writer = SubmissionWriter(repo, metrics_registry=CollectorRegistry())
    writer.close()
    writer.open()
    try:
        assert writer.add_bids(tenant, None, batch(1), "after-reopen").created
    finally:
        writer.close()


def test_a_caller_that_gave_up_does_not_stop_the_writer(repo: Repository, tenant: str) -> None:
    # An API request cancelled while its submission waited (a client gone) cancels the
    # future; the writer skips it and goes on serving everyone else.
    writer = SubmissionWriter(repo, metrics_registry=CollectorRegistry())
    try:
        abandoned = [writer.submit(tenant, None, batch(1), f"gone-{n}") for n in range(20)]
        for future in abandoned:
            future.cancel()
        later = writer.submit(tenant, None, batch(1), "after").result(timeout=10)
        assert later.created
        assert writer.submit(tenant, None, batch(1), "after-2").result(timeout=10).created
    finally:
        writer.close()
    written = _count(repo, "bids")
    assert 2 <= written <= 22  # the cancelled ones that were already running were written


def test_one_failing_submission_in_a_raced_group_fails_alone(
    repo: Repository, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The group hits the unique constraint (another process took a key), so each is
    # written on its own; one of them then fails for its own reason: only it fails.
    from sqlalchemy.exc import IntegrityError

    from trading.store.ops import bids as bid_ops

    real = bid_ops.add_submissions
    calls = {"n": 0}

    def racing(session, submissions, staged=None):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if len(submissions) > 1:
            raise IntegrityError("INSERT", {}, Exception("unique constraint"))
        if submissions[0].idempotency_key == "poisoned":
            raise RuntimeError("disk full")
        return real(session, submissions, staged)

    monkeypatch.setattr(bid_ops, "add_submissions", racing)
    outcomes = repo.add_submissions(
        [
            prepare_submission(tenant, None, batch(1), "fine-1"),
            prepare_submission(tenant, None, batch(1), "poisoned"),
            prepare_submission(tenant, None, batch(1), "fine-2"),
        ]
    )
    fine_1, poisoned, fine_2 = outcomes
    assert fine_1.created
    assert fine_2.created
    assert isinstance(poisoned, RuntimeError)
    assert _count(repo, "bids") == 2


@pytest.mark.postgres
def test_a_member_the_database_refuses_fails_alone_and_its_group_is_written(
    pg_url: str,
) -> None:
    """A check gap (here: NUL smuggled past `prepare_submission`) fails one submission only.

    A held table lock keeps the writer on its first submission while the rest queue up,
    so the poisoned one and five good ones are written as one group: PostgreSQL refuses
    the group's transaction, and the writer writes each member again on its own.
    """
    from dataclasses import replace

    from sqlalchemy.exc import DataError

    from trading.store import upgrade

    upgrade(pg_url)
    repo = Repository.from_url(pg_url)
    registry = CollectorRegistry()
    writer = SubmissionWriter(repo, metrics_registry=registry)
    try:
        repo.create_tenant("acme", "Acme")
        repo.create_tenant("globex", "Globex")
        good = prepare_submission("acme", None, batch(1), "good-0")
        (bid,) = good.bids
        poisoned = replace(
            prepare_submission("globex", None, batch(1), "bad"),
            bids=(replace(bid, document={**bid.document, "bid_id": "a\x00b"}),),
        )
        with repo.engine.connect() as holder:
            holder.exec_driver_sql("LOCK TABLE bids IN EXCLUSIVE MODE")
            first = writer.submit("acme", None, batch(1), "first")
            deadline = time.monotonic() + 10
            while not first.running() and time.monotonic() < deadline:
                time.sleep(0.005)  # the writer has taken `first` alone and waits on the lock
            futures = [writer.submit_prepared(poisoned)] + [
                writer.submit("acme", None, batch(1), f"good-{n}") for n in range(5)
            ]
            holder.rollback()
        assert first.result(timeout=30).created
        with pytest.raises(DataError):
            futures[0].result(timeout=30)
        assert all(f.result(timeout=30).created for f in futures[1:])
        assert repo.list_bids("acme", limit=100).total == 6
        assert repo.list_bids("globex", limit=100).total == 0
        grouped = registry.get_sample_value("vpp_store_write_group_size_bucket", {"le": "4.0"})
        total = registry.get_sample_value("vpp_store_write_group_size_count")
        assert total is not None
        assert grouped is not None
        assert grouped < total, "the poisoned submission was never in a group of several"
    finally:
        writer.close()
        repo.close()


def _named(count: int, prefix: str) -> list[NewBid]:
    """`count` single bids with bid_ids ``prefix/0``..., cycling over the day's products."""
    products = day_ahead()
    return [
        NewBid.from_product(
            SingleBid(
                product_id=products[i % 90].product_id,
                volume_mw=1.0,
                price_eur_per_mwh=50.0,
                bid_id=f"{prefix}/{i}",
            ),
            products[i % 90],
        )
        for i in range(count)
    ]


def test_a_bulk_batch_and_small_submissions_written_side_by_side_are_each_stored_once(
    repo: Repository, tenant: str, writer: SubmissionWriter
) -> None:
    big = writer.submit(tenant, None, _named(BULK_BIDS * 2, "big"), "big")
    small = [writer.submit(tenant, None, _named(1, f"small-{n}"), f"s-{n}") for n in range(20)]
    assert big.result(timeout=60).created
    assert all(f.result(timeout=60).created for f in small)
    assert _count(repo, "bids") == BULK_BIDS * 2 + 20
    assert _count(repo, "bid_events") == BULK_BIDS * 2 + 20


def test_a_bid_id_claimed_by_a_bulk_batch_and_a_small_one_at_once_is_stored_once(
    repo: Repository, tenant: str, writer: SubmissionWriter
) -> None:
    """The two lanes race for the same bid_id: one wins, the other is told it is taken."""
    contested = _named(BULK_BIDS, "desk")
    small = NewBid.from_product(
        SingleBid(
            product_id=contested[7].bid.product_id,  # type: ignore[union-attr]
            volume_mw=-3.0,  # another body under the same bid_id
            price_eur_per_mwh=10.0,
            bid_id="desk/7",
        ),
        day_ahead()[7],
    )
    big = writer.submit(tenant, None, contested, "big")
    other = writer.submit(tenant, None, [small], "small")
    errors = [future.exception(timeout=60) for future in (big, other)]
    assert sum(error is None for error in errors) == 1
    (refused,) = [error for error in errors if error is not None]
    assert isinstance(refused, BidIdTakenError)
    assert "desk/7" in str(refused)
    stored = repo.list_bids(tenant, limit=1000).items
    assert [b.document["bid_id"] for b in stored].count("desk/7") == 1
    assert _count(repo, "bids") in (1, BULK_BIDS)
