"""The engine obeys its pools' flags, and shows its assets as the dispatcher sees them.

In-process on a virtual clock (1 s ticks), on the sample's Essen site (a 10 MW battery and
8 MW of rooftop PV in DE_LU) holding a 2 MW aFRR+ band that the activation asks for whole
in the first half of every quarter hour: an admin switching ``afrr_activation`` off makes
the pool's very next tick hold the schedule, and the flag is read from memory, never from
the database per tick; an asset that stops answering shows a growing reading age on
``GET /v1/dispatch/assets``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from engine_setup import folder_config, seeded_repository
from sqlalchemy import event

from dispatch.clock import VirtualClock
from trading.api import create_app
from trading.api.jobs import FolderPrices
from trading.engine.activation import ActivationPattern
from trading.engine.flags import PoolFlags
from trading.engine.live_books import LiveConfig, delivery_day
from trading.engine.live_day import LiveDay
from trading.engine.positions import BookEntry
from trading.engine.service import EngineService, TenantEngine
from trading.exchange.clock import ManualClock
from trading.store import Repository, Role

TENANT, POOL = "acme", "DE_LU"
START = datetime(2026, 6, 14, 16, 0, 10, tzinfo=UTC)
BAND_MW = 2.0
BAND_PRODUCT = "DE:afrr_capacity:4h:pos:2026-06-14T14:00Z"  # 14:00-18:00 UTC


def config() -> LiveConfig:
    always_up = ActivationPattern(
        np.full(96, 0.5), np.zeros(96), "test: the whole band up in each first half-quarter"
    )
    return folder_config(activation=always_up, tick_s=1.0)


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    repo = seeded_repository(tmp_path / "flags.sqlite3", TENANT)
    return repo


def engine_day(
    repository: Repository, clock: VirtualClock
) -> tuple[EngineService, LiveDay, PoolFlags]:
    """The service and its tenant's running day, holding the 2 MW aFRR+ band."""
    flags = PoolFlags(repository)
    service = EngineService(repository, clock, config(), flags=flags)
    record = repository.get_portfolio(TENANT, "essen")
    assert record is not None
    live = LiveDay(
        repository,
        TENANT,
        record.portfolio(),
        delivery_day(START),
        service.config,
        clock,
        flags=flags,
    )
    end = datetime(2026, 6, 14, 18, 0, tzinfo=UTC)
    start = datetime(2026, 6, 14, 14, 0, tzinfo=UTC)
    live.book.add(
        [BookEntry("b-band", "afrr_capacity", BAND_PRODUCT, POOL, start, end, BAND_MW, "pos")]
    )
    service.tenants[TENANT] = TenantEngine(TENANT, "essen", record.version, live=live)
    return service, live, flags


def get(app: object, path: str, key: str | None) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        headers = {} if key is None else {"X-API-Key": key}
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(call())


def run_with(
    live: LiveDay,
    clock: VirtualClock,
    seconds: float,
    actions: dict[float, Callable[[], None]],
    on_tick: Callable[[float, float], None] | None = None,
) -> None:
    """Run the day `seconds` from its start, calling each action at its clock second."""

    async def main() -> None:
        stop = asyncio.Event()
        until = datetime.fromtimestamp(START.timestamp() + seconds, UTC)
        run = asyncio.ensure_future(live.run(stop, until=until))
        while POOL not in live.zones or live.zones[POOL].pool is None:
            if run.done():  # the day failed before its pool ticked: say why
                run.result()
            await clock.sleep_until(clock.now() + 0.25)
        pool = live.zones[POOL].pool
        if on_tick is not None:
            pool.observers.append(on_tick)
        for at, action in sorted(actions.items()):
            await clock.sleep_until(at)
            action()
        await run

    asyncio.run(main())


def test_switching_afrr_activation_off_holds_the_schedule_from_the_next_tick(
    repository: Repository,
) -> None:
    clock = VirtualClock(START)
    service, live, flags = engine_day(repository, clock)
    admin = repository.create_api_key(TENANT, Role.ADMIN, "ops").record.actor
    ticks: list[dict[str, float]] = []
    switches: dict[str, float] = {}
    statuses: dict[str, dict[str, Any]] = {}
    flag_reads = []

    @event.listens_for(repository.engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "pool_flags" in statement and statement.lstrip().upper().startswith("SELECT"):
            flag_reads.append(clock.now())

    def on_tick(t: float, target: float) -> None:
        gate = live.activations[POOL]
        truth = sum(m.device.physical_power_mw() for m in live.zones[POOL].members)
        ticks.append(
            {
                "t": t,
                "target": target,
                "requested": gate.requested_mw,
                "applied": gate.applied_mw,
                "truth": truth,
            }
        )

    def switch(value: str) -> Callable[[], None]:
        def act() -> None:
            statuses[f"before {value}"] = service.status(TENANT)
            flags.set(admin, POOL, "afrr_activation", value, f"test: activation {value}")
            switches[value] = clock.now()
            statuses[value] = service.status(TENANT)

        return act

    def after_ticks() -> None:
        statuses["off, ticking"] = service.status(TENANT)

    run_with(
        live, clock, 330.0, {120.0: switch("off"), 125.0: after_ticks, 240.0: switch("on")}, on_tick
    )

    def tick_after(at: float) -> dict[str, float]:
        return next(k for k in ticks if k["t"] > at)

    before = [k for k in ticks if 60.0 <= k["t"] < switches["off"]]
    assert before, "the pool ticked before the switch"
    # with the flag on, the pool followed the whole band on top of its schedule
    assert all(k["requested"] == pytest.approx(BAND_MW) for k in before)
    assert all(k["applied"] == pytest.approx(BAND_MW) for k in before)
    planned = before[-1]["target"] - BAND_MW
    # the first tick after the switch holds the schedule: the band is still requested
    first_off = tick_after(switches["off"])
    assert first_off["t"] - switches["off"] <= live.config.tick_s + 1e-9
    assert first_off["requested"] == pytest.approx(BAND_MW)
    assert first_off["applied"] == 0.0
    assert first_off["target"] == pytest.approx(planned, abs=1e-6)
    # ... and the fleet follows: a minute later it delivers the schedule, not the band
    held = [k["truth"] for k in ticks if switches["off"] + 60 <= k["t"] < switches["on"]]
    assert np.mean(held) == pytest.approx(planned, abs=0.05 * BAND_MW)
    followed = [k["truth"] for k in before if k["t"] >= switches["off"] - 30]
    assert np.mean(followed) == pytest.approx(planned + BAND_MW, abs=0.05 * BAND_MW)
    # switched on again: the next tick follows the band again
    first_on = tick_after(switches["on"])
    assert first_on["t"] - switches["on"] <= live.config.tick_s + 1e-9
    assert first_on["applied"] == pytest.approx(BAND_MW)
    assert first_on["target"] == pytest.approx(planned + BAND_MW, abs=1e-6)

    # the engine's status shows the flag at once and what the pool did with the request
    assert statuses["before off"]["pools"][POOL]["flags"]["afrr_activation"] == "on"
    assert statuses["before off"]["pools"][POOL]["afrr_activation"] == "obeyed"
    assert statuses["off"]["pools"][POOL]["flags"]["afrr_activation"] == "off"
    ticking = statuses["off, ticking"]["pools"][POOL]
    assert ticking["afrr_activation"] == "ignored (flag off)"
    assert (ticking["afrr_requested_mw"], ticking["afrr_applied_mw"]) == (BAND_MW, 0.0)

    # ~330 ticks read the flag from memory: the store was read only by the two writes
    assert len(ticks) >= 250
    assert len(flag_reads) == 2
    assert flag_reads == [switches["off"], switches["on"]]


def test_the_dispatch_assets_route_shows_the_age_of_an_asset_that_stopped_answering(
    repository: Repository,
) -> None:
    clock = VirtualClock(START)
    service, live, _flags = engine_day(repository, clock)
    seen: dict[str, Any] = {}

    def silence_pv() -> None:
        (pv,) = [m for m in live.zones[POOL].members if m.kind == "pv"]
        pv.device.inject("silence")

    def look() -> None:
        seen.update(service.dispatch_assets(TENANT))

    run_with(live, clock, 200.0, {60.0: silence_pv, 180.0: look})

    assert seen["running"] is True
    by_id = {a["asset_id"]: a for a in seen["assets"]}
    assert set(by_id) == {"bat-de-essen-01", "pv-de-essen-roof"}
    pv, battery = by_id["pv-de-essen-roof"], by_id["bat-de-essen-01"]
    # the PV's last answer came just before it went silent, two minutes ago
    assert pv["age_s"] == pytest.approx(120.0, abs=5.0)
    assert pv["fresh"] is False
    assert pv["last_read_failed"] is True
    assert pv["last_mw"] is not None
    assert pv["state"] != "available"
    # the battery answers every tick
    assert battery["age_s"] <= 2 * live.config.tick_s
    assert battery["fresh"] is True
    assert battery["pool"] == POOL

    # the same over HTTP, for the tenant only (after the run: the clock stands at its end)
    key = repository.create_api_key(TENANT, Role.ANALYST, "desk").plaintext
    repository.create_tenant("globex", "Globex")
    other = repository.create_api_key("globex", Role.ANALYST, "desk").plaintext
    app = create_app(repository, ManualClock(START), prices=FolderPrices(), engine=service)
    answer = get(app, "/v1/dispatch/assets", key)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["running"] is True
    assert body["day"] == "2026-06-14"
    silent = next(a for a in body["assets"] if a["asset_id"] == "pv-de-essen-roof")
    assert silent["age_s"] == pytest.approx(140.0, abs=5.0)
    assert silent["fresh"] is False
    answered = next(a for a in body["assets"] if a["asset_id"] == "bat-de-essen-01")
    assert answered["age_s"] <= 2 * live.config.tick_s
    nobody = get(app, "/v1/dispatch/assets", other).json()
    assert nobody["running"] is False
    assert nobody["assets"] == []
    assert get(app, "/v1/dispatch/assets", None).status_code == 401
    repository.close()
