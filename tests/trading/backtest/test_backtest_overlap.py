"""The next day planned on a second thread: used only when started from the inputs the
day is planned from, errors raised where the plan is taken, and a run's days after the
first planned while the day before is booked."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest
from backtest_runs import generated_prices, portfolio

import trading.backtest.run as run_module
from trading.backtest import BacktestConfig, run_backtest
from trading.backtest.overlap import NextDay

DAY = date(2026, 5, 1)


def test_a_plan_started_from_the_same_inputs_is_taken_from_the_thread() -> None:
    state, carried = object(), object()
    with NextDay[str]() as ahead:
        ahead.start(DAY, (state, carried), lambda: threading.current_thread().name)
        planned_in = ahead.take(DAY, (state, carried), lambda: "caller")
    assert planned_in.startswith("backtest-next-day")
    assert (ahead.used, ahead.discarded) == (1, 0)


def test_a_plan_started_from_replaced_inputs_is_thrown_away_and_planned_again() -> None:
    """The booking replaced the state (a skipped day keeps the old one): the plan started
    from the new state must not be used, and must have finished before the new one runs."""
    finished = threading.Event()

    def slow() -> str:
        time.sleep(0.2)
        finished.set()
        return "ahead"

    old, new = [1.0], [1.0]  # equal in value, not the same object
    with NextDay[str]() as ahead:
        ahead.start(DAY, (new,), slow)
        got = ahead.take(DAY, (old,), lambda: "again" if finished.is_set() else "overlapped")
        other_day = NextDay[str]()
        other_day.start(DAY, (old,), lambda: "ahead")
        assert other_day.take(DAY + timedelta(days=1), (old,), lambda: "again") == "again"
        other_day.close()
    assert got == "again"
    assert (ahead.used, ahead.discarded) == (0, 1)


def test_an_error_while_planning_ahead_is_raised_where_the_plan_is_taken() -> None:
    def fails() -> str:
        raise ValueError("no price for 2026-05-01T09:00Z")

    inputs = (object(),)
    with NextDay[str]() as ahead:
        ahead.start(DAY, inputs, fails)
        with pytest.raises(ValueError, match="2026-05-01T09:00Z"):
            ahead.take(DAY, inputs, lambda: "caller")


def test_a_run_plans_each_day_after_the_first_while_the_day_before_is_booked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    planned_on: dict[date, str] = {}
    real = run_module.optimise

    def recording(portfolio, day, *args, **kwargs):  # type: ignore[no-untyped-def]
        planned_on[day] = threading.current_thread().name
        return real(portfolio, day, *args, **kwargs)

    monkeypatch.setattr(run_module, "optimise", recording)
    start = date(2026, 6, 13)
    config = BacktestConfig(start, start + timedelta(days=2), markets=("day_ahead",))
    result = run_backtest(portfolio(), generated_prices(start, 3), config)
    assert list(result.days["status"]) == ["optimal"] * 3
    assert planned_on[start] == threading.current_thread().name
    assert all(
        planned_on[start + timedelta(days=k)].startswith("backtest-next-day") for k in (1, 2)
    )
