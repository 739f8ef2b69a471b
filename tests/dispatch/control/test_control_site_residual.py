"""Which members a site meter did not see: `explain_residual` names the devices that report
a power they do not inject, and never an honest one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.control.crosscheck import explain_residual

TOL = 0.025


def test_a_hand_computed_site_names_the_member_whose_move_the_meter_missed() -> None:
    # b reports 0.4 -> 0.65 -> 0.65 but stays at 0.4; a moves for real, c stands still.
    reports = {"a": [0.3, 0.1, 0.1], "b": [0.4, 0.65, 0.65], "c": [0.2, 0.2, 0.2]}
    meter = [0.9, 0.7, 0.7]  # a's move is in it, b's is not
    residuals = [m - sum(r[k] for r in reports.values()) for k, m in enumerate(meter)]
    assert residuals == pytest.approx([0.0, -0.25, -0.25])
    assert explain_residual(residuals, reports, TOL) == ("b",)


def test_a_steady_residual_and_twin_moves_name_nobody() -> None:
    # Nothing moved unseen: nothing to explain.
    assert explain_residual([0.1, 0.1, 0.1], {"a": [0.0, 0.3, 0.3]}, TOL) is None
    # Two members made the same move; only one of them lied: the window cannot tell yet.
    twins = {"a": [0.0, 0.2, 0.2], "b": [0.0, 0.2, 0.2]}
    assert explain_residual([0.0, -0.2, -0.2], twins, TOL) is None


def test_one_reading_off_by_a_ramp_does_not_hide_the_culprit() -> None:
    # Reading 2 was taken while a ramped between the meter's read and its own.
    reports = {"a": [0.0, 0.0, 0.3, 0.3, 0.3], "b": [0.5, 0.5, 0.5, 0.2, 0.2]}
    residuals = [0.0, 0.0, -0.15, 0.3, 0.3]  # b's drop is not in the meter
    assert explain_residual(residuals, reports, TOL) == ("b",)


@st.composite
def sites(draw: st.DrawFn) -> tuple[list[float], dict[str, list[float]], set[str]]:
    """A window of readings of a site: honest members report what they inject, liars report
    setpoints while their real power stays where it was at the first reading."""
    n_members = draw(st.integers(2, 10))
    n_readings = draw(st.integers(3, 12))
    liars = set(draw(st.sets(st.integers(0, n_members - 1), max_size=4)))
    steps = st.sampled_from([0.0, 0.0, 0.0, 0.1, -0.1, 0.25, -0.25, 0.4])
    reports: dict[str, list[float]] = {}
    meter = np.zeros(n_readings)
    for m in range(n_members):
        level = draw(st.floats(-1.0, 1.0))
        series = np.cumsum([level] + [draw(steps) for _ in range(n_readings - 1)])
        reports[f"m{m}"] = series.tolist()
        meter += series[0] if m in liars else series  # a liar's real power is frozen
    noise = draw(st.lists(st.floats(-0.004, 0.004), min_size=n_readings, max_size=n_readings))
    residuals = (meter + noise - sum(np.asarray(s) for s in reports.values())).tolist()
    return residuals, reports, {f"m{m}" for m in liars}


@settings(max_examples=400, deadline=None)
@given(sites())
def test_never_an_honest_member(site: tuple[list[float], dict[str, list[float]], set[str]]) -> None:
    residuals, reports, liars = site
    named = explain_residual(residuals, reports, TOL)
    if named is not None:
        assert set(named) <= liars, (named, liars)
    if not liars:
        assert named is None


@settings(max_examples=300, deadline=None)
@given(
    levels=st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=9),
    probe_at=st.integers(1, 4),
    probe=st.sampled_from([0.1, -0.1, 0.6]),  # moves at least 4 tolerances from the lie
    lie_at=st.integers(1, 3),
    lie=st.sampled_from([0.25, -0.25, 0.5]),
)
def test_a_lone_liar_beside_a_probing_pair_is_named_within_two_readings(
    levels: list[float], probe_at: int, probe: float, lie_at: int, lie: float
) -> None:
    # Honest members stand still but for one probing pair (opposite moves, one site).
    n = lie_at + 2  # the reading before its move, then two after it
    reports = {f"h{i}": [level] * n for i, level in enumerate(levels)}
    for name, sign in (("h0", 1.0), ("h1", -1.0)):
        reports[name] = [
            v + (sign * probe if k >= probe_at else 0.0) for k, v in enumerate(reports[name])
        ]
    reports["liar"] = [0.2 if k < lie_at else 0.2 + lie for k in range(n)]
    residuals = [0.0 if k < lie_at else -lie for k in range(n)]  # its move is not metered
    assert explain_residual(residuals, reports, TOL) == ("liar",)
