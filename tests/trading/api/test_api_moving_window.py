"""The rate limiter's moving window: never more than its limit within any window, per key."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.api.moving_window import SWEEP_EVERY, MovingWindow


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_hit_over_the_limit_is_refused_until_the_oldest_leaves_the_window() -> None:
    clock = _Clock()
    window = MovingWindow(3, 1.0, clock)
    assert [window.hit("acme") for _ in range(4)] == [True, True, True, False]
    assert window.hit("other")  # keys are counted apart
    clock.now += 0.25
    assert not window.test("acme")
    assert window.reset_in("acme") == pytest.approx(0.75)
    clock.now += 0.75
    assert window.test("acme")
    assert window.reset_in("acme") == 0.0
    assert window.hit("acme")


@given(st.lists(st.floats(min_value=0.0, max_value=0.5), min_size=1, max_size=200))
def test_no_window_ever_holds_more_than_the_limit(gaps: list[float]) -> None:
    clock = _Clock()
    window = MovingWindow(5, 1.0, clock)
    counted: list[float] = []
    for gap in gaps:
        clock.now += gap
        if window.hit("k"):
            counted.append(clock.now)
    for start in counted:
        assert sum(start <= t < start + 1.0 for t in counted) <= 5


def test_idle_keys_are_forgotten() -> None:
    clock = _Clock()
    window = MovingWindow(SWEEP_EVERY + 1, 1.0, clock)
    window.hit("idle")
    clock.now += 2.0
    for _ in range(SWEEP_EVERY):
        window.hit("busy")
    assert "idle" not in window._hits


def test_threads_hitting_at_once_get_exactly_the_limit() -> None:
    window = MovingWindow(1000, 60.0)
    admitted: list[bool] = []
    lock = threading.Lock()

    def knock() -> None:
        got = [window.hit("t") for _ in range(250)]
        with lock:
            admitted.extend(got)

    threads = [threading.Thread(target=knock) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == 1000


def test_a_window_without_room_or_time_is_refused() -> None:
    with pytest.raises(ValueError, match="limit=0"):
        MovingWindow(0, 1.0)
