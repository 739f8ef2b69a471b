"""`vpp simulate --day`: bad input is refused naming the option, the value and the rule."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from trading.cli import app
from trading.engine.loop import parse_day_faults

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--day", "13.06.2026"], "--day='13.06.2026': must be a date YYYY-MM-DD"),
        (["--day", "2026-06-13", "--faults", "trip:0.1@noon"], "--faults="),
        (["--day", "2026-06-13", "--modbus"], "--modbus"),
        (
            ["--day", "2026-06-13", "--modbus"],
            "--speed=None: is required with --modbus: Modbus devices answer in real time",
        ),
        (["--day", "2026-06-13", "--hours", "0.3"], "--hours=0.3: must be whole quarter hours"),
        (["--day", "2026-06-13", "--hours", "25"], "--hours=25.0: must be whole quarter hours"),
        (
            ["--day", "2026-06-13", "--hours", "2", "--faults", "trip:0.1@12h"],
            "a fault at 43200 s falls after the 2 h delivered",
        ),
        (["--hours", "2"], "--hours=2: goes with --day"),
        (["--portfolio", "data/sample_portfolio.yaml"], "--portfolio and --prices go with --day"),
        (["--day", "2026-06-13", "--prices", "/nonexistent"], "--prices='/nonexistent'"),
    ],
)
def test_bad_input_exits_2_naming_it(args: list[str], named: str) -> None:
    result = runner.invoke(app, ["simulate", *args])
    assert result.exit_code == 2
    assert named in result.output


def test_fault_times_may_be_hours_of_the_day() -> None:
    (spec,) = parse_day_faults("trip:0.1@12h")
    assert (spec.kind, spec.amount, spec.at_s) == ("trip", 0.1, 43200.0)
    (spec,) = parse_day_faults("silence:2/battery@90s")
    assert (spec.at_s, spec.asset_kind) == (90.0, "battery")
