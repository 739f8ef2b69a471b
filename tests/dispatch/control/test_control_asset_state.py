"""An asset's availability: only the table's transitions, each recorded; quarantine holds."""

from __future__ import annotations

import itertools

import pytest

from dispatch.control.asset_state import (
    ALLOCATABLE_STATES,
    ALLOWED_TRANSITIONS,
    AssetState,
    AssetStateMachine,
    QuarantineClearance,
)
from dispatch.control.errors import InvalidTransitionError

A = AssetState
PAIRS = list(itertools.product(AssetState, AssetState))


@pytest.mark.parametrize(("start", "end"), PAIRS, ids=[f"{a.name}->{b.name}" for a, b in PAIRS])
def test_transition_follows_the_table(start: AssetState, end: AssetState) -> None:
    asset = AssetStateMachine("bat-07", 0.0, initial=start)
    allowed = end in ALLOWED_TRANSITIONS[start] and start is not A.QUARANTINED
    if allowed:
        asset.transition(end, 1.0, "test")
        assert asset.state is end
        assert asset.history[-1].from_state is start
    else:
        with pytest.raises(InvalidTransitionError, match=f"from {start.name} to {end.name}"):
            asset.transition(end, 1.0, "test")
        assert asset.state is start
        assert asset.history == ()


def test_every_state_has_a_rule_and_a_way_back_to_available() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(AssetState)
    for state in AssetState:
        # Reaching AVAILABLE directly or through one intermediate state.
        via = ALLOWED_TRANSITIONS[state] | {
            s2 for s1 in ALLOWED_TRANSITIONS[state] for s2 in ALLOWED_TRANSITIONS[s1]
        }
        assert A.AVAILABLE in via or state is A.AVAILABLE


def test_drift_and_deviation_lead_to_degraded_which_is_excluded_until_checked() -> None:
    asset = AssetStateMachine("bat-07", 0.0, initial=A.AVAILABLE)
    asset.transition(A.COMMANDED, 1.0, "setpoint 2 MW sent")
    asset.transition(A.ACKNOWLEDGED, 1.2, "acked")
    asset.transition(A.DEGRADED, 6.2, "acked but not executing")
    assert not asset.allocatable
    assert not asset.writable
    with pytest.raises(InvalidTransitionError, match="from DEGRADED to COMMANDED"):
        asset.transition(A.COMMANDED, 7.0, "retry")
    asset.transition(A.AVAILABLE, 30.0, "health check passed")
    assert asset.allocatable
    assert [(h.from_state, h.to_state, h.t) for h in asset.history] == [
        (A.AVAILABLE, A.COMMANDED, 1.0),
        (A.COMMANDED, A.ACKNOWLEDGED, 1.2),
        (A.ACKNOWLEDGED, A.DEGRADED, 6.2),
        (A.DEGRADED, A.AVAILABLE, 30.0),
    ]
    assert asset.history[2].reason == "acked but not executing"


def test_quarantine_is_left_only_by_an_operator_or_a_renegotiation() -> None:
    asset = AssetStateMachine("pv-01", 0.0, initial=A.EXECUTING)
    asset.transition(A.QUARANTINED, 5.0, "firmware changed 1.2 -> 1.3")
    assert not asset.writable
    for target in AssetState:
        with pytest.raises(InvalidTransitionError, match="clear_quarantine"):
            asset.transition(target, 6.0, "reconnected")
    asset.clear_quarantine(60.0, QuarantineClearance.OPERATOR, "map checked by J. Doe")
    assert asset.state is A.AVAILABLE
    assert "operator" in asset.history[-1].reason
    with pytest.raises(InvalidTransitionError, match="from AVAILABLE to AVAILABLE"):
        asset.clear_quarantine(61.0, QuarantineClearance.RENEGOTIATION, "again")


def test_allocatable_states_are_exactly_the_healthy_ones() -> None:
    assert frozenset({A.DEGRADED, A.UNAVAILABLE, A.QUARANTINED}).isdisjoint(ALLOCATABLE_STATES)
    assert len(ALLOCATABLE_STATES) == 4


def test_new_asset_starts_unavailable_and_time_cannot_go_back() -> None:
    asset = AssetStateMachine("hp-01", 10.0)
    assert asset.state is A.UNAVAILABLE
    with pytest.raises(ValueError, match="backwards"):
        asset.transition(A.AVAILABLE, 9.0, "connected")


def test_a_machine_keeps_only_its_latest_changes_when_told_to() -> None:
    asset = AssetStateMachine("bat-07", 0.0, initial=A.AVAILABLE, keep=3)
    t = 0.0
    for _ in range(50):  # commanded, acknowledged, executing, commanded again...
        for to in (A.COMMANDED, A.ACKNOWLEDGED, A.EXECUTING):
            t += 0.1
            asset.transition(to, t, "step")
    assert [h.to_state for h in asset.history] == [A.COMMANDED, A.ACKNOWLEDGED, A.EXECUTING]
    assert asset.history[-1].t == t
    assert asset.state is A.EXECUTING
    assert asset.since == t
    with pytest.raises(ValueError, match="keep=0"):
        AssetStateMachine("bat-07", 0.0, keep=0)
