"""A large submission's rows are built before its write transaction (the write lock is then
held for the database's part alone): what is stored is the same as rows built inside it,
and rows built for an actor the transaction no longer finds are never used."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from store_factories import day_ahead
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from markets.bids import SingleBid
from trading.store import Actor, NewBid, Repository, Role, StoreError, upgrade
from trading.store.engine import create_engine_for
from trading.store.ops import bids as bid_ops
from trading.store.repository import STAGED_BIDS, prepare_submission

ACCEPTED_AT = datetime(2026, 6, 13, 9, 30, tzinfo=UTC)


def _named(count: int, prefix: str) -> list[NewBid]:
    """`count` single bids with bid_ids ``prefix/0``..., cycling over the day's products."""
    products = day_ahead()
    return [
        NewBid.from_product(
            SingleBid(
                product_id=products[i % 90].product_id,
                volume_mw=0.5 + i % 7,
                price_eur_per_mwh=40.0 + i % 13,
                bid_id=f"{prefix}/{i}",
            ),
            products[i % 90],
        )
        for i in range(count)
    ]


def _stored(repo: Repository, tenant_id: str) -> list[dict[str, Any]]:
    """Each of the tenant's bids with its creation event and audit entry, less the ids the
    store makes up (bid, submission, event ids)."""
    page = repo.list_bids(tenant_id, limit=1000)
    audit = {
        entry.subject: entry
        for entry in repo.list_audit(tenant_id, limit=1000).items
        if entry.action == "bid.create"
    }
    found = []
    for bid in page.items:
        (event,) = repo.bid_history(tenant_id, bid.id) or []
        entry = audit[f"bid {bid.id}"]
        details = {k: v for k, v in entry.details.items() if k != "submission_id"}
        found.append(
            {
                "bid": (bid.position, bid.product_id, bid.status, bid.document, bid.created_at),
                "event": (event.to_status, event.at, event.reason, event.details, event.rule_ids),
                "audit": (entry.at, entry.role, entry.key_id, details),
            }
        )
    return found


def test_rows_built_before_the_transaction_store_what_rows_built_inside_it_would(
    repo: Repository, tenant: str
) -> None:
    repo.create_tenant("globex", "Globex")
    bids = _named(STAGED_BIDS + 3, "big")
    ahead = prepare_submission(tenant, None, bids, "same-key", ACCEPTED_AT)
    inside = prepare_submission("globex", None, bids, "same-key", ACCEPTED_AT)
    (first,) = repo.add_submissions([ahead])  # large: staged before the transaction
    (second,) = repo.add_submissions([inside], staged={})  # built inside it
    assert not isinstance(first, Exception)
    assert first.created
    assert not isinstance(second, Exception)
    assert second.created
    assert len(first.bids) == len(bids)
    stored = _stored(repo, tenant)
    assert len(stored) == len(bids)
    assert stored == _stored(repo, "globex")
    assert [b.id for b in repo.list_bids(tenant, limit=1000).items] == [b.id for b in first.bids]
    (again,) = repo.add_submissions([ahead])  # a replay: the first answer, nothing stored
    assert not isinstance(again, Exception)
    assert not again.created
    assert [b.id for b in again.bids] == [b.id for b in first.bids]
    assert repo.list_bids(tenant, limit=1).total == len(bids)


def test_rows_staged_for_another_role_are_rebuilt_for_the_key_the_transaction_finds(
    repo: Repository, tenant: str
) -> None:
    key = repo.create_api_key(tenant, Role.TRADER, "desk").record
    submission = prepare_submission(tenant, key.id, _named(STAGED_BIDS, "b"), "k", ACCEPTED_AT)
    wrong = Actor(tenant_id=tenant, key_id=key.id, role=Role.ADMIN)
    staged = bid_ops.stage(repo.engine.dialect, submission, wrong, ACCEPTED_AT)
    (result,) = repo.add_submissions([submission], staged={0: staged})
    assert not isinstance(result, Exception)
    assert result.created
    assert [b.id for b in result.bids] != [b.id for b in staged.result.bids]
    roles = {row["audit"][1] for row in _stored(repo, tenant)}
    assert roles == {Role.TRADER.value}


def test_a_key_revoked_after_its_batch_was_staged_stores_nothing(
    repo: Repository, tenant: str
) -> None:
    key = repo.create_api_key(tenant, Role.TRADER, "desk").record
    submission = prepare_submission(tenant, key.id, _named(STAGED_BIDS, "b"), "k", ACCEPTED_AT)
    actor = Actor(tenant_id=tenant, key_id=key.id, role=Role.TRADER)
    staged = bid_ops.stage(repo.engine.dialect, submission, actor, ACCEPTED_AT)
    repo.revoke_api_key(tenant, key.id)
    (refused,) = repo.add_submissions([submission], staged={0: staged})
    assert isinstance(refused, StoreError)
    assert "revoked" in str(refused)
    assert repo.list_bids(tenant, limit=1).total == 0


@pytest.mark.parametrize("count", [1, STAGED_BIDS - 1])
def test_small_submissions_are_not_staged(repo: Repository, tenant: str, count: int) -> None:
    submission = prepare_submission(tenant, None, _named(count, "s"), "k", ACCEPTED_AT)
    assert repo._stage([submission]) == {}
    large = prepare_submission(tenant, None, _named(STAGED_BIDS, "l"), "l", ACCEPTED_AT)
    assert set(repo._stage([submission, large])) == {1}


def test_on_sqlite_a_large_batch_is_parked_while_another_writer_holds_the_lock(
    tmp_path: Path,
) -> None:
    """Its rows go into temporary tables without SQLite's write lock (a writer busy with
    something else does not hold up the parking), and the transaction then stores them."""
    url = f"sqlite:///{tmp_path / 'park.sqlite3'}"
    upgrade(url)
    repo = Repository(create_engine_for(url, busy_timeout_s=0.2))
    try:
        repo.create_tenant("acme", "Acme")
        bids = _named(STAGED_BIDS + 5, "p")
        submission = prepare_submission("acme", None, bids, "parked", ACCEPTED_AT)
        other = sqlite3.connect(tmp_path / "park.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
        try:
            with repo._parking([submission]) as parking:
                assert parking is not None
                staged = repo._stage([submission], parking)  # "database is locked" if it waited
                driver = parking.connection.driver_connection
                parked = driver.execute("SELECT count(*) FROM sqlite_temp_master").fetchone()[0]
                assert parked == 4  # one table each: submission, bids, events, audit
                other.execute("ROLLBACK")
                (result,) = repo._add([submission], staged, parking)
                for one in staged.values():
                    one.rows.unpark(driver)
                left = driver.execute("SELECT count(*) FROM sqlite_temp_master").fetchone()[0]
        finally:
            other.close()
        assert not isinstance(result, Exception)
        assert result.created
        assert left == 0
        stored = repo.list_bids("acme", limit=1000).items
        assert [b.document["bid_id"] for b in stored] == [f"p/{i}" for i in range(len(bids))]
        assert _stored(repo, "acme")[0]["event"][2] == "created"
    finally:
        repo.close()


def test_a_refused_parked_batch_stores_nothing_and_leaves_no_temporary_table(
    repo: Repository, tenant: str
) -> None:
    key = repo.create_api_key(tenant, Role.TRADER, "desk").record
    first = prepare_submission(tenant, key.id, _named(STAGED_BIDS, "same"), "a", ACCEPTED_AT)
    taken = [replace(b, bid=b.bid.model_copy(update={"volume_mw": 9.0})) for b in _named(2, "same")]
    (stored,) = repo.add_submissions([prepare_submission(tenant, key.id, taken, "b", ACCEPTED_AT)])
    assert not isinstance(stored, Exception)
    (refused,) = repo.add_submissions([first])  # bid_id same/0 is taken by another bid
    assert isinstance(refused, StoreError)
    assert repo.list_bids(tenant, limit=1000).total == 2
    with repo.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            temp = connection.exec_driver_sql("SELECT count(*) FROM sqlite_temp_master")
            assert temp.scalar() == 0


def test_a_bid_id_taken_after_its_batch_was_staged_refuses_the_batch_naming_it(
    repo: Repository, tenant: str
) -> None:
    """A staged batch's bid_ids are looked up before its transaction; one taken meanwhile
    by another writer still refuses the batch whole, naming that bid_id (no 500, no row)."""
    key = repo.create_api_key(tenant, Role.TRADER, "desk").record
    big = prepare_submission(tenant, key.id, _named(STAGED_BIDS, "late"), "big", ACCEPTED_AT)
    staged = repo._stage([big])
    assert staged[0].names_free
    other = [replace(b, bid=b.bid.model_copy(update={"volume_mw": 9.0})) for b in _named(1, "late")]
    (taken,) = repo.add_submissions([prepare_submission(tenant, key.id, other, "o", ACCEPTED_AT)])
    assert not isinstance(taken, Exception)
    (refused,) = repo._add([big], staged, None)
    assert isinstance(refused, StoreError)
    assert "late/0" in str(refused)
    assert repo.list_bids(tenant, limit=1000).total == 1
