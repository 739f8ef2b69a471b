"""`vpp tso simulate`: the pattern's steps by German quarter hour, and every bad input named.

The command against a served pool's station is tested end to end in
tests/e2e/test_serve_tso.py (real server, real IEC 104 link).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from typer.testing import CliRunner

from trading.cli import app
from trading.engine.activation import ActivationPattern, pattern_share_steps

runner = CliRunner()

SLOTS = np.arange(96) / 200.0
"""A pattern whose share up in slot k is k / 200 and down (k + 1) / 400: each step names
the local quarter hour it was taken from."""
PATTERN = ActivationPattern(SLOTS.copy(), (np.arange(96) + 1) / 400.0, "test slots")


def test_each_half_quarter_asks_twice_the_patterns_share_of_its_german_quarter_hour() -> None:
    start = datetime(2026, 6, 14, 15, 0, 47, tzinfo=UTC)  # 17:00:47 CEST: slot 68
    steps = pattern_share_steps(PATTERN, start, 900.0)
    assert [(s.at_s, s.setpoint_mw) for s in steps] == [
        (0.0, 2 * 68 / 200),  # the first half is under way: at once
        (450.0 - 47.0, -2 * 69 / 400),
        (900.0 - 47.0, 2 * 69 / 200),  # 17:15 CEST: slot 69
        (900.0, None),  # then the link is dropped
    ]


def test_a_start_in_the_second_half_skips_the_first() -> None:
    start = datetime(2026, 6, 14, 15, 10, tzinfo=UTC)
    steps = pattern_share_steps(PATTERN, start, 300.0)
    assert [(s.at_s, s.setpoint_mw) for s in steps] == [(0.0, -2 * 69 / 400), (300.0, None)]


def test_a_share_beyond_half_asks_the_whole_band_not_more() -> None:
    full = ActivationPattern(np.full(96, 0.8), np.full(96, 0.6), "busy")
    steps = pattern_share_steps(full, datetime(2026, 6, 14, 15, 0, tzinfo=UTC), 900.0)
    assert [s.setpoint_mw for s in steps] == [1.0, -1.0, None]


def test_on_dst_days_quarters_count_from_local_midnight_as_the_engine_counts() -> None:
    # autumn: 01:00Z is 02:00 CET, the 13th quarter hour of a 100-quarter day (00:00 CEST
    # was 22:00Z): the engine's PatternActivation asks slot 12 there, not 8 (wall clock)
    autumn = pattern_share_steps(PATTERN, datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 900.0)
    assert autumn[0].setpoint_mw == 2 * 12 / 200
    # spring: 01:00Z is 03:00 CEST, two hours after midnight on a 92-quarter day: slot 8,
    # not 12 (wall clock)
    spring = pattern_share_steps(PATTERN, datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 900.0)
    assert spring[0].setpoint_mw == 2 * 8 / 200


def test_a_duration_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="duration_s=0"):
        pattern_share_steps(PATTERN, datetime(2026, 6, 14, tzinfo=UTC), 0.0)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ([], "--steps/--pattern"),
        (["--steps", "1@0s,drop@5s", "--pattern", "de"], "--steps/--pattern"),
        (["--steps", "1MW@0s"], "'1MW@0s' is not MW@Ts"),
        (["--steps", "1@0s,drop@5s", "--duration", "60"], "--duration"),
        (["--pattern", "fr", "--duration", "60"], "--pattern='fr'"),
        (["--pattern", "de"], "--duration"),
        (["--steps", "1@0s,drop@5s", "--clock-speed", "10"], "needs --clock-start"),
        (["--steps", "1@0s,drop@5s", "--clock-start", "15:00"], "--clock-start='15:00'"),
    ],
)
def test_bad_input_exits_2_naming_the_option_and_the_rule(args: list[str], named: str) -> None:
    result = runner.invoke(app, ["tso", "simulate", "--port", "2404", *args])
    assert result.exit_code == 2, result.output
    assert named in result.output


def test_a_host_that_does_not_resolve_exits_2_naming_it() -> None:
    pytest.importorskip("c104", reason="the iec104 extra (c104) is not installed")
    result = runner.invoke(
        app, ["tso", "simulate", "--port", "2404", "--host", "no-such-host.invalid",
              "--steps", "1@0s,drop@1s"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--host='no-such-host.invalid'" in result.output


def test_a_station_that_does_not_answer_exits_3_and_says_where() -> None:
    pytest.importorskip("c104", reason="the iec104 extra (c104) is not installed")
    from dispatch.protocols.iec104.link import free_port

    port = free_port()
    result = runner.invoke(app, ["tso", "simulate", "--port", str(port), "--steps", "1@0s,drop@1s"])
    assert result.exit_code == 3, result.output
    assert f"127.0.0.1:{port} cannot be reached" in result.output
