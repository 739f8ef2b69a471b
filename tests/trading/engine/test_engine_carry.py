"""A battery's state of charge is carried over midnight in the engine inside `vpp serve`.

In-process on a virtual clock (5 s ticks), on the sample's Essen site (a 20 MWh battery
and 8 MW of rooftop PV, DE_LU): the first day's battery is made to end away from its plan
(it starts 4 MWh below it, as a battery whose plan was wrong would); the next day's plans
start from the state of charge the first day ended with (device truth) and its simulated
battery starts there too, not at the portfolio's 10 MWh nor at the plan's first quarter
hour. A carried state the day's positions cannot be met from falls back to the
portfolio's, visibly: logged, in the status and the notes.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from engine_setup import folder_config, seeded_repository

from dispatch.clock import VirtualClock
from trading.engine import service as service_module
from trading.engine.live_books import LiveConfig, delivery_day
from trading.engine.live_day import CarriedSoc, LiveDay
from trading.engine.positions import BookEntry
from trading.engine.service import EngineService, TenantEngine
from trading.store import Repository

TENANT, BATTERY = "acme", "bat-de-essen-01"
PORTFOLIO_SOC_MWH = 10.0
DRIFT_MWH = 4.0


def config() -> LiveConfig:
    return folder_config(tick_s=5.0)


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    repo = seeded_repository(tmp_path / "carry.sqlite3", TENANT)
    return repo


def battery_soc_mwh(live: LiveDay) -> float:
    """The simulated battery's state of charge now (device truth) [MWh]."""
    (member,) = [m for m in live.zones["DE_LU"].members if m.adapter.asset_id == BATTERY]
    assert member.energy_mwh is not None
    return float(member.device.physics.soc) * member.energy_mwh  # type: ignore[attr-defined]


def test_the_next_day_plans_and_starts_from_the_soc_the_day_ended_with(
    repository: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = VirtualClock(datetime(2026, 6, 14, 21, 40, tzinfo=UTC))  # 23:40 in Berlin
    days: list[LiveDay] = []
    started_mwh: dict[date, float] = {}

    class Recorded(LiveDay):
        """The engine's day; the first one's battery starts 4 MWh below its plan."""

        def _start_states(self, by_zone: Any, plan: Any) -> None:
            super()._start_states(by_zone, plan)
            days.append(self)
            for member in by_zone["DE_LU"]:
                if member.adapter.asset_id == BATTERY and self.day == date(2026, 6, 14):
                    physics = member.device.physics
                    physics.soc -= DRIFT_MWH / member.energy_mwh
                if member.adapter.asset_id == BATTERY:
                    started_mwh[self.day] = member.device.physics.soc * member.energy_mwh

    monkeypatch.setattr(service_module, "LiveDay", Recorded)
    service = EngineService(repository, clock, config())
    engine = TenantEngine(TENANT, "essen", 1)
    service.tenants[TENANT] = engine
    ended_mwh: list[float] = []

    async def main() -> None:
        stop = asyncio.Event()

        async def watch() -> None:
            while not days or days[0].current is None or days[0].zones == {}:
                await clock.sleep_until(clock.now() + 1.0)
            first = days[0]
            # the first day's last tick: what the battery physically holds at midnight
            await clock.sleep_until(19 * 60.0 + 55.0)  # 21:59:55Z
            ended_mwh.append(battery_soc_mwh(first))
            await clock.sleep_until(30 * 60.0)  # 22:10Z, the next day running
            stop.set()

        await asyncio.gather(service._run_tenant(engine, stop), watch())

    asyncio.run(main())

    assert engine.error is None
    assert engine.days_run == ["2026-06-14"]
    first, second = days
    assert first.initial_soc["source"] == "portfolio"
    carried = first.final_soc()
    assert carried.source == "device truth"
    # the first day really ended away from the portfolio's state of charge
    assert abs(carried.soc_mwh[BATTERY] - PORTFOLIO_SOC_MWH) > 2.0
    assert carried.soc_mwh[BATTERY] == pytest.approx(ended_mwh[0], abs=0.05)

    # the next day's plans start from it ...
    assert second.day == date(2026, 6, 15)
    assert second.initial_soc["source"] == "carried from 2026-06-14 (device truth)"
    assert second.initial_soc["soc_mwh"][BATTERY] == pytest.approx(
        carried.soc_mwh[BATTERY], abs=1e-6
    )
    assert second.current is not None
    plan = second.current.plan
    assert plan.inputs.initial_soc_mwh[BATTERY] == pytest.approx(carried.soc_mwh[BATTERY], abs=1e-6)
    # ... and its simulated battery starts where the first day's stopped, not at the plan
    assert started_mwh[date(2026, 6, 15)] == pytest.approx(carried.soc_mwh[BATTERY], abs=1e-6)
    first_quarter_plan = plan.states[BATTERY]["soc_mwh"][0]
    assert started_mwh[date(2026, 6, 15)] != pytest.approx(PORTFOLIO_SOC_MWH, abs=1.0)
    status = service.status(TENANT)
    assert status["day"]["initial_soc"]["carried_from"] == "2026-06-14"
    # the plan keeps to what the battery holds (the last day's end, +- one quarter hour)
    assert abs(first_quarter_plan - carried.soc_mwh[BATTERY]) <= 10.0 * 0.25 / 0.95 + 1e-6


def test_a_carried_soc_the_positions_cannot_be_met_from_falls_back_visibly(
    repository: Repository,
) -> None:
    """8 MW sold for the first hour of the night from a battery that ended the day
    nearly empty (1.5 MWh, PV dark): infeasible from there, met from the portfolio's
    10 MWh; the plan says so and the battery still starts at its 1.5 MWh."""
    record = repository.get_portfolio(TENANT, "essen")
    assert record is not None
    start = datetime(2026, 6, 14, 22, 0, tzinfo=UTC)  # 00:00 in Berlin
    day = delivery_day(start)
    clock = VirtualClock(start)
    carried = CarriedSoc(date(2026, 6, 14), {BATTERY: 1.5}, "device truth")
    live = LiveDay(
        repository,
        TENANT,
        record.portfolio(),
        day,
        replace(config(), tick_s=5.0),
        clock,
        carried=carried,
    )
    live.book.add(
        [
            BookEntry(
                "b-night",
                "day_ahead",
                "DE:day_ahead:PT60M:2026-06-14T22:00Z",
                "DE_LU",
                start,
                datetime(2026, 6, 14, 23, 0, tzinfo=UTC),
                8.0,
                remuneration=100.0,
            )
        ]
    )
    started: list[float] = []
    original = live._start_states

    def record_start(by_zone: Any, plan: Any) -> None:
        original(by_zone, plan)
        (battery,) = [m for m in by_zone["DE_LU"] if m.adapter.asset_id == BATTERY]
        started.append(battery.device.physics.soc * battery.energy_mwh)

    live._start_states = record_start  # type: ignore[method-assign]
    with structlog.testing.capture_logs() as logs:
        asyncio.run(live.run(asyncio.Event(), until=datetime(2026, 6, 14, 22, 2, tzinfo=UTC)))

    assert live.current is not None
    assert live.current.plan.inputs.initial_soc_mwh[BATTERY] == PORTFOLIO_SOC_MWH
    status = live.status()
    assert status["initial_soc"]["source"] == "portfolio (fallback)"
    assert status["initial_soc"]["carried_mwh"] == {BATTERY: 1.5}
    assert any(
        "cannot be met from the state of charge 2026-06-14 ended with" in n for n in status["notes"]
    )
    assert [e["event"] for e in logs if e["event"] == "engine_carried_soc_infeasible"] == [
        "engine_carried_soc_infeasible"
    ]
    # the positions are still held (from the portfolio's state), and the device was not
    # reset to the plan's start
    assert live.current.schedule.bid_ids == ("b-night",)
    assert started == [pytest.approx(1.5, abs=1e-9)]
