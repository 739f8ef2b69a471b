"""A clock the dispatcher's tests move by hand: seconds since `START`, UTC at `START` + t.

Not a ``conftest.py``: the test folders have no ``__init__.py``, so test modules import it
by name (as the store's tests import their factories).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry

from dispatch.activation import NoActivation
from dispatch.actor import ActorConfig, ActorContext, AssetActor
from dispatch.board import BoardEntry, TelemetryBoard
from dispatch.control.budget import BreakerConfig, BucketConfig, CircuitBreaker, RetryBudgets
from dispatch.control.confirmation import ConfirmationPolicy
from dispatch.device import DeviceLimits, Telemetry
from dispatch.devices.physics import Battery
from dispatch.inproc import InProcessDevice
from dispatch.kpi import KpiRecorder
from dispatch.observability import DispatchMetrics
from dispatch.pool import PoolConfig, PoolController
from dispatch.schedule import Schedule

START = datetime(2026, 6, 13, 10, 0, tzinfo=UTC)
"""The instant the hand clock reads at t = 0 [UTC]."""


class HandClock:
    """Reads `t` [s]; sleeping only moves it forward to the wake-up time."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def utc(self) -> datetime:
        return START + timedelta(seconds=self.t)

    async def sleep_until(self, t: float) -> None:
        self.t = max(self.t, t)


class Real:
    """A site member's real power [MW] as a function of the clock's time [s]: what a site
    meter sums."""

    def __init__(self, clock: HandClock, power: Callable[[float], float]) -> None:
        self.clock = clock
        self.power = power

    def physical_power_mw(self) -> float:
        return self.power(self.clock.t)


def hand_context(
    clock: HandClock, board: TelemetryBoard, *, pool: str = "pool", tolerance_mw: float = 0.1
) -> ActorContext:
    """The context a test pool's actors share: ample retry budgets, metrics on a registry
    of their own, KPIs judged at `tolerance_mw` [MW]."""
    return ActorContext(
        pool,
        clock,
        board,
        RetryBudgets(BucketConfig(10, 10), BucketConfig(10, 10)),
        DispatchMetrics(CollectorRegistry()),
        KpiRecorder(tolerance_mw=tolerance_mw),
    )


def quarter_schedule(injection_mw: dict[str, float], **more: object) -> Schedule:
    """A schedule of the one quarter hour from `START`: each asset's flat injection [MW]
    (+ = injection); `more`: further `Schedule` fields (bands, capacity sold)."""
    return Schedule(
        portfolio_id="p",
        plan_id="plan",
        created_at=START,
        source="test",
        start=START,
        end=START + timedelta(minutes=15),
        index=(START,),
        injection_mw={asset: (mw,) for asset, mw in injection_mw.items()},
        **more,  # type: ignore[arg-type]
    )


def hand_pool(
    plan: dict[str, float],
    actors: Sequence[AssetActor],
    board: TelemetryBoard,
    clock: HandClock,
    context: ActorContext,
    config: PoolConfig | None = None,
) -> PoolController:
    """A test pool of `actors` on the one-quarter-hour schedule of `plan` [MW] per asset
    (`quarter_schedule`), without aFRR activation; `config`: the pool's (None: default)."""
    return PoolController(
        "pool",
        quarter_schedule(plan),
        NoActivation(),
        list(actors),
        board,
        clock,
        context.metrics,
        context.kpi,
        config=config,
    )


def hand_battery(
    name: str,
    clock: HandClock,
    context: ActorContext,
    *,
    rating_mw: float = 1.0,
    energy_mwh: float = 2.0,
    ramp_mw_per_s: float = 0.5,
    soc: float = 0.5,
    tolerance_mw: float | None = None,
    site: str | None = None,
) -> AssetActor:
    """One in-process battery's actor: +-`rating_mw` [MW], `energy_mwh` [MWh] at `soc`,
    ramping `ramp_mw_per_s` [MW/s], behind `site`'s meter (None: none); its execution
    judged within `tolerance_mw` [MW] of its setpoint within 3 s (None: the default
    policy), on `context`."""
    config = (
        ActorConfig()
        if tolerance_mw is None
        else ActorConfig(
            policy=ConfirmationPolicy(
                ack_timeout_s=1, response_s=3, dwell_s=0, tolerance_mw=tolerance_mw
            )
        )
    )
    actor = AssetActor(
        InProcessDevice(
            name, Battery(rating_mw, -rating_mw, energy_mwh, soc=soc), clock, "battery"
        ),
        DeviceLimits(rating_mw, -rating_mw, ramp_mw_per_s, 3.0),
        context,
        config,
        CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
        energy_mwh=energy_mwh,
    )
    actor.site_id = site
    return actor


def hand_batteries(n: int, clock: HandClock, context: ActorContext) -> list[AssetActor]:
    """`n` actors of 1 MW in-process batteries (`bat-0`...; 2 MWh at half charge, 0.5 MW/s,
    no site), on `context`."""
    return [hand_battery(f"bat-{i}", clock, context) for i in range(n)]


def obedient_tick(
    pool: PoolController,
    actors: Sequence[AssetActor],
    board: TelemetryBoard,
    clock: HandClock,
    level_mw: float,
) -> dict[str, float]:
    """Every 1 MW battery reads at its setpoint (`level_mw` [MW] before its first; an
    obedient, instant fleet at half charge), then one tick; the setpoints it hands out
    [MW]."""
    for actor in actors:
        wanted = actor._wanted[0] if actor._wanted is not None else level_mw
        board.post(
            BoardEntry(
                actor.asset_id,
                Telemetry(clock.utc(), wanted, wanted, 0.5, 1.0, -1.0),
                "available",
                True,
                clock.t,
            )
        )
    pool.tick(clock.t)
    return {a.asset_id: a._wanted[0] for a in actors if a._wanted is not None}


def reads_then_tick(
    pool: PoolController,
    actors: Sequence[AssetActor],
    board: TelemetryBoard,
    clock: HandClock,
    plan_mw: Mapping[str, float],
    soc: Mapping[str, float | None] | None = None,
    top_mw: Mapping[str, float] | None = None,
    out: str | None = None,
) -> dict[str, float]:
    """Every asset reads at its latest setpoint (`plan_mw` [MW] before its first), at its
    state of charge `soc` (None: none) and with its maximum `top_mw` [MW] (default: its
    limit; a PV plant's sun), in the pool unless it is `out`; then one tick. The setpoints
    it hands out [MW]."""
    for actor in actors:
        name = actor.asset_id
        wanted = actor._wanted[0] if actor._wanted is not None else plan_mw[name]
        top = (top_mw or {}).get(name, actor.limits.max_mw)
        board.post(
            BoardEntry(
                name,
                Telemetry(
                    clock.utc(),
                    wanted,
                    wanted,
                    (soc or {}).get(name),
                    top,
                    actor.limits.min_mw,
                ),
                "available",
                name != out,
                clock.t,
            )
        )
    pool.tick(clock.t)
    return {a.asset_id: a._wanted[0] for a in actors if a._wanted is not None}
