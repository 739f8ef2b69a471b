"""`vpp serve` end to end: a real server process on a loopback port, a real HTTP client.

Also the clearing loop in-process, on a hand-driven clock: a bid submitted through the API
is handed to the simulated exchange, cleared at its gate and its outcome recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from serve_process import create_key, quarter_hour, start_server

from markets.registry import MarketRegistry, Registered, default_registry
from trading.api import create_app
from trading.api.jobs import FolderPrices
from trading.api.server import ClearingLoop, exchange_prices
from trading.exchange.clock import ManualClock
from trading.exchange.simulated import SimulatedExchange
from trading.store import Actor, Repository, Role, upgrade


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A running `vpp serve` on a temp SQLite file, and a trader key of tenant acme."""
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    key = create_key(url)
    running = start_server(url, tmp_path / "serve.log")
    try:
        yield running.base, key
    finally:
        running.stop()


def first_quarter_hour(day: date) -> str:
    """The DE day-ahead product of the first quarter hour of market-local `day`."""
    return quarter_hour(day, 0)


def test_serve_answers_health_and_keeps_a_submitted_bid(server: tuple[str, str]) -> None:
    base, key = server
    health = httpx.get(f"{base}/healthz", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"

    day = datetime.now(UTC).date() + timedelta(days=3)
    bid = {
        "type": "single",
        "product_id": first_quarter_hour(day),
        "volume_mw": 1.5,
        "price_eur_per_mwh": 42.0,
        "bid_id": "e2e/1",
    }
    headers = {"X-API-Key": key}
    answer = httpx.post(f"{base}/v1/bids", json=bid, headers=headers, timeout=30)
    assert answer.status_code == 201, answer.text
    (stored,) = answer.json()["bids"]
    assert stored["status"] == "submitted"
    assert stored["delivery_day"] == day.isoformat()

    read = httpx.get(f"{base}/v1/bids/{stored['id']}", headers=headers, timeout=10)
    assert read.status_code == 200
    assert read.json()["bid"]["bid_id"] == "e2e/1"
    assert read.json()["history"][0]["to_status"] == "submitted"
    assert httpx.get(f"{base}/v1/bids", timeout=10).status_code == 401


def test_the_clearing_loop_records_outcomes_at_the_gate(tmp_path: Path) -> None:
    """In-process: submit through the app, forward, pass the gate, clear, record."""
    url = f"sqlite:///{tmp_path / 'loop.sqlite3'}"
    upgrade(url)
    repository = Repository.from_url(url)
    try:
        repository.create_tenant("acme", "Acme")
        key = repository.create_api_key("acme", Role.TRADER, "desk").plaintext
        clock = ManualClock(datetime(2026, 6, 14, 8, 0, tzinfo=UTC))
        prices = FolderPrices()
        exchange = SimulatedExchange(exchange_prices(prices), clock)
        app = create_app(repository, clock, prices=prices)
        product = first_quarter_hour(date(2026, 6, 15))
        cheap = {"type": "single", "product_id": product, "volume_mw": 2.0, "price_eur_per_mwh": 1}
        dear = {**cheap, "price_eur_per_mwh": 3000.0}
        answer = asyncio.run(post(app, "/v1/bids", [cheap, dear, {**cheap, "volume_mw": 1.0}], key))
        assert answer.status_code == 201, answer.text
        *ids, withdrawn = [b["id"] for b in answer.json()["bids"]]

        loop = ClearingLoop(repository, exchange)
        assert loop.run_once() == []
        assert exchange.pending() == {}  # the store holds bids until their gate
        gone = asyncio.run(post(app, f"/v1/bids/{withdrawn}/withdraw", {}, key))
        assert gone.status_code == 200, gone.text
        assert loop.run_once() == []

        clock.advance_to(datetime(2026, 6, 14, 10, 0, tzinfo=UTC))
        recorded = loop.run_once()
        assert {c.bid_key for c in recorded} == set(ids)
        accepted = repository.get_bid("acme", ids[0])
        rejected = repository.get_bid("acme", ids[1])
        assert accepted is not None
        assert rejected is not None
        assert accepted.status == "accepted"
        assert rejected.status == "rejected"
        clearing = repository.get_clearing("acme", ids[0])
        assert clearing is not None
        assert clearing.cleared_volume_mw == 2.0
        assert clearing.clearing_price is not None
        assert withdrawn not in exchange.results()  # never handed over
        stored = repository.get_bid("acme", withdrawn)
        assert stored is not None
        assert stored.status == "withdrawn"
        assert loop.run_once() == []
        assert loop.forwarded == {}
    finally:
        repository.close()


def test_bids_whose_gate_passed_while_the_server_was_down_clear_at_that_gate(
    tmp_path: Path,
) -> None:
    """Accepted before the gate, server down over it: the next process clears them there."""
    start = datetime(2026, 6, 14, 9, 59, tzinfo=UTC)
    with one_stored_bid(tmp_path, start) as (repository, clock, prices, bid_id):
        # No loop ran before the gate (12:00 Berlin); the restarted server's loop starts later.
        clock.advance_to(datetime(2026, 6, 14, 11, 30, tzinfo=UTC))
        restarted = ClearingLoop(repository, SimulatedExchange(exchange_prices(prices), clock))
        (clearing,) = restarted.run_once()
        assert clearing.bid_key == bid_id
        assert clearing.gate_closure == datetime(2026, 6, 14, 10, 0, tzinfo=UTC)
        stored = repository.get_bid("acme", bid_id)
        assert stored is not None
        assert stored.status == "accepted"
        recorded = repository.get_clearing("acme", bid_id)
        assert recorded is not None
        assert recorded.clearing_price == clearing.clearing_price_eur_per_mwh


def test_a_stored_bid_the_exchange_refuses_is_rejected_with_the_reason(tmp_path: Path) -> None:
    """Never left submitted for ever: the exchange's refusal is recorded on the bid."""
    start = datetime(2026, 6, 14, 8, 0, tzinfo=UTC)
    with one_stored_bid(tmp_path, start) as (repository, clock, prices, bid_id):
        full = default_registry()
        no_germany = MarketRegistry(
            Registered(full.get(cc), full.origin(cc)) for cc in full.countries() if cc != "DE"
        )
        exchange = SimulatedExchange(exchange_prices(prices), clock, no_germany)
        clock.advance_to(datetime(2026, 6, 14, 10, 0, tzinfo=UTC))  # the gate: bids are due
        loop = ClearingLoop(repository, exchange)
        assert loop.run_once() == []
        assert loop.forwarded == {}
        stored = repository.get_bid("acme", bid_id)
        assert stored is not None
        assert stored.status == "rejected"
        clearing = repository.get_clearing("acme", bid_id)
        assert clearing is not None
        assert clearing.cleared_volume_mw == 0
        reason = (clearing.details or {})["reason"]
        assert reason.startswith("refused by the exchange")
        assert "'DE'" in reason or "DE" in reason.split(":", 1)[1]


async def post(app: object, path: str, body: object, key: str) -> httpx.Response:
    """POST to the ASGI app in-process."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post(path, json=body, headers={"X-API-Key": key})


def test_a_server_on_simulated_time_clears_bids_at_their_gate(tmp_path: Path) -> None:
    """A real `vpp serve` whose clock runs 60 times as fast: submit, then see the gate clear."""
    url = f"sqlite:///{tmp_path / 'sim.sqlite3'}"
    key = create_key(url)
    running = start_server(
        url,
        tmp_path / "serve.log",
        "--clock-start",
        "2026-06-14T09:45:00Z",  # the day-ahead gate of 2026-06-15 is 10:00Z
        "--clock-speed",
        "60",
        "--clearing-interval",
        "0.5",
    )
    try:
        headers = {"X-API-Key": key}
        now = datetime.fromisoformat(httpx.get(f"{running.base}/healthz").json()["now"])
        assert now < datetime(2026, 6, 14, 10, 0, tzinfo=UTC), running.tail()
        product = first_quarter_hour(date(2026, 6, 15))
        sell_cheap = {"type": "single", "product_id": product, "volume_mw": 2.0}
        bids = [
            {**sell_cheap, "price_eur_per_mwh": -100.0},  # clears: below any clearing price
            {**sell_cheap, "price_eur_per_mwh": 3000.0},  # does not clear
        ]
        answer = httpx.post(f"{running.base}/v1/bids", json=bids, headers=headers, timeout=30)
        assert answer.status_code == 201, answer.text
        accepted_id, rejected_id = [b["id"] for b in answer.json()["bids"]]

        deadline = time.monotonic() + 60
        while True:
            listed = httpx.get(
                f"{running.base}/v1/bids", params={"status": "submitted"}, headers=headers
            ).json()
            if listed["total"] == 0:
                break
            assert time.monotonic() < deadline, f"not cleared: {running.tail()}"
            time.sleep(0.5)
        accepted = httpx.get(f"{running.base}/v1/bids/{accepted_id}", headers=headers).json()
        rejected = httpx.get(f"{running.base}/v1/bids/{rejected_id}", headers=headers).json()
        assert accepted["status"] == "accepted"
        assert rejected["status"] == "rejected"
        cleared = accepted["history"][-1]
        assert cleared["to_status"] == "accepted"
        assert accepted["clearing"]["clearing_price"] is not None
        assert accepted["clearing"]["cleared_volume_mw"] == 2.0
        too_late = httpx.post(f"{running.base}/v1/bids", json=bids[0], headers=headers)
        assert too_late.status_code == 422
        assert "gate" in too_late.text
    finally:
        running.stop()


def _loop_fixture(
    tmp_path: Path, name: str, start: datetime = datetime(2026, 6, 14, 8, 0, tzinfo=UTC)
) -> tuple[Repository, str, ManualClock, FolderPrices]:
    """A store at head with tenant acme, a trader key, a hand-driven clock at `start`."""
    url = f"sqlite:///{tmp_path / name}"
    upgrade(url)
    repository = Repository.from_url(url)
    repository.create_tenant("acme", "Acme")
    key = repository.create_api_key("acme", Role.TRADER, "desk").plaintext
    clock = ManualClock(start)
    return repository, key, clock, FolderPrices()


@contextmanager
def one_stored_bid(
    tmp_path: Path, start: datetime
) -> Iterator[tuple[Repository, ManualClock, FolderPrices, str]]:
    """A store with acme's cheap sale in the first quarter hour of 2026-06-15, accepted
    through the API at `start`: (repository, clock, prices, bid id)."""
    repository, key, clock, prices = _loop_fixture(tmp_path, "one.sqlite3", start)
    try:
        app = create_app(repository, clock, prices=prices)
        product = first_quarter_hour(date(2026, 6, 15))
        bid = {"type": "single", "product_id": product, "volume_mw": 2.0, "price_eur_per_mwh": 1}
        answer = asyncio.run(post(app, "/v1/bids", [bid], key))
        assert answer.status_code == 201, answer.text
        (bid_id,) = [b["id"] for b in answer.json()["bids"]]
        yield repository, clock, prices, bid_id
    finally:
        repository.close()


def test_a_linked_block_clears_with_its_parent(tmp_path: Path) -> None:
    """The loop forwards a submission whole and re-points `linked_to` to store ids."""
    repository, key, clock, prices = _loop_fixture(tmp_path, "linked.sqlite3")
    try:
        app = create_app(repository, clock, prices=prices)
        day = date(2026, 6, 15)
        parent = {
            "type": "block",
            "product_ids": [quarter_hour(day, i) for i in range(4)],
            "volumes_mw": [1.0] * 4,
            "price_eur_per_mwh": -500.0,
            "bid_id": "parent",
        }
        child = {**parent, "product_ids": [quarter_hour(day, i) for i in range(4, 8)]}
        child |= {"bid_id": "child", "linked_to": "parent"}
        answer = asyncio.run(post(app, "/v1/bids", [parent, child], key))
        assert answer.status_code == 201, answer.text
        ids = [b["id"] for b in answer.json()["bids"]]
        clock.advance_to(datetime(2026, 6, 14, 10, 0, tzinfo=UTC))
        loop = ClearingLoop(repository, SimulatedExchange(exchange_prices(prices), clock))
        recorded = loop.run_once()
        assert {c.bid_key for c in recorded} == set(ids)
        statuses = [repository.get_bid("acme", i).status for i in ids]  # type: ignore[union-attr]
        assert statuses == ["accepted", "accepted"]
    finally:
        repository.close()


def test_an_outcome_the_store_could_not_take_is_recorded_next_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime(2026, 6, 14, 8, 0, tzinfo=UTC)
    with one_stored_bid(tmp_path, start) as (repository, clock, prices, bid_id):
        clock.advance_to(datetime(2026, 6, 14, 10, 0, tzinfo=UTC))
        loop = ClearingLoop(repository, SimulatedExchange(exchange_prices(prices), clock))
        real = repository.record_clearing
        failures = iter([True])

        def busy_once(*args: object, **kwargs: object) -> object:
            if next(failures, False):
                raise RuntimeError("database is locked")
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(repository, "record_clearing", busy_once)
        assert loop.run_once() == []
        assert repository.get_bid("acme", bid_id).status == "submitted"  # type: ignore[union-attr]
        (again,) = loop.run_once()
        assert again.bid_key == bid_id
        assert repository.get_bid("acme", bid_id).status == "accepted"  # type: ignore[union-attr]


def test_a_bid_withdrawn_as_its_gate_closed_keeps_its_withdrawal(tmp_path: Path) -> None:
    """The loop forwarded it, then the withdrawal committed: the store's state stands and
    the loop lets the clearing go instead of retrying it for ever."""
    start = datetime(2026, 6, 14, 8, 0, tzinfo=UTC)
    with one_stored_bid(tmp_path, start) as (repository, clock, prices, bid_id):
        clock.advance_to(datetime(2026, 6, 14, 10, 0, tzinfo=UTC))
        loop = ClearingLoop(repository, SimulatedExchange(exchange_prices(prices), clock))
        loop._forward_due()  # the loop saw it submitted at the gate ...
        repository.transition(bid_id, "withdrawn", Actor.system("acme"))  # ... and then this
        assert loop.run_once() == []
        assert loop.forwarded == {}
        assert repository.get_bid("acme", bid_id).status == "withdrawn"  # type: ignore[union-attr]
