"""`vpp serve` end to end: a real server process on a loopback port, a real HTTP client.

Also the clearing loop in-process, on a hand-driven clock: a bid submitted through the API
is handed to the simulated exchange, cleared at its gate and its outcome recorded.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from trading.api import create_app
from trading.api.jobs import FolderPrices
from trading.api.server import ClearingLoop, exchange_prices
from trading.exchange.clock import ManualClock
from trading.exchange.simulated import SimulatedExchange
from trading.store import Repository, Role, upgrade

BERLIN = ZoneInfo("Europe/Berlin")
STARTUP_S = 60.0


def first_quarter_hour(day: date) -> str:
    """The DE day-ahead product of the first quarter hour of market-local `day`."""
    start = datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC)
    return f"DE:day_ahead:SDAC:{start:%Y-%m-%dT%H:%M}Z"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def vpp(*args: str) -> list[str]:
    return [sys.executable, "-m", "trading.cli", *args]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A running `vpp serve` on a temp SQLite file, and a trader key of tenant acme."""
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        vpp("serve", "--db", url, "--host", "127.0.0.1", "--port", str(port)),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        created = subprocess.run(
            vpp("keys", "create", "--tenant", "acme", "--role", "trader", "--db", url),
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
        key = created.stdout.strip().splitlines()[-1]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"vpp serve exited {process.returncode}: {_read(tmp_path)}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vpp serve did not answer in {STARTUP_S} s: {_read(tmp_path)}")
            time.sleep(0.2)
        yield base, key
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _read(tmp_path: Path) -> str:
    return (tmp_path / "serve.log").read_text(encoding="utf-8")[-3000:]


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
        assert set(exchange.pending()) == {*ids, withdrawn}
        gone = asyncio.run(post(app, f"/v1/bids/{withdrawn}/withdraw", {}, key))
        assert gone.status_code == 200, gone.text
        assert loop.run_once() == []
        assert set(exchange.pending()) == set(ids)

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
        assert loop.run_once() == []
    finally:
        repository.close()


async def post(app: object, path: str, body: object, key: str) -> httpx.Response:
    """POST to the ASGI app in-process."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post(path, json=body, headers={"X-API-Key": key})
