"""`vpp pools flags list|set` and `vpp dispatch assets` against a real HTTP server (uvicorn in
a thread) over the app with the engine: what a desk's terminal shows, and the refusals."""

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
from markets.registry import default_registry
from trading.api import create_app
from trading.api.jobs import FolderPrices
from trading.api.server import exchange_prices
from trading.cli import app as vpp
from trading.engine.live_books import LiveConfig, delivery_day
from trading.engine.live_day import LiveDay
from trading.engine.service import EngineService, TenantEngine
from trading.exchange.clock import ManualClock
from trading.store import Repository, Role

START = datetime(2026, 6, 14, 16, 0, tzinfo=UTC)
WAIT_S = 60.0
"""Slack for uvicorn to start on a loaded machine [s]."""

runner = CliRunner()


@dataclass(frozen=True)
class Server:
    url: str
    repo: Repository
    admin: str
    trader: str
    service: EngineService


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """acme's engine after 30 s of its day on a virtual clock, served over HTTP."""
    repo = seeded_repository(tmp_path / "cli.sqlite3")
    admin = repo.create_api_key("acme", Role.ADMIN, "ops").plaintext
    trader = repo.create_api_key("acme", Role.TRADER, "desk").plaintext
    clock = VirtualClock(START)
    config = LiveConfig(prices=exchange_prices(FolderPrices()), registry=default_registry())
    service = EngineService(repo, clock, config)
    record = repo.get_portfolio("acme", "essen")
    assert record is not None
    live = LiveDay(
        repo, "acme", record.portfolio(), delivery_day(START), config, clock, flags=service.flags
    )
    service.tenants["acme"] = TenantEngine("acme", "essen", record.version, live=live)
    until = datetime(2026, 6, 14, 16, 0, 30, tzinfo=UTC)
    asyncio.run(live.run(asyncio.Event(), until=until))
    port = free_port()
    uvi = uvicorn.Server(
        uvicorn.Config(
            create_app(repo, ManualClock(START), prices=FolderPrices(), engine=service),
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
        yield Server(f"http://127.0.0.1:{port}", repo, admin, trader, service)
    finally:
        uvi.should_exit = True
        thread.join(timeout=10)
        repo.close()


def test_an_admin_sets_a_flag_from_the_terminal_and_the_engine_has_it(server: Server) -> None:
    common = ["--url", server.url, "--key", server.admin]
    done = runner.invoke(
        vpp,
        [
            "pools",
            "flags",
            "set",
            "DE_LU",
            "afrr_activation",
            "off",
            "--reason",
            "maintenance",
            *common,
            "--json",
        ],
    )
    assert done.exit_code == 0, done.output
    record = json.loads(done.stdout)
    assert (record["pool"], record["flag"], record["value"]) == ("DE_LU", "afrr_activation", "off")
    assert server.service.flags.afrr_activation("acme", "DE_LU") is False

    listed = runner.invoke(vpp, ["pools", "flags", "list", "--pool", "DE_LU", *common, "--json"])
    assert listed.exit_code == 0, listed.output
    items = {i["flag"]: i for i in json.loads(listed.stdout)["items"]}
    assert items["afrr_activation"]["value"] == "off"
    assert items["afrr_activation"]["reason"] == "maintenance"
    assert items["virtual_trader"]["value"] == "off"  # off unless set
    table = runner.invoke(vpp, ["pools", "flags", "list", *common])
    assert "DE_LU\tafrr_activation\toff\ton\t" in table.stdout


def test_the_terminal_names_what_the_api_refused(server: Server) -> None:
    bad = runner.invoke(
        vpp,
        [
            "pools",
            "flags",
            "set",
            "DE_LU",
            "afrr",
            "off",
            "--reason",
            "typo",
            "--url",
            server.url,
            "--key",
            server.admin,
        ],
    )
    assert bad.exit_code == 2
    assert "422" in bad.stderr
    assert "flag='afrr'" in bad.stderr
    assert "must be one of afrr_activation, virtual_trader, allocation_strategy" in bad.stderr
    no_strategy = runner.invoke(
        vpp,
        [
            "pools",
            "flags",
            "set",
            "DE_LU",
            "allocation_strategy",
            "cheapest",
            "--reason",
            "typo",
            "--url",
            server.url,
            "--key",
            server.admin,
        ],
    )
    assert no_strategy.exit_code == 2
    assert "value='cheapest'" in no_strategy.stderr
    assert "must be one of plan_then_headroom, merit_order" in no_strategy.stderr
    not_admin = runner.invoke(
        vpp,
        [
            "pools",
            "flags",
            "set",
            "DE_LU",
            "afrr_activation",
            "off",
            "--reason",
            "mine",
            "--url",
            server.url,
            "--key",
            server.trader,
        ],
    )
    assert not_admin.exit_code == 2
    assert "403" in not_admin.stderr
    assert server.repo.list_pool_flags("acme") == []
    no_key = runner.invoke(
        vpp, ["dispatch", "assets", "--url", server.url], env={"VPP_API_KEY": ""}
    )
    assert no_key.exit_code == 2
    assert "--key" in no_key.stderr
    away = runner.invoke(
        vpp, ["dispatch", "assets", "--url", "http://127.0.0.1:9", "--key", server.trader]
    )
    assert away.exit_code == 3
    assert "cannot be reached" in away.stderr
    not_http = runner.invoke(
        vpp, ["dispatch", "assets", "--url", "file:///etc/passwd", "--key", server.trader]
    )
    assert not_http.exit_code == 2
    assert "must start with http:// or https://" in not_http.stderr


def test_the_dispatchers_assets_from_the_terminal(server: Server) -> None:
    done = runner.invoke(
        vpp, ["dispatch", "assets", "--url", server.url, "--key", server.trader, "--json"]
    )
    assert done.exit_code == 0, done.output
    found = json.loads(done.stdout)
    assert found["running"] is True
    assets = {a["asset_id"]: a for a in found["assets"]}
    assert set(assets) == {"bat-de-essen-01", "pv-de-essen-roof"}
    for asset in assets.values():
        assert asset["pool"] == "DE_LU"
        assert asset["last_mw"] is not None
        assert 0.0 <= asset["age_s"] <= 5.0  # read within the last ticks of the run
    table = runner.invoke(vpp, ["dispatch", "assets", "--url", server.url, "--key", server.trader])
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0] == "asset\tpool\tkind\tstate\tlast_mw\tage_s\tfresh"
    assert any(
        line.startswith("bat-de-essen-01\tDE_LU\tbattery\t") for line in table.stdout.splitlines()
    )
