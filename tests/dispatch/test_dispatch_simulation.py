"""The dispatcher end to end on in-process devices and a virtual clock: tracking, state
drift, outages, firmware changes, retry budgets, reproducibility."""

from __future__ import annotations

import asyncio
import logging

import pytest
import structlog

from dispatch.clock import VirtualClock
from dispatch.inproc import InProcessDevice
from dispatch.simulation import (
    FaultSpec,
    FaultSpecError,
    SimulationOptions,
    inproc_fleet,
    parse_faults,
    run_fleet,
    run_simulation,
)

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


class StepActivation:
    """0 MW until `at_s`, then `mw` (a sudden aFRR call)."""

    def __init__(self, at_s: float, mw: float) -> None:
        self.at_s, self.mw = at_s, mw

    def activation_mw(self, t: float) -> float:
        return self.mw if t >= self.at_s else 0.0


def _run(options: SimulationOptions, activation: object | None = None):
    async def main():
        clock = VirtualClock(options.start)
        fleet = inproc_fleet(options, clock)
        report = await run_fleet(options, fleet, clock, activation=activation)  # type: ignore[arg-type]
        return report, fleet

    return asyncio.run(main())


def test_a_healthy_fleet_tracks_its_schedule_and_the_tso_signal() -> None:
    report = run_simulation(SimulationOptions(assets=30, duration_s=120))
    assert report["ticks"]["count"] == 119  # from the second second, once all have reported
    assert report["ticks"]["missed"] == 0
    assert report["tracking"]["rms_mw"] < report["tracking"]["tolerance_mw"]
    assert report["tracking"]["isp_deviation_pct"] < 2.0
    assert report["faults"] == []
    assert set(report["states"]) <= {"available", "commanded", "acknowledged", "executing"}


def test_an_asset_that_acknowledges_but_does_not_execute_is_degraded_and_replaced() -> None:
    options = SimulationOptions(
        assets=20, duration_s=60, faults=[FaultSpec("ack_no_exec", 1, 10)], response_s=3.0
    )
    report, _ = _run(options, StepActivation(at_s=20, mw=2.0))
    (fault,) = report["faults"]
    assert fault["detected_s"] is not None, report
    assert fault["detected_s"] <= 3.0  # within 3 s of the first setpoint it did not follow
    assert fault["evidence"].startswith("execution")
    # The others took its share: the true error is back within tolerance (or never left).
    assert fault["recovered"] is True
    assert fault["recovered_s"] is None or fault["recovered_s"] <= 20.0
    assert report["states"]["degraded"] == 1


def test_a_correlated_trip_is_detected_fast_the_pool_recovers_and_retries_stay_in_budget() -> None:
    options = SimulationOptions(assets=100, duration_s=60, faults=parse_faults("trip:0.3@20s"))
    report, _ = _run(options)
    faults = report["faults"]
    assert len(faults) == 30
    assert all(f["detected_s"] is not None and f["detected_s"] <= 3.0 for f in faults)
    assert report["states"]["unavailable"] == 30
    # Budgets: rate 5/s, burst 10 per pool -> at most 10 + 5 * 40 s of retries after the fault.
    assert report["retries"]["granted"] <= 10 + 5 * 40
    (recovery,) = report["recovery"]
    assert recovery["recovered"] is True  # the others have the headroom
    assert recovery["recovered_s"] is None or recovery["recovered_s"] <= 10.0


def test_a_firmware_change_quarantines_before_any_write_goes_out() -> None:
    options = SimulationOptions(assets=10, duration_s=40, faults=[FaultSpec("firmware", 1, 15)])

    async def main():
        clock = VirtualClock(options.start)
        fleet = inproc_fleet(options, clock)
        writes_at_fault: dict[str, int] = {}
        original = InProcessDevice.inject

        def remember(self: InProcessDevice, fault: object) -> None:
            writes_at_fault[self.asset_id] = self.writes
            original(self, fault)  # type: ignore[arg-type]

        InProcessDevice.inject = remember  # type: ignore[method-assign]
        try:
            report = await run_fleet(options, fleet, clock)
        finally:
            InProcessDevice.inject = original  # type: ignore[method-assign]
        return report, fleet, writes_at_fault

    report, fleet, writes_at_fault = asyncio.run(main())
    (asset,) = writes_at_fault
    device = next(m.device for m in fleet if m.adapter.asset_id == asset)
    assert device.writes == writes_at_fault[asset]  # nothing written after the change
    assert report["states"]["quarantined"] == 1
    assert report["faults"][0]["detected_s"] <= 1.0


def test_a_run_is_reproducible_on_the_virtual_clock() -> None:
    options = SimulationOptions(assets=20, duration_s=30, faults=parse_faults("outage:0.2@10s"))
    first, second = run_simulation(options), run_simulation(options)
    for report in (first, second):
        report["ticks"] = {k: v for k, v in report["ticks"].items() if not k.endswith("_ms")}
    assert first == second


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("outage", "is not KIND:AMOUNT@TIMEs"),
        ("meltdown:1@2s", "kind 'meltdown' is not one of"),
        ("outage:1.5@2s", "amount 1.5 must be a share in (0, 1), a percentage"),
        ("outage:0@2s", "amount 0 must be"),
        ("firmware:15/boiler@2s", "asset kind 'boiler' is not one of"),
    ],
)
def test_bad_fault_specs_are_refused_naming_the_part(text: str, named: str) -> None:
    with pytest.raises(FaultSpecError, match=named.replace("(", r"\(").replace(")", r"\)")):
        parse_faults(text)


def test_fault_specs_read_shares_and_counts() -> None:
    specs = parse_faults("outage:0.3@20s, ack_no_exec:2@5")
    assert specs == [FaultSpec("silence", 0.3, 20.0), FaultSpec("ack_no_exec", 2.0, 5.0)]
    assert specs[0].count(400) == 120
    assert specs[1].count(400) == 2


def test_a_fault_on_one_kind_of_asset_hits_only_that_kind() -> None:
    """``firmware:3/chp`` takes 3 CHPs, never a battery or a PV plant, and exactly 3."""
    assert parse_faults("firmware:3/chp@1s") == [FaultSpec("firmware", 3.0, 1.0, "chp")]
    options = SimulationOptions(assets=40, duration_s=4, faults=parse_faults("stuck:3/chp@1s"))
    report = run_simulation(options)
    assert sorted(f["asset"].split("-")[0] for f in report["faults"]) == ["chp"] * 3


def test_headroom_says_whether_the_rest_of_the_fleet_could_make_up_for_a_fault() -> None:
    """After 30 % of the fleet trips the rest can still reach the target, and the pool does;
    after 90 % trips no setpoint could, and the report says the headroom was not there."""
    small = run_simulation(
        SimulationOptions(assets=100, duration_s=40, faults=parse_faults("trip:0.3@10s"))
    )
    large = run_simulation(
        SimulationOptions(assets=100, duration_s=40, faults=parse_faults("trip:0.9@10s"))
    )
    (after_small,) = small["recovery"]
    (after_large,) = large["recovery"]
    assert after_small["headroom"]["enough"] is True
    assert after_small["recovered"] is True
    assert after_large["headroom"]["enough"] is False
    assert after_large["headroom"]["max_gap_mw"] > large["truth"]["tolerance_mw"]
    assert after_large["recovered"] is False


def test_site_meters_keep_a_silent_fleet_share_counted_as_what_it_injects() -> None:
    """30 % of the fleet goes silent and keeps running at its last setpoint. The pool must
    not steer them (it cannot reach them), but behind site meters it still sees their
    power, so the rest is not pushed to replace it: the TRUE error stays within tolerance.
    Without site meters the same fault makes the pool over-deliver by their power."""
    faults = parse_faults("silence:0.3@10s")
    metered = run_simulation(SimulationOptions(assets=200, duration_s=40, faults=faults))
    blind = run_simulation(SimulationOptions(assets=200, duration_s=40, faults=faults, site_size=0))
    tolerance = metered["truth"]["tolerance_mw"]
    assert metered["fault_summary"]["silence"]["detected"] == 60
    assert metered["truth"]["max_abs_mw"] <= tolerance
    assert blind["truth"]["max_abs_mw"] > 2 * tolerance
    assert blind["recovery"][0]["recovered"] is False
