"""`vpp simulate`: KPIs as text and JSON; bad options exit 2 naming them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from trading.cli import app

runner = CliRunner()


def test_simulate_json_carries_the_documented_kpis() -> None:
    result = runner.invoke(
        app,
        ["simulate", "--assets", "20", "--duration", "30", "--faults", "outage:2@10s", "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["assets"] == 20
    assert report["duration_s"] == 30
    assert set(report["ticks"]) >= {"count", "p50_ms", "p99_ms", "max_ms", "missed"}
    assert set(report["tracking"]) >= {"rms_mw", "isp_deviation_pct", "unknown_assets"}
    assert set(report["truth"]) >= {"rms_mw", "max_abs_mw", "isp_deviation_pct", "per_isp"}
    for name in ("setpoint_to_ack", "setpoint_to_execution", "telemetry_age"):
        assert set(report["latency"][name]) == {"count", "p50_ms", "p99_ms", "max_ms"}
    assert report["ticks"]["missed"] == 0
    assert len(report["faults"]) == 2
    for fault in report["faults"]:
        assert set(fault) >= {
            "asset",
            "kind",
            "injected_at_s",
            "detected_s",
            "evidence",
            "recovered",
            "recovered_s",
            "why",
        }
        assert fault["kind"] == "silence"  # "outage" is its older name
        assert fault["injected_at_s"] == 10
        assert fault["detected_s"] <= 3
    assert report["commands_per_s"] > 0


def test_simulate_prints_the_kpis_and_the_faults() -> None:
    result = runner.invoke(
        app, ["simulate", "--assets", "10", "--duration", "20", "--faults", "firmware:1@5s"]
    )
    assert result.exit_code == 0, result.output
    assert "10 assets, 20 s" in result.stdout
    assert "0 missed" in result.stdout
    assert "firmware" in result.stdout
    assert "quarantined" in result.stdout
    assert "setpoint to acknowledgement: p50" in result.stdout
    assert "truth (what the fleet physically did)" in result.stdout


def test_bad_faults_and_speed_with_modbus_exit_2() -> None:
    bad = runner.invoke(app, ["simulate", "--faults", "meltdown:1@2s"])
    assert bad.exit_code == 2
    assert "--faults" in bad.output
    assert "meltdown" in bad.output
    modbus = runner.invoke(app, ["simulate", "--modbus", "--speed", "10"])
    assert modbus.exit_code == 2
    assert "--speed" in modbus.output
