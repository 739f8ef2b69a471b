"""`vpp simulate --day`: bad input is refused naming the option, the value and the rule."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from trading.cli import app
from trading.engine.loop import FlagChange, parse_day_faults, parse_flag_changes

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
        (
            ["--day", "2026-06-13", "--tso", "pigeon"],
            "--tso='pigeon': must be one of loopback, iec104",
        ),
        (["--day", "2026-06-13", "--tso", "iec104"], "--tso=iec104: needs --speed"),
        (["--tso", "iec104"], "--tso, --flag, --rows and --no-baseline go with --day"),
        (
            ["--day", "2026-06-13", "--flag", "NL:afrr_activation=off"],
            "--flag='NL:afrr_activation=off': must be POOL:FLAG=VALUE@TIME",
        ),
        (
            ["--day", "2026-06-13", "--flag", "XX:afrr_activation=off@1h"],
            "pool 'XX' is not one of the portfolio's pools (bidding zones): AT, BE, DE_LU, FR, NL",
        ),
        (
            ["--day", "2026-06-13", "--flag", "NL:afrr_activation=maybe@1h"],
            "must be one of on, off",
        ),
        (
            ["--day", "2026-06-13", "--flag", "NL:warp_drive=on@1h"],
            "warp_drive",
        ),
        (
            ["--day", "2026-06-13", "--hours", "2", "--flag", "NL:afrr_activation=off@3h"],
            "--flag='NL:afrr_activation=off@10800s': the change falls after the 2 h delivered",
        ),
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


def test_flag_changes_take_seconds_or_hours_of_the_day_in_time_order() -> None:
    changes = parse_flag_changes(["NL:afrr_activation=on@1.5h", "DE_LU:afrr_activation=off@90s"])
    assert changes == [
        FlagChange("DE_LU", "afrr_activation", "off", 90.0),
        FlagChange("NL", "afrr_activation", "on", 5400.0),
    ]


def test_iec104_without_the_extra_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # c104 made unimportable, as on an install without vpp-engine[iec104]
    monkeypatch.setitem(sys.modules, "c104", None)
    monkeypatch.delitem(sys.modules, "dispatch.protocols.iec104.transport", raising=False)
    result = runner.invoke(
        app, ["simulate", "--day", "2026-06-13", "--tso", "iec104", "--speed", "60"]
    )
    assert result.exit_code == 2
    assert "--tso=iec104: needs the optional extra vpp-engine[iec104] (c104, GPL-3.0)" in (
        result.output
    )
