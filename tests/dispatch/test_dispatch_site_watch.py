"""A site watch on hand-set readings: what its meter sees against what its members report.

Two fake meters of one site whose lies cancel at the meter from the second reading on (one
moved its report a reading before the other, the other way) leave one unbalanced reading
between two balanced ones. That window, with the balanced reading that ends it, names both;
before, the balanced reading dropped it, and each liar's power was later estimated with the
other's lie inside (one of them went unnamed for the rest of the run).
"""

from __future__ import annotations

import asyncio

import pytest
from hand_clock import HandClock, hand_context

from dispatch.actor import ActorConfig, AssetActor
from dispatch.board import TelemetryBoard
from dispatch.control.budget import BreakerConfig, CircuitBreaker
from dispatch.control.confirmation import ConfirmationPolicy
from dispatch.device import DeviceLimits, Telemetry
from dispatch.devices.physics import Battery, Chp, Pv
from dispatch.devices.site_meter import SiteMeter
from dispatch.inproc import InProcessDevice
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
    context = hand_context(clock, board, tolerance_mw=0.003)
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


def _ramp_then_lie(watch: SiteWatch, actors: dict[str, AssetActor], real: dict[str, Real]):
    """The readings of a fake PV plant probed downwards while the activation ramps its
    honest CHP neighbour down too (400 Modbus devices, `fake_meter:0.3`): the reading
    before the lie catches the CHP half-way, its report 2.6 kW ahead of what the meter saw
    (balanced: within the 3 kW threshold, beyond the 1.5 kW tolerance); from the next one
    on the PV plant reports 20 kW less than it injects. Yields after each reading."""
    clock = watch.clock
    assert isinstance(clock, HandClock)
    real["pv"].mw = 0.030
    _reading(watch, actors, clock, {"pv": 0.030, "chp": 0.05, "battery": 0.001})
    yield
    clock.t = 1.0
    real["chp"].mw = 0.0376  # the meter's moment
    _reading(watch, actors, clock, {"pv": 0.030, "chp": 0.035, "battery": 0.001})
    yield
    real["chp"].mw = 0.030
    for second in range(2, 8):
        clock.t = float(second)
        _reading(watch, actors, clock, {"pv": 0.010, "chp": 0.030, "battery": 0.001})
        yield


def test_a_lie_right_after_a_reading_taken_mid_ramp_is_named_at_its_second_reading() -> None:
    # Before, the window started at the mid-ramp reading and had to fit there: the PV
    # plant's explanation was 2.6 kW off at it, and the lie stayed unnamed as long as it
    # lasted (over Modbus, until the watch's asked probe returned: 3.6-4.8 s after the lie
    # showed). Started from the balanced reading before it, the mid-ramp one is forgiven.
    watch, actors, real, _ = _site()
    named_at = None
    for k, _ in enumerate(_ramp_then_lie(watch, actors, real)):
        if watch.flagged and named_at is None:
            named_at = k
    assert watch.flagged == ["pv"]
    assert named_at == 3  # the lie shows at reading 2; persist = 2 readings
    assert not actors["chp"].untrusted
    assert not actors["battery"].untrusted


def test_an_honest_neighbour_whose_move_the_mid_ramp_reading_saw_is_not_its_twin() -> None:
    # The CHP's move is in the meter at the mid-ramp reading (12.4 kW of it): set beside the
    # PV plant's lie from the next reading it would explain the window as well, if that
    # reading could be forgiven however far off. Only the PV plant is named, and the
    # meter goes on counting the CHP's report.
    watch, actors, real, _ = _site()
    for _ in _ramp_then_lie(watch, actors, real):
        pass
    assert "chp" not in watch.flagged
    assert not actors["chp"].untrusted


def test_a_mid_ramp_reading_off_the_one_before_by_more_than_the_threshold_is_forgiven() -> None:
    # Both readings before the lie are balanced (+0.3 and -2.8 kW, threshold 3 kW), so
    # they may differ by up to twice the threshold: here 3.1 kW. Forgiven only within the
    # threshold, the fake PV plant waited for the pool's next probe of it (in process with
    # Modbus timing, `fake_meter_timeline.py --paced 5`, 10 %: named 5.7 s after its lie
    # showed); within twice the threshold it is named at the lie's second reading.
    watch, actors, real, clock = _site()
    real["battery"].mw = 0.0013  # 0.3 kW more than it reports, all along
    real["pv"].mw = 0.030
    _reading(watch, actors, clock, {"pv": 0.030, "chp": 0.05, "battery": 0.001})
    clock.t = 1.0
    real["chp"].mw = 0.0369  # caught half-way, 3.1 kW behind its report
    _reading(watch, actors, clock, {"pv": 0.030, "chp": 0.040, "battery": 0.001})
    real["chp"].mw = 0.030
    named_at = None
    for second in range(2, 6):
        clock.t = float(second)
        _reading(watch, actors, clock, {"pv": 0.010, "chp": 0.030, "battery": 0.001})
        if watch.flagged and named_at is None:
            named_at = second
    assert watch.flagged == ["pv"]
    assert named_at == 3
    assert not actors["chp"].untrusted


def test_a_member_proven_wrong_elsewhere_does_not_take_another_members_lie_with_it() -> None:
    # The battery is proven wrong by its state of charge just as the PV plant's lie shows.
    # Taken to inject what the meter made of it at that reading, it took the PV plant's
    # 20 kW lie for its own (a 3 kW battery "injecting" 21 kW): the residual balanced and
    # the PV plant was named 26 s later (in process with Modbus timing). It is taken at
    # the latest balanced reading, within its limits, and the PV plant is still named.
    watch, actors, real, clock = _site()
    real["pv"].mw = 0.030
    _reading(watch, actors, clock, {"pv": 0.030, "chp": 0.05, "battery": 0.001})
    clock.t = 1.0
    _reading(watch, actors, clock, {"pv": 0.010, "chp": 0.05, "battery": 0.001})  # +20 kW
    actors["battery"].untrusted = True  # named by its own check in between
    real["chp"].mw = 0.0474  # the next reading catches the CHP 2.6 kW off its report
    for second in range(2, 6):
        clock.t = float(second)
        _reading(watch, actors, clock, {"pv": 0.010, "chp": 0.05, "battery": 0.001})
        real["chp"].mw = 0.05
    assert watch.flagged == ["pv"]
    assert watch._offset_mw == pytest.approx(0.001 + 0.030, abs=1e-9)  # battery + PV


def test_a_member_taken_out_elsewhere_at_a_wrong_power_is_settled_by_the_next_readings() -> None:
    # A fake battery in a storage round reports +2.7 kW while it stays at -1.1 kW. The
    # window's latest balanced reading hides its lie behind the CHP caught mid-ramp
    # (3.5 kW above its report), so when its state of charge names it, it is taken to
    # inject 2.4 kW. The residual then stayed 3.5 kW off for good: nothing explained it,
    # and the watch asked the pool to probe its members again and again (in process with
    # Modbus timing, seed 4: the same honest CHP every 2 s, while a fake CHP of the site
    # was never moved). Three still readings settle what the battery injects.
    watch, actors, real, clock = _site()
    asked: list[float] = []
    watch.request_probe = lambda _ids: asked.append(clock.t)
    real["pv"].mw = 0.030
    real["battery"].mw = -0.0011
    real["chp"].mw = 0.0535  # mid-ramp at the meter's moment
    _reading(watch, actors, clock, {"pv": 0.030, "chp": 0.05, "battery": 0.0027})
    real["chp"].mw = 0.05
    clock.t = 1.0
    _reading(watch, actors, clock, {"pv": 0.030, "chp": 0.05, "battery": 0.0027})
    actors["battery"].untrusted = True  # named by its own check in between
    for second in range(2, 7):
        clock.t = float(second)
        _reading(watch, actors, clock, {"pv": 0.030, "chp": 0.05, "battery": 0.0027})
    assert watch._offset_mw == pytest.approx(-0.0011, abs=0.0005)
    assert max(asked, default=0.0) <= 4.0, asked  # none once settled
    # The site sees its members again: a fake PV plant's lie is named at once.
    real["pv"].mw = 0.030
    for second in range(7, 10):
        clock.t = float(second)
        _reading(watch, actors, clock, {"pv": 0.010, "chp": 0.05, "battery": 0.0027})
    assert watch.flagged == ["pv"]


def test_a_lie_that_shows_after_a_member_was_taken_out_is_not_settled_as_its_power() -> None:
    # (Found in review.) The CHP is taken out on outside evidence at its right power; the
    # next reading a fake PV plant's report drops 10 kW below what it injects. That step
    # is the PV plant's (its report moved with it), not the CHP's estimate: the lie stays
    # in the residual and the watch goes on asking for the PV plant to move alone.
    watch, actors, real, clock = _site()
    asked: list[float] = []
    watch.request_probe = lambda _ids: asked.append(clock.t)
    real["pv"].mw = 0.030
    real["chp"].mw = 0.030
    for second in (0, 1):
        clock.t = float(second)
        _reading(watch, actors, clock, {"pv": 0.030, "chp": 0.03, "battery": 0.001})
    actors["chp"].untrusted = True  # named by its own check, taken at 30 kW (right)
    clock.t = 2.0
    real["pv"].mw = 0.020
    _reading(watch, actors, clock, {"pv": 0.020, "chp": 0.03, "battery": 0.001})
    for second in range(3, 12):
        clock.t = float(second)
        _reading(watch, actors, clock, {"pv": 0.010, "chp": 0.03, "battery": 0.001})
    assert watch._offset_mw == pytest.approx(0.030, abs=1e-9)
    assert max(asked, default=0.0) >= 10.0, asked


@pytest.mark.parametrize(
    (
        "balanced",
        "pv_mw",
        "chp_reported_mw",
        "chp_seen_mw",
        "pv_frozen_mw",
        "pv_reports_mw",
        "lies",
    ),
    [
        # (Found in review, in process with Modbus timing, seed 10.) The window's first
        # reading catches the CHP at 41.9 kW (balanced); from the next one a fake PV plant
        # frozen in the middle of its probe reports 9.1 kW less than it injects: the CHP's
        # last 11.9 kW and the lie nearly match, and from its first reading the window had
        # the CHP as its only explanation.
        pytest.param(2, 0.030, 0.0419, 0.0398, 0.0192, 0.0101, 4, id="window-start"),
        # (Seed 8, storage rounds held 3 s.) The reading after the balanced one catches
        # the CHP at 44.8 kW (the meter, read a moment earlier, at 41.2); the residual
        # jumps at the lie, so the window is also tried from the reading before the jump:
        # from there the CHP's last 11.2 kW matched the PV plant's 10.6 kW lie and it was
        # named. The reading before that stretch shows it was on its way.
        pytest.param(1, 0.03021, 0.04477, 0.04122, 0.02063, 0.010, 3, id="stretch-start"),
    ],
)
def test_an_honest_unit_caught_on_its_way_is_not_named(
    balanced: int,
    pv_mw: float,
    chp_reported_mw: float,
    chp_seen_mw: float,
    pv_frozen_mw: float,
    pv_reports_mw: float,
    lies: int,
) -> None:
    # The CHP returns from a probe, 50 -> 30 kW, and is caught on its way at one reading;
    # from the next one a fake PV plant frozen part-way down reports its setpoint.
    watch, actors, real, clock = _site()
    real["pv"].mw = pv_mw
    real["chp"].mw = 0.05
    for second in range(balanced):
        clock.t = float(second)
        _reading(watch, actors, clock, {"pv": pv_mw, "chp": 0.05, "battery": 0.001})
    clock.t = float(balanced)
    real["chp"].mw = chp_seen_mw  # the meter's moment, behind its report
    _reading(watch, actors, clock, {"pv": pv_mw, "chp": chp_reported_mw, "battery": 0.001})
    real["chp"].mw = 0.030
    real["pv"].mw = pv_frozen_mw
    for second in range(balanced + 1, balanced + 1 + lies):
        clock.t = float(second)
        _reading(watch, actors, clock, {"pv": pv_reports_mw, "chp": 0.030, "battery": 0.001})
    assert "chp" not in watch.flagged
    assert not actors["chp"].untrusted


def test_a_liar_caught_on_its_way_at_the_windows_first_reading_is_asked_to_move_alone() -> None:
    # (From the review.) The fake PV plant's setpoint steps 30 -> 20 -> 10 kW over two
    # readings; its real power follows to 20 kW, which the window's first (balanced)
    # reading catches, and freezes there. From that window it looks like the honest CHP
    # above and is not named: the unexplained window asks the pool to move it alone (its
    # suspects, `SiteWatch._separate`), which tells (without such a move it was never
    # named).
    watch, actors, real, clock = _site()
    asked: list[list[str]] = []
    watch.request_probe = lambda ids: asked.append(list(ids))
    real["pv"].mw = 0.030
    for second in (0, 1):
        clock.t = float(second)
        _reading(watch, actors, clock, {"pv": 0.030, "chp": 0.05, "battery": 0.001})
    clock.t = 2.0
    real["pv"].mw = 0.020
    _reading(watch, actors, clock, {"pv": 0.020, "chp": 0.05, "battery": 0.001})
    for second in range(3, 6):
        clock.t = float(second)
        _reading(watch, actors, clock, {"pv": 0.010, "chp": 0.05, "battery": 0.001})
    assert ["pv"] in asked
    assert "chp" not in watch.flagged


def test_an_honest_move_at_the_moment_of_a_lie_still_names_nobody() -> None:
    # Twin moves: the CHP ramps down by 20 kW (the meter sees it) at the very reading at
    # which the PV plant reports a 20 kW drop it does not make. Either explains the
    # window, from the reading before or from the one before that: nobody is named (the
    # pool's probe of one of them alone tells them apart).
    watch, actors, real, clock = _site()
    real["pv"].mw = 0.030
    _reading(watch, actors, clock, {"pv": 0.030, "chp": 0.05, "battery": 0.001})
    clock.t = 1.0
    _reading(watch, actors, clock, {"pv": 0.030, "chp": 0.05, "battery": 0.001})
    real["chp"].mw = 0.030
    for second in range(2, 8):
        clock.t = float(second)
        _reading(watch, actors, clock, {"pv": 0.010, "chp": 0.030, "battery": 0.001})
    assert watch.flagged == []
