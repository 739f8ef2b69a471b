"""A large batch on SQLite is written in chunks and published by one short transaction:
readers see all of it or none of it, other writers take their turn between two chunks,
and the chunks of a batch whose writer died are swept at the next start."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from store_factories import day_ahead

from markets.bids import SingleBid
from trading.store import NewBid, Repository, Role, StoreError, upgrade
from trading.store.errors import ConflictError
from trading.store.inputs import Actor
from trading.store.ops import bids as bid_ops
from trading.store.ops.orders import CancelFilters, cancel_all
from trading.store.repository import CHUNK_BIDS, CHUNKED_BIDS, prepare_submission

ACCEPTED_AT = datetime(2026, 6, 13, 9, 30, tzinfo=UTC)
SIZE = CHUNKED_BIDS + CHUNK_BIDS + 7  # a few chunks, the last one short


def _named(count: int, prefix: str, volume_mw: float | None = None) -> list[NewBid]:
    products = day_ahead()
    return [
        NewBid.from_product(
            SingleBid(
                product_id=products[i % 90].product_id,
                volume_mw=volume_mw if volume_mw is not None else 0.5 + i % 7,
                price_eur_per_mwh=40.0 + i % 13,
                bid_id=f"{prefix}/{i}",
            ),
            products[i % 90],
        )
        for i in range(count)
    ]


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    url = f"sqlite:///{tmp_path / 'chunked.sqlite3'}"
    upgrade(url)
    repository = Repository.from_url(url)
    repository.create_tenant("acme", "Acme")
    try:
        yield repository
    finally:
        repository.close()


def _rows(repo: Repository) -> dict[str, int]:
    """Rows in each table a submission writes, published or not (audit: bid creations)."""
    with repo.engine.connect() as connection:
        return {
            table.split()[0]: connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
            or 0
            for table in (
                "bid_submissions",
                "bids",
                "bid_events",
                "audit_log WHERE action = 'bid.create'",
            )
        }


def _chunks_written(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record each chunk's (first, end) as it is inserted."""
    seen: list[tuple[int, int]] = []
    real = bid_ops.insert_chunk

    def recording(session, staged, first, end):  # type: ignore[no-untyped-def]
        seen.append((first, end))
        real(session, staged, first, end)

    monkeypatch.setattr(bid_ops, "insert_chunk", recording)
    return seen


def _die_before_publishing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer stops after its last chunk as under kill -9: no publish, no clean-up."""

    def killed(*_args: object) -> None:
        raise RuntimeError("killed before publishing")

    monkeypatch.setattr(bid_ops, "publish", killed)
    monkeypatch.setattr(Repository, "_discard", lambda *_args: None)


def test_a_large_batch_goes_in_by_chunks_and_is_stored_whole(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = _chunks_written(monkeypatch)
    bids = _named(SIZE, "big")
    (result,) = repo.add_submissions([prepare_submission("acme", None, bids, "k", ACCEPTED_AT)])
    assert not isinstance(result, Exception)
    assert result.created
    assert chunks == [(i, min(i + CHUNK_BIDS, SIZE)) for i in range(0, SIZE, CHUNK_BIDS)]
    listed = repo.list_bids("acme", limit=1000, page=2)
    assert listed.total == SIZE
    assert [b.id for b in listed.items] == [b.id for b in result.bids[1000:2000]]
    assert _rows(repo) == {
        "bid_submissions": 1,
        "bids": SIZE,
        "bid_events": SIZE,
        "audit_log": SIZE,
    }
    (history,) = repo.bid_history("acme", result.bids[-1].id) or []
    assert history.reason == "created"
    (again,) = repo.add_submissions([prepare_submission("acme", None, bids, "k", ACCEPTED_AT)])
    assert not isinstance(again, Exception)
    assert not again.created  # a replay: the first answer, nothing more stored
    assert [b.id for b in again.bids] == [b.id for b in result.bids]
    assert _rows(repo)["bids"] == SIZE


def test_a_smaller_batch_is_written_in_one_transaction(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = _chunks_written(monkeypatch)
    bids = _named(CHUNKED_BIDS - 1, "one")
    (result,) = repo.add_submissions([prepare_submission("acme", None, bids, "k", ACCEPTED_AT)])
    assert not isinstance(result, Exception)
    assert chunks == []
    assert repo.list_bids("acme", limit=1).total == CHUNKED_BIDS - 1


def test_chunks_of_a_batch_never_published_are_invisible_then_swept(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        _die_before_publishing(patched)
        with pytest.raises(RuntimeError, match="killed"):
            repo.add_submissions(
                [prepare_submission("acme", None, _named(SIZE, "x"), "k", ACCEPTED_AT)]
            )
    assert _rows(repo)["bids"] == SIZE  # the chunks are in the tables...
    assert repo.list_bids("acme", limit=1).total == 0  # ...and no reader sees them
    with repo._write() as session:
        actor = Actor.system("acme")
        filters = CancelFilters(market=None, zone=None, delivery_day=None)
        cancelled = cancel_all(session, actor, filters, ACCEPTED_AT, None)
        assert (cancelled.withdrawn, cancelled.kept) == ((), ())
    # the same key or one of its bid_ids meanwhile: neither a replay nor stored twice
    with pytest.raises(ConflictError, match="still being stored"):
        repo.add_bids("acme", None, _named(SIZE, "x"), "k", at=ACCEPTED_AT)
    with pytest.raises(ConflictError, match="still being stored"):
        repo.add_bids("acme", None, _named(1, "x"), "other", at=ACCEPTED_AT)
    assert repo.sweep_unpublished() == 1
    assert _rows(repo) == {"bid_submissions": 0, "bids": 0, "bid_events": 0, "audit_log": 0}
    assert repo.sweep_unpublished() == 0
    (result,) = repo.add_submissions(
        [prepare_submission("acme", None, _named(SIZE, "x"), "k", ACCEPTED_AT)]
    )
    assert not isinstance(result, Exception)
    assert result.created
    assert repo.list_bids("acme", limit=1).total == SIZE


def test_the_sweep_leaves_published_submissions_alone(repo: Repository) -> None:
    repo.add_bids("acme", None, _named(3, "small"), "s", at=ACCEPTED_AT)
    (big,) = repo.add_submissions(
        [prepare_submission("acme", None, _named(SIZE, "b"), "b", ACCEPTED_AT)]
    )
    assert not isinstance(big, Exception)
    assert repo.sweep_unpublished() == 0
    assert repo.list_bids("acme", limit=1).total == SIZE + 3


def test_a_small_submission_is_written_between_two_chunks(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write lock is taken in turn: a small submission queued while a chunk is written
    commits before the next chunk, long before the batch is published (and is visible
    while the batch is not)."""
    order: list[str] = []
    small_done = threading.Event()
    seen_meanwhile: list[int] = []
    real = bid_ops.insert_chunk

    def small() -> None:
        repo.add_bids("acme", None, _named(1, "small"), "s", at=ACCEPTED_AT)
        order.append("small")
        seen_meanwhile.append(repo.list_bids("acme", limit=1).total)
        small_done.set()

    def chunk(session, staged, first, end):  # type: ignore[no-untyped-def]
        order.append(f"chunk {first}")
        real(session, staged, first, end)
        if first == 0:
            threading.Thread(target=small).start()
            time.sleep(0.3)  # it queues for the lock this chunk holds

    monkeypatch.setattr(bid_ops, "insert_chunk", chunk)
    (result,) = repo.add_submissions(
        [prepare_submission("acme", None, _named(SIZE, "b"), "b", ACCEPTED_AT)]
    )
    assert small_done.wait(5)
    assert not isinstance(result, Exception)
    assert order[:3] == ["chunk 0", "small", f"chunk {CHUNK_BIDS}"]
    assert seen_meanwhile == [1]  # the small one alone: the batch was not published yet
    assert repo.list_bids("acme", limit=1).total == SIZE + 1


def test_a_bid_id_taken_between_two_chunks_refuses_the_batch_whole(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bid_ops.insert_chunk
    late = f"b/{SIZE - 1}"  # in the last chunk

    def chunk(session, staged, first, end):  # type: ignore[no-untyped-def]
        if first == 0:
            other = _named(SIZE, "b", volume_mw=9.0)[-1:]
            threading.Thread(
                target=repo.add_bids, args=("acme", None, other, "o"), kwargs={"at": ACCEPTED_AT}
            ).start()
        real(session, staged, first, end)
        if first == 0:
            time.sleep(0.3)

    monkeypatch.setattr(bid_ops, "insert_chunk", chunk)
    (refused,) = repo.add_submissions(
        [prepare_submission("acme", None, _named(SIZE, "b"), "b", ACCEPTED_AT)]
    )
    assert isinstance(refused, StoreError)
    assert late in str(refused)
    stored = repo.list_bids("acme", limit=10).items
    assert [b.document["bid_id"] for b in stored] == [late]
    assert _rows(repo) == {"bid_submissions": 1, "bids": 1, "bid_events": 1, "audit_log": 1}


def test_a_key_revoked_between_two_chunks_refuses_the_batch_and_stores_nothing(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = repo.create_api_key("acme", Role.TRADER, "desk").record
    real = bid_ops.insert_chunk

    def chunk(session, staged, first, end):  # type: ignore[no-untyped-def]
        real(session, staged, first, end)
        if first == 0:
            threading.Thread(target=repo.revoke_api_key, args=("acme", key.id)).start()
            time.sleep(0.3)

    monkeypatch.setattr(bid_ops, "insert_chunk", chunk)
    submission = prepare_submission("acme", key.id, _named(SIZE, "b"), "b", ACCEPTED_AT)
    (refused,) = repo.add_submissions([submission])
    assert isinstance(refused, StoreError)
    assert "revoked" in str(refused)
    counts = _rows(repo)
    assert (counts["bid_submissions"], counts["bids"], counts["bid_events"]) == (0, 0, 0)


def test_an_upgrade_publishes_every_existing_submission(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0010")
    repo = Repository.from_url(url)
    try:
        with repo.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO tenants (id, name, created_at) "
                "VALUES ('t', 'T', '2026-01-01 00:00:00.000000')"
            )
            connection.exec_driver_sql(
                "INSERT INTO bid_submissions "
                "(id, tenant_id, idempotency_key, request_sha256, created_at) "
                "VALUES ('s1', 't', 'k', 'x', '2026-06-13 09:30:00.000000')"
            )
        upgrade(url)
        with repo.engine.connect() as connection:
            row = connection.exec_driver_sql(
                "SELECT created_at, published_at FROM bid_submissions"
            ).one()
        assert row[1] == row[0]
        assert repo.sweep_unpublished() == 0
    finally:
        repo.close()
