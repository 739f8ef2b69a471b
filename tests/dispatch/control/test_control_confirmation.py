"""Command confirmation: acked is not executed; every failure is told apart, at its time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.control.confirmation import (
    TERMINAL_STATES,
    Command,
    CommandState,
    ConfirmationPolicy,
)
from dispatch.control.errors import InvalidTransitionError

S = CommandState
POLICY = ConfirmationPolicy(
    ack_timeout_s=2.0, response_s=10.0, dwell_s=2.0, tolerance_mw=0.05, tolerance_rel=0.02
)


def acked_command(setpoint_mw: float = 5.0) -> Command:
    """A 5 MW command sent at t=0, acked at t=0.5 (execution deadline 10.5)."""
    cmd = Command("bat-07", setpoint_mw, POLICY, t=0.0)
    cmd.sent(0.0)
    cmd.acked(0.5, read_back_mw=setpoint_mw)
    return cmd


def states(cmd: Command) -> list[CommandState]:
    return [tr.to_state for tr in cmd.transitions]


def test_happy_path_records_every_step_and_latencies() -> None:
    cmd = acked_command()
    for k, power in enumerate([1.0, 3.0, 4.97, 5.02, 4.99]):
        cmd.observe(1.0 + k, power)
    assert cmd.state is S.EXECUTED
    assert states(cmd) == [S.SENT, S.ACKED, S.EXECUTED]
    assert [tr.t for tr in cmd.transitions] == [0.0, 0.5, 5.0]
    assert cmd.ack_latency_s == 0.5
    assert cmd.execution_latency_s == pytest.approx(2.5)  # in band from t=3.0
    assert not cmd.is_terminal


def test_ack_without_execution_times_out_exactly_at_its_deadline() -> None:
    cmd = acked_command()
    assert cmd.exec_deadline == 10.5
    for t in [1.0, 5.0, 10.0, 10.49]:
        cmd.observe(t, 0.0)
        cmd.tick(t)
    assert cmd.state is S.ACKED
    cmd.tick(10.5)
    assert cmd.state is S.EXEC_TIMEOUT
    assert cmd.transitions[-1].t == 10.5
    assert "not executed" in cmd.transitions[-1].reason
    assert cmd.execution_latency_s is None


def test_partial_execution_stuck_at_60_percent_times_out() -> None:
    cmd = acked_command()
    t = 1.0
    while cmd.state is S.ACKED:
        cmd.observe(t, 3.0)  # 60% of 5 MW, far outside the 0.1 MW band
        cmd.tick(t)
        t += 0.5
    assert cmd.state is S.EXEC_TIMEOUT
    assert cmd.transitions[-1].t == 10.5
    assert "measured 3.0 MW" in cmd.transitions[-1].reason


def ramp_to_setpoint(ramp_mw_per_s: float) -> Command:
    """An acked 5 MW command (deadline 10.5) watched while the asset ramps from 0 MW."""
    cmd = acked_command()
    t = 0.5
    while cmd.state is S.ACKED:
        t += 0.5
        cmd.observe(t, min(5.0, ramp_mw_per_s * (t - 0.5)))
        cmd.tick(t)
    return cmd


def test_slow_ramp_arriving_before_the_deadline_executes() -> None:
    cmd = ramp_to_setpoint(0.8)  # first reading in band (>= 4.9 MW) at t=7.0: done at 9.0
    assert cmd.state is S.EXECUTED
    assert cmd.executed_t == 9.0
    assert cmd.execution_latency_s == pytest.approx(6.5)


def test_ramp_too_slow_to_finish_the_dwell_by_the_deadline_times_out() -> None:
    # First reading in band at t=9.0, but the 2 s dwell would only end at 11.0 > deadline 10.5.
    cmd = ramp_to_setpoint(0.6)
    assert cmd.state is S.EXEC_TIMEOUT
    assert cmd.transitions[-1].t == 10.5


def test_dwell_interrupted_starts_again() -> None:
    cmd = acked_command()
    cmd.observe(1.0, 5.0)
    cmd.observe(2.5, 5.0)  # 1.5 s in band
    cmd.observe(3.0, 4.5)  # out: the dwell restarts
    cmd.observe(3.5, 5.0)
    cmd.observe(5.0, 5.0)
    assert cmd.state is S.ACKED
    cmd.observe(5.5, 5.0)
    assert cmd.state is S.EXECUTED
    assert cmd.reached_t == 3.5


def test_relative_tolerance_widens_the_band_for_large_setpoints() -> None:
    cmd = acked_command(setpoint_mw=50.0)  # band max(0.05, 2% of 50) = 1 MW
    cmd.observe(1.0, 49.1)
    cmd.observe(3.0, 49.1)
    assert cmd.state is S.EXECUTED


def test_deviation_after_execution() -> None:
    cmd = acked_command()
    cmd.observe(1.0, 5.0)
    cmd.observe(3.0, 5.0)
    cmd.observe(4.0, 4.0)
    assert cmd.state is S.DEVIATED
    assert states(cmd)[-2:] == [S.EXECUTED, S.DEVIATED]


def test_deviation_dwell_ignores_a_short_excursion() -> None:
    policy = ConfirmationPolicy(response_s=10, dwell_s=1, tolerance_mw=0.1, deviation_dwell_s=2)
    cmd = Command("pv-01", 2.0, policy, 0.0)
    cmd.sent(0.0)
    cmd.acked(0.1, None)
    cmd.observe(1.0, 2.0)
    cmd.observe(2.0, 2.0)
    cmd.observe(3.0, 1.0)
    cmd.observe(4.0, 2.0)  # back within 2 s: still executed
    assert cmd.state is S.EXECUTED
    cmd.observe(5.0, 1.0)
    cmd.observe(7.0, 1.0)
    assert cmd.state is S.DEVIATED


def test_refused_write_is_nacked_with_its_reason() -> None:
    cmd = Command("bat-07", 5.0, POLICY, 0.0)
    cmd.sent(0.0)
    cmd.refused(0.2, "modbus exception 3")
    assert cmd.state is S.NACKED
    assert "modbus exception 3" in cmd.transitions[-1].reason


def test_wrong_read_back_is_a_refusal() -> None:
    cmd = Command("bat-07", 5.0, POLICY, 0.0)
    cmd.sent(0.0)
    cmd.acked(0.3, read_back_mw=4.0)
    assert cmd.state is S.NACKED
    assert "read back 4.0 MW" in cmd.transitions[-1].reason


def test_no_answer_is_an_ack_timeout_that_asks_for_a_read_back() -> None:
    cmd = Command("bat-07", 5.0, POLICY, 0.0)
    cmd.sent(1.0)
    cmd.tick(2.9)
    assert cmd.state is S.SENT
    cmd.tick(3.0)
    assert cmd.state is S.ACK_TIMEOUT
    assert cmd.needs_read_back
    with pytest.raises(InvalidTransitionError, match="from ACK_TIMEOUT to ACKED"):
        cmd.acked(3.5, 5.0)


def test_supersede_from_any_live_state() -> None:
    for advance in [0, 1, 2, 3]:
        cmd = Command("bat-07", 5.0, POLICY, 0.0)
        steps = [
            lambda c: c.sent(0.0),
            lambda c: c.acked(0.5, 5.0),
            lambda c: (c.observe(1.0, 5.0), c.observe(3.0, 5.0)),
        ]
        for step in steps[:advance]:
            step(cmd)
        cmd.supersede(4.0)
        assert cmd.state is S.SUPERSEDED


def test_invalid_transitions_name_both_states() -> None:
    cmd = Command("bat-07", 5.0, POLICY, 0.0)
    with pytest.raises(InvalidTransitionError, match="from CREATED to ACKED"):
        cmd.acked(0.0, 5.0)
    cmd.sent(0.0)
    with pytest.raises(InvalidTransitionError, match="from SENT to SENT"):
        cmd.sent(0.1)
    cmd.acked(0.5, 5.0)
    with pytest.raises(InvalidTransitionError, match="from ACKED to NACKED"):
        cmd.refused(0.6, "late")


def test_time_going_backwards_is_refused() -> None:
    cmd = acked_command()
    with pytest.raises(ValueError, match="backwards"):
        cmd.observe(0.1, 5.0)


EVENTS = st.sampled_from(["sent", "acked", "acked_bad", "refused", "observe", "tick", "supersede"])


@given(
    script=st.lists(st.tuples(EVENTS, st.floats(0, 3), st.floats(0, 10)), min_size=1, max_size=40)
)
def test_terminal_states_never_change(script) -> None:
    cmd = Command("bat-07", 5.0, ConfirmationPolicy(ack_timeout_s=2, response_s=4, dwell_s=1), 0)
    t = 0.0
    terminal_seen: CommandState | None = None
    for event, dt, power in script:
        t += dt
        try:
            if event == "sent":
                cmd.sent(t)
            elif event == "acked":
                cmd.acked(t, 5.0)
            elif event == "acked_bad":
                cmd.acked(t, power)
            elif event == "refused":
                cmd.refused(t, "no")
            elif event == "observe":
                cmd.observe(t, power)
            elif event == "tick":
                cmd.tick(t)
            else:
                cmd.supersede(t)
        except InvalidTransitionError:
            pass
        if terminal_seen is not None:
            assert cmd.state is terminal_seen
        elif cmd.state in TERMINAL_STATES:
            terminal_seen = cmd.state
    # The record is a chain: each transition starts where the last one ended.
    chain = [S.CREATED, *states(cmd)]
    assert [tr.from_state for tr in cmd.transitions] == chain[:-1]
    assert all(a.t <= b.t for a, b in zip(cmd.transitions, cmd.transitions[1:], strict=False))
