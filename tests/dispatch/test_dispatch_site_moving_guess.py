"""A site member whose read got no answer while it was on its way, and the liar's probe
around it.

Over Modbus (and in process with a twentieth of the reads lost) a battery of a site often
misses a read while it follows the activation: a 3 kW battery moving by a few hundred
watts has an envelope several of its 60 W bands wide, so it was not counted
(`AssetActor.held_mw`) and the comparison was skipped. A fake meter whose two-second probe
fell across such a comparison was named only at its return, 3.1-4.1 s after its lie
showed. Now such a member counts at the middle of its envelope while the site's guesses
together may be off by at most a quarter of the steadiness tolerance
(`SiteWatch.guess_spread_mw`); a member on a larger move still costs the comparison.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hand_clock import HandClock, Real
from prometheus_client import CollectorRegistry

from dispatch.actor import ActorConfig, ActorContext, AssetActor
from dispatch.board import TelemetryBoard
from dispatch.control.asset_state import AssetState
from dispatch.control.budget import BreakerConfig, BucketConfig, CircuitBreaker, RetryBudgets
from dispatch.control.confirmation import ConfirmationPolicy
from dispatch.device import DeviceLimits, Telemetry
from dispatch.devices.physics import Battery, Chp, Pv
from dispatch.devices.site_meter import SiteMeter
from dispatch.inproc import InProcessDevice
from dispatch.kpi import KpiRecorder
from dispatch.observability import DispatchMetrics
from dispatch.sites import SiteWatch

THRESHOLD_MW = 0.003
"""The site's balance threshold (2.5 times the PV plant's 1.2 kW band), as the simulation
sets it: steadiness tolerance 1.5 kW, guesses off by 0.375 kW at most together."""
BATTERY_RAMP = 0.002
"""The battery's ramp [MW/s]."""
LOST_AT = 2
"""The period whose battery read gets no answer."""


def _battery_real(move_mw: float) -> Callable[[float], float]:
    """An honest battery told at 1.9 s to move from 0 to `move_mw`: it ramps from 2.0 s."""
    return lambda t: min(move_mw, max(0.0, (t - 2.0) * BATTERY_RAMP))


def _site(
    liar: bool, move_mw: float
) -> tuple[SiteWatch, dict[str, AssetActor], dict[str, Callable[[float], float]], HandClock]:
    """A 60 kW PV plant (9 kW real), a 50 kW CHP (15 kW) and a 3 kW battery behind one
    meter. With `liar` the PV plant reports 30 kW in periods 1 and 2 (a probe it does
    not make) and 9 kW again from period 3. The battery is told at 1.9 s to move by
    `move_mw`."""
    clock = HandClock()
    context = ActorContext(
        "pool",
        clock,
        TelemetryBoard(),
        RetryBudgets(BucketConfig(10, 10), BucketConfig(10, 10)),
        DispatchMetrics(CollectorRegistry()),
        KpiRecorder(tolerance_mw=0.003),
    )
    units = {
        "pv": (Pv(0.06, ramp_mw_per_s=0.06), DeviceLimits(0.06, 0.0, 0.06, 3.0, True)),
        "chp": (Chp(0.05, 0.0, ramp_mw_per_s=0.05), DeviceLimits(0.05, 0.0, 0.05, 3.0)),
        "bat": (
            Battery(0.003, -0.003, 0.006, ramp_mw_per_s=BATTERY_RAMP),
            DeviceLimits(0.003, -0.003, BATTERY_RAMP, 3.0),
        ),
    }
    real: dict[str, Callable[[float], float]] = {
        "pv": lambda _t: 0.009,
        "chp": lambda _t: 0.015,
        "bat": _battery_real(move_mw),
    }
    actors: dict[str, AssetActor] = {}
    for name, (physics, limits) in units.items():
        policy = ConfirmationPolicy(
            ack_timeout_s=1, response_s=3, dwell_s=0, tolerance_mw=0.02 * limits.max_mw
        )
        actor = AssetActor(
            InProcessDevice(name, physics, clock, name),
            limits,
            context,
            ActorConfig(policy=policy),
            CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
        )
        actor._enter(AssetState.AVAILABLE, 0.0, "connected")
        actor.watch.reset(0.0, real[name](0.0))
        actors[name] = actor
    reports = dict(real)
    if liar:
        reports["pv"] = lambda t: 0.030 if 1.0 <= t < 3.0 else 0.009
    meter = SiteMeter("site-1", [Real(clock, real[name]) for name in actors], clock)
    watch = SiteWatch(
        meter,
        list(actors.values()),
        context.board,
        clock,
        threshold_mw=THRESHOLD_MW,
        phase_s=0.0,
        settle_s=0.3,
        late_s=0.2,
    )
    return watch, actors, reports, clock


def _periods(
    liar: bool, move_mw: float, told_at: float = 1.9
) -> tuple[SiteWatch, dict[int, float], int | None]:
    """Periods 0-5: the meter is read at each second, every member answers 10 ms later
    but the battery in period `LOST_AT` (no answer); the battery's new setpoint is sent and
    acknowledged at `told_at` [s]. Returns the watch, the residual [MW] of each period it
    compared and the period a member was first named in (None: nobody)."""
    watch, actors, reports, clock = _site(liar, move_mw)
    named_at: int | None = None
    compared: dict[int, float] = {}
    for second in range(6):
        t = float(second)
        clock.t = t
        for name, actor in actors.items():
            if name == "bat" and second == LOST_AT:
                actor.last_read_failed = True  # this period's read got no answer
                continue
            read = t + 0.01
            mw = reports[name](read)
            actor.telemetry = Telemetry(clock.utc(), mw, mw)
            actor.read_t = actor.answered_t = read
            actor.last_read_failed = False
        asyncio.run(watch.check(t))
        if watch._readings and watch._readings[-1][0] == t:
            compared[second] = watch._readings[-1][1]
        if watch.flagged and named_at is None:
            named_at = second
        if second == 1:  # the battery's setpoint moves, acknowledged at once
            actors["bat"].watch.commanded(told_at, move_mw, None, None, told_at)
    return watch, compared, named_at


def test_a_liar_is_named_though_a_member_on_its_way_missed_a_read_during_its_probe() -> None:
    # The battery moves by 0.5 kW: its envelope at 2.02 s is 0.36 kW wide (six of its
    # bands), off by 0.18 kW at most from its middle. The lie shows in periods 1 and 2.
    watch, _, named_at = _periods(liar=True, move_mw=0.0005)
    assert watch.flagged == ["pv"]
    # Named at the second reading of the lie, 2 s; before, the comparison of period 2 was
    # skipped and the liar was named at its return (period 3), 3 s after its lie showed.
    assert named_at == LOST_AT


def test_an_honest_site_with_a_member_on_its_way_is_compared_and_nobody_is_named() -> None:
    watch, compared, named_at = _periods(liar=False, move_mw=0.0005)
    assert named_at is None
    assert watch.flagged == []
    assert LOST_AT in compared  # the period with the lost read counted
    # The battery's guess was within its envelope's half-width of its real power.
    assert abs(compared[LOST_AT]) <= 0.00018


def test_a_member_on_a_larger_move_still_costs_the_comparison() -> None:
    # Told at 1.2 s to move by 2.5 kW, the battery could be anywhere over 1.7 kW at 2.02
    # s, more than the site's guesses may be off by (0.375 kW): the comparison is skipped.
    _watch, compared, named_at = _periods(liar=False, move_mw=0.0025, told_at=1.2)
    assert named_at is None
    assert LOST_AT not in compared
    assert sorted(compared) == [0, 1, 3, 4, 5]


def test_a_liar_late_in_its_probe_is_counted_where_it_was_when_its_read_was_asked() -> None:
    # A 50 kW CHP that reports its setpoint (36 kW from 1 s, its real power stays 15 kW)
    # does not answer its read of period 2 (asked at 2.01 s) within the comparison's
    # wait; its probe's return (to 15 kW) was sent at 2.05 s, after that read. Counted
    # where an obeying device was when the read was asked (at 36 kW, what it says), the
    # lie shows at period 2 and it is named then. Counted at the end of the wait (2.5 s),
    # the return's move made its envelope 23 kW wide: the comparison was skipped and the
    # liar named only at its return (period 3), 3 s after its lie showed; over a lossy
    # link its lie was hidden altogether (counted at the returned setpoint).
    watch, actors, reports, clock = _site(liar=False, move_mw=0.0)
    chp = actors["chp"]
    chp.watch.reset(0.0, 0.015)
    chp.watch.commanded(0.5, 0.036, None, None, 0.5)
    reports["chp"] = lambda t: 0.036 if 1.0 <= t < 3.0 else 0.015
    named_at = None
    for second in range(5):
        t = float(second)
        clock.t = t
        for name, actor in actors.items():
            if name == "chp" and second == LOST_AT:
                continue  # no answer yet: late, waited for, then counted by its envelope
            read = t + 0.01
            mw = reports[name](read)
            actor.telemetry = Telemetry(clock.utc(), mw, mw)
            actor.read_t = actor.answered_t = read
            actor.last_read_failed = False
        if second == LOST_AT:
            chp.watch.commanded(2.05, 0.015, None, None, 2.05)
        asyncio.run(watch.check(t))
        if watch.flagged and named_at is None:
            named_at = second
    assert watch.flagged == ["chp"]
    assert named_at == LOST_AT
