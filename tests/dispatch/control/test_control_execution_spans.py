"""A reading answered within `SHORT_SPAN_S` of its asking (on the real clock, nearly every
in-process one) is judged against the envelope at its asking widened by the ramp over the
span, not computed again at the answer: the bound must hold everything the exact envelope
holds (no obeying device named) and be wider by no more than twice ramp x span."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dispatch.control.execution as execution
from dispatch.control.execution import SHORT_SPAN_S, ExecutionWatch

RAMP = 0.5
"""[MW/s]"""
BAND = 0.02
"""[MW]"""


def _watch(history: list[tuple[float, float, float]], anchor_span: float) -> ExecutionWatch:
    """A watch anchored at 0 MW, read between 0 and `anchor_span` [s], then sent `history`
    ((seconds after the previous, setpoint [MW], seconds to its acknowledgement))."""
    watch = ExecutionWatch(RAMP, BAND)
    watch.judge(0.0, 0.0, answered_t=None)
    watch.reanchor(0.0, 0.0, answered_t=anchor_span)
    t = anchor_span
    for gap, setpoint, ack in history:
        t += gap
        watch.commanded(t, setpoint, acked_t=t + ack)
    return watch


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.01, 2.0), st.floats(-1.0, 1.0), st.floats(0.0, 1.0)),
        min_size=0,
        max_size=5,
    ),
    st.floats(0.0, SHORT_SPAN_S),
    st.floats(0.0, SHORT_SPAN_S),
    st.floats(0.0, 8.0),
)
def test_the_bounded_envelope_holds_the_exact_one_widened_by_twice_the_ramp_over_the_span(
    history: list[tuple[float, float, float]],
    anchor_span: float,
    answer_span: float,
    after: float,
) -> None:
    t = anchor_span + sum(gap for gap, _, _ in history) + after + 0.01
    bounded = _watch(history, anchor_span)._window(t, t + answer_span)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(execution, "SHORT_SPAN_S", -1.0)  # every span computed at both ends
        exact = _watch(history, anchor_span)._window(t, t + answer_span)
    (_, _, lo, hi), (_, _, lo_exact, hi_exact) = bounded, exact
    # Twice the ramp: the envelope's lower edge can fall at twice it (a reversal's
    # followers taking over from each other; hypothesis found one at 1 MW/s).
    slack = 2.0 * RAMP * (anchor_span + answer_span) + 1e-12
    assert lo <= lo_exact + 1e-12
    assert hi >= hi_exact - 1e-12
    assert lo_exact - lo <= slack
    assert hi - hi_exact <= slack


def test_a_span_longer_than_the_bound_is_still_computed_at_both_ends() -> None:
    # a move sent at 1 s: read at 1.5 s, answered 0.4 s later, the device may be up to
    # 0.2 MW further (0.5 MW/s) - the exact envelope, not 0.4 s x 0.5 MW/s of slack
    watch = _watch([(1.0, 1.0, 0.0)], 0.0)
    _, fast_end, _lo, hi = watch._window(1.5, 1.9)
    assert fast_end == pytest.approx(0.45)  # 0.9 s of the 0.5 MW/s ramp
    assert hi == pytest.approx(0.45 + BAND)
