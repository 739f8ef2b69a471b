"""The execution watch and the state-of-charge cross-check, against devices simulated by
the physics models: an obeying device is never flagged, one that does not follow is."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.control.crosscheck import SocCheck
from dispatch.control.execution import ExecutionWatch
from dispatch.devices.physics import Battery

BAND = 0.02


def _drive(
    setpoints: list[float],
    *,
    follows: bool,
    ramp: float = 0.5,
    dead: float = 0.2,
    ack_s: float = 0.0,
    received_share: float = 1.0,
    rate_share: float = 1.0,
) -> list[float | None]:
    """A battery read then commanded once per second; the watch's verdict per reading.

    Each write is acknowledged `ack_s` after it was sent; the device takes it at
    `received_share` of that (before the acknowledgement) and ramps at `rate_share` of the
    `ramp` it declares."""
    battery = Battery(1.0, -1.0, 100.0, soc=0.5, ramp_mw_per_s=ramp * rate_share, dead_time_s=dead)
    watch = ExecutionWatch(ramp, BAND)
    verdicts: list[float | None] = []
    t = 0.0
    received = int(10 * ack_s * received_share)  # a step of the device: by the ack
    last: float | None = None
    for setpoint in [*setpoints, setpoints[-1], setpoints[-1], setpoints[-1]]:
        verdicts.append(watch.observe(t, battery.power_mw))
        new = setpoint != last  # an unchanged setpoint is not sent again (deadband)
        last = setpoint
        for step in range(10):
            if follows and new and step == received:
                battery.set_setpoint(setpoint)
            battery.step(0.1)
        if new:
            watch.commanded(t, setpoint, acked_t=t + ack_s)
        t += 1.0
    return verdicts


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=15))
def test_an_obeying_device_is_never_flagged(setpoints: list[float]) -> None:
    assert all(v is None for v in _drive(setpoints, follows=True))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=12),
    st.floats(0.0, 0.8),
    st.floats(0.0, 1.0),
    st.floats(0.0, 0.5),
)
def test_an_obeying_device_is_never_flagged_whenever_it_acknowledges_and_takes_a_setpoint(
    setpoints: list[float], ack_s: float, received_share: float, dead: float
) -> None:
    """Late acknowledgements (Modbus under load), the setpoint taken any time before the
    acknowledgement, any dead time up to the declared 0.5 s: never a false alarm."""
    verdicts = _drive(
        setpoints, follows=True, ack_s=ack_s, received_share=received_share, dead=dead
    )
    assert all(v is None for v in verdicts)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.floats(0.0, 0.6), st.sampled_from([-1.0, 1.0]))
def test_a_device_ramping_at_a_tenth_of_its_rate_fails_a_probe_sized_by_its_ramp(
    flat: int, ack_s: float, sign: float
) -> None:
    """A probing move of what the declared ramp covers in 0.5 s (`PoolConfig.probe_ramp_s`)
    is caught within two readings of the move, observable from its acknowledgement; the
    same device at its full rate passes."""
    move = [0.0] * flat + [sign * 0.5 * 0.5]
    verdicts = _drive(move, follows=True, ack_s=ack_s, rate_share=0.1)
    flagged = [i for i, v in enumerate(verdicts) if v is not None]
    assert flagged
    assert flagged[0] <= flat + 2
    assert verdicts[flagged[0]] == flat + ack_s
    assert all(v is None for v in _drive(move, follows=True, ack_s=ack_s))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=6),
    st.floats(0.1, 1.0),
    st.sampled_from([-1.0, 1.0]),
)
def test_a_device_that_does_not_move_is_flagged_within_two_readings_of_the_move(
    before: list[float], size: float, sign: float
) -> None:
    verdicts = _drive([0.0] + [0.0] * len(before) + [sign * size], follows=False)
    move = len(before) + 1  # the index of the reading just before the moving setpoint
    assert all(v is None for v in verdicts[: move + 1])
    flagged = [i for i, v in enumerate(verdicts) if v is not None]
    assert flagged
    assert flagged[0] <= move + 2
    assert verdicts[flagged[0]] == float(move)  # observable since the setpoint it failed


def test_a_cap_obeyed_below_is_fine_unless_the_sun_allows_more() -> None:
    watch = ExecutionWatch(1.0, 0.01, is_limit=True)
    watch.reset(0.0, 0.4)
    watch.commanded(0.0, 0.3, hi_mw=0.5)
    assert watch.observe(3.0, 0.2, available_mw=0.2) is None  # a cloud: all there is
    assert watch.observe(4.0, 0.18, available_mw=0.5) == 0.0  # sun for 0.3: not obeying


def test_a_battery_reporting_power_its_soc_does_not_follow_is_caught() -> None:
    real = Battery(1.0, -1.0, 2.0, soc=0.5, ramp_mw_per_s=1.0, dead_time_s=0.0)
    check = SocCheck(2.0, BAND)
    honest = SocCheck(2.0, BAND)
    real.set_setpoint(0.4)
    first = None
    for second in range(10):
        reported = real.power_mw if second < 4 else 0.55  # from 4 s on it says 0.55 MW
        assert honest.observe(float(second), real.power_mw, real.soc) is None
        verdict = check.observe(float(second), reported, real.soc)
        if verdict is not None and first is None:
            first = (second, verdict)
        real.step(1.0)
    assert first is not None
    assert first[0] <= 6  # two unexplained intervals after the lie began
    assert first[1] >= 3.0  # observable from the interval the lie entered


def test_a_reading_answered_late_is_judged_over_the_span_the_device_took_it_in() -> None:
    """A busy link: the read asked for at 2.0 s comes back at 3.5 s with where the device
    was at about 3 s. An obeying device may be there within that span; judged at the
    asking time alone it would look too fast, at the answering time too slow."""
    watch = ExecutionWatch(0.5, BAND)  # ramps at 0.5 MW/s
    assert watch.observe(0.0, 0.0) is None
    watch.commanded(1.0, 1.0, acked_t=1.0)
    # At 3 s an obeying device has moved 0.5-1.0 MW; at 2 s at most 0.5 MW.
    assert watch.overtook(2.0, 0.9)
    assert not watch.overtook(2.0, 0.9, answered_t=3.5)
    assert watch.observe(2.0, 0.9, answered_t=3.5) is None
    # A device still at 0 MW by 3.5 s did not follow, whatever the delay.
    late = ExecutionWatch(0.5, BAND)
    assert late.observe(0.0, 0.0) is None
    late.commanded(1.0, 1.0, acked_t=1.0)
    assert late.observe(4.0, 0.0, answered_t=4.5) is not None


def test_a_late_answer_does_not_make_the_next_prompt_one_look_slow() -> None:
    """The event loop stalls: the read asked for at 5.0 s is answered at 6.5 s with where a
    ramping battery was at about 6.5 s. The next read, asked at 7.0 s and answered at once,
    finds the device 0.5 s of ramp further on. An obeying device: never flagged (anchored
    at the asking time alone, the envelope ran 1.5 s of ramp ahead of the device)."""
    ramp = 0.5
    battery = Battery(5.0, -5.0, 100.0, soc=0.5, ramp_mw_per_s=ramp, dead_time_s=0.2)
    watch = ExecutionWatch(ramp, BAND)
    assert watch.observe(0.0, battery.power_mw) is None
    battery.set_setpoint(4.0)
    watch.commanded(0.0, 4.0, acked_t=0.0)
    battery.step(5.0)
    assert watch.observe(4.99, battery.power_mw, answered_t=5.0) is None
    battery.step(1.5)  # the stall: the device answers at 6.5 s
    assert watch.observe(5.0, battery.power_mw, answered_t=6.5) is None
    battery.step(0.5)
    assert 3.0 < battery.power_mw < 4.0  # still ramping
    assert watch.observe(7.0, battery.power_mw, answered_t=7.01) is None
    # The same stall does not hide a device that stopped: frozen at 6.5 s's power, it is
    # flagged once an obeying one must have moved on by more than the band.
    stopped = ExecutionWatch(ramp, BAND)
    assert stopped.observe(0.0, 0.0) is None
    stopped.commanded(0.0, 4.0, acked_t=0.0)
    assert stopped.observe(5.0, 2.9, answered_t=6.5) is None
    assert stopped.observe(7.5, 2.9, answered_t=7.51) is not None
