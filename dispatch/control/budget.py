"""Protection against correlated failures: retry budgets and per-asset circuit breakers.

When thousands of assets fail together (a mobile network cell drops, a vendor cloud goes
down), retrying each one as fast as it fails floods the network and the gateways. Two
limits stop that:

- `TokenBucket` / `RetryBudgets`: retries draw a token from their pool's bucket *and* their
  protocol's bucket; in any window of `w` seconds a bucket grants at most `burst + rate·w`.
- `CircuitBreaker`: an asset that failed `failure_threshold` times in a row is not tried
  again until a cool-down passes (exponential backoff with full jitter); then one probe
  (a health check) decides whether it closes again.

Times `t` are monotonic seconds injected by the caller; the random source is injectable.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class BucketConfig:
    """A token bucket's refill rate [tokens/s] and capacity `burst` [tokens]."""

    rate_per_s: float
    burst: float

    def __post_init__(self) -> None:
        if self.rate_per_s < 0 or self.burst < 1:
            raise ValueError(f"need rate_per_s >= 0 and burst >= 1, got {self}")


class TokenBucket:
    """A token bucket, full at creation: grants at most `burst + rate·w` tokens in any window
    of `w` seconds. A `t` earlier than the last one refills nothing (and is not an error)."""

    def __init__(self, config: BucketConfig, t: float) -> None:
        self.config = config
        self._tokens = float(config.burst)
        self._last_t = t

    def available(self, t: float) -> float:
        """Tokens available at `t` (refills first)."""
        self._refill(t)
        return self._tokens

    def try_acquire(self, t: float, tokens: float = 1.0) -> bool:
        """Take `tokens` at `t` if there are enough; True if taken."""
        self._refill(t)
        if self._tokens >= tokens:
            self._tokens -= tokens
            return True
        return False

    def _refill(self, t: float) -> None:
        if t > self._last_t:
            self._tokens = min(
                float(self.config.burst),
                self._tokens + self.config.rate_per_s * (t - self._last_t),
            )
            self._last_t = t


@dataclass
class BudgetCounters:
    """Counts of retries granted and denied (and by which bucket), for metrics."""

    granted: int = 0
    denied_by_pool: int = 0
    denied_by_protocol: int = 0

    @property
    def denied(self) -> int:
        """All denials."""
        return self.denied_by_pool + self.denied_by_protocol


class RetryBudgets:
    """Retry token buckets per pool and per protocol; a retry needs a token from both.

    Buckets are created on first use (full) from `pools[pool]` / `protocols[protocol]`, or
    the defaults. `counters[(pool, protocol)]` count grants and denials.
    """

    def __init__(
        self,
        pool_default: BucketConfig,
        protocol_default: BucketConfig,
        pools: Mapping[str, BucketConfig] | None = None,
        protocols: Mapping[str, BucketConfig] | None = None,
    ) -> None:
        self._pool_default = pool_default
        self._protocol_default = protocol_default
        self._pool_configs = dict(pools or {})
        self._protocol_configs = dict(protocols or {})
        self._pools: dict[str, TokenBucket] = {}
        self._protocols: dict[str, TokenBucket] = {}
        self.counters: dict[tuple[str, str], BudgetCounters] = {}

    def try_acquire(self, pool: str, protocol: str, t: float) -> bool:
        """Take one retry token from both the pool's and the protocol's bucket at `t`; True if
        granted. Nothing is taken from either when one of them is empty."""
        pool_bucket = self._pools.get(pool)
        if pool_bucket is None:
            config = self._pool_configs.get(pool, self._pool_default)
            pool_bucket = self._pools[pool] = TokenBucket(config, t)
        proto_bucket = self._protocols.get(protocol)
        if proto_bucket is None:
            config = self._protocol_configs.get(protocol, self._protocol_default)
            proto_bucket = self._protocols[protocol] = TokenBucket(config, t)
        counters = self.counters.setdefault((pool, protocol), BudgetCounters())
        if pool_bucket.available(t) < 1.0:
            counters.denied_by_pool += 1
            return False
        if not proto_bucket.try_acquire(t):
            counters.denied_by_protocol += 1
            return False
        pool_bucket.try_acquire(t)
        counters.granted += 1
        return True


class BreakerState(StrEnum):
    """A circuit breaker's state."""

    CLOSED = "closed"
    """Normal: attempts allowed; consecutive failures counted."""
    OPEN = "open"
    """Tripped: no attempt until the cool-down ends."""
    HALF_OPEN = "half_open"
    """Cool-down over: one probe (a health check) in flight decides."""


@dataclass(frozen=True)
class BreakerConfig:
    """When a breaker trips and how long it stays open.

    - `failure_threshold`: consecutive failures that open it.
    - `base_cooldown_s` [s], `multiplier`, `max_cooldown_s` [s]: the n-th consecutive opening
      (n = 0, 1, ...) waits a uniformly random time in `[0, min(max, base·multiplier**n)]`
      (full jitter), so breakers tripped together do not probe together.
    - `probe_timeout_s` [s]: a probe not reported within this counts as failed.
    """

    failure_threshold: int = 3
    base_cooldown_s: float = 1.0
    multiplier: float = 2.0
    max_cooldown_s: float = 300.0
    probe_timeout_s: float = 10.0

    def ceiling_s(self, openings: int) -> float:
        """The upper bound [s] of the cool-down after `openings` earlier consecutive ones."""
        exponent = min(openings, 1024)
        try:
            raw = self.base_cooldown_s * self.multiplier**exponent
        except OverflowError:
            raw = math.inf
        return min(self.max_cooldown_s, raw)


@dataclass
class CircuitBreaker:
    """A circuit breaker for one asset (see `BreakerConfig`).

    Ask `allow(t)` before each attempt; report its outcome with `record_success(t)` or
    `record_failure(t)`. In HALF_OPEN, `allow` grants exactly one probe; if the caller then
    does not make the attempt (e.g. the retry budget said no), it must `release_probe()`.
    `rng` returns floats in [0, 1) (e.g. `random.Random(seed).random`).
    """

    config: BreakerConfig = field(default_factory=BreakerConfig)
    rng: Callable[[], float] = random.random
    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    openings: int = 0
    """Consecutive openings without a close: the backoff exponent."""
    reopen_at: float = 0.0
    """Monotonic time [s] at which an OPEN breaker admits a probe."""
    probe_started_at: float | None = None

    def allow(self, t: float) -> bool:
        """True if an attempt may be made at `t`; in HALF_OPEN this claims the one probe."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            if t < self.reopen_at:
                return False
            self.state = BreakerState.HALF_OPEN
        if self.probe_started_at is not None:
            if t - self.probe_started_at < self.config.probe_timeout_s:
                return False
            self._open(t)  # the probe never reported: a failure
            return False
        self.probe_started_at = t
        return True

    def release_probe(self) -> None:
        """Give back a probe claimed by `allow` but not attempted."""
        self.probe_started_at = None

    def record_success(self, t: float) -> None:
        """An attempt succeeded at `t`: reset the failure count; a probe closes the breaker.
        (A success reported while OPEN, e.g. a late answer, changes nothing.)"""
        if self.state is BreakerState.OPEN:
            return
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.openings = 0
        self.probe_started_at = None

    def record_failure(self, t: float) -> None:
        """An attempt failed at `t`: count it; trip after the threshold; a failed probe
        re-opens with a longer cool-down."""
        if self.state is BreakerState.OPEN:
            return
        if self.state is BreakerState.HALF_OPEN:
            self._open(t)
            return
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.config.failure_threshold:
            self._open(t)

    def _open(self, t: float) -> None:
        cooldown = self.rng() * self.config.ceiling_s(self.openings)
        self.state = BreakerState.OPEN
        self.reopen_at = t + cooldown
        self.openings += 1
        self.probe_started_at = None
