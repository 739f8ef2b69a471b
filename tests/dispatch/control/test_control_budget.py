"""Retry budgets and circuit breakers: a mass failure cannot turn into a retry storm."""

from __future__ import annotations

import bisect
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.control.budget import (
    BreakerConfig,
    BreakerState,
    BucketConfig,
    CircuitBreaker,
    RetryBudgets,
    TokenBucket,
)


@given(
    rate=st.floats(0, 50),
    burst=st.integers(1, 50),
    gaps=st.lists(st.floats(0, 0.5), min_size=1, max_size=200),
    window=st.floats(0.01, 10),
)
def test_bucket_grants_at_most_burst_plus_rate_times_window(rate, burst, gaps, window) -> None:
    bucket = TokenBucket(BucketConfig(rate, burst), t=0.0)
    t, granted = 0.0, []
    for gap in gaps:
        t += gap
        if bucket.try_acquire(t):
            granted.append(t)
    for i, start in enumerate(granted):
        in_window = sum(1 for g in granted[i:] if g <= start + window)
        assert in_window <= burst + rate * window + 1e-9


def test_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(BucketConfig(rate_per_s=2, burst=3), t=0.0)
    assert [bucket.try_acquire(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.try_acquire(0.5)
    assert not bucket.try_acquire(0.5)
    assert bucket.available(100.0) == 3


def test_retry_draws_from_pool_and_protocol_budgets() -> None:
    budgets = RetryBudgets(
        pool_default=BucketConfig(1, 5),
        protocol_default=BucketConfig(100, 100),
        protocols={"modbus": BucketConfig(1, 3)},
    )
    # modbus allows 3: the pool keeps the other 2 for its inproc assets.
    assert [budgets.try_acquire("p1", "modbus", 0.0) for _ in range(4)] == [True] * 3 + [False]
    assert [budgets.try_acquire("p1", "inproc", 0.0) for _ in range(3)] == [True, True, False]
    assert budgets.try_acquire("p2", "inproc", 0.0)  # another pool, its own budget
    modbus, inproc = budgets.counters[("p1", "modbus")], budgets.counters[("p1", "inproc")]
    assert (modbus.granted, modbus.denied_by_protocol, modbus.denied_by_pool) == (3, 1, 0)
    assert (inproc.granted, inproc.denied_by_pool, inproc.denied) == (2, 1, 1)


def test_mass_failure_retries_stay_within_budget() -> None:
    """3,000 of 10,000 assets fail at once and keep failing for a minute. Every retry needs
    the breaker's and the budget's consent; retries per second never exceed rate + burst."""
    rate, burst = 50.0, 100
    budgets = RetryBudgets(BucketConfig(rate, burst), BucketConfig(1_000, 1_000))
    rng = random.Random(42)
    cfg = BreakerConfig(failure_threshold=3, base_cooldown_s=1.0, max_cooldown_s=30.0)
    failing = [CircuitBreaker(cfg, rng.random) for _ in range(3_000)]
    # Each failing asset already failed its first write at t=0; it retries from t=0.1.
    for breaker in failing:
        breaker.record_failure(0.0)
    granted: list[float] = []
    denied = 0
    dt = 0.1
    for k in range(1, 601):
        t = round(k * dt, 6)
        for breaker in failing:
            if not breaker.allow(t):
                continue
            if not budgets.try_acquire("pool-de", "modbus", t):
                breaker.release_probe()
                denied += 1
                continue
            granted.append(t)
            breaker.record_failure(t)  # the device is still down
    # Any one-second window, aligned or not: at most rate + burst retries.
    for i, start in enumerate(granted):
        assert bisect.bisect_left(granted, start + 1.0, lo=i) - i <= rate + burst
    # The budget held the line (many retries refused) yet was used, not starved.
    assert denied > len(granted)
    assert len(granted) >= burst + rate * 59
    counters = budgets.counters[("pool-de", "modbus")]
    assert (counters.granted, counters.denied) == (len(granted), denied)


def test_breaker_opens_after_consecutive_failures_and_probes_once() -> None:
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=3, base_cooldown_s=4.0), lambda: 0.5)
    breaker.record_failure(0.0)
    breaker.record_success(0.5)  # a success resets the count
    for t in (1.0, 2.0):
        breaker.record_failure(t)
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure(3.0)
    assert breaker.state is BreakerState.OPEN
    assert breaker.reopen_at == 3.0 + 0.5 * 4.0
    assert not breaker.allow(4.9)
    assert breaker.allow(5.0)  # the probe
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow(5.1)  # only one probe at a time
    breaker.record_success(6.0)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow(6.0)


def test_failed_probes_back_off_exponentially_up_to_the_cap() -> None:
    cfg = BreakerConfig(failure_threshold=1, base_cooldown_s=1.0, multiplier=2, max_cooldown_s=10)
    breaker = CircuitBreaker(cfg, lambda: 0.999)
    t = 0.0
    breaker.record_failure(t)
    waits = []
    for _ in range(7):
        waits.append(breaker.reopen_at - t)
        t = breaker.reopen_at
        assert breaker.allow(t)
        breaker.record_failure(t)
    assert waits == pytest.approx([0.999 * c for c in [1, 2, 4, 8, 10, 10, 10]])
    breaker.allow(breaker.reopen_at)
    breaker.record_success(breaker.reopen_at)
    breaker.record_failure(100.0)  # after a close, the backoff starts over
    assert breaker.reopen_at - 100.0 == pytest.approx(0.999)


def test_seeded_breaker_timings_are_reproducible() -> None:
    def reopen_times(seed: int) -> list[float]:
        breaker = CircuitBreaker(BreakerConfig(failure_threshold=1), random.Random(seed).random)
        times, t = [], 0.0
        breaker.record_failure(t)
        for _ in range(5):
            times.append(breaker.reopen_at)
            t = breaker.reopen_at
            breaker.allow(t)
            breaker.record_failure(t)
        return times

    assert reopen_times(7) == reopen_times(7)
    assert reopen_times(7) != reopen_times(8)


@given(seed=st.integers(0, 2**32), openings=st.integers(0, 40))
def test_jitter_is_bounded_by_the_ceiling(seed, openings) -> None:
    cfg = BreakerConfig(failure_threshold=1, base_cooldown_s=0.5, max_cooldown_s=60)
    breaker = CircuitBreaker(cfg, random.Random(seed).random, openings=openings)
    breaker.record_failure(10.0)
    wait = breaker.reopen_at - 10.0
    assert 0.0 <= wait <= min(60.0, 0.5 * 2**openings)


def test_a_probe_that_never_reports_counts_as_failed() -> None:
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=1, probe_timeout_s=5), lambda: 0.0)
    breaker.record_failure(0.0)
    assert breaker.allow(0.0)
    assert not breaker.allow(4.9)
    assert not breaker.allow(5.0)  # timed out: open again, one opening more
    assert breaker.state is BreakerState.OPEN
    assert breaker.openings == 2
