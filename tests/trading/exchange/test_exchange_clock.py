"""The clocks an exchange reads: UTC, timezone-aware, a manual one that only moves forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from trading.exchange import Clock, ManualClock, SystemClock


def test_the_system_clock_tells_utc() -> None:
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)
    assert isinstance(SystemClock(), Clock)


def test_a_manual_clock_keeps_local_starts_in_utc_and_moves_when_told() -> None:
    clock = ManualClock(datetime(2026, 3, 29, 1, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    assert clock.now() == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    assert clock.advance(timedelta(hours=1)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert clock.advance_to(datetime(2026, 3, 30, tzinfo=UTC)) == clock.now()


def test_a_manual_clock_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="naive"):
        ManualClock(datetime(2026, 3, 29))


def test_a_manual_clock_never_goes_back() -> None:
    clock = ManualClock(datetime(2026, 3, 29, tzinfo=UTC))
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match=r"before now \(2026-03-29T00:00:00Z\)"):
        clock.advance_to(datetime(2026, 3, 28, tzinfo=UTC))
