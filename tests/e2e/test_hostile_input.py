"""Hostile input against a real `vpp serve`, on SQLite and on PostgreSQL.

One tenant's poisoned submissions (NUL, lone surrogates, oversized strings, duplicate JSON
keys) sent among another tenant's good ones must never cost the good ones anything: every
good bid is stored on its first try, every poisoned one gets a 4xx naming what is wrong.
Path and query parameters with NUL answer 422; a 30 MB body answers 413 without the
server's memory growing; a 1e308 MW bid is refused naming the limit; and a short
schemathesis run against the live server finds no 5xx.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from serve_process import BERLIN, ServerProcess, create_key, quarter_hour, start_server

from trading.api import create_app
from trading.exchange.clock import SystemClock
from trading.store import Repository

PG_URL = os.environ.get(
    "VPP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
"""The PostgreSQL server of the tests (each server here in a fresh schema of its own)."""

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]

GOOD = 200
POISONED = 20
BIG_BODY = 30 * 1024 * 1024
"""The oversized upload [bytes]; the server's limit is 4 MiB."""
RSS_GROWTH_MAX = 8 * 1024 * 1024
"""How much the server's resident memory may grow while refusing it [bytes]."""


def delivery_day() -> date:
    """A market-local day whose day-ahead gate is days away."""
    return datetime.now(BERLIN).date() + timedelta(days=3)


@dataclass
class Live:
    """A running server on its own database, and a trader key of each of two tenants."""

    server: ServerProcess
    url: str
    good_key: str
    bad_key: str

    @property
    def base(self) -> str:
        return self.server.base


def _fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'hostile.sqlite3'}"
        return
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


def _live(backend: str, tmp_path: Path) -> Iterator[Live]:
    for url in _fresh_database(backend, tmp_path):
        good, bad = create_key(url, "acme"), create_key(url, "globex")
        empty_prices = tmp_path / "no-prices"  # plan runs fail at once: no solver CPU here
        empty_prices.mkdir(exist_ok=True)
        server = start_server(url, tmp_path / "serve.log", "--prices", str(empty_prices))
        try:
            yield Live(server, url, good, bad)
        finally:
            server.stop()


@pytest.fixture(scope="module", params=DATABASES)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """One server per database for the module; only the isolation test stores bids."""
    yield from _live(request.param, tmp_path_factory.mktemp(f"live-{request.param}"))


def good_bid(number: int, day: date) -> bytes:
    return json.dumps(
        {
            "type": "single",
            "product_id": quarter_hour(day, number % 92),
            "volume_mw": round(0.1 * (1 + number % 50), 1),
            "price_eur_per_mwh": float(10 + number % 200),
            "bid_id": f"good/{number}",
        }
    ).encode()


def poisoned_bid(number: int, day: date) -> bytes:
    """Five kinds in turn: NUL, a lone surrogate, an oversized id, a huge id, a duplicate key."""
    product = quarter_hour(day, number % 92)
    head = f'{{"type":"single","product_id":"{product}","price_eur_per_mwh":50,'
    match number % 5:
        case 0:
            return (head + '"volume_mw":1,"bid_id":"bad\\u0000' + str(number) + '"}').encode()
        case 1:
            return (head + '"volume_mw":1,"bid_id":"bad\\ud800' + str(number) + '"}').encode()
        case 2:
            return (head + '"volume_mw":1,"bid_id":"' + "x" * 300 + '"}').encode()
        case 3:
            return (head + '"volume_mw":1,"bid_id":"' + "y" * 1_000_000 + '"}').encode()
        case _:
            return (head + '"volume_mw":1,"volume_mw":-1,"bid_id":"dup"}').encode()


def test_poisoned_submissions_of_one_tenant_cost_another_nothing(live: Live) -> None:
    day = delivery_day()
    work: list[tuple[str, int]] = [("good", n) for n in range(GOOD)]
    for n in range(POISONED):  # spread among the good ones
        work.insert(n * (GOOD // POISONED) + n, ("poisoned", n))
    answers: dict[tuple[str, int], httpx.Response] = {}
    lock = threading.Lock()

    def send(item: tuple[str, int]) -> None:
        kind, number = item
        body = good_bid(number, day) if kind == "good" else poisoned_bid(number, day)
        key = live.good_key if kind == "good" else live.bad_key
        headers = {"X-API-Key": key, "Content-Type": "application/json"}
        with httpx.Client(base_url=live.base, timeout=60) as client:
            answer = client.post("/v1/bids", content=body, headers=headers)
        with lock:
            answers[item] = answer

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(send, work))

    good = {n: a for (kind, n), a in answers.items() if kind == "good"}
    failed = {n: (a.status_code, a.text[:200]) for n, a in good.items() if a.status_code != 201}
    assert not failed, f"good bids not stored on their first try: {failed}"
    for (kind, number), answer in answers.items():
        if kind != "poisoned":
            continue
        assert 400 <= answer.status_code < 500, (number, answer.status_code, answer.text[:300])
        problem = answer.json()
        assert problem["status"] == answer.status_code
        assert problem["field"]
        assert problem["rule"]

    stored = httpx.get(
        f"{live.base}/v1/bids", params={"limit": 1000}, headers={"X-API-Key": live.good_key}
    )
    assert stored.status_code == 200
    assert stored.json()["total"] == GOOD
    ids = {b["bid"]["bid_id"] for b in stored.json()["items"]}
    assert ids == {f"good/{n}" for n in range(GOOD)}
    other = httpx.get(
        f"{live.base}/v1/bids", params={"limit": 1000}, headers={"X-API-Key": live.bad_key}
    )
    assert other.status_code == 200
    assert other.json()["total"] == 0


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/v1/bids?product=%00", "query.product"),
        ("GET", "/v1/bids/%00", "path.bid_id"),
        ("GET", "/v1/plans/%00", "path.plan_id"),
        ("GET", "/v1/portfolio/assets?kind=%00", "query.kind"),
    ],
)
def test_nul_in_a_parameter_is_a_422_naming_it(
    live: Live, method: str, path: str, field: str
) -> None:
    answer = httpx.request(method, f"{live.base}{path}", headers={"X-API-Key": live.good_key})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


def test_a_plan_for_a_nul_portfolio_is_a_422(live: Live) -> None:
    answer = httpx.post(
        f"{live.base}/v1/plans",
        headers={"X-API-Key": live.good_key},
        json={"portfolio_id": "a\x00b", "day": delivery_day().isoformat()},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "body.portfolio_id"


def test_a_fat_finger_bid_is_refused_naming_the_limit(live: Live) -> None:
    bid = json.loads(good_bid(0, delivery_day()))
    bid["volume_mw"] = 1e308
    answer = httpx.post(f"{live.base}/v1/bids", json=bid, headers={"X-API-Key": live.good_key})
    assert answer.status_code == 422, answer.text
    rules = {v["rule"]: v for v in answer.json()["bids"][0]["violations"]}
    assert "10000 MW" in rules["day_ahead.volume_sanity_max_mw"]["limit"]


def _upload(base: str, headers: dict[str, str], chunks: Iterator[bytes]) -> int:
    """Send a POST by hand (the client stops as soon as the server answers); its status."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(f"POST /v1/bids HTTP/1.1\r\nHost: {host}\r\n{head}\r\n".encode())
        answered = threading.Event()

        def pump() -> None:
            try:
                for chunk in chunks:
                    if answered.is_set():
                        return
                    sock.sendall(chunk)
            except OSError:
                return  # the server closed the connection after its answer

        sender = threading.Thread(target=pump, daemon=True)
        sender.start()
        first = sock.recv(200)
        answered.set()
        sender.join(timeout=30)
    return int(first.split(b" ")[1])


def test_a_30_mb_body_is_a_413_without_the_server_growing(live: Live) -> None:
    process = psutil.Process(live.server.process.pid)
    httpx.get(f"{live.base}/healthz")
    before = process.memory_info().rss
    piece = b"x" * 65536

    def announced() -> Iterator[bytes]:
        for _ in range(BIG_BODY // len(piece)):
            yield piece

    def chunked() -> Iterator[bytes]:
        for _ in range(BIG_BODY // len(piece)):
            yield b"%x\r\n%s\r\n" % (len(piece), piece)
        yield b"0\r\n\r\n"

    anonymous = {"Content-Type": "application/json", "Content-Length": str(BIG_BODY)}
    assert _upload(live.base, anonymous, announced()) == 413
    streamed = {
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
        "X-API-Key": live.good_key,
    }
    assert _upload(live.base, streamed, chunked()) == 413
    time.sleep(0.5)
    grown = process.memory_info().rss - before
    assert grown < RSS_GROWTH_MAX, f"server grew by {grown / 1e6:.1f} MB"
    assert httpx.get(f"{live.base}/healthz").status_code == 200


# --- schemathesis against the live server ----------------------------------------------

SCHEMA = schemathesis.openapi.from_dict(
    create_app(Repository.from_url("sqlite://"), SystemClock()).openapi()
).exclude(path="/v1/events")
"""The API's document; the requests go over HTTP to the live server. GET /v1/events
streams until the client leaves (its refusals and the stream are tested in
tests/trading/api/test_api_events.py and tests/e2e/test_events_stream.py)."""

LIVE_FUZZ_EXAMPLES = int(os.environ.get("VPP_LIVE_FUZZ_EXAMPLES", "8"))
"""Examples per operation and database: 8 keeps CI near 30 s; raise it for a longer hunt."""

LIVE_FUZZ = settings(
    max_examples=LIVE_FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@SCHEMA.parametrize()
@LIVE_FUZZ
def test_a_live_server_answers_no_fuzzed_request_with_a_5xx(
    case: schemathesis.Case, live: Live
) -> None:
    headers = {"X-API-Key": live.good_key}
    response = case.call(base_url=live.base, headers=headers, timeout=30)
    case.validate_response(response, checks=[not_a_server_error], headers=headers)
    assert response.status_code < 500, case.as_curl_command(headers=headers)
