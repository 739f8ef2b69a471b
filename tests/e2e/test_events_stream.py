"""GET /v1/events over real HTTP: a uvicorn server in a thread, clients with httpx.

The caller receives its own bid's changes as server-sent events with the server's clock,
never another tenant's; ``Last-Event-ID`` resumes after an event; a revoked key ends the
stream.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from serve_process import free_port

from trading.api import create_app
from trading.exchange.clock import ManualClock
from trading.store import Repository, Role, upgrade
from trading.store.timestamps import use_clock

NOW = datetime(2026, 6, 14, 8, 0, tzinfo=UTC)
"""The server's (simulated) clock: two hours before the day-ahead gate of 2026-06-15."""
PRODUCT = "DE:day_ahead:SDAC:2026-06-14T22:00Z"
WAIT_S = 15.0


@dataclass
class Server:
    base: str
    repo: Repository
    acme: str
    acme_key_id: str
    globex: str


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    upgrade(url)
    repo = Repository.from_url(url)
    repo.create_tenant("acme", "Acme Trading")
    repo.create_tenant("globex", "Globex Energy")
    acme = repo.create_api_key("acme", Role.TRADER, "desk")
    globex = repo.create_api_key("globex", Role.TRADER, "desk").plaintext
    clock = ManualClock(NOW)
    use_clock(clock.now)  # as `vpp serve` does: the store's times are the server's clock
    port = free_port()
    config = uvicorn.Config(
        create_app(repo, clock, key_ttl_s=0.2),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    uvi = uvicorn.Server(config)
    thread = threading.Thread(target=uvi.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not uvi.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", repo, acme.plaintext, acme.record.id, globex)
    finally:
        uvi.should_exit = True
        thread.join(timeout=10)
        use_clock(None)
        repo.close()


@dataclass
class Stream:
    """Reads one SSE connection in a thread; each complete event lands in `events`."""

    base: str
    key: str
    last_event_id: str | None = None
    events: queue.Queue = field(default_factory=queue.Queue)
    raw: list[str] = field(default_factory=list)
    connected: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    status: int = 0

    def start(self) -> Stream:
        threading.Thread(target=self._read, daemon=True).start()
        assert self.connected.wait(WAIT_S), "the stream did not answer"
        return self

    def _read(self) -> None:
        headers = {"X-API-Key": self.key, "Accept": "text/event-stream"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        try:
            with httpx.stream(
                "GET", f"{self.base}/v1/events", headers=headers, timeout=WAIT_S
            ) as response:
                self.status = response.status_code
                self.connected.set()
                event: dict[str, str] = {}
                for line in response.iter_lines():
                    self.raw.append(line)
                    if line == "":
                        if "data" in event:
                            self.events.put(event)
                        event = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        event[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass
        finally:
            self.connected.set()
            self.ended.set()

    def next_matching(self, wanted: str, subject: str) -> list[dict]:
        """Every event received until one of type `wanted` on `subject` (inclusive)."""
        seen = []
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            body = json.loads(event["data"])
            seen.append({**body, "_sse": event})
            if body["type"] == wanted and body["subject"] == subject:
                return seen
        raise AssertionError(f"no {wanted} on {subject} within {WAIT_S} s; got {seen}")


def submit(base: str, key: str, price: float) -> str:
    bid = {"type": "single", "product_id": PRODUCT, "volume_mw": 1.0, "price_eur_per_mwh": price}
    answer = httpx.post(f"{base}/v1/bids", json=bid, headers={"X-API-Key": key}, timeout=WAIT_S)
    assert answer.status_code == 201, answer.text
    return answer.json()["bids"][0]["id"]


def test_the_caller_gets_its_own_bid_events_and_never_another_tenants(server: Server) -> None:
    stream = Stream(server.base, server.acme).start()
    assert stream.status == 200
    theirs = submit(server.base, server.globex, 40.0)
    ours = submit(server.base, server.acme, 50.0)

    seen = stream.next_matching("bid.created", f"bid {ours}")
    created = seen[-1]
    assert created["entity"]["id"] == ours
    assert created["entity"]["status"] == "submitted"
    assert created["entity"]["bid"]["price_eur_per_mwh"] == 50.0
    assert created["time"] == "2026-06-14T08:00:00Z"  # the server's clock, not the wall's
    assert created["_sse"]["id"] == created["id"]
    assert created["_sse"]["event"] == "bid.created"

    withdrawn = httpx.post(
        f"{server.base}/v1/bids/{ours}/withdraw", headers={"X-API-Key": server.acme}
    )
    assert withdrawn.status_code == 200
    moved = stream.next_matching("bid.status", f"bid {ours}")[-1]
    assert moved["entity"]["status"] == "withdrawn"
    assert moved["details"]["to"] == "withdrawn"
    assert not any(theirs in line for line in stream.raw)

    # resume after the creation event: the withdrawal again, not the creation
    resumed = Stream(server.base, server.acme, last_event_id=created["id"]).start()
    again = resumed.next_matching("bid.status", f"bid {ours}")
    assert [e["subject"] for e in again] == [f"bid {ours}"]
    assert again[0]["id"] == moved["id"]

    # the other tenant's stream sees its bid and none of ours
    other = Stream(server.base, server.globex, last_event_id="0").start()
    their_events = other.next_matching("bid.created", f"bid {theirs}")
    assert all(ours not in json.dumps(e) for e in their_events)


def test_a_revoked_key_ends_the_stream(server: Server) -> None:
    stream = Stream(server.base, server.acme).start()
    assert stream.status == 200
    server.repo.revoke_api_key("acme", server.acme_key_id)
    assert stream.ended.wait(5.0), "the stream outlived its key"
    error = json.loads(stream.events.get(timeout=1)["data"])
    assert error["error"] == "Unauthorized"
