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
from dispatch.kpi import KpiRecorder

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


def test_a_fault_is_detected_and_recovered_relative_to_its_injection() -> None:
    kpi = KpiRecorder(tolerance_mw=0.5, recovery_ticks=3)
    kpi.started(0.0)
    kpi.fault_injected("bat-1", "outage", 10.0)
    for second in range(10, 20):
        if second == 11:
            kpi.asset_failed("bat-1", 11.5)
        error = 2.0 if second < 14 else 0.1
        kpi.tick(float(second), START, 0.001, 10.0, 10.0 - error)
    (fault,) = kpi.report(1)["faults"]
    assert fault["detected_s"] == 1.5
    assert fault["recovered_s"] == 4.0  # within tolerance from second 14 on
    assert kpi.report(1)["fault_summary"]["detected_s"]["max"] == 1.5


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
