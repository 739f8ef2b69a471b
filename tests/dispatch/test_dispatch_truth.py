"""The dispatcher's truth, end to end on in-process devices and a virtual clock: every
fault kind detected by its own evidence within 3 s of becoming observable, faults before
the first contact, a pool that does not recover said plainly, stale readings never counted
as delivery, and the end-to-end latencies in the report."""

from __future__ import annotations

import logging

import pytest
import structlog

from dispatch.kpi import EVIDENCE_FOR
from dispatch.simulation import FaultSpec, SimulationOptions, parse_faults, run_simulation


@pytest.fixture(autouse=True)
def _quiet_events() -> None:
    """Only critical events while these runs go (the conftest restores the rest after)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))


def _detected_by_own_evidence(report: dict, kind: str) -> None:
    faults = [f for f in report["faults"] if f["kind"] == kind]
    assert faults
    for fault in faults:
        assert fault["detected_s"] is not None, fault
        assert fault["detected_s"] <= 3.0, fault
        evidence = fault["evidence"].split(":")[0]
        assert evidence in EVIDENCE_FOR[kind], fault
    summary = report["fault_summary"][kind]
    assert summary["injected"] == summary["detected"] == len(faults)
    assert summary["max_detected_s"] <= 3.0


@pytest.mark.parametrize(
    ("kind", "asset_kind"),
    [
        ("trip", None),
        ("silence", None),
        ("ack_no_exec", None),
        ("partial", None),
        ("slow_ramp", "battery"),  # a PV plant ramping at 0.1 MW/s still meets small moves
        ("slow_ramp", "chp"),
        ("stuck", None),
        ("fake_meter", "battery"),  # caught by its state of charge
        ("fake_meter", "chp"),  # caught by its site meter
        ("firmware", None),
        ("firmware_inplace", None),
    ],
)
def test_every_fault_kind_is_detected_by_its_own_evidence_within_3_s(
    kind: str, asset_kind: str | None
) -> None:
    # 60 s: a flat schedule probes every asset within 20 s of the fault.
    options = SimulationOptions(
        assets=40, duration_s=60, faults=[FaultSpec(kind, 4, 12.0, asset_kind)], seed=3
    )
    report = run_simulation(options)
    _detected_by_own_evidence(report, kind)
    # Devices that cannot answer stay out; a drifting one may rejoin once it sits at its
    # setpoint (and is caught again when it next fails one).
    expected_state = {
        "trip": "unavailable",
        "silence": "unavailable",
        "firmware": "quarantined",
        "firmware_inplace": "degraded",
    }.get(kind)
    if expected_state is not None:
        assert report["states"].get(expected_state, 0) >= 4


@pytest.mark.parametrize("kind", ["trip", "silence", "firmware", "ack_no_exec"])
def test_a_fault_before_the_first_contact_is_detected(kind: str) -> None:
    report = run_simulation(
        SimulationOptions(assets=30, duration_s=40, faults=parse_faults(f"{kind}:3@0s"))
    )
    _detected_by_own_evidence(report, kind)
    for fault in report["faults"]:
        assert fault["injected_at_s"] == 0.0


def test_a_pool_that_loses_90_percent_says_it_did_not_recover_and_truth_shows_the_shortfall() -> (
    None
):
    report = run_simulation(
        SimulationOptions(assets=50, duration_s=40, faults=parse_faults("trip:0.9@20s"))
    )
    (recovery,) = report["recovery"]
    tolerance = report["truth"]["tolerance_mw"]
    assert recovery["left_tolerance"] is True
    assert recovery["recovered"] is False
    assert recovery["recovered_s"] is None
    assert "did not recover" in recovery["why"]
    assert recovery["shortfall_mw"] > tolerance
    assert report["truth"]["max_abs_mw"] > 5 * tolerance
    assert report["truth"]["met"] is False
    assert all(f["recovered"] is False for f in report["faults"])
    assert report["tracking"]["unknown_assets"]["last"] >= 45


def test_a_kpi_from_stale_readings_passes_a_run_the_truth_fails() -> None:
    """The issue's case: 30 % of the fleet trips to 0 MW. Counting each asset's last
    reading (the old KPI) reports the pool on target while it physically is not; counting
    fresh readings only, the controller sees the loss, re-dispatches, and the truth agrees."""
    faults = parse_faults("trip:0.3@10s")
    stale = run_simulation(
        SimulationOptions(assets=60, duration_s=40, faults=faults, count_stale=True)
    )
    assert stale["tracking"]["met"] is True  # what the old report said
    assert stale["truth"]["met"] is False  # what the fleet did
    honest = run_simulation(SimulationOptions(assets=60, duration_s=40, faults=faults))
    assert honest["truth"]["met"] is True
    assert honest["recovery"][0]["recovered"] is True
    stale_back = stale["recovery"][0]["recovered_s"]
    assert stale_back is None or honest["recovery"][0]["recovered_s"] < stale_back
    assert honest["truth"]["rms_mw"] < stale["truth"]["rms_mw"] / 2


def test_unknown_assets_are_reported_and_never_counted_as_delivery() -> None:
    # No site meters here: nothing but the devices' own readings could account for them.
    report = run_simulation(
        SimulationOptions(
            assets=40, duration_s=20, faults=parse_faults("silence:4@5s"), site_size=0
        )
    )
    tracking = report["tracking"]
    assert tracking["unknown_assets"]["last"] == 4
    assert tracking["unknown_planned_mw"]["max"] > 0
    # The silent devices still inject: counted as lost, the pool over-delivers by their
    # power, which the truth shows and the controller's view cannot. (Behind site meters
    # their power is metered instead: test_dispatch_simulation.)
    assert report["truth"]["rms_mw"] > tracking["rms_mw"]


def test_end_to_end_latencies_are_reported() -> None:
    report = run_simulation(SimulationOptions(assets=20, duration_s=30))
    latency = report["latency"]
    for name in ("setpoint_to_ack", "setpoint_to_execution", "telemetry_age"):
        entry = latency[name]
        assert entry["count"] > 0, name
        assert 0 <= entry["p50_ms"] <= entry["p99_ms"] <= entry["max_ms"], name
    # Reads are spread over the second: the telemetry a tick uses is up to a period old.
    assert latency["telemetry_age"]["max_ms"] <= 1000.0
    assert latency["setpoint_to_execution"]["p50_ms"] >= latency["setpoint_to_ack"]["p50_ms"]
    assert report["truth"]["per_isp"]


def test_fake_meters_on_a_third_of_a_site_metered_fleet_are_found_and_nobody_else() -> None:
    """30 % of 400 assets report their setpoints instead of their power, three or so per
    site of ten: no honest asset is blamed, the meters keep the excluded devices' real
    power counted (truth in tolerance), and nearly all are named within 3 s of their lie
    first moving the meter, as the physics says (`KpiRecorder.fault_seen`), not the watch.

    Not all: PV plants frozen in the middle of a probe beside another liar of their site
    show nothing on the meter they share until one of them moves alone, and some windows
    keep a wrong estimate of an excluded liar's power (9 of 120 here, named 4 to 27 s
    later or not in the run). The watch's own account said 120 within 3 s."""
    report = run_simulation(
        SimulationOptions(assets=400, duration_s=60, faults=parse_faults("fake_meter:0.3@20s"))
    )
    faults = report["faults"]
    named = [f for f in faults if f["detected_s"] is not None]
    assert all(f["evidence"].split(":")[0] == "cross_check" for f in named)
    assert len(named) >= 119
    assert sum(f["detected_s"] <= 3.0 for f in named) >= 110
    assert report["unfaulted_failures"]["assets"] == 0
    assert report["states"].get("degraded", 0) == len(named)
    assert report["states"].get("quarantined", 0) == 0
    assert report["truth"]["met"]


@pytest.mark.parametrize("seed", [1, 2])
def test_an_honest_fleet_keeps_every_asset(seed: int) -> None:
    """No fault injected: probes, site meters and cross-checks blame nobody."""
    report = run_simulation(SimulationOptions(assets=400, duration_s=60, seed=seed))
    assert set(report["states"]) <= {"acknowledged", "executing", "available", "commanded"}
    assert report["truth"]["met"]
