"""The engine inside the server, in-process on a virtual clock: a clearing recorded by the
server's clearing loop becomes a position, a new schedule version, dispatched energy, and
metering and settlement rows in the store that add up against figures computed here."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from engine_setup import folder_config, seeded_repository

from dispatch.clock import VirtualClock
from markets.bids import SingleBid
from trading.engine.desk import Desk, EngineClock
from trading.engine.live_books import LiveConfig, as_utc, delivery_day, entry_rows
from trading.engine.live_clock import ServerClock
from trading.engine.live_day import LiveDay
from trading.engine.positions import entries_of
from trading.engine.service import EngineService, TenantEngine
from trading.exchange.clock import ManualClock
from trading.samples import sample_site_portfolio
from trading.store import Actor, Repository

TENANT = "acme"
START = datetime(2026, 6, 14, 16, 5, tzinfo=UTC)
DELIVERY = datetime(2026, 6, 14, 17, 0, tzinfo=UTC)  # continuous intraday gate: 16:30Z
UNTIL = datetime(2026, 6, 14, 17, 31, tzinfo=UTC)  # the 17:15 ISP passed whole
SOLD_MW, LIMIT = 2.0, 150.0


def essen_part() -> dict[str, object]:
    """The sample's Essen site (a 10 MW battery and 8 MW of rooftop PV, DE_LU), of acme."""
    return sample_site_portfolio("de-amp-essen", "essen", TENANT)


def config() -> LiveConfig:
    return folder_config()


def product_id(at: datetime) -> str:
    return f"DE:intraday_continuous:PT15M:{at:%Y-%m-%dT%H:%M}Z"


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    return seeded_repository(tmp_path / "engine.sqlite3", TENANT)


def test_a_cleared_bid_is_scheduled_dispatched_metered_and_settled(
    repository: Repository,
) -> None:
    clock = VirtualClock(START)
    settings = config()
    desk = Desk(
        repository,
        TENANT,
        settings.prices,
        settings.registry,
        EngineClock(clock.utc),
        settings.afrr_prices,
    )
    sale = SingleBid(product_id=product_id(DELIVERY), volume_mw=SOLD_MW, price_eur_per_mwh=LIMIT)
    submitted = desk.submit([sale], "sale-1")
    (bid_id,) = submitted.bid_ids
    service = EngineService(repository, clock, settings)
    desk.loop.listeners.append(service.on_clearing)  # as `vpp serve` wires it
    record = repository.get_portfolio(TENANT, "essen")
    assert record is not None
    day = delivery_day(START)
    live = LiveDay(repository, TENANT, record.portfolio(), day, settings, clock)
    service.tenants[TENANT] = TenantEngine(TENANT, "essen", record.version, live=live)
    versions_seen: list[int] = []
    statuses: list[dict[str, object]] = []

    async def desk_rounds() -> None:
        t = clock.now()
        while clock.utc() < UNTIL:
            t += 30.0
            await clock.sleep_until(t)
            if desk.clear():
                versions_seen.append(live.current.version if live.current else 0)
            service.book_inbox()
            statuses.append(live.status())

    async def main() -> None:
        stop = asyncio.Event()
        await asyncio.gather(live.run(stop, until=UNTIL), desk_rounds())

    asyncio.run(main())

    # the bid cleared at its gate, at its limit (the intraday proxy is far above it)
    stored = repository.get_bid(TENANT, bid_id)
    assert stored is not None
    assert stored.status == "accepted"
    positions = repository.list_positions(TENANT, day)
    assert [(p.bid_id, p.mw, p.remuneration) for p in positions] == [(bid_id, SOLD_MW, LIMIT)]

    # version 1 before the clearing, version 2 (serving the bid) after it
    assert versions_seen == [1]
    current = repository.current_schedule(TENANT)
    assert current is not None
    assert current.version == 2
    assert current.bid_ids == {"bids": [bid_id]}
    assert current.issued_at > datetime(2026, 6, 14, 16, 30, tzinfo=UTC)

    # every ISP the run saw whole is metered, device truth beside the measured meter
    metering = repository.list_metering(TENANT, day)
    complete = sorted({m.isp_start for m in metering if m.complete})
    expected = [
        datetime(2026, 6, 14, 16, 15, tzinfo=UTC) + timedelta(minutes=15 * k) for k in range(5)
    ]
    assert [s.replace(tzinfo=UTC) if s.tzinfo is None else s for s in complete] == expected
    assert {m.asset_id for m in metering} == {"bat-de-essen-01", "pv-de-essen-roof"}

    (settlement,) = repository.list_settlements(TENANT, day)
    document = settlement.document
    rows = document["rows"]
    assert [r["start"] for r in rows] == [f"{s:%Y-%m-%dT%H:%M:%S}Z" for s in expected]
    for row in rows:
        start = datetime.fromisoformat(row["start"].replace("Z", "+00:00"))
        truth = sum(m.truth_mwh for m in metering if m.isp_start.replace(tzinfo=UTC) == start)
        position = SOLD_MW * 0.25 if start == DELIVERY else 0.0
        assert row["position_mwh"] == pytest.approx(position, abs=1e-9)
        assert row["delivered_mwh"] == pytest.approx(truth, abs=1e-6)
        assert row["imbalance_mwh"] == pytest.approx(truth - position, abs=2e-6)
        assert row["imbalance_eur"] == pytest.approx(
            row["imbalance_mwh"] * row["imbalance_price_eur_mwh"], abs=0.01
        )
        # the fleet delivered what was sold, within 2 % of the 0.5 MWh sold
        assert abs(truth - position) < 0.01, row
    # the books: 2 MW x 0.25 h x 150 EUR/MWh, and net = revenue - costs - imbalance cost
    assert document["revenue_by_market"] == {"intraday_continuous": 75.0}
    imbalance_cost = -round(sum(r["imbalance_eur"] for r in rows), 2)
    assert document["imbalance_cost_eur"] == pytest.approx(imbalance_cost, abs=0.011)
    net = document["revenue_eur"] - document["costs_eur"] - document["imbalance_cost_eur"]
    assert document["net_eur"] == pytest.approx(round(net, 2), abs=1e-9)
    assert document["isps_settled"] == 5
    assert document["final"] is False  # the day is not over

    # nothing is said metered before the first ISP seen whole has passed (16:15-16:30)
    assert statuses[0]["last_isp_metered"] is None
    assert statuses[0]["isps_metered"] == 0
    status = live.status()
    assert status["schedule"]["version"] == 2
    assert status["last_isp_metered"] == "2026-06-14T17:15:00Z"
    assert status["isps_metered"] == 5
    repository.close()


def test_server_clock_runs_on_the_servers_clock_and_never_backwards() -> None:
    manual = ManualClock(datetime(2026, 6, 14, 9, 0, tzinfo=UTC))
    clock = ServerClock(manual, speed=60.0)
    assert clock.now() == 0.0
    manual.advance(timedelta(minutes=15))
    assert clock.now() == 900.0
    assert clock.utc() == datetime(2026, 6, 14, 9, 15, tzinfo=UTC)
    assert clock.seconds_at(datetime(2026, 6, 14, 10, 0, tzinfo=UTC)) == 3600.0
    with pytest.raises(ValueError, match="speed=0"):
        ServerClock(manual, speed=0)


def test_the_status_names_why_the_engine_does_not_run_for_a_tenant(
    repository: Repository,
) -> None:
    service = EngineService(repository, VirtualClock(START), config())
    assert service.status("nobody") == {
        "running": False,
        "reason": "no portfolio stored for this tenant yet",
    }
    repository.save_portfolio(Actor.system(TENANT), {**essen_part(), "id": "second"})

    async def one_round() -> None:
        service._discover(asyncio.Event())

    asyncio.run(one_round())
    status = service.status(TENANT)
    assert status["running"] is False
    assert "2 portfolios (essen, second)" in status["reason"]


def test_delivery_day_is_market_local() -> None:
    assert delivery_day(datetime(2026, 6, 13, 22, 0, tzinfo=UTC)) == date(2026, 6, 14)
    assert delivery_day(datetime(2026, 6, 13, 21, 59, tzinfo=UTC)) == date(2026, 6, 13)


def _run(live: LiveDay, clock: VirtualClock, until: datetime, desk: Desk | None = None) -> None:
    async def desk_rounds() -> None:
        t = clock.now()
        while desk is not None and clock.utc() < until:
            t += 30.0
            await clock.sleep_until(t)
            for clearing in desk.clear():
                live.receive(entries_of(clearing, live.config.registry))

    async def main() -> None:
        await asyncio.gather(live.run(asyncio.Event(), until=until), desk_rounds())

    asyncio.run(main())


def test_a_restarted_day_numbers_on_and_keeps_what_was_metered_and_settled(
    repository: Repository,
) -> None:
    settings = config()
    record = repository.get_portfolio(TENANT, "essen")
    assert record is not None
    day = delivery_day(START)
    first_clock = VirtualClock(START)
    desk = Desk(
        repository,
        TENANT,
        settings.prices,
        settings.registry,
        EngineClock(first_clock.utc),
        settings.afrr_prices,
    )
    sale = SingleBid(product_id=product_id(DELIVERY), volume_mw=SOLD_MW, price_eur_per_mwh=LIMIT)
    desk.submit([sale], "sale-1")
    first = LiveDay(repository, TENANT, record.portfolio(), day, settings, first_clock)
    first.receive = lambda entries: (  # type: ignore[method-assign]
        repository.add_positions(TENANT, "essen", day, entry_rows(entries)),
        first.inbox.extend(entries),
    )
    _run(first, first_clock, datetime(2026, 6, 14, 16, 41, tzinfo=UTC), desk)
    # the server stops at 16:41 and is back at 16:50: the sale's position is in the store
    second_clock = VirtualClock(datetime(2026, 6, 14, 16, 50, tzinfo=UTC))
    second = LiveDay(repository, TENANT, record.portfolio(), day, settings, second_clock)
    assert [e.mw for e in second.book.entries] == [SOLD_MW]
    _run(second, second_clock, UNTIL)

    current = repository.current_schedule(TENANT)
    assert current is not None
    assert current.version == 3  # 1 at the start, 2 after the clearing, 3 after the restart
    assert current.reason.startswith("engine started")
    metering = repository.list_metering(TENANT, day)
    starts = sorted({as_utc(m.isp_start) for m in metering})
    quarter = timedelta(minutes=15)
    sixteen = datetime(2026, 6, 14, 16, 0, tzinfo=UTC)
    assert starts == [sixteen + k * quarter for k in range(7)]  # 16:00 ... 17:30
    (settlement,) = repository.list_settlements(TENANT, day)
    rows = settlement.document["rows"]
    # the ISPs seen whole: 16:15 before the restart, 17:00 and 17:15 after (16:30, which
    # the server went down in, 16:45, which it came back in, and 17:30, in progress at the
    # end, are metered incomplete)
    assert [r["start"][11:16] for r in rows] == ["16:15", "17:00", "17:15"]
    incomplete = sorted({as_utc(m.isp_start) for m in metering if not m.complete})
    assert incomplete == [sixteen + k * quarter for k in (0, 2, 3, 6)]
    for row in rows:
        start = datetime.fromisoformat(row["start"].replace("Z", "+00:00"))
        truth = sum(m.truth_mwh for m in metering if as_utc(m.isp_start) == start)
        position = SOLD_MW * 0.25 if start == DELIVERY else 0.0
        assert row["delivered_mwh"] == pytest.approx(truth, abs=1e-6)
        assert row["imbalance_mwh"] == pytest.approx(truth - position, abs=2e-6)
    assert settlement.document["revenue_by_market"] == {"intraday_continuous": 75.0}


def test_at_local_midnight_the_day_is_settled_final_and_the_next_day_starts(
    repository: Repository,
) -> None:
    clock = VirtualClock(datetime(2026, 6, 14, 21, 40, tzinfo=UTC))  # 23:40 in Berlin
    settings = replace(config(), tick_s=5.0)
    service = EngineService(repository, clock, settings)
    engine = TenantEngine(TENANT, "essen", 1)
    service.tenants[TENANT] = engine

    async def main() -> None:
        stop = asyncio.Event()

        async def stop_later() -> None:
            await clock.sleep_until(51 * 60.0)  # 22:31Z
            stop.set()

        await asyncio.gather(service._run_tenant(engine, stop), stop_later())

    asyncio.run(main())

    assert engine.error is None
    assert engine.days_run == ["2026-06-14"]
    (old,) = repository.list_settlements(TENANT, date(2026, 6, 14))
    assert old.document["final"] is True
    assert old.document["last_isp"] == "2026-06-14T21:45:00Z"
    (new,) = repository.list_settlements(TENANT, date(2026, 6, 15))
    assert new.document["final"] is False
    assert [r["start"] for r in new.document["rows"]] == [
        "2026-06-14T22:00:00Z",
        "2026-06-14T22:15:00Z",
    ]
    current = repository.current_schedule(TENANT)
    assert current is not None
    assert (current.day, current.version) == (date(2026, 6, 15), 1)


def test_a_day_without_prices_is_named_in_the_status_and_tried_again_later(
    repository: Repository,
) -> None:
    clock = VirtualClock(datetime(2026, 12, 6, 10, 0, tzinfo=UTC))  # the sample prices end in June
    service = EngineService(repository, clock, config())
    engine = TenantEngine(TENANT, "essen", 1)
    service.tenants[TENANT] = engine

    async def main() -> None:
        stop = asyncio.Event()

        async def stop_at_the_failure() -> None:
            while engine.error is None:
                await asyncio.sleep(0.01)
            stop.set()

        await asyncio.gather(service._run_tenant(engine, stop), stop_at_the_failure())

    asyncio.run(main())
    status = service.status(TENANT)
    assert status["running"] is False
    assert "no DE_LU price" in status["error"]
    assert "2026-12-06" in status["error"]
    assert "next in 5 s" in status["error"]
    assert repository.current_schedule(TENANT) is None


def test_a_sale_beyond_the_fleet_keeps_the_version_in_force_and_is_imbalance(
    repository: Repository,
) -> None:
    """50 MW sold from 18 MW of battery and PV: the re-plan cannot hold it, version 1
    stays (the day's notes say why), and the sold quarter hour settles short by what the
    fleet did not deliver; a day started on such a book holds none of its positions."""
    settings = replace(config(), tick_s=5.0)
    record = repository.get_portfolio(TENANT, "essen")
    assert record is not None
    day = delivery_day(START)
    clock = VirtualClock(START)
    desk = Desk(
        repository,
        TENANT,
        settings.prices,
        settings.registry,
        EngineClock(clock.utc),
        settings.afrr_prices,
    )
    big = SingleBid(product_id=product_id(DELIVERY), volume_mw=50.0, price_eur_per_mwh=LIMIT)
    (bid_id,) = desk.submit([big], "big-1").bid_ids
    live = LiveDay(repository, TENANT, record.portfolio(), day, settings, clock)
    live.receive = lambda entries: (  # type: ignore[method-assign]
        repository.add_positions(TENANT, "essen", day, entry_rows(entries)),
        live.inbox.extend(entries),
    )
    _run(live, clock, UNTIL, desk)

    current = repository.current_schedule(TENANT)
    assert current is not None
    assert current.version == 1
    assert any("re-plan failed" in note for note in live.status()["notes"])
    (settlement,) = repository.list_settlements(TENANT, day)
    (sold,) = [r for r in settlement.document["rows"] if r["start"] == "2026-06-14T17:00:00Z"]
    assert sold["position_mwh"] == 12.5
    assert sold["delivered_mwh"] < 1.0  # the fleet followed version 1 (no position)
    assert sold["imbalance_mwh"] == pytest.approx(sold["delivered_mwh"] - 12.5, abs=1e-6)

    # the same book at the start of a day: version 2 holds none of it, and says so
    later = VirtualClock(datetime(2026, 6, 14, 17, 40, tzinfo=UTC))
    again = LiveDay(repository, TENANT, record.portfolio(), day, settings, later)
    _run(again, later, datetime(2026, 6, 14, 17, 45, tzinfo=UTC))
    restarted = repository.current_schedule(TENANT)
    assert restarted is not None
    assert restarted.version == 2
    assert restarted.reason == "engine started: the positions booked cannot be met, none held"
    assert restarted.bid_ids == {"bids": []}
    assert bid_id in {e.bid_id for e in again.book.entries}
