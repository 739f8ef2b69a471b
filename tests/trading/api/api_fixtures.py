"""Fixtures of the API tests: a temp SQLite store at head, a hand-driven clock, keys, a client.

The client drives the ASGI app in-process (no server, no httpx): one request, one
``asyncio.run``. Test modules import what they use from here; this is not a
``conftest.py`` (test folders have no ``__init__.py``, see tests/trading/store).
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI

from trading.api import create_app
from trading.exchange.clock import ManualClock
from trading.store import Repository, Role, upgrade

__all__ = ["api", "clock", "keys", "repo"]

DAY = "2026-06-15"
"""The delivery day of the tests (Europe/Berlin)."""
PRODUCT = "DE:day_ahead:SDAC:2026-06-14T22:00Z"
"""The first day-ahead quarter hour of `DAY` in DE."""
GATE = datetime(2026, 6, 14, 10, 0, tzinfo=UTC)
"""SDAC gate closure of `DAY`: 12:00 CEST the day before."""
BEFORE_GATES = datetime(2026, 6, 14, 8, 0, tzinfo=UTC)


def single(index: int = 0, volume_mw: float = 1.0, price: float = 50.0, **extra: Any) -> dict:
    """A day-ahead single bid on quarter hour `index` of `DAY` [MW, EUR/MWh]."""
    hour, quarter = divmod(index, 4)
    start = f"2026-06-14T{22 + hour:02d}:{quarter * 15:02d}Z"
    return {
        "type": "single",
        "product_id": f"DE:day_ahead:SDAC:{start}",
        "volume_mw": volume_mw,
        "price_eur_per_mwh": price,
        **extra,
    }


@dataclass
class AsgiResponse:
    """What the app answered."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


_NO_BODY = object()


class AsgiClient:
    """Calls an ASGI app in-process; `key` goes into ``X-API-Key`` unless None."""

    def __init__(self, app: FastAPI, key: str | None = None) -> None:
        self.app, self.key = app, key

    def with_key(self, key: str | None) -> AsgiClient:
        return AsgiClient(self.app, key)

    def get(self, path: str, **kwargs: Any) -> AsgiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> AsgiResponse:
        return self.request("POST", path, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = _NO_BODY,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> AsgiResponse:
        sent = {"content-type": "application/json"} if json is not _NO_BODY else {}
        if self.key is not None:
            sent["x-api-key"] = self.key
        sent.update({k.lower(): v for k, v in (headers or {}).items()})
        body = content if content is not None else b""
        if json is not _NO_BODY:
            body = jsonlib.dumps(json).encode("utf-8")
        if body and "content-type" not in sent:
            sent["content-type"] = "application/json"
        return asyncio.run(self._call(method, path, params or {}, sent, body))

    async def _call(
        self, method: str, path: str, params: dict, headers: dict[str, str], body: bytes
    ) -> AsgiResponse:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": urlencode(params).encode(),
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()]
            + [(b"content-length", str(len(body)).encode()), (b"host", b"testserver")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        received = False
        status = 0
        answer_headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def receive() -> dict:
            nonlocal received
            if received:
                await asyncio.sleep(3600)
            received = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    answer_headers[name.decode().lower()] = value.decode()
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return AsgiResponse(status, answer_headers, b"".join(chunks))


@dataclass(frozen=True)
class Keys:
    """Plaintext keys: acme's trader and analyst, globex's trader."""

    trader: str
    analyst: str
    other_trader: str


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    """A repository on an SQLite file upgraded to head."""
    url = f"sqlite:///{tmp_path / 'api.sqlite3'}"
    upgrade(url)
    repository = Repository.from_url(url)
    yield repository
    repository.close()


@pytest.fixture
def clock() -> ManualClock:
    """Two hours before the day-ahead gate of `DAY`."""
    return ManualClock(BEFORE_GATES)


@pytest.fixture
def keys(repo: Repository) -> Keys:
    repo.create_tenant("acme", "Acme Trading")
    repo.create_tenant("globex", "Globex Energy")
    return Keys(
        trader=repo.create_api_key("acme", Role.TRADER, "desk").plaintext,
        analyst=repo.create_api_key("acme", Role.ANALYST, "research").plaintext,
        other_trader=repo.create_api_key("globex", Role.TRADER, "desk").plaintext,
    )


@pytest.fixture
def api(repo: Repository, clock: ManualClock, keys: Keys) -> AsgiClient:
    """A client of the app, authenticated as acme's trader."""
    return AsgiClient(create_app(repo, clock), keys.trader)
