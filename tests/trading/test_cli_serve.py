"""`vpp serve` refuses bad options before it serves anything, naming the option."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trading.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--clock-start", "tomorrow"], "--clock-start='tomorrow'"),
        (["--clock-start", "2026-06-14T09:45:00"], "with an offset"),  # naive: no zone
        (["--clock-speed", "60"], "--clock-speed needs --clock-start"),
        (["--prices", "/no/such/folder"], "--prices /no/such/folder"),
        (["--tso", "smoke"], "--tso='smoke' must be one of loopback, iec104"),
        (["--tso", "iec104", "--no-engine"], "--tso iec104: the engine's pools take"),
        (["--tso-port", "70000"], "--tso-port"),
    ],
)
def test_bad_serve_options_exit_2_naming_the_option(
    tmp_path: Path, args: list[str], named: str
) -> None:
    url = f"sqlite:///{tmp_path / 'never.sqlite3'}"
    result = runner.invoke(app, ["serve", "--db", url, "--port", "1", *args])
    assert result.exit_code == 2
    assert named in result.output
    assert not (tmp_path / "never.sqlite3").exists()  # nothing was started


def test_a_scaled_clock_runs_from_its_start_at_its_speed() -> None:
    from datetime import UTC, datetime, timedelta

    from trading.exchange.clock import ScaledClock

    real = [1000.0]
    clock = ScaledClock(datetime(2026, 6, 14, 9, 45, tzinfo=UTC), 60, monotonic=lambda: real[0])
    assert clock.now() == datetime(2026, 6, 14, 9, 45, tzinfo=UTC)
    real[0] += 15
    assert clock.now() == datetime(2026, 6, 14, 10, 0, tzinfo=UTC)
    assert clock.now() - datetime(2026, 6, 14, 9, 45, tzinfo=UTC) == timedelta(minutes=15)
    with pytest.raises(ValueError, match="speed=0"):
        ScaledClock(datetime(2026, 6, 14, tzinfo=UTC), 0)


def test_a_tso_setting_the_server_cannot_use_exits_2_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad ``VPP_TSO``; ``iec104`` without the extra (c104 made unimportable)."""
    url = f"sqlite:///{tmp_path / 'never.sqlite3'}"
    monkeypatch.setenv("VPP_TSO", "smoke")
    result = runner.invoke(app, ["serve", "--db", url, "--port", "1"])
    assert result.exit_code == 2
    assert "VPP_TSO='smoke'" in result.output
    monkeypatch.delenv("VPP_TSO")
    monkeypatch.setitem(sys.modules, "c104", None)  # import c104 now raises ImportError
    for name in ("links", "station", "transport"):
        monkeypatch.delitem(sys.modules, f"dispatch.protocols.iec104.{name}", raising=False)
    result = runner.invoke(app, ["serve", "--db", url, "--port", "1", "--tso", "iec104"])
    assert result.exit_code == 2
    assert "pip install 'vpp-engine[iec104]'" in result.output
    assert not (tmp_path / "never.sqlite3").exists()
