"""The engine's position book never loses an accepted clearing: the store's clearings are
its truth, reconciled every round, and each bid is booked exactly once, whether the
clearing loop's hand-over, the reconciliation, a restart or a second engine sees it.

Every test runs on a real SQLite file, and on PostgreSQL where it answers (a schema of its
own); bids are cleared by the server's real `ClearingLoop` against the simulated exchange.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from dispatch.clock import VirtualClock
from markets.bids import SingleBid
from markets.registry import default_registry
from trading.api.jobs import FolderPrices
from trading.api.server import activation_prices, exchange_prices
from trading.backtest.imbalance import ImbalancePrices
from trading.engine.activation import NO_ACTIVATION
from trading.engine.desk import Desk, EngineClock
from trading.engine.live_books import LiveConfig, delivery_day, entry_rows
from trading.engine.live_day import LiveDay
from trading.engine.positions import entries_of
from trading.engine.service import EngineService
from trading.exchange.records import Clearing
from trading.samples import sample_site_portfolio
from trading.store import Actor, Repository, upgrade

TENANT = "acme"
SUBMITTED = datetime(2026, 6, 14, 16, 5, tzinfo=UTC)
CLEARED = datetime(2026, 6, 14, 19, 20, tzinfo=UTC)  # every gate below passed (19:45's: 19:15)
DAY = delivery_day(SUBMITTED)
LIMIT_SALE, LIMIT_PURCHASE = 10.0, 1000.0
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def essen_part() -> dict[str, object]:
    """The sample's Essen site (a 10 MW battery and 8 MW of rooftop PV, DE_LU), of acme."""
    return sample_site_portfolio("de-amp-essen", "essen", TENANT)


def settings() -> LiveConfig:
    folder = FolderPrices()
    return LiveConfig(
        prices=exchange_prices(folder),
        registry=default_registry(),
        afrr_prices=activation_prices(folder),
        imbalance=ImbalancePrices(),
        activation=NO_ACTIVATION,
        tick_s=5.0,
    )


def sale(hour: int, minute: int, mw: float) -> SingleBid:
    """Continuous intraday, DE, `mw` sold (+) or bought (-) for the quarter hour starting
    at `hour`:`minute` UTC, at a limit the intraday price proxy fills (10 EUR/MWh for a
    sale, 1000 for a purchase; pay-as-bid: the limit is the price)."""
    return SingleBid(
        product_id=f"DE:intraday_continuous:PT15M:2026-06-14T{hour:02d}:{minute:02d}Z",
        volume_mw=mw,
        price_eur_per_mwh=LIMIT_SALE if mw > 0 else LIMIT_PURCHASE,
    )


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres]),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database migrated to head with the tenant and its one portfolio: an SQLite file,
    or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'engine.sqlite3'}"
        _seed(url)
        yield url
        return
    import os

    base = os.environ.get("VPP_TEST_POSTGRES_URL") or PG_URL
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = (
            sa.make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
        _seed(url)
        yield url
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


def _seed(url: str) -> None:
    upgrade(url)
    repo = Repository.from_url(url)
    repo.create_tenant(TENANT, "Acme")
    repo.save_portfolio(Actor.system(TENANT), essen_part())
    repo.close()


@pytest.fixture
def repository(db_url: str) -> Iterator[Repository]:
    repo = Repository.from_url(db_url)
    yield repo
    repo.close()


class Market:
    """The server's clearing loop and simulated exchange, on a clock the test moves."""

    def __init__(self, repository: Repository, config: LiveConfig) -> None:
        self.now = SUBMITTED
        self.desk = Desk(
            repository,
            TENANT,
            config.prices,
            config.registry,
            EngineClock(lambda: self.now),
            config.afrr_prices,
        )

    def clear(self, *bids: SingleBid) -> list[Clearing]:
        """Submit `bids` at 16:05 and clear them at 19:20: the accepted clearings, recorded."""
        self.now = SUBMITTED
        self.desk.submit(list(bids), f"key-{uuid.uuid4().hex}")
        self.now = CLEARED
        clearings = self.desk.clear()
        assert len(clearings) == len(bids)
        assert all(c.accepted for c in clearings)
        return clearings


def one_round(service: EngineService) -> int:
    """One round of `EngineService.serve` (discover tenants, book); the tenants' days are
    not run (their loop stops at once). The entries booked."""

    async def main() -> int:
        stop = asyncio.Event()
        stop.set()
        service._discover(stop)
        booked = service.book_inbox()
        await asyncio.gather(
            *(e.task for e in service.tenants.values() if e.task and not e.task.done())
        )
        return booked

    return asyncio.run(main())


def position_rows(repository: Repository) -> list[tuple[str, str, float]]:
    return sorted((p.bid_id, p.product_id, p.mw) for p in repository.list_positions(TENANT, DAY))


def live_day(repository: Repository, config: LiveConfig) -> LiveDay:
    record = repository.get_portfolio(TENANT, "essen")
    assert record is not None
    return LiveDay(repository, TENANT, record.portfolio(), DAY, config, VirtualClock(CLEARED))


def test_clearings_recorded_before_the_engine_found_the_tenant_are_in_the_book(
    repository: Repository,
) -> None:
    config = settings()
    service = EngineService(repository, VirtualClock(CLEARED), config)
    market = Market(repository, config)
    market.desk.loop.listeners.append(service.on_clearing)  # as `vpp serve` wires it
    clearings = market.clear(sale(17, 0, 2.0), sale(17, 15, -1.5))
    assert position_rows(repository) == []  # handed over while the tenant had no engine

    booked = one_round(service)

    assert booked == 2
    expected = [e for c in clearings for e in entries_of(c, config.registry)]
    stored = repository.list_positions(TENANT, DAY)
    fields = [{k: v for k, v in row.items() if k != "delivery_end"} for row in entry_rows(expected)]
    assert sorted(
        (p.bid_id, p.market, p.product_id, p.zone, p.mw, p.remuneration) for p in stored
    ) == sorted(
        (f["bid_id"], f["market"], f["product_id"], f["zone"], f["mw"], f["remuneration"])
        for f in fields
    )
    assert {p.portfolio_id for p in stored} == {"essen"}
    # the day the tenant's engine starts holds both: +2 MW at 17:00, -1.5 MW at 17:15
    book = live_day(repository, config).book
    net = book.net_mw("DE_LU")
    q17 = book.periods.get_loc(datetime(2026, 6, 14, 17, 0, tzinfo=UTC))
    assert (net[q17], net[q17 + 1]) == (2.0, -1.5)
    assert sum(net) == 0.5
    revenue = 2.0 * 0.25 * LIMIT_SALE - 1.5 * 0.25 * LIMIT_PURCHASE  # [EUR]: 5 - 375
    assert book.revenue_by_market() == {"intraday_continuous": revenue}


def test_a_clearing_recorded_while_the_engine_was_down_is_booked_once_after_restart(
    repository: Repository,
) -> None:
    config = settings()
    first = EngineService(repository, VirtualClock(CLEARED), config)
    assert one_round(first) == 0  # the tenant's engine runs, nothing cleared yet
    market = Market(repository, config)
    market.desk.loop.listeners.append(first.on_clearing)
    (clearing,) = market.clear(sale(17, 0, 2.0))
    # the server stops here: the clearing is stored, the first engine never booked it
    assert position_rows(repository) == []

    second = EngineService(repository, VirtualClock(CLEARED), config)
    assert one_round(second) == 1
    assert one_round(second) == 0
    assert position_rows(repository) == [
        (clearing.bid_key, "DE:intraday_continuous:PT15M:2026-06-14T17:00Z", 2.0)
    ]
    assert [e.bid_id for e in live_day(repository, config).book.entries] == [clearing.bid_key]


def test_the_hand_over_and_the_reconciliation_of_one_clearing_book_it_once(
    repository: Repository,
) -> None:
    config = settings()
    service = EngineService(repository, VirtualClock(CLEARED), config)
    one_round(service)
    engine = service.tenants[TENANT]
    engine.live = live_day(repository, config)  # the tenant's running day
    market = Market(repository, config)
    market.desk.loop.listeners.append(service.on_clearing)
    (first,) = market.clear(sale(17, 0, 2.0))

    # the hand-over books it; the reconciliation of the same round finds it booked
    assert service.book_inbox() == 1
    assert [e.bid_id for e in engine.live.inbox] == [first.bid_key]
    # handed over again (e.g. a retried listener): nothing more
    service.on_clearing(TENANT, first)
    assert service.book_inbox() == 0

    # the other way round: the store's copy is booked first, the hand-over comes late
    market.desk.loop.listeners.clear()
    (second,) = market.clear(sale(17, 15, 1.0))
    assert service.reconcile(engine) == 1
    service.on_clearing(TENANT, second)
    assert service.book_inbox() == 0

    assert [p[0] for p in position_rows(repository)] == sorted([first.bid_key, second.bid_key])
    assert sorted(e.bid_id for e in engine.live.inbox) == sorted([first.bid_key, second.bid_key])
    # and the day, handed the same entries again, keeps one of each in its book
    engine.live.receive(list(engine.live.inbox))
    asyncio.run(engine.live._round(final=True))
    assert sorted(e.bid_id for e in engine.live.book.entries) == sorted(
        [first.bid_key, second.bid_key]
    )


def test_positions_of_a_day_booked_before_a_restart_are_not_doubled(
    repository: Repository,
) -> None:
    config = settings()
    market = Market(repository, config)
    market.clear(sale(17, 0, 2.0), sale(17, 15, 1.0), sale(17, 30, -0.5))
    first = EngineService(repository, VirtualClock(CLEARED), config)
    assert one_round(first) == 3
    before = position_rows(repository)
    assert len(before) == 3

    restarted = EngineService(repository, VirtualClock(CLEARED), config)
    assert one_round(restarted) == 0
    assert one_round(restarted) == 0
    assert restarted.reconcile(restarted.tenants[TENANT]) == 0  # as at the day's start
    assert position_rows(repository) == before
    assert len(live_day(repository, config).book.entries) == 3


def test_two_engines_reconciling_at_once_book_each_clearing_once(
    db_url: str, repository: Repository
) -> None:
    """Four engines (each with its own connections, as four servers on one database) book
    the same 12 stored clearings at the same instant: 12 positions, each bid booked by
    exactly one of them."""
    config = settings()
    market = Market(repository, config)
    bids = [sale(17 + k // 4, 15 * (k % 4), 0.5 + k / 10) for k in range(12)]
    clearings = market.clear(*bids)
    engines = []
    for _ in range(4):
        service = EngineService(Repository.from_url(db_url), VirtualClock(CLEARED), config)
        one_round_discover_only(service)
        engines.append(service)
    barrier = threading.Barrier(len(engines))
    counts: list[int] = []
    errors: list[BaseException] = []

    def reconcile(service: EngineService) -> None:
        try:
            barrier.wait(timeout=30)
            counts.append(service.reconcile(service.tenants[TENANT]))
        except BaseException as exc:  # the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=reconcile, args=(s,)) for s in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for service in engines:
        service.repository.close()

    assert errors == []
    assert sorted(counts, reverse=True)[0] >= 1
    assert sum(counts) == len(clearings)
    rows = position_rows(repository)
    assert len(rows) == len(clearings)
    assert sorted(r[0] for r in rows) == sorted(c.bid_key for c in clearings)


def one_round_discover_only(service: EngineService) -> None:
    """Discover the tenant without booking (the engine's round is split for the race)."""

    async def main() -> None:
        stop = asyncio.Event()
        stop.set()
        service._discover(stop)
        await asyncio.gather(
            *(e.task for e in service.tenants.values() if e.task and not e.task.done())
        )

    asyncio.run(main())


def test_a_clearing_recorded_without_details_is_booked_from_the_bid_itself(
    repository: Repository,
) -> None:
    """An outcome stored by another recorder than the `ClearingLoop` (no products or
    market in its details) is booked for the bid's product at the recorded volume."""
    config = settings()
    market = Market(repository, config)
    (bid_id,) = market.desk.submit([sale(17, 0, 3.0)], "direct").bid_ids
    repository.record_clearing(
        bid_id,
        Actor.system(TENANT),
        status="accepted",
        cleared_volume_mw=2.5,
        clearing_price=80.0,
        remuneration_price=80.0,
        cleared_at=CLEARED,
    )
    service = EngineService(repository, VirtualClock(CLEARED), config)
    assert one_round(service) == 1
    (position,) = repository.list_positions(TENANT, DAY)
    assert (position.bid_id, position.market, position.zone) == (
        bid_id,
        "intraday_continuous",
        "DE_LU",
    )
    assert (position.mw, position.remuneration) == (2.5, 80.0)
