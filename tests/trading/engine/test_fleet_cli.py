"""`vpp serve --fleet FILE`: a bad fleet file is refused before the server starts, naming
every broken rule."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from trading.cli import app

runner = CliRunner()


def test_a_bad_fleet_file_exits_2_naming_each_problem(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "portfolio: essen\n"
        "assets:\n"
        "  - {asset_id: bat-de-essen-01, host: 10.0.0.1, port: 70000}\n"
        "  - {asset_id: pv-de-essen-roof, host: 10.0.0.2, port: 502, unit_id: -1}\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--fleet", str(fleet)]
    )
    assert result.exit_code == 2
    assert "--fleet: fleet file" in result.output
    assert "assets[0].port=70000: Input should be less than or equal to 65535" in result.output
    assert "assets[1].unit_id=-1: Input should be greater than or equal to 0" in result.output
    assert not (tmp_path / "x.db").exists()  # refused before anything started


def test_a_fleet_without_the_engine_is_refused(tmp_path: Path) -> None:
    fleet = Path(__file__).resolve().parents[3] / "examples" / "fleet_sample_nl.yaml"
    result = runner.invoke(app, ["serve", "--no-engine", "--fleet", str(fleet)])
    assert result.exit_code == 2
    assert "--fleet: the engine dispatches the fleet; not with --no-engine" in result.output
