"""`vpp desk engine|positions|schedule|delivery|settlement` against a real HTTP server (uvicorn
in a thread) over the app with acme's engine after its first ISP, a sale cleared for it by
the server's simulated exchange: what the desk's terminal shows is what the API and the
store hold, and the books add up."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from engine_setup import seeded_repository
from typer.testing import CliRunner

from dispatch.clock import VirtualClock
from markets.bids import SingleBid
from markets.registry import default_registry
from trading.api import create_app
from trading.api.jobs import FolderPrices
from trading.api.server import exchange_prices
from trading.cli import app as vpp
from trading.engine.desk import Desk as ExchangeDesk
from trading.engine.desk import EngineClock
from trading.engine.live_books import LiveConfig, delivery_day
from trading.engine.live_day import LiveDay
from trading.engine.service import EngineService, TenantEngine
from trading.exchange.clock import ManualClock
from trading.store import Repository, Role

START = datetime(2026, 6, 14, 16, 0, tzinfo=UTC)
UNTIL = datetime(2026, 6, 14, 16, 16, tzinfo=UTC)  # the 16:00 ISP has passed whole
DAY = "2026-06-14"
WAIT_S = 60.0
"""Slack for uvicorn to start on a loaded machine [s]."""

runner = CliRunner()


@dataclass(frozen=True)
class Desk:
    common: list[str]
    repo: Repository


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """acme's engine after its first ISP on a virtual clock, served over HTTP."""
    folder: Path = tmp_path_factory.mktemp("desk")
    repo = seeded_repository(folder / "desk.sqlite3")
    trader = repo.create_api_key("acme", Role.TRADER, "desk").plaintext
    clock = VirtualClock(START)
    config = LiveConfig(prices=exchange_prices(FolderPrices()), registry=default_registry())
    # 2 MW sold for the 16:00 quarter hour on the continuous market at 15:00, cleared after
    # its gate by the server's simulated exchange (10 EUR/MWh: the price proxy fills it)
    now = [datetime(2026, 6, 14, 15, 0, tzinfo=UTC)]
    exchange = ExchangeDesk(
        repo, "acme", config.prices, config.registry, EngineClock(lambda: now[0]), None
    )
    sale = SingleBid(
        product_id="DE:intraday_continuous:PT15M:2026-06-14T16:00Z",
        volume_mw=2.0,
        price_eur_per_mwh=10.0,
    )
    exchange.submit([sale], "desk-sale")
    now[0] = datetime(2026, 6, 14, 15, 59, tzinfo=UTC)
    assert [c.accepted for c in exchange.clear()] == [True]
    service = EngineService(repo, clock, config)
    record = repo.get_portfolio("acme", "essen")
    assert record is not None
    engine = TenantEngine("acme", "essen", record.version)
    service.tenants["acme"] = engine
    assert service.reconcile(engine) == 1  # the sale booked into the position book
    live = LiveDay(
        repo, "acme", record.portfolio(), delivery_day(START), config, clock, flags=service.flags
    )
    engine.live = live
    asyncio.run(live.run(asyncio.Event(), until=UNTIL))
    port = free_port()
    uvi = uvicorn.Server(
        uvicorn.Config(
            create_app(repo, ManualClock(UNTIL), prices=FolderPrices(), engine=service),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=uvi.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not uvi.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Desk(["--url", f"http://127.0.0.1:{port}", "--key", trader], repo)
    finally:
        uvi.should_exit = True
        thread.join(timeout=10)
        repo.close()


def desk_json(desk: Desk, *args: str) -> object:
    done = runner.invoke(vpp, ["desk", *args, *desk.common, "--json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_positions_and_the_schedule_are_the_stored_ones(desk: Desk) -> None:
    positions = desk_json(desk, "positions", "--day", DAY)
    assert isinstance(positions, dict)
    stored = desk.repo.list_positions("acme", datetime(2026, 6, 14).date())
    assert positions["total"] == len(stored) > 0
    assert {p["bid_id"] for p in positions["items"]} == {p.bid_id for p in stored}
    schedule = desk_json(desk, "schedule")
    assert isinstance(schedule, dict)
    current = desk.repo.current_schedule("acme")
    assert current is not None
    assert (schedule["id"], schedule["version"]) == (current.id, current.version)
    table = runner.invoke(vpp, ["desk", "schedule", *desk.common])
    assert f"version\t{current.version}" in table.stdout


def test_the_passed_isp_is_delivered_metered_and_settled_and_the_books_add_up(
    desk: Desk,
) -> None:
    delivery = desk_json(desk, "delivery", "--day", DAY)
    assert isinstance(delivery, dict)
    first = [row for row in delivery["zones"] if row["start"].startswith("2026-06-14T16:00")]
    assert first, "the 16:00 ISP is not in the delivery rows"
    for row in first:  # imbalance = delivered - position - aFRR requested [MWh]
        expected = row["delivered_mwh"] - row["position_mwh"] - row["afrr_requested_mwh"]
        assert row["imbalance_mwh"] == pytest.approx(expected, abs=2e-6)
    assert any(m["isp_start"].startswith("2026-06-14T16:00") for m in delivery["metering"])

    (settled,) = desk_json(desk, "settlement", "--day", DAY)  # type: ignore[misc]
    books = settled["document"]
    cents = round(books["revenue_eur"] * 100) - round(books["costs_eur"] * 100)
    assert round(books["net_eur"] * 100) == cents - round(books["imbalance_cost_eur"] * 100)
    table = runner.invoke(vpp, ["desk", "settlement", "--day", DAY, *desk.common])
    assert table.exit_code == 0, table.output
    assert "  net\t" in table.stdout

    engine = desk_json(desk, "engine")
    assert isinstance(engine, dict)
    assert engine["running"] is True
    assert engine["day"]["isps_metered"] >= 1


def test_a_bad_day_is_refused_naming_it(desk: Desk) -> None:
    bad = runner.invoke(vpp, ["desk", "delivery", "--day", "2026-13-40", *desk.common])
    assert bad.exit_code == 2
    assert "422" in bad.stderr
    assert "day" in bad.stderr
    none = runner.invoke(vpp, ["desk", "settlement", "--day", "2026-06-20", *desk.common])
    assert none.exit_code == 2
    assert "404" in none.stderr
    assert "2026-06-20" in none.stderr
