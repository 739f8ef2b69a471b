"""Latency of the desk's order tools over HTTP: replace, cancel-all, and the event stream.

Starts the API (`create_app`) under uvicorn in a thread on a free loopback port, on a temp
SQLite file by default or ``--db URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``,
migrated to head; a fresh tenant each run), with a trader key. Then:

1. submits ``--bids`` day-ahead single bids (batches of 96, a delivery day a few days
   ahead, so no gate has passed);
2. with ``GET /v1/events`` open, replaces ``--replaces`` of them one after the other and
   measures each ``PUT /v1/bids/{id}`` [ms], and the time from its answer to the
   ``bid.replaced`` event on the stream [ms];
3. cancels every live bid in one ``POST /v1/bids/cancel-all`` and measures it [ms].

Prints the machine's core count, the options and the figures (p50/p95/max). Client and
server share one process and its GIL, which makes the figures conservative.

Run: ``python benchmarks/orders.py`` (options: ``--help``).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import socket
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import uvicorn

from trading.api import create_app
from trading.exchange.clock import SystemClock
from trading.store import Repository, Role, upgrade

BERLIN = ZoneInfo("Europe/Berlin")


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _product(day: date, index: int) -> str:
    start = datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC)
    return f"DE:day_ahead:SDAC:{start + timedelta(minutes=15 * index):%Y-%m-%dT%H:%M}Z"


def _figures(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"{name}: n={len(values)} p50={statistics.median(values):.1f} ms "
        f"p95={p95:.1f} ms max={ordered[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a temp SQLite file)")
    parser.add_argument("--bids", type=int, default=960, help="bids to submit, then cancel")
    parser.add_argument("--replaces", type=int, default=50, help="replacements to time")
    options = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="vpp-orders-")
    url = options.db or f"sqlite:///{Path(folder) / 'orders.sqlite3'}"
    upgrade(url)
    repo = Repository.from_url(url)
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    repo.create_tenant(tenant, "orders benchmark")
    key = repo.create_api_key(tenant, Role.TRADER, "bench").plaintext
    port = _port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(repo, SystemClock()), port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    base, headers = f"http://127.0.0.1:{port}", {"X-API-Key": key}
    print(
        f"cores={os.cpu_count()} db={url.split(':')[0]} bids={options.bids} "
        f"replaces={options.replaces}"
    )

    client = httpx.Client(base_url=base, headers=headers, timeout=60)
    day = datetime.now(UTC).date() + timedelta(days=3)
    ids: list[str] = []
    for first in range(0, options.bids, 96):
        batch = [
            {
                "type": "single",
                "product_id": _product(day + timedelta(days=first // 96), i),
                "volume_mw": 1.0,
                "price_eur_per_mwh": 50.0,
            }
            for i in range(min(96, options.bids - first))
        ]
        answer = client.post("/v1/bids", json=batch)
        answer.raise_for_status()
        ids.extend(b["id"] for b in answer.json()["bids"])

    arrivals: queue.Queue[tuple[float, dict]] = queue.Queue()

    def listen() -> None:
        with httpx.stream("GET", f"{base}/v1/events", headers=headers, timeout=None) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    arrivals.put((time.perf_counter(), json.loads(line[5:])))

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(1.0)  # the stream is open
    put_ms, event_ms = [], []
    for index, old in enumerate(ids[: options.replaces]):
        body = {
            "type": "single",
            "product_id": _product(day, index % 96),
            "volume_mw": 1.0,
            "price_eur_per_mwh": 51.0,
        }
        started = time.perf_counter()
        answer = client.put(f"/v1/bids/{old}", json=body)
        answered = time.perf_counter()
        answer.raise_for_status()
        put_ms.append((answered - started) * 1000)
        ids.append(answer.json()["submission"]["bids"][0]["id"])
        while True:
            at, event = arrivals.get(timeout=30)
            if event["type"] == "bid.replaced" and event["subject"] == f"bid {old}":
                event_ms.append(max(0.0, at - answered) * 1000)
                break
    print(_figures("PUT /v1/bids/{id}", put_ms))
    print(_figures("replace answered -> bid.replaced event", event_ms))
    started = time.perf_counter()
    answer = client.post("/v1/bids/cancel-all", json={"reason": "benchmark"})
    took = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    print(f"POST /v1/bids/cancel-all: {answer.json()['withdrawn_count']} bids in {took:.0f} ms")
    server.should_exit = True
    repo.close()


if __name__ == "__main__":
    main()
