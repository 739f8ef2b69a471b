"""`GET /v1/engine` and the engine's gauges, on the app over a real SQLite store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
from prometheus_client import generate_latest

from dispatch.clock import VirtualClock
from markets.registry import default_registry
from trading.api import create_app
from trading.api.engine_status import OFF
from trading.api.jobs import FolderPrices
from trading.api.server import exchange_prices
from trading.engine.live_books import LiveConfig
from trading.engine.service import EngineService
from trading.exchange.clock import ManualClock
from trading.store import Repository, Role, upgrade

NOW = datetime(2026, 6, 14, 16, 0, tzinfo=UTC)


def get(app: object, key: str) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.get("/v1/engine", headers={"X-API-Key": key})

    return asyncio.run(call())


def test_the_route_says_whether_the_engine_runs_for_the_callers_tenant(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'route.sqlite3'}"
    upgrade(url)
    repository = Repository.from_url(url)
    try:
        repository.create_tenant("acme", "Acme")
        key = repository.create_api_key("acme", Role.ANALYST, "desk").plaintext
        clock = ManualClock(NOW)

        off = get(create_app(repository, clock, prices=FolderPrices()), key)
        assert off.status_code == 200
        assert off.json()["running"] is False
        assert off.json()["reason"] == OFF

        config = LiveConfig(prices=exchange_prices(FolderPrices()), registry=default_registry())
        engine = EngineService(repository, VirtualClock(NOW), config)
        app = create_app(repository, clock, prices=FolderPrices(), engine=engine)
        idle = get(app, key)
        assert idle.status_code == 200
        assert idle.json()["running"] is False
        assert idle.json()["reason"] == "no portfolio stored for this tenant yet"
        assert get(app, "not-a-key").status_code == 401
        exposition = generate_latest(app.state.services.metrics.registry).decode()
        assert "vpp_engine_schedule_version" in exposition
    finally:
        repository.close()
