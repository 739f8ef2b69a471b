"""A site watch on hand-set readings: what its meter sees against what its members report.

Two fake meters of one site whose lies cancel at the meter from the second reading on (one
moved its report a reading before the other, the other way) leave one unbalanced reading
between two balanced ones. That window, with the balanced reading that ends it, names both;
before, the balanced reading dropped it, and each liar's power was later estimated with the
other's lie inside (one of them went unnamed for the rest of the run).
"""

from __future__ import annotations

import asyncio

from hand_clock import HandClock
from prometheus_client import CollectorRegistry

from dispatch.actor import ActorConfig, ActorContext, AssetActor
from dispatch.board import TelemetryBoard
from dispatch.control.budget import BreakerConfig, BucketConfig, CircuitBreaker, RetryBudgets
from dispatch.control.confirmation import ConfirmationPolicy
from dispatch.device import DeviceLimits, Telemetry
from dispatch.devices.physics import Battery, Chp, Pv
from dispatch.devices.site_meter import SiteMeter
from dispatch.inproc import InProcessDevice
from dispatch.kpi import KpiRecorder
from dispatch.observability import DispatchMetrics
from dispatch.sites import SiteWatch


class Real:
    """What one member really injects [MW] (the meter sums these)."""

    def __init__(self, mw: float) -> None:
        self.mw = mw

    def physical_power_mw(self) -> float:
        return self.mw


def _site() -> tuple[SiteWatch, dict[str, AssetActor], dict[str, Real], HandClock]:
    """A 60 kW PV plant, a 50 kW CHP and a 3 kW battery behind one meter (threshold 3 kW)."""
    clock = HandClock()
    board = TelemetryBoard()
    context = ActorContext(
        "pool",
        clock,
        board,
        RetryBudgets(BucketConfig(10, 10), BucketConfig(10, 10)),
        DispatchMetrics(CollectorRegistry()),
        KpiRecorder(tolerance_mw=0.003),
    )
    units = {
        "pv": (Pv(0.06, ramp_mw_per_s=0.06), DeviceLimits(0.06, 0.0, 0.06, 3.0, True)),
        "chp": (
            Chp(0.05, 0.025, ramp_mw_per_s=0.05),
            DeviceLimits(0.05, 0.0, 0.05, 3.0, min_stable_mw=0.025),
        ),
        "battery": (Battery(0.003, -0.003, 0.005), DeviceLimits(0.003, -0.003, 0.005, 3.0)),
    }
    actors: dict[str, AssetActor] = {}
    for name, (physics, limits) in units.items():
        rating = max(abs(limits.max_mw), abs(limits.min_mw))
        policy = ConfirmationPolicy(
            ack_timeout_s=1, response_s=3, dwell_s=0, tolerance_mw=0.02 * rating
        )
        actors[name] = AssetActor(
            InProcessDevice(name, physics, clock, name),
            limits,
            context,
            ActorConfig(policy=policy),
            CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
            energy_mwh=0.005 if name == "battery" else None,
        )
    real = {"pv": Real(0.009), "chp": Real(0.05), "battery": Real(0.001)}
    meter = SiteMeter("site-1", list(real.values()), clock)
    watch = SiteWatch(meter, list(actors.values()), board, clock, threshold_mw=0.003)
    return watch, actors, real, clock


def _reading(
    watch: SiteWatch, actors: dict[str, AssetActor], clock: HandClock, reports: dict[str, float]
) -> None:
    """Each member reports `reports` [MW] at the clock's time, then the meter is compared."""
    for name, mw in reports.items():
        actor = actors[name]
        actor.telemetry = Telemetry(clock.utc(), mw, mw)
        actor.read_t = clock.t
        actor.last_read_failed = False
    asyncio.run(watch.check(clock.t))


def test_two_lies_that_cancel_from_the_next_reading_are_both_named() -> None:
    watch, actors, _, clock = _site()
    # The PV plant really injects 9 kW, the CHP 50 kW; both report their setpoints.
    _reading(watch, actors, clock, {"pv": 0.009, "chp": 0.05, "battery": 0.001})  # balanced
    clock.t = 1.0
    _reading(watch, actors, clock, {"pv": 0.0295, "chp": 0.05, "battery": 0.001})  # -20.5 kW
    assert watch.flagged == []  # one unbalanced reading: not yet
    clock.t = 2.0
    # The CHP's report drops by 20 kW it does not make: the meter balances again (-0.5 kW).
    _reading(watch, actors, clock, {"pv": 0.0295, "chp": 0.030, "battery": 0.001})
    assert sorted(watch.flagged) == ["chp", "pv"]
    assert actors["pv"].untrusted
    assert actors["chp"].untrusted
    assert not actors["battery"].untrusted


def test_an_honest_move_that_a_reading_catches_half_way_names_nobody() -> None:
    # The CHP ramps up by 20 kW; its report runs ahead of the meter at one reading (the
    # meter was read first): one unbalanced reading, then both agree.
    watch, actors, real, clock = _site()
    _reading(watch, actors, clock, {"pv": 0.009, "chp": 0.05, "battery": 0.001})
    clock.t = 1.0
    real["chp"].mw = 0.04
    _reading(watch, actors, clock, {"pv": 0.009, "chp": 0.05, "battery": 0.001})
    real["chp"].mw = 0.03
    clock.t = 2.0
    _reading(watch, actors, clock, {"pv": 0.009, "chp": 0.03, "battery": 0.001})
    clock.t = 3.0
    _reading(watch, actors, clock, {"pv": 0.009, "chp": 0.03, "battery": 0.001})
    assert watch.flagged == []
