"""A pool's ``allocation_strategy`` flag switches that pool's allocation at its next tick
and no other pool's: two pools (DE_LU and NL of one tenant), each with a cheap and a dear
battery planned idle, both following a 2 MW aFRR activation. Under ``plan_then_headroom``
the two batteries of a pool share it; an admin switching NL to ``merit_order`` makes NL's
next tick give it to its cheap battery alone, while DE_LU keeps sharing; switching back
shares again at the next tick. A name that is no strategy is refused before it is stored.
In `vpp serve`'s running day the pool allocates with the flag's strategy from the first
tick after an admin's change, and the engine's status says which.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from engine_setup import ESSEN, ROTTERDAM, seeded_repository
from prometheus_client import CollectorRegistry
from test_engine_flags import START as ENGINE_START
from test_engine_flags import engine_day, run_with

from dispatch.actor import ActorConfig, ActorContext, AssetActor
from dispatch.board import BoardEntry, TelemetryBoard
from dispatch.clock import VirtualClock
from dispatch.control.budget import BreakerConfig, BucketConfig, CircuitBreaker, RetryBudgets
from dispatch.device import DeviceLimits, Telemetry
from dispatch.devices.physics import Battery
from dispatch.inproc import InProcessDevice
from dispatch.kpi import KpiRecorder
from dispatch.merit import MoveCost
from dispatch.observability import DispatchMetrics
from dispatch.pool import PoolConfig, PoolController
from dispatch.schedule import Schedule
from trading.engine.flags import PoolFlags, flagged_allocation
from trading.store import Role
from trading.store.errors import InvalidInputError

TENANT = "acme"
START = datetime(2026, 6, 13, 10, 0, tzinfo=UTC)
ACTIVATION_MW = 2.0
COSTS = {  # [EUR/MWh] of wear, either way
    "DE_LU-cheap": MoveCost(2.0, 2.0),
    "DE_LU-dear": MoveCost(20.0, 20.0),
    "NL-cheap": MoveCost(2.0, 2.0),
    "NL-dear": MoveCost(20.0, 20.0),
}


class Clock:
    """Seconds since `START`, moved by the test."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def utc(self) -> datetime:
        return START + timedelta(seconds=self.t)

    async def sleep_until(self, t: float) -> None:
        self.t = max(self.t, t)


class Constant:
    """The TSO asks the same activation all along [MW]."""

    def activation_mw(self, t: float) -> float:
        return ACTIVATION_MW


@pytest.fixture
def flags(tmp_path: Path) -> PoolFlags:
    repo = seeded_repository(tmp_path / "strategy.sqlite3", TENANT, sites=(ESSEN, ROTTERDAM))
    found = PoolFlags(repo)
    found.ensure_loaded()
    return found


def _pool(zone: str, clock: Clock, flags: PoolFlags) -> tuple[PoolController, TelemetryBoard]:
    """Two 5 MW / 10 MWh batteries planned idle, probing off (so that every move seen is
    the allocation's), allocating by the zone's flag."""
    board = TelemetryBoard()
    context = ActorContext(
        zone,
        clock,
        board,
        RetryBudgets(BucketConfig(10, 10), BucketConfig(10, 10)),
        DispatchMetrics(CollectorRegistry()),
        KpiRecorder(tolerance_mw=0.1),
    )
    actors = [
        AssetActor(
            InProcessDevice(f"{zone}-{name}", Battery(5.0, -5.0, 10.0, soc=0.5), clock, "battery"),
            DeviceLimits(5.0, -5.0, 10.0, 1.0),
            context,
            ActorConfig(),
            CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
            energy_mwh=10.0,
        )
        for name in ("cheap", "dear")
    ]
    schedule = Schedule(
        portfolio_id=zone,
        plan_id="plan",
        created_at=START,
        source="test",
        start=START,
        end=START + timedelta(hours=1),
        index=tuple(START + timedelta(minutes=15 * k) for k in range(4)),
        injection_mw={a.asset_id: (0.0,) * 4 for a in actors},
    )
    pool = PoolController(
        zone,
        schedule,
        Constant(),
        actors,
        board,
        clock,
        context.metrics,
        context.kpi,
        PoolConfig(probe_after_s=1e9),
    )
    pool.allocator = flagged_allocation(flags, TENANT, zone, COSTS)
    return pool, board


def _tick(pool: PoolController, board: TelemetryBoard, clock: Clock) -> dict[str, float]:
    """Each battery reads at its latest setpoint (an obedient, instant fleet), then one
    tick: the setpoints it hands out [MW] by asset id."""
    for actor in pool.actors:
        power = actor._wanted[0] if actor._wanted is not None else 0.0
        board.post(
            BoardEntry(
                actor.asset_id,
                Telemetry(clock.utc(), power, power, 0.5, 5.0, -5.0),
                "available",
                True,
                clock.t,
            )
        )
    pool.tick(clock.t)
    return {a.asset_id.split("-")[-1]: a._wanted[0] for a in pool.actors}


def test_switching_one_pools_strategy_changes_its_allocation_at_its_next_tick_only(
    flags: PoolFlags,
) -> None:
    clock = Clock()
    admin = flags.repository.create_api_key(TENANT, Role.ADMIN, "ops").record.actor
    pools = {zone: _pool(zone, clock, flags) for zone in ("DE_LU", "NL")}

    def second() -> dict[str, dict[str, float]]:
        clock.t += 1.0
        return {zone: _tick(pool, board, clock) for zone, (pool, board) in pools.items()}

    for _ in range(30):  # settle: the PI correction has nothing left to add
        ticks = second()
    for zone in ("DE_LU", "NL"):  # the default shares the activation by headroom
        assert ticks[zone]["cheap"] == pytest.approx(ACTIVATION_MW / 2, abs=5e-3)
        assert ticks[zone]["dear"] == pytest.approx(ticks[zone]["cheap"], abs=1e-9)

    flags.set(admin, "NL", "allocation_strategy", "merit_order", "test: cheapest first")
    switched = second()  # the very next tick
    # the cheap battery takes the whole activation (the PI's last 1 kW included), the
    # dear one goes back to its plan
    assert switched["NL"]["cheap"] == pytest.approx(ACTIVATION_MW, abs=5e-3)
    assert switched["NL"]["dear"] == 0.0
    # DE_LU is untouched: its two batteries still share the activation equally
    assert switched["DE_LU"]["dear"] == pytest.approx(switched["DE_LU"]["cheap"], abs=1e-9)
    assert switched["DE_LU"]["dear"] == pytest.approx(ACTIVATION_MW / 2, abs=5e-3)
    assert pools["NL"][0].allocator.status()["allocation_strategy"] == "merit_order"
    assert pools["DE_LU"][0].allocator.status()["allocation_strategy"] == "plan_then_headroom"
    for _ in range(10):  # and it holds, with the pool's total unchanged
        held = second()
    assert sum(held["NL"].values()) == pytest.approx(ACTIVATION_MW, abs=5e-3)
    assert held["NL"]["dear"] == 0.0

    flags.set(admin, "NL", "allocation_strategy", "plan_then_headroom", "test: back")
    back = second()
    # shared again at once (a ramp of 10 MW/s reaches it in one tick)
    assert back["NL"]["cheap"] == pytest.approx(ACTIVATION_MW / 2, abs=5e-3)
    assert back["NL"]["dear"] == pytest.approx(ACTIVATION_MW / 2, abs=5e-3)


def test_a_name_that_is_no_strategy_is_refused_naming_the_allowed_ones(flags: PoolFlags) -> None:
    admin = flags.repository.create_api_key(TENANT, Role.ADMIN, "ops").record.actor
    with pytest.raises(InvalidInputError) as refused:
        flags.set(admin, "NL", "allocation_strategy", "cheapest", "test: a typo")
    (problem,) = refused.value.as_dict()["problems"]
    assert (problem["field"], problem["value"], problem["rule"]) == (
        "value",
        "cheapest",
        "must be one of plan_then_headroom, merit_order",
    )
    assert flags.value(TENANT, "NL", "allocation_strategy") == "plan_then_headroom"  # type: ignore[arg-type]


def test_the_live_engine_allocates_with_the_flag_from_the_pools_next_tick(
    flags: PoolFlags,
) -> None:
    """`vpp serve`'s day (the Essen site: a battery and rooftop PV in DE_LU, a 2 MW aFRR+
    band asked for whole): the pool's allocation follows the flag from its next tick, and
    the costs it ranks by name every asset the pool drives."""
    repository = flags.repository
    clock = VirtualClock(ENGINE_START)
    service, live, engine_flags = engine_day(repository, clock)
    admin = repository.create_api_key(TENANT, Role.ADMIN, "ops").record.actor
    used: list[tuple[float, str]] = []
    switched: list[float] = []

    def on_tick(t: float, _target: float) -> None:
        used.append((t, live.allocations["DE_LU"].name))

    def switch() -> None:
        engine_flags.set(admin, "DE_LU", "allocation_strategy", "merit_order", "test")
        switched.append(clock.now())

    run_with(live, clock, 90.0, {60.0: switch}, on_tick)

    pool = live.zones["DE_LU"].pool
    assert pool is not None
    assert pool.allocator is live.allocations["DE_LU"]
    assert set(pool._ids) <= set(live.allocations["DE_LU"].costs)
    before = [name for t, name in used if t < switched[0]]
    after = [name for t, name in used if t > switched[0]]
    assert before
    assert set(before) == {"plan_then_headroom"}
    assert after
    assert set(after) == {"merit_order"}  # from the first tick after the change
    shown = service.status(TENANT)["pools"]["DE_LU"]
    assert shown["flags"]["allocation_strategy"] == "merit_order"
    assert shown["allocation_strategy"] == "merit_order"  # what its latest tick used
