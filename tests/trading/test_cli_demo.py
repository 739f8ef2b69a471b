"""`vpp demo` and the installed `vpp` console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from trading.cli import app
from trading.samples import SAMPLE_PRICE_DAY, sample_portfolio_path

LAUSITZ_LATER = "bat-de-lausitz (commissioned 2027-02-01)"
"""The sample battery commissioned after every day the demo shows."""


@pytest.fixture(scope="module")
def demo_output() -> str:
    """What `vpp demo --on 2026-01-15` prints (it runs the optimiser once, so it is shared)."""
    result = CliRunner().invoke(app, ["demo", "--on", "2026-01-15"])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_shows_every_asset_and_the_twin_battery(demo_output: str) -> None:
    assert "23 assets on 15 sites in AT, BE, DE, FR, NL" in demo_output
    assert "Same battery, different countries: bat-de-essen-01, bat-nl-rotterdam-01" in (
        demo_output
    )
    assert "control_area=Amprion" in demo_output
    assert "country=NL" in demo_output


def test_demo_names_the_sample_battery_not_yet_in_service_on_each_of_its_days(
    demo_output: str,
) -> None:
    for day in ("2026-01-15", SAMPLE_PRICE_DAY):
        assert f"Not in service on {day} (not traded or dispatched that day): {LAUSITZ_LATER}" in (
            demo_output
        )
    assert (
        "Left out of the fleet: bat-de-lausitz (not in service on "
        f"{SAMPLE_PRICE_DAY}: commissioned 2027-02-01)"
    ) in demo_output
    # 15 batteries, PV, wind and CHP in the sample, one of them not yet commissioned.
    assert "14 batteries, PV, wind and CHP as simulated devices" in demo_output


def test_demo_counts_only_assets_in_service_as_eligible_for_the_markets(
    demo_output: str,
) -> None:
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    zone_of_site = {s["id"]: s["bidding_zone"] for s in document["sites"]}
    in_de_lu = [a for a in document["assets"] if zone_of_site[a["site"]] == "DE_LU"]
    (day_ahead_row,) = [
        line
        for line in demo_output.splitlines()
        if line.startswith("│ DE ") and "day_ahead" in line
    ]
    eligible = day_ahead_row.split("│")[-3].strip()
    assert eligible == str(len(in_de_lu) - 1)


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
