"""The dispatcher's small parts: the simulated TSO signal, the KPI arithmetic, the clocks."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.activation import NoActivation, SimulatedTsoSignal
from dispatch.clock import VirtualClock
from dispatch.kpi import EXECUTION, MISSED_READS, KpiRecorder

START = datetime(2026, 6, 13, 10, 0, tzinfo=UTC)


@given(
    up=st.floats(0, 50),
    down=st.floats(0, 50),
    seed=st.integers(0, 10_000),
    times=st.lists(st.floats(0, 3600), min_size=1, max_size=30),
)
def test_the_tso_signal_stays_in_its_band_and_repeats_itself(
    up: float, down: float, seed: int, times: list[float]
) -> None:
    signal = SimulatedTsoSignal(up, down, seed=seed)
    values = [signal.activation_mw(t) for t in times]
    assert all(-down - 1e-9 <= v <= up + 1e-9 for v in values)
    again = SimulatedTsoSignal(up, down, seed=seed)
    assert [again.activation_mw(t) for t in reversed(times)] == list(reversed(values))


def test_the_tso_signal_holds_each_value_one_to_four_seconds() -> None:
    signal = SimulatedTsoSignal(10, 10, seed=3)
    changes = [
        t / 10
        for t in range(1, 6000)
        if signal.activation_mw(t / 10) != signal.activation_mw((t - 1) / 10)
    ]
    gaps = [b - a for a, b in itertools.pairwise(changes)]
    assert gaps
    assert min(gaps) >= 0.9
    assert max(gaps) <= 4.1
    assert NoActivation().activation_mw(5.0) == 0.0
    with pytest.raises(ValueError, match="bands must be >= 0"):
        SimulatedTsoSignal(-1, 1)


def test_isp_deviation_is_energy_off_schedule_per_quarter_hour_over_scheduled_energy() -> None:
    kpi = KpiRecorder(tolerance_mw=0.5)
    kpi.started(0.0)
    for second in range(1800):  # two quarter hours at 10 MW scheduled
        measured = 11.0 if second < 900 else 9.0  # +1 MW, then -1 MW: each ISP 10 % off
        at = datetime.fromtimestamp(START.timestamp() + second, UTC)
        kpi.tick(float(second), at, 0.001, 10.0, measured)
    report = kpi.report(1)
    assert report["tracking"]["isp_deviation_pct"] == pytest.approx(10.0)
    assert report["tracking"]["rms_mw"] == pytest.approx(1.0)
    assert report["duration_s"] == 1800
    assert report["ticks"]["count"] == 1800


def test_detection_runs_from_the_first_missed_read_and_recovery_from_the_truth() -> None:
    kpi = KpiRecorder(tolerance_mw=0.5, recovery_ticks=3)
    kpi.started(0.0)
    kpi.fault_injected("bat-1", "trip", 10.0)
    for second in range(10, 20):
        if second == 12:
            kpi.asset_failed("bat-1", 12.0, MISSED_READS, since=10.5, reason="no answer")
        error = 2.0 if second < 14 else 0.1
        kpi.tick(float(second), START, 0.001, 10.0, 10.0)  # the controller saw nothing
        kpi.truth(float(second), START, 10.0, 10.0 - error)
    report = kpi.report(1)
    (fault,) = report["faults"]
    assert fault["detected_s"] == 1.5  # from the first missed read, not the injection
    assert fault["detected_after_injection_s"] == 2.0
    assert fault["recovered"] is True
    assert fault["recovered_s"] == 4.0  # the truth is within tolerance from second 14 on
    assert report["fault_summary"]["trip"] == {
        "injected": 1,
        "detected": 1,
        "max_detected_s": 1.5,
        "p50_detected_s": 1.5,
        "undetected": [],
        "unanswered_when_injected": 0,
        "unanswered_unobservable": 0,
    }
    assert report["tracking"]["rms_mw"] == 0.0
    assert report["truth"]["rms_mw"] > 1.0


def test_every_stretch_out_of_tolerance_after_a_fault_is_reported_with_its_length() -> None:
    kpi = KpiRecorder(tolerance_mw=0.5, recovery_ticks=3)
    kpi.started(0.0)
    kpi.fault_injected("bat-1", "firmware_inplace", 2.0)
    # Out at 4-5 s (the fault), back, then out again at 20-26 s (a later consequence),
    # then out from 35 s to the end.
    out = set(range(4, 6)) | set(range(20, 27)) | set(range(35, 40))
    for second in range(0, 40):
        error = 1.0 if second in out else 0.0
        kpi.tick(float(second), START, 0.001, 10.0, 10.0)
        kpi.truth(float(second), START, 10.0, 10.0 - error)
    (recovery,) = kpi.report(1)["recovery"]
    assert recovery["recovered_s"] == 4.0  # from the injection to the first good run
    assert recovery["excursions"] == [
        {"left_at_s": 4.0, "back_at_s": 6.0, "lasted_s": 2.0},
        {"left_at_s": 20.0, "back_at_s": 27.0, "lasted_s": 7.0},
        {"left_at_s": 35.0, "back_at_s": None, "lasted_s": None},
    ]
    assert recovery["longest_excursion_s"] is None  # one never came back


def test_evidence_of_another_kind_does_not_count_as_detection() -> None:
    kpi = KpiRecorder(tolerance_mw=0.5)
    kpi.started(0.0)
    kpi.fault_injected("bat-1", "ack_no_exec", 1.0)
    kpi.asset_failed("bat-1", 3.0, MISSED_READS, since=2.5, reason="a communication gap")
    (fault,) = kpi.report(1)["faults"]
    assert fault["detected_s"] is None
    assert "missed_reads" in fault["other_evidence"][0]
    kpi.asset_failed("bat-1", 15.0, EXECUTION, since=14.0, reason="did not follow")
    (fault,) = kpi.report(1)["faults"]
    assert fault["detected_s"] == 1.0
    assert fault["evidence"].startswith("execution")


def test_a_pool_that_never_comes_back_says_so_and_one_that_never_left_does_not_invent_a_time() -> (
    None
):
    kpi = KpiRecorder(tolerance_mw=0.5)
    kpi.started(0.0)
    kpi.fault_injected("bat-1", "trip", 5.0)
    kpi.fault_injected("bat-2", "silence", 1.0)
    for second in range(0, 20):
        error = 3.0 if second >= 6 else 0.0
        kpi.tick(float(second), START, 0.001, 10.0, 10.0)
        kpi.truth(float(second), START, 10.0, 10.0 - error)
    recovery = {r["injected_at_s"]: r for r in kpi.report(2)["recovery"]}
    assert recovery[5.0]["recovered"] is False
    assert recovery[5.0]["recovered_s"] is None
    assert recovery[5.0]["shortfall_mw"] == 3.0
    assert "did not recover" in recovery[5.0]["why"]
    quiet = KpiRecorder(tolerance_mw=0.5)
    quiet.started(0.0)
    quiet.fault_injected("pv-1", "silence", 2.0)
    for second in range(0, 10):
        quiet.tick(float(second), START, 0.001, 10.0, 10.0)
        quiet.truth(float(second), START, 10.0, 10.0)
    (only,) = quiet.report(1)["recovery"]
    assert only["left_tolerance"] is False
    assert only["recovered_s"] is None
    assert "never left tolerance" in only["why"]


def test_the_virtual_clock_runs_sleepers_in_time_order_without_waiting() -> None:
    async def main() -> list[tuple[str, float]]:
        clock = VirtualClock(START)
        seen: list[tuple[str, float]] = []

        async def sleeper(name: str, at: float) -> None:
            await clock.sleep_until(at)
            seen.append((name, clock.now()))

        await asyncio.gather(sleeper("late", 3600.0), sleeper("early", 1.5), sleeper("mid", 60))
        assert clock.utc() == datetime(2026, 6, 13, 11, 0, tzinfo=UTC)
        return seen

    assert asyncio.run(main()) == [("early", 1.5), ("mid", 60.0), ("late", 3600.0)]
