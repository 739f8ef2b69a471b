"""aFRR activation of the engine: the real German pattern, scaled to the band held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

from dispatch.clock import VirtualClock
from trading.engine.activation import (
    NO_ACTIVATION,
    ActivationPattern,
    PatternActivation,
    german_pattern,
)
from trading.engine.metering import integrate
from trading.engine.positions import BookEntry, PositionBook

T0 = datetime(2026, 6, 12, 22, 0, tzinfo=UTC)
PERIODS = pd.date_range(T0, periods=96, freq="15min")


def band(direction: str, mw: float) -> BookEntry:
    end = T0 + timedelta(hours=4)
    return BookEntry("b-" + direction, "afrr_capacity", "x", "NL", T0, end, mw, direction, "NL")


def test_each_quarter_hour_asks_the_patterns_energy_up_then_down() -> None:
    book = PositionBook(PERIODS, [band("pos", 4.0), band("neg", 2.0)])
    up, down = np.zeros(96), np.zeros(96)
    up[0], down[0] = 0.1, 0.25
    clock = VirtualClock(T0)
    source = PatternActivation(book, "NL", clock, ActivationPattern(up, down, "hand"))
    asked = []
    for second in range(0, 900, 30):
        clock._now = float(second)  # the clock stands at each sampled instant
        asked.append(source.activation_mw(float(second)))
    # up at 2 x 0.1 x 4 MW for 450 s, then down at 2 x 0.25 x 2 MW for 450 s
    assert asked[:15] == [pytest.approx(0.8)] * 15
    assert asked[15:] == [pytest.approx(-1.0)] * 15
    times = np.arange(0, 900, 30.0)
    up_mwh = integrate(times, np.maximum(asked, 0.0), [0.0, 900.0])[0]
    assert up_mwh == pytest.approx(0.1 * 4.0 * 0.25, rel=0.05)  # the pattern's share


def test_a_tick_gets_its_own_instants_activation_after_the_clock_moved_on() -> None:
    # On a scaled clock the clock runs on while a tick computes: the day's meter asks for
    # the activation after the pool did. Asked for the tick's time, both get the same value,
    # even across the half-hour flip from up to down and across a quarter-hour boundary.
    book = PositionBook(PERIODS, [band("pos", 4.0), band("neg", 2.0)])
    up, down = np.zeros(96), np.zeros(96)
    up[:2], down[:2] = 0.1, 0.25
    clock = VirtualClock(T0)
    source = PatternActivation(book, "NL", clock, ActivationPattern(up, down, "hand"))
    clock._now = 455.0  # the tick of t = 445 s is still computing, 10 s later
    assert source.activation_mw(445.0) == pytest.approx(0.8)  # first half: up
    clock._now = 903.0  # the quarter hour's last tick (t = 895 s) is observed in the next
    assert source.activation_mw(895.0) == pytest.approx(-1.0)  # second half: down
    assert source.activation_mw(903.0) == pytest.approx(0.8)  # the next quarter hour's up


def test_no_band_held_no_activation() -> None:
    book = PositionBook(PERIODS, [])
    clock = VirtualClock(T0)
    pattern = ActivationPattern(np.full(96, 0.5), np.full(96, 0.5), "hand")
    assert PatternActivation(book, "NL", clock, pattern).activation_mw(0.0) == 0.0


def test_without_the_data_there_is_no_activation_and_it_says_so(tmp_path) -> None:
    assert german_pattern(tmp_path) is NO_ACTIVATION
    assert "not found" in NO_ACTIVATION.source


@pytest.mark.realdata
def test_the_german_week_activates_a_small_share_of_the_band() -> None:
    pattern = german_pattern(SHARED_DATA)
    assert pattern is not NO_ACTIVATION
    assert len(pattern.up) == 96
    assert 0.01 < pattern.up.mean() < 0.2
    assert 0.01 < pattern.down.mean() < 0.2
    assert "SMARD" in pattern.source
