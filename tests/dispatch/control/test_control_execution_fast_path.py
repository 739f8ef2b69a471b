"""`ExecutionWatch.judge` computes only the fast follower when the reading lies within the
band of it (nearly every reading of an obeying device): its answers and its state after
each reading must be exactly those of the full envelope, over any history of setpoints,
readings and their spans, caps included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.control.execution import ExecutionWatch, _follow

RAMP = 0.5
"""[MW/s]"""
BAND = 0.02
"""[MW]"""


class FullWatch(ExecutionWatch):
    """The watch as it judged before the fast path: the whole envelope every time."""

    __slots__ = ()

    def judge(
        self,
        t: float,
        measured_mw: float,
        available_mw: float | None = None,
        answered_t: float | None = None,
    ) -> tuple[float | None, bool]:
        """`ExecutionWatch.judge` without its fast path."""
        if self._anchor is None:
            self.reset(t, measured_mw)
            return None, False
        fast, fast_end, lo, hi = self._window(t, answered_t)
        overtook = self._beyond(measured_mw, lo, hi)
        if self.is_limit:
            floor = -float("inf") if available_mw is None else available_mw - self.band_mw
            ok = min(lo, floor) <= measured_mw <= hi
        else:
            ok = lo <= measured_mw <= hi
        if min(abs(measured_mw - fast), abs(measured_mw - fast_end)) <= self.band_mw:
            self._caught_up_t = t
            self._first_after = None
        if ok:
            self._anchor = (t, measured_mw, t if answered_t is None else max(t, answered_t))
            while self._commands and self._commands[0][2] < t - self.lag_s - 1.0:
                if len(self._commands) == 1:
                    break
                self._commands.popleft()
            return None, overtook
        if self._first_after is not None:
            return self._first_after, overtook
        return (self._caught_up_t if self._caught_up_t is not None else t), overtook


def _state(watch: ExecutionWatch) -> tuple[object, ...]:
    return (watch._anchor, list(watch._commands), watch._caught_up_t, watch._first_after)


_step = st.tuples(
    st.sampled_from(["command", "read", "read", "reanchor"]),
    st.floats(0.0, 1.5),  # seconds since the previous step
    st.floats(-1.0, 1.0),  # setpoint [MW], or where in the envelope the reading lies
    st.floats(0.0, 0.8),  # acknowledgement delay, or span of the read [s]
    st.sampled_from([0.0, 0.0005, 1.0]),  # a reading's offset from its aim, in bands
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_step, min_size=1, max_size=25), st.booleans(), st.none() | st.floats(-1, 1))
def test_judge_answers_and_keeps_exactly_what_the_full_envelope_does(
    steps: list[tuple[str, float, float, float, float]],
    is_limit: bool,
    available: float | None,
) -> None:
    fast_watch = ExecutionWatch(RAMP, BAND, is_limit=is_limit)
    full_watch = FullWatch(RAMP, BAND, is_limit=is_limit)
    t = 0.0
    fast_watch.judge(t, 0.0)
    full_watch.judge(t, 0.0)
    for kind, gap, x, span, off in steps:
        t += gap
        if kind == "command":
            for watch in (fast_watch, full_watch):
                watch.commanded(t, x, -0.9, 0.9, t + span)
        elif kind == "reanchor":
            for watch in (fast_watch, full_watch):
                watch.reanchor(t, x, t + span)
        else:
            # Aim at the fast follower (the common case) or anywhere in and around the
            # envelope, a little or a band off.
            fast = full_watch.value(t)
            lo, hi = full_watch.interval(t)
            aim = fast if x > 0.3 else lo + (hi - lo) * (x + 1.0) / 1.3
            reading = aim + off * BAND * (1.0 if x >= 0 else -1.0)
            answered = t + span if span > 0.05 else None
            got = fast_watch.judge(t, reading, available, answered)
            want = full_watch.judge(t, reading, available, answered)
            assert got == want
        assert _state(fast_watch) == _state(full_watch)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(-1, 1), st.floats(0, 1)), max_size=8),
    st.floats(0.0, 6.0),
    st.floats(0.0, 6.0),
)
def test_the_fast_follower_alone_is_the_envelopes_fast_follower(
    commands: list[tuple[float, float, float]], anchor_at: float, after: float
) -> None:
    watch = ExecutionWatch(RAMP, BAND)
    watch.reset(0.0, 0.1)
    t = 0.0
    for gap, setpoint, ack in commands:
        t += gap
        watch.commanded(t, setpoint, acked_t=t + ack)
    at = anchor_at + after
    expected = watch._followers_from(at, anchor_at, 0.3)[0]
    assert watch._fast_from(at, anchor_at, 0.3) == expected
    sent = [(c[0], c[1]) for c in watch._commands]
    before = [c for c in sent if c[0] <= anchor_at]
    later = [c for c in sent if c[0] > anchor_at]
    assert expected == _follow(anchor_at, 0.3, before[-1][1] if before else None, later, at, RAMP)
