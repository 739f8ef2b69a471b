"""The writer's look-up of taken bid_ids and idempotency keys (`trading.store.held`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session
from store_factories import day_ahead
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from markets.bids import SingleBid
from trading.store import BidStatus, NewBid, Repository, upgrade
from trading.store.held import held_ids
from trading.store.models import BidRow

BIDS = BidRow.__table__


def _store_named(repo: Repository, tenant: str, batches: int, size: int, first: int = 0) -> None:
    products = day_ahead()
    for batch in range(first, first + batches):
        bids = [
            NewBid.from_product(
                SingleBid(
                    product_id=products[i % len(products)].product_id,
                    volume_mw=1.0,
                    price_eur_per_mwh=40.0,
                    bid_id=f"desk/{batch}/{i}",
                ),
                products[i % len(products)],
                status=BidStatus.SUBMITTED,
            )
            for i in range(size)
        ]
        repo.add_bids(tenant, None, bids, f"load-{batch}", at=datetime.now(UTC))


def test_held_ids_names_the_taken_ones_only(repo: Repository, tenant: str) -> None:
    _store_named(repo, tenant, batches=1, size=5)
    other = repo.create_tenant("other", "Other").id
    with repo._read() as session:
        taken = held_ids(session, BIDS, "client_bid_id", tenant, {"desk/0/1", "desk/0/4", "free"})
        names = {session.get(BidRow, bid_id).client_bid_id for bid_id in taken}
        assert names == {"desk/0/1", "desk/0/4"}
        assert held_ids(session, BIDS, "client_bid_id", other, {"desk/0/1"}) == []
        assert held_ids(session, BIDS, "client_bid_id", tenant, set()) == []


def _tuples_read(session: Session, table: str) -> int:
    """Rows of `table` this transaction has read so far, by scans and through indexes."""
    found = session.execute(
        text(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
            "FROM pg_stat_xact_user_tables WHERE relname = :table"
        ),
        {"table": table},
    ).scalar()
    return int(found or 0)


def test_the_look_up_reads_one_index_entry_per_name_once_the_tenant_has_grown(
    pg_url: str,
) -> None:
    """A tenant that grew since PostgreSQL's last ANALYZE (here: none) looks like a handful
    of bids to the planner, which then read every bid of the tenant through the index's
    first column and filtered the names (1-4 ms at 3,200 bids, growing with the tenant).
    At 2,256 bids the look-up must read one row per name it finds."""
    upgrade(pg_url)
    repo = Repository.from_url(pg_url)
    try:
        tenant = repo.create_tenant("acme", "Acme").id
        names = {f"desk/{b}/{i}" for b in range(10, 14) for i in range(7, 14)} | {"free/1"}
        for batch in range(8):  # a busy writer's first groups
            with repo._read() as session:
                assert held_ids(session, BIDS, "client_bid_id", tenant, names) == []
            _store_named(repo, tenant, batches=1, size=32, first=batch)
        _store_named(repo, tenant, batches=4, size=500, first=10)  # 2,256 bids
        with repo._read() as session:
            before = _tuples_read(session, "bids")
            assert len(held_ids(session, BIDS, "client_bid_id", tenant, names)) == 28
            assert _tuples_read(session, "bids") - before <= len(names)
    finally:
        repo.close()


def test_the_look_up_is_planned_for_its_values_each_time(pg_url: str) -> None:
    """psycopg prepares a statement on the server from its fifth run; PostgreSQL may then
    plan it once for any parameters and keep that plan. The bid writer's probe, so planned
    while a new tenant held 160 bids, took the (tenant_id, product_id) index and read all
    the tenant's bids for each name as it grew: 39-66 ms a group against 0.2 ms planned for
    the values given. Run many times, it is never prepared."""
    upgrade(pg_url)
    repo = Repository.from_url(pg_url)
    try:
        tenant = repo.create_tenant("acme", "Acme").id
        with repo._read() as session:
            for _ in range(8):
                assert held_ids(session, BIDS, "client_bid_id", tenant, {"desk/1"}) == []
            prepared = session.execute(
                text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :probe"),
                {"probe": "%wanted(name)%"},
            ).scalar()
        assert prepared == 0
    finally:
        repo.close()
