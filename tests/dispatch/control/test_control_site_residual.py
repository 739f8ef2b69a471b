"""Which members a site meter did not see: `explain_residual` names the devices that report
a power they do not inject, and never an honest one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.control.crosscheck import explain_residual, explanations

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


def _explain_kw(residuals: list[float], reports: dict[str, list[float]]) -> tuple[str, ...] | None:
    """`explain_residual` of a window given in kW, as one of the Modbus benchmark's site
    meters judges it (tolerance 1.5 kW; a set named for moves beyond 6 kW)."""
    kw = 0.001
    return explain_residual(
        [r * kw for r in residuals],
        {a: [p * kw for p in series] for a, series in reports.items()},
        1.5 * kw,
        min_move_mw=6 * kw,
    )


def test_an_honest_unit_returning_as_a_liar_moves_alike_is_not_named() -> None:
    # A window seen in process with Modbus timing (`fake_meter_timeline.py --paced 7`): an
    # honest CHP's probe returned (50 -> 30 kW, its report mid-way at reading 2) just as a
    # fake PV plant's report dropped by 20 kW unseen. The CHP made the residual steady at
    # every reading but the one where it was on its way, and forgiven that one, it was
    # named. The first reading, taken while it ramped up, rules the PV plant out too.
    reports = {
        "chp": [46.4, 50, 38.3, 30, 30],
        "pv": [30, 30, 30, 10, 10],
        "other": [30] * 5,
    }
    assert _explain_kw([3.5, 0.0, 1.1, 20, 20], reports) is None
    # Without the CHP's reading mid-way (its report jumped like a setpoint), it is named.
    jumped = {**reports, "chp": [46.4, 50, 50, 30, 30]}
    assert _explain_kw([3.5, 0.0, -10.6, 20, 20], jumped) == ("chp",)


def test_an_honest_unit_mid_way_is_not_named_beside_a_second_liar_that_hides_its_way() -> None:
    # (From the review.) As above, and a second liar's report steps up by 8.3 kW at the
    # reading where the CHP is mid-way: on the pair's total the CHP's way is hidden, and
    # the pair (CHP and liar) was named. Judged per member, nobody is named yet.
    reports = {
        "chp": [46.4, 50, 38.3, 30, 30],
        "pv": [30, 30, 30, 10, 10],
        "x": [20, 20, 20, 28.3, 28.3],
        "other": [30] * 5,
    }
    assert _explain_kw([3.5, 0.0, 1.1, 11.7, 11.7], reports) is None


def test_a_liar_whose_setpoint_ramps_is_still_named_though_a_neighbour_is_off_there() -> None:
    # (From the review.) A fake meter's probe setpoint ramps over two readings (30, 40,
    # 50 kW; its real power stays at 30); its honest partner ramps the other way and the
    # meter catches the partner 3 kW behind at the reading where both are mid-way. That
    # reading is off by the partner's timing, not by the liar's own way: it is forgiven.
    liar = [30, 30, 40, 50, 50, 50]
    partner = [50, 50, 40, 30, 30, 30]
    seen = [50, 50, 43, 30, 30, 30]  # the partner's real power at the meter's moments
    residuals = [30 + s - r - p for s, r, p in zip(seen, liar, partner, strict=True)]
    reports = {"liar": liar, "partner": partner, "other": [20] * 6}
    assert _explain_kw(residuals, reports) == ("liar",)


def test_an_honest_twin_of_a_liar_whose_setpoint_ramps_is_not_named() -> None:
    # (From the review.) The liar's report ramps 30, 40, 50 kW while an honest PV plant
    # steps 30 -> 50 kW, caught 5 kW short at the mid reading: both nearly explain the
    # window, so nobody is named yet (the pool moves one of them alone).
    liar = [30, 30, 40, 50, 50, 50]
    pv = [30, 30, 50, 50, 50, 50]
    seen = [30, 30, 45, 50, 50, 50]
    residuals = [s - r - p + 30 for s, r, p in zip(seen, liar, pv, strict=True)]
    reports = {"liar": liar, "pv": pv}
    for n in (4, 5, 6):
        assert _explain_kw(residuals[:n], reports_upto(reports, n)) is None


def test_a_reading_off_by_a_ramp_just_before_the_latest_does_not_hold_the_culprit_back() -> None:
    # A PV plant's report drops 19 kW at reading 1 while its real power stays; at reading
    # 2 the others (activation) moved, the meter read a moment before them: that reading is
    # off by 1.8 kW (tolerance 1.5). Before, the culprit was named only once the off reading
    # was no longer among the latest two, a reading later than here (3.5-3.9 s after its
    # lie showed where the rest took 2 s).
    tolerance = 0.0015
    reports = {
        "pv": [0.0304, 0.0110, 0.0115, 0.0110],
        "chp": [0.0304, 0.0304, 0.0310, 0.0306],
        "bat": [0.0012, 0.0012, 0.0013, 0.0013],
    }
    residuals = [0.0019, 0.0213, 0.0190, 0.0208]
    assert explain_residual(residuals[:3], reports_upto(reports, 3), tolerance) is None
    assert explain_residual(residuals, reports, tolerance, min_move_mw=0.01) == ("pv",)


def reports_upto(reports: dict[str, list[float]], n: int) -> dict[str, list[float]]:
    """The first `n` readings of every member."""
    return {a: series[:n] for a, series in reports.items()}


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


def test_small_lies_adding_up_are_not_pinned_on_a_small_honest_move() -> None:
    # Measured on 400 Modbus devices: five fake meters each report 0.3 to 1 kW more than
    # they inject (less than their bands), together 3.7 kW; in the same period an honest
    # battery moved by 2.6 kW. Its move matches the residual within the tolerance.
    tol, bands = 0.0015, [0.001] * 10
    residuals = [0.0, 0.0037, 0.0037]
    reports = {
        "bat-honest": [0.0012, -0.0014, -0.0014],
        "chp-a": [0.03, 0.029, 0.029],
        "pv-b": [0.0298, 0.0294, 0.0294],
    }
    # Named only for moves beyond what lies within the members' bands can add up to.
    min_move = sum(bands) + 2 * tol
    assert explain_residual(residuals, reports, tol, min_move_mw=min_move) is None
    # A fake meter's unseen 20 kW move on top: the small move is not named beside it.
    liar = {**reports, "chp-liar": [0.03, 0.05, 0.05]}
    shifted = [r - (p - 0.03) for r, p in zip(residuals, liar["chp-liar"], strict=True)]
    assert "bat-honest" not in (explain_residual(shifted, liar, tol, min_move_mw=min_move) or ())
    # Without the small lies, the fake meter alone is named.
    clean = [0.0, -0.02, -0.02]
    assert explain_residual(clean, liar, tol, min_move_mw=min_move) == ("chp-liar",)


def test_a_move_seen_only_at_forgiven_readings_names_nobody() -> None:
    # Measured: an honest CHP's probe (0.029 -> 0.044 -> 0.05 -> back) lands on the two
    # readings in ten that the steadiness test forgives, while the residual barely moves.
    residuals = [-0.0029, -0.0094, -0.0046, -0.0065, -0.0046, -0.0044, -0.0048, -0.0044]
    residuals += [-0.0044, -0.0044]
    reports = {"chp-honest": [0.029, 0.044, 0.05, 0.031] + [0.03] * 6}
    tol = 0.0015
    assert explain_residual(residuals, reports, tol, min_move_mw=0.01) is None


def test_twin_moves_are_listed_so_that_one_of_them_can_be_moved_alone() -> None:
    twins = {"a": [0.0, 0.2, 0.2], "b": [0.0, 0.2, 0.2], "c": [0.1, 0.1, 0.1]}
    assert explanations([0.0, -0.2, -0.2], twins, TOL) == [("a",), ("b",)]
    assert explain_residual([0.0, -0.2, -0.2], twins, TOL) is None
    # b then moves alone, and the meter sees it: a is the one whose move it never saw.
    later = {"a": [0.0, 0.2, 0.2, 0.2, 0.2], "b": [0.0, 0.2, 0.2, 0.5, 0.5], "c": [0.1] * 5}
    assert explain_residual([0.0, -0.2, -0.2, -0.2, -0.2], later, TOL) == ("a",)


@st.composite
def small_lies(draw: st.DrawFn) -> tuple[list[float], dict[str, list[float]], float]:
    """A window of a site whose fake meters lie by at most half their band either way (no
    check can tell them from honest devices) beside honest members moving any amount."""
    n_members = draw(st.integers(2, 10))
    n_readings = draw(st.integers(3, 12))
    band = 0.02
    liars = set(draw(st.sets(st.integers(0, n_members - 1), max_size=n_members)))
    steps = st.sampled_from([0.0, 0.0, 0.01, -0.01, 0.03, -0.05, 0.1, -0.25, 0.4])
    reports: dict[str, list[float]] = {}
    meter = np.zeros(n_readings)
    for m in range(n_members):
        level = draw(st.floats(-1.0, 1.0))
        if m in liars:  # real power frozen at `level`, reports within half a band of it
            lies = [draw(st.floats(-band / 2, band / 2)) for _ in range(n_readings)]
            reports[f"m{m}"] = [level + lie for lie in lies]
            meter += level
        else:
            series = np.cumsum([level] + [draw(steps) for _ in range(n_readings - 1)])
            reports[f"m{m}"] = series.tolist()
            meter += series
    residuals = (meter - sum(np.asarray(s) for s in reports.values())).tolist()
    return residuals, reports, n_members * band


@settings(max_examples=400, deadline=None)
@given(small_lies())
def test_lies_too_small_to_attribute_never_blame_an_honest_member(
    site: tuple[list[float], dict[str, list[float]], float],
) -> None:
    residuals, reports, bands = site
    # Each lie changes the residual by at most its band: together at most `bands`.
    assert explain_residual(residuals, reports, TOL, min_move_mw=bands + 2 * TOL) is None


def test_an_honest_probing_pair_is_not_named_beside_the_liar_whose_long_window_it_pads() -> None:
    # A window kept open for 10 readings at a Modbus site (3 kW batteries, 60 kW PV, 50 kW
    # CHP; tolerance 1.5 kW, nameable 11.1 kW), from a 400-device run: pv-46 and chp-47
    # ended an honest probe (their moves mirror each other), the activation then moved
    # every member alike while other liars' small lies made the residual drift, and pv-49
    # lied at the last two readings. The pair's summed drift matched the others' lies, so
    # the set {chp-47, pv-46, pv-49} fitted and the honest pair was named.
    residuals = [0.003174, 0.001898, 0.001898, 0.0, 0.0, -0.001438, -0.001758, -0.002744]
    residuals += [0.015157, 0.012656]
    reports = {
        "bat-42": [0.001218, 0.001239, 0.001221, 0.0013, -0.000362, -0.000335, -0.000306],
        "bat-48": [0.001218, 0.001239, 0.001221, 0.0013, 0.003, 0.003, 0.003],
        "chp-41": [0.030019, 0.030436, 0.030436, 0.031113, 0.031113, 0.031627, 0.031947],
        "chp-44": [0.029987, 0.030436, 0.030436, 0.031113, 0.031113, 0.031627, 0.031947],
        "chp-47": [0.05, 0.05, 0.05, 0.031113, 0.031113, 0.031627, 0.031947],
        "pv-40": [0.030017, 0.030392, 0.030392, 0.031002, 0.031002, 0.031464, 0.031464],
        "pv-43": [0.029921, 0.030392, 0.030392, 0.031002, 0.031002, 0.031464, 0.031464],
        "pv-46": [0.010377, 0.010377, 0.010377, 0.031002, 0.031002, 0.031464, 0.031464],
        "pv-49": [0.030036, 0.030392, 0.030392, 0.031002, 0.031002, 0.031464, 0.031464],
    }
    last = {
        "bat-42": [0.001396, 0.001396, 0.001468],
        "bat-48": [0.001396, 0.001396, 0.001468],
        "chp-41": [0.031947, 0.05, 0.05],
        "chp-44": [0.031947, 0.031947, 0.032974],
        "chp-47": [0.031947, 0.031947, 0.032974],
        "pv-40": [0.031957, 0.031957, 0.032676],
        "pv-43": [0.031957, 0.031957, 0.032676],
        "pv-46": [0.031957, 0.031957, 0.032676],
        "pv-49": [0.031957, 0.014056, 0.014811],
    }
    window = {a: series + last[a] for a, series in reports.items()}
    named = explain_residual(residuals, window, 0.0015, min_move_mw=0.0111, max_members=6)
    assert named is None or set(named) <= {"pv-49", "pv-43"}  # the liars of that site
