"""`vpp demo` and the installed `vpp` console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from trading.cli import app


def test_demo_shows_every_asset_and_the_twin_battery() -> None:
    result = CliRunner().invoke(app, ["demo", "--on", "2026-01-15"])
    assert result.exit_code == 0, result.output
    assert "23 assets on 15 sites in AT, BE, DE, FR, NL" in result.output
    assert "Same battery, different countries: bat-de-essen-01, bat-nl-rotterdam-01" in (
        result.output
    )
    assert "control_area=Amprion" in result.output
    assert "country=NL" in result.output


def test_installed_console_script_runs_and_exits_with_codes(tmp_path: Path) -> None:
    vpp = shutil.which("vpp", path=str(Path(sys.executable).parent))
    assert vpp is not None, "the vpp console script is not installed next to this Python"
    ok = subprocess.run([vpp, "demo"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "Assets and their treatment" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n")
    failed = subprocess.run(
        [vpp, "portfolio", "validate", str(bad)], capture_output=True, text=True, timeout=120
    )
    assert failed.returncode == 2
    assert "malformed YAML" in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr
