"""Nothing acknowledged is lost or doubled when the server is killed mid-load.

A real `vpp serve` on loopback takes 1,000 bids from 16 concurrent clients, each bid in its
own request with its own ``Idempotency-Key``. Part-way through, the server gets SIGKILL (no
shutdown handler runs). It is restarted on the same database (an SQLite file, or a fresh
PostgreSQL schema wherever 127.0.0.1:5432 answers), every client retries what
it got no answer for, with the same key, and the books must then hold every bid exactly
once: every bid acknowledged before the kill under the id it was acknowledged with, and no
bid twice, whether or not its first attempt had reached the database before the kill.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from serve_process import BERLIN, ServerProcess, create_key, quarter_hour, start_server

BIDS = 1000
CLIENTS = 16
KILL_AFTER_ACKS = 300
"""The server is killed once this many bids have been acknowledged."""


def delivery_day() -> date:
    """A market-local day whose day-ahead gate is days away, so no bid is late."""
    return datetime.now(BERLIN).date() + timedelta(days=3)


def bid(number: int, day: date) -> dict[str, Any]:
    """Bid `number`: a single order in one of the day's first 92 quarter hours (DST-proof)."""
    return {
        "type": "single",
        "product_id": quarter_hour(day, number % 92),
        "volume_mw": round(0.1 * (1 + number % 50), 1),
        "price_eur_per_mwh": float(10 + number % 200),
        "bid_id": f"client/{number}",
    }


@dataclass
class Books:
    """What the clients were told: client bid id -> store id, for every 2xx answer."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    unanswered: list[int] = field(default_factory=list)
    refused: list[tuple[int, int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)

    def send(self, client: httpx.Client, key: str, number: int, day: date) -> None:
        """POST bid `number` once; record the answer, or that there was none."""
        try:
            answer = client.post(
                "/v1/bids",
                json=bid(number, day),
                headers={"X-API-Key": key, "Idempotency-Key": f"load-{number}"},
            )
        except httpx.TransportError:
            with self.lock:
                self.unanswered.append(number)
            return
        with self.lock:
            if answer.status_code in (200, 201):
                (stored,) = answer.json()["bids"]
                self.acknowledged[f"client/{number}"] = stored["id"]
                if len(self.acknowledged) >= KILL_AFTER_ACKS:
                    self.enough.set()
            else:
                self.refused.append((number, answer.status_code, answer.text[:300]))


def load(server: ServerProcess, key: str, numbers: list[int], books: Books, day: date) -> None:
    """Send `numbers` from `CLIENTS` concurrent clients, one request per bid."""
    with (
        httpx.Client(base_url=server.base, timeout=30) as client,
        ThreadPoolExecutor(CLIENTS) as pool,
    ):
        for _ in pool.map(lambda n: books.send(client, key, n, day), numbers):
            pass


def stored_bids(server: ServerProcess, key: str) -> list[dict[str, Any]]:
    """Every bid of the tenant, all pages."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = httpx.get(
            f"{server.base}/v1/bids",
            params={"page": page, "limit": 500},
            headers={"X-API-Key": key},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found.extend(body["items"])
        if len(found) >= body["total"] or not body["items"]:
            return found
        page += 1


PG_URL = os.environ.get(
    "VPP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The books: an SQLite file, or a PostgreSQL schema of the test's own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'books.sqlite3'}"
        return
    schema = f"e2e_kill_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        scoped = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


def test_sigkill_mid_load_loses_and_doubles_no_acknowledged_bid(url: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    key = create_key(url)
    day = delivery_day()
    books = Books()

    server = start_server(url, log)
    try:
        loader = threading.Thread(
            target=load, args=(server, key, list(range(BIDS)), books, day), daemon=True
        )
        loader.start()
        assert books.enough.wait(timeout=300), f"too few acknowledgements: {server.tail()}"
        server.kill()
        loader.join(timeout=300)
        assert not loader.is_alive()
    finally:
        server.stop()
    before_kill = dict(books.acknowledged)
    assert books.refused == []
    assert len(before_kill) >= KILL_AFTER_ACKS
    assert books.unanswered, "the kill came after the last bid; nothing was in flight"

    restarted = start_server(url, log)
    try:
        retry = sorted(books.unanswered)
        books.unanswered.clear()
        load(restarted, key, retry, books, day)
        assert books.unanswered == []
        assert books.refused == []
        stored = stored_bids(restarted, key)
    finally:
        restarted.stop()

    copies = Counter(s["bid"]["bid_id"] for s in stored)
    assert [b for b, n in copies.items() if n > 1] == []
    assert len(stored) == BIDS
    ids = {s["bid"]["bid_id"]: s["id"] for s in stored}
    lost_or_changed = {b: i for b, i in before_kill.items() if ids.get(b) != i}
    assert lost_or_changed == {}
    assert ids == books.acknowledged
    assert all(s["status"] == "submitted" for s in stored)
