"""The virtual trader inside the server's engine, in-process on a fast simulated clock.

D-1:
Two tenants hold the sample's Essen site (DE_LU). The server's clock starts at 09:00Z on
2026-06-14, an hour before the day-ahead gate of 2026-06-15. acme's admin switches its
pool's ``virtual_trader`` flag on over the API; globex leaves it at its default (off). The
engine's rounds then plan 2026-06-15 for acme and submit its bids through the API's path
before the gate, named as the virtual trader's in the audit trail; globex gets none.

Intraday: from 15:00Z, acme's flag on, its battery trips; the engine finds it lost, and
the trader re-plans the rest of the day without it and submits continuous-intraday
orders for the difference, under its own key name; the clearing loop clears them at
their gates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from markets.registry import default_registry
from trading.api import create_app
from trading.api.jobs import FolderPrices
from trading.api.server import ClearingLoop, activation_prices, exchange_prices
from trading.backtest.imbalance import ImbalancePrices
from trading.engine.activation import NO_ACTIVATION
from trading.engine.live_books import LiveConfig
from trading.engine.live_clock import ServerClock
from trading.engine.serve_trader import d1_key
from trading.engine.service import EngineService
from trading.exchange.clock import ScaledClock
from trading.exchange.simulated import SimulatedExchange
from trading.samples import sample_site_portfolio
from trading.store import Repository, Role, upgrade
from trading.store.timestamps import use_clock

START = datetime(2026, 6, 14, 9, 0, tzinfo=UTC)
SPEED = 10.0
"""Simulated seconds per real one: the gate (10:00Z) is 6 real minutes away."""
NEXT_DAY = "2026-06-15"
DA_GATE = "2026-06-14T10:00:00Z"
POOL = "DE_LU"
DEADLINE_S = 120.0
"""Real seconds to wait for what the engine does within a round or two (a loaded machine)."""


class Client:
    """One tenant's admin on the in-process app."""

    def __init__(self, app: object, key: str) -> None:
        self.app, self.key = app, key

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                return await client.request(
                    method, path, headers={"X-API-Key": self.key}, timeout=60, **kwargs
                )

        return asyncio.run(send())


Served = tuple[EngineService, Client, Client]


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """The app and its engine from `START` at `SPEED`, or (start, speed) given as the
    fixture's parameter."""
    start, speed = getattr(request, "param", (START, SPEED))
    url = f"sqlite:///{tmp_path / 'trader.sqlite3'}"
    upgrade(url)
    repository = Repository.from_url(url)
    keys = {}
    for tenant in ("acme", "globex"):
        repository.create_tenant(tenant, tenant.title())
        keys[tenant] = repository.create_api_key(tenant, Role.ADMIN, "desk").plaintext
    folder = FolderPrices()
    config = LiveConfig(
        prices=exchange_prices(folder),
        registry=default_registry(),
        afrr_prices=activation_prices(folder),
        imbalance=ImbalancePrices(),
        activation=NO_ACTIVATION,
        tick_s=10.0,
        period_s=60.0,
    )
    clock = ScaledClock(start, speed)
    engine = EngineService(repository, ServerClock(clock, speed), config)
    app = create_app(repository, clock, prices=folder, engine=engine)
    acme, globex = Client(app, keys["acme"]), Client(app, keys["globex"])
    for tenant, client in (("acme", acme), ("globex", globex)):
        # portfolio ids differ: the store's schedule ids are not per tenant
        part = sample_site_portfolio("de-amp-essen", f"essen-{tenant}", tenant)
        saved = client.call("POST", "/v1/portfolio/assets", json=part)
        assert saved.status_code == 201, saved.text
    # as `vpp serve` runs them: one clock for the store, a clearing loop telling the engine
    exchange = SimulatedExchange(
        config.prices,
        clock,
        config.registry,
        metrics_registry=CollectorRegistry(),
        balancing_energy=config.afrr_prices,
    )
    clearing = ClearingLoop(repository, exchange, 0.5)
    clearing.listeners.append(engine.on_clearing)
    use_clock(clock.now)
    engine.start()
    clearing.start()
    try:
        yield engine, acme, globex
    finally:
        clearing.stop()
        engine.stop()
        use_clock(None)
        repository.close()


def wait_for(what: str, probe: Any) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE_S} s"
        time.sleep(0.2)


def next_day_bids(client: Client) -> list[dict[str, Any]]:
    answer = client.call("GET", "/v1/bids", params={"delivery_day": NEXT_DAY, "limit": 500})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def test_the_flag_on_makes_the_trader_bid_the_next_day_before_the_gate(
    served: Served,
) -> None:
    engine, acme, globex = served
    flag = f"/v1/pools/{POOL}/flags/virtual_trader"
    # off unless set: the engine has started and trades for nobody
    default = globex.call("GET", f"/v1/pools/{POOL}/flags").json()
    assert "off" in str(default)
    switched = acme.call("PUT", flag, json={"value": "on", "reason": "let the robot bid D-1"})
    assert switched.status_code == 200, switched.text

    def submitted() -> dict[str, Any] | None:
        done = acme.call("GET", "/v1/engine").json().get("virtual_trader", {})
        outcome = done.get(NEXT_DAY, {}).get("d1", {}).get(POOL)
        return outcome if outcome and outcome["state"] != "failed" else None

    outcome = wait_for("the virtual trader's D-1 submission", submitted)
    assert outcome["state"] == "submitted", outcome
    assert outcome["bids"] > 0

    bids = next_day_bids(acme)
    assert len(bids) == outcome["bids"]
    markets = {b["market"] for b in bids}
    assert "day_ahead" in markets
    assert all(b["status"] == "submitted" for b in bids)
    day_ahead = [b for b in bids if b["market"] == "day_ahead"]
    assert {b["gate_closure"] for b in day_ahead} == {DA_GATE}
    assert all(b["created_at"] < b["gate_closure"] for b in bids)  # before each gate

    # attributable: each bid's creation is audited under the virtual trader's key name
    audit = acme.call("GET", "/v1/audit", params={"action": "bid.create", "limit": 500})
    assert audit.status_code == 200, audit.text
    rows = audit.json()["items"]
    assert len(rows) == len(bids)
    assert {r["details"]["idempotency_key"] for r in rows} == {
        d1_key(datetime(2026, 6, 15).date(), POOL)
    }
    assert {r["key_id"] for r in rows} == {None}  # the engine, no API key

    # globex's flag stayed off: two more engine rounds, and still nothing for it
    seen = engine.flags.refreshes
    wait_for("two engine rounds", lambda: engine.flags.refreshes >= seen + 2)
    assert next_day_bids(globex) == []
    assert globex.call("GET", "/v1/engine").json().get("virtual_trader") == {}
    # and acme's pool is not traded twice for the day
    assert len(next_day_bids(acme)) == len(bids)


CORRECTION_START = datetime(2026, 6, 14, 15, 0, tzinfo=UTC)
BATTERY = "bat-de-essen-01"


@pytest.mark.parametrize("served", [(CORRECTION_START, 20.0)], indirect=True)
def test_a_lost_asset_makes_the_trader_submit_an_intraday_correction(served: Served) -> None:
    engine, acme, _ = served
    flag = f"/v1/pools/{POOL}/flags/virtual_trader"
    switched = acme.call("PUT", flag, json={"value": "on", "reason": "robot corrects"})
    assert switched.status_code == 200, switched.text

    def running_day() -> Any:  # the fleet is built just after version 1 is issued
        found = engine.tenants.get("acme")
        live = None if found is None else found.live
        return live if live is not None and live.zones and live.current is not None else None

    live = wait_for("acme's day running", running_day)
    (member,) = [
        m for state in live.zones.values() for m in state.members if m.adapter.asset_id == BATTERY
    ]
    member.device.inject("trip")

    def corrected() -> list[dict[str, Any]] | None:
        done = acme.call("GET", "/v1/engine").json().get("virtual_trader", {})
        today = done.get("2026-06-14", {})
        assert not today.get("failed_corrections"), today
        return today.get("corrections") or None

    (correction,) = wait_for("the intraday correction", corrected)
    assert correction["lost_assets"] == [BATTERY]
    assert correction["orders"] > 0

    audit = acme.call("GET", "/v1/audit", params={"action": "bid.create", "limit": 500})
    keys = {r["details"]["idempotency_key"] for r in audit.json()["items"]}
    (key,) = keys
    assert key.startswith("virtual-trader-correction-2026-06-14-")
    bids = acme.call("GET", "/v1/bids", params={"delivery_day": "2026-06-14", "limit": 500})
    orders = bids.json()["items"]
    assert len(orders) == correction["orders"]
    assert {b["market"] for b in orders} == {"intraday_continuous"}
    assert all(b["created_at"] < b["gate_closure"] for b in orders)

    # the server's clearing loop clears them at their gates, like any other bid
    first = min(orders, key=lambda b: b["gate_closure"])

    def cleared() -> dict[str, Any] | None:
        read = acme.call("GET", f"/v1/bids/{first['id']}").json()
        return read if read["status"] != "submitted" else None

    outcome = wait_for("the first correction order's clearing", cleared)
    assert outcome["status"] in ("accepted", "rejected")
    # (as instants: "...15:15:00.949741Z" sorts before "...15:15:00Z" as text)
    assert _instant(outcome["history"][-1]["at"]) >= _instant(first["gate_closure"])


def test_switching_the_flag_off_withdraws_the_traders_open_bids_of_the_pool(
    served: Served,
) -> None:
    """acme's trader bids 2026-06-15 D-1; acme's own bid for the pool is beside them.
    Switched off before the gate, the trader's bids are withdrawn at the next round (by
    the engine, audited, the reason naming the flag); the person's bid stays submitted."""
    engine, acme, _ = served
    flag = f"/v1/pools/{POOL}/flags/virtual_trader"
    mine = {
        "type": "single",
        "product_id": "DE:day_ahead:SDAC:2026-06-15T10:00Z",
        "volume_mw": 1.0,
        "price_eur_per_mwh": 2500.0,
    }
    manual = acme.call("POST", "/v1/bids", json=[mine])
    assert manual.status_code == 201, manual.text
    (manual_id,) = [b["id"] for b in manual.json()["bids"]]
    on = acme.call("PUT", flag, json={"value": "on", "reason": "robot bids D-1"})
    assert on.status_code == 200, on.text

    def submitted() -> dict[str, Any] | None:
        done = acme.call("GET", "/v1/engine").json().get("virtual_trader", {})
        outcome = done.get(NEXT_DAY, {}).get("d1", {}).get(POOL)
        return outcome if outcome and outcome["state"] != "failed" else None

    assert wait_for("the D-1 submission", submitted)["state"] == "submitted"
    robot = [b["id"] for b in next_day_bids(acme) if b["id"] != manual_id]
    assert robot

    off = acme.call("PUT", flag, json={"value": "off", "reason": "desk takes over"})
    assert off.status_code == 200, off.text

    def withdrawn() -> list[dict[str, Any]] | None:
        done = acme.call("GET", "/v1/engine").json().get("virtual_trader", {})
        return done.get("withdrawals") or None

    (withdrawal,) = wait_for("the withdrawal", withdrawn)
    assert withdrawal["pool"] == POOL
    assert sorted(withdrawal["withdrawn"]) == sorted(robot)
    assert withdrawal["kept"] == {}
    status = {b["id"]: b["status"] for b in next_day_bids(acme)}
    assert {status[b] for b in robot} == {"withdrawn"}
    assert status[manual_id] == "submitted"  # a person's bid is not the trader's to pull
    audit = acme.call("GET", "/v1/audit", params={"action": "bid.transition", "limit": 500})
    rows = [r for r in audit.json()["items"] if r["details"].get("to") == "withdrawn"]
    assert sorted(r["subject"].removeprefix("bid ") for r in rows) == sorted(robot)
    assert {r["key_id"] for r in rows} == {None}  # the engine
    assert all("virtual_trader flag of pool DE_LU switched off" in str(r["details"]) for r in rows)

    # nothing is submitted again for the pool while its flag is off
    seen = engine.flags.refreshes
    wait_for("two engine rounds", lambda: engine.flags.refreshes >= seen + 2)
    assert len(next_day_bids(acme)) == len(robot) + 1


PV = "pv-de-essen-roof"


@pytest.mark.parametrize("served", [(CORRECTION_START, 20.0)], indirect=True)
def test_a_forecast_change_beyond_the_threshold_makes_the_trader_correct_intraday(
    served: Served,
) -> None:
    """From 15:00Z, acme's flag on: a PV forecast nudged by a few kWh is re-planned but
    not traded; the PV forecast cut to 30 % for the rest of the day moves more than the
    trader's threshold (1 % of the 18 MW fleet for an hour: 0.18 MWh) and it submits a
    continuous-intraday correction naming the forecast. The simulated weather follows the
    new forecast; a forecast the day cannot take is refused naming the value."""
    engine, acme, _ = served
    flag = f"/v1/pools/{POOL}/flags/virtual_trader"
    assert acme.call("PUT", flag, json={"value": "on", "reason": "robot"}).status_code == 200

    def running_day() -> Any:
        found = engine.tenants.get("acme")
        live = None if found is None else found.live
        return live if live is not None and live.zones and live.current is not None else None

    live = wait_for("acme's day running", running_day)
    before = [float(v) for v in live.weather[PV]]
    route = "/v1/engine/forecast"

    # refused, naming what is wrong: nothing changes
    unknown = acme.call("PUT", route, json={"available_mw": {"nope": before}, "reason": "x"})
    assert unknown.status_code == 422, unknown.text
    assert "available_mw.nope" in unknown.text
    short = acme.call("PUT", route, json={"available_mw": {PV: before[:10]}, "reason": "x"})
    assert short.status_code == 422, short.text
    assert "one per quarter hour" in short.text
    over = acme.call("PUT", route, json={"available_mw": {PV: [9.0] * 96}, "reason": "x"})
    assert over.status_code == 422, over.text
    assert f"available_mw.{PV}[0]=9.0" in over.text
    assert live.forecast_changes == []

    # a nudge: re-planned (a new version), below the trader's threshold: nothing traded
    nudged = [v + 0.004 if v > 0 else v for v in before]
    small = acme.call("PUT", route, json={"available_mw": {PV: nudged}, "reason": "nudge"})
    assert small.status_code == 200, small.text
    assert 0 < small.json()["total_moved_mwh"] < 0.18

    def replanned() -> Any:
        current = acme.call("GET", "/v1/schedules/current").json()
        return current if "forecast changed (nudge)" in current.get("reason", "") else None

    wait_for("the re-plan on the nudged forecast", replanned)
    seen = engine.flags.refreshes
    wait_for("two engine rounds", lambda: engine.flags.refreshes >= seen + 2)
    today = acme.call("GET", "/v1/engine").json()["virtual_trader"].get("2026-06-14", {})
    assert today.get("corrections", []) == []

    # a cut to 30 %: beyond the threshold, corrected on continuous intraday
    cut = [0.3 * v for v in nudged]
    big = acme.call("PUT", route, json={"available_mw": {PV: cut}, "reason": "clouds"})
    assert big.status_code == 200, big.text
    assert big.json()["moved_mwh"][PV] > 0.18
    now = engine.clock.utc()
    q = int((now - live.periods[0].to_pydatetime()).total_seconds() // 900)
    (pv,) = [m for s in live.zones.values() for m in s.members if m.adapter.asset_id == PV]
    assert pv.device.physics.available_mw == pytest.approx(cut[q], abs=1e-9)  # the weather

    def corrected() -> list[dict[str, Any]] | None:
        done = acme.call("GET", "/v1/engine").json().get("virtual_trader", {})
        return done.get("2026-06-14", {}).get("corrections") or None

    (correction,) = wait_for("the forecast correction", corrected)
    assert correction["lost_assets"] == []
    assert correction["notes"][0].startswith("forecast changed: ")
    assert correction["orders"] > 0
    bids = acme.call("GET", "/v1/bids", params={"delivery_day": "2026-06-14", "limit": 500})
    orders = bids.json()["items"]
    assert len(orders) == correction["orders"]
    assert {b["market"] for b in orders} == {"intraday_continuous"}
    status = acme.call("GET", "/v1/engine").json()["day"]
    assert [c["reason"] for c in status["forecast_changes"]] == ["nudge", "clouds"]


def _instant(text: str) -> datetime:
    """An ISO 8601 instant of the API's ("...Z"), as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
