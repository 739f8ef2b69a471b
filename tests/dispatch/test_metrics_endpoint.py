"""`vpp simulate --metrics-port`: an operator scrapes /metrics over HTTP while it dispatches."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import structlog
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from trading.cli import app

ASSETS = 20


def _scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        text = answer.read().decode()
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def test_a_scrape_during_vpp_simulate_shows_ticks_commands_power_and_states() -> None:
    command = [
        sys.executable,
        "-m",
        "trading.cli",
        "simulate",
        "--assets",
        str(ASSETS),
        "--duration",
        "10",
        "--speed",
        "1",
        "--metrics-port",
        "0",
        "--json",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.startswith("metrics: http://127.0.0.1:"), line
        url = line.split(" ", 1)[1].strip()
        deadline = time.monotonic() + 20
        scraped: dict[str, list[tuple[dict[str, str], float]]] = {}
        while time.monotonic() < deadline:  # until a few ticks have run
            scraped = _scrape(url)
            ticks = scraped.get("vpp_dispatch_tick_seconds_count", [])
            if ticks and ticks[0][1] >= 3:
                break
            time.sleep(0.5)
        assert process.poll() is None, "the scrape happened while dispatching"
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    report = json.loads(stdout)
    (tick_labels, tick_count), *_ = scraped["vpp_dispatch_tick_seconds_count"]
    assert tick_labels == {"pool": "pool-1"}
    assert 3 <= tick_count < report["ticks"]["count"]  # seen mid-run, not at the end
    commands = scraped["vpp_dispatch_commands_total"]
    assert {labels["market"] for labels, _ in commands} <= {"schedule", "afrr"}
    assert sum(value for _, value in commands) >= ASSETS  # every asset got its setpoint
    power = scraped["vpp_dispatch_asset_power_mw"]
    assert len(power) == ASSETS
    assert all(set(labels) == {"pool", "zone", "asset", "protocol"} for labels, _ in power)
    assert sum(value for _, value in power) > 0  # a fleet at its plan injects
    states = {labels["asset"]: labels["state"] for labels, _ in scraped["vpp_dispatch_asset_state"]}
    assert len(states) == ASSETS
    assert set(states.values()) <= {"available", "commanded", "acknowledged", "executing"}
    counts = {labels["state"]: value for labels, value in scraped["vpp_dispatch_assets"]}
    assert sum(counts.values()) == ASSETS


def test_a_taken_metrics_port_is_refused_in_one_line_before_dispatching() -> None:
    saved = structlog.get_config()  # the command points events at the runner's stderr
    try:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = CliRunner().invoke(
                app, ["simulate", "--assets", "2", "--duration", "5", "--metrics-port", str(port)]
            )
    finally:
        structlog.configure(**saved)  # which is closed once it returns
    assert result.exit_code == 2
    assert f"error: --metrics-port: cannot serve /metrics on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
    assert "ticks" not in result.output  # nothing was dispatched
