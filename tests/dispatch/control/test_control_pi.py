"""The pool's PI correction: tracks without steady-state error, recovers from saturation,
never leaves its bounds or moves faster than its rate limit."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.control.pi import PIConfig, PIController

DT = 0.5  # control tick [s]


class FirstOrderPool:
    """A pool that reaches `gain × command + offset` with time constant `tau_s` — the fleet
    under-delivers (gain < 1) and has an unmodelled load (offset), so the feed-forward alone
    leaves an error the PI must remove."""

    def __init__(self, tau_s: float = 4.0, gain: float = 0.8, offset_mw: float = -1.0) -> None:
        self.tau_s, self.gain, self.offset_mw = tau_s, gain, offset_mw
        self.power_mw = 0.0

    def step(self, command_mw: float, dt: float) -> float:
        goal = self.gain * command_mw + self.offset_mw
        self.power_mw += (goal - self.power_mw) * (1 - math.exp(-dt / self.tau_s))
        return self.power_mw


def run(pi: PIController, pool: FirstOrderPool, targets: list[float]) -> list[float]:
    """Close the loop: command = target (feed-forward) + PI correction; measured per tick."""
    measured = []
    for k, target in enumerate(targets):
        correction = pi.update(k * DT, target, pool.power_mw)
        measured.append(pool.step(target + correction, DT))
    return measured


def test_step_response_settles_without_steady_state_error() -> None:
    pi = PIController(PIConfig(kp=0.5, ki=0.2, min_mw=-20, max_mw=20, rate_mw_per_s=5))
    pool = FirstOrderPool()
    measured = run(pi, pool, [10.0] * 240)  # 120 s
    # The feed-forward alone would settle at 0.8 × 10 - 1 = 7 MW: 3 MW short.
    assert abs(measured[-1] - 10.0) < 0.01
    assert max(abs(m - 10.0) for m in measured[-20:]) < 0.02
    assert pi.output_mw == pytest.approx(10.0 / 0.8 + 1.0 / 0.8 - 10.0, abs=0.02)


def test_anti_windup_recovers_quickly_after_long_saturation() -> None:
    """The pool cannot reach 30 MW for a minute (the correction saturates at +5 MW), then the
    target drops to 10 MW. With anti-windup the pool is back on target within ~40 s; a naive
    integrator has wound up so far that the correction stays pinned at +5 MW and the pool
    overshoots the target by 1 MW for minutes."""

    def after_saturation(anti_windup: bool) -> tuple[list[float], float]:
        cfg = PIConfig(kp=0.5, ki=0.2, min_mw=-5, max_mw=5, anti_windup=anti_windup)
        pool = FirstOrderPool(gain=0.8, offset_mw=-1.0)
        pi = PIController(cfg)
        run(pi, pool, [30.0] * 120)
        after = run_from(pi, pool, [10.0] * 240, start_k=120)
        settled = [k for k in range(len(after)) if all(abs(m - 10) < 0.1 for m in after[k:])]
        return after, (settled[0] * DT if settled else math.inf)

    after_aw, settle_aw = after_saturation(anti_windup=True)
    after_naive, settle_naive = after_saturation(anti_windup=False)
    assert settle_aw < 45.0
    assert settle_naive == math.inf
    assert after_naive[-1] - 10.0 == pytest.approx(1.0, abs=0.05)  # still overshooting
    assert abs(after_aw[-1] - 10.0) < 0.01


def run_from(
    pi: PIController, pool: FirstOrderPool, targets: list[float], start_k: int
) -> list[float]:
    measured = []
    for k, target in enumerate(targets, start=start_k):
        correction = pi.update(k * DT, target, pool.power_mw)
        measured.append(pool.step(target + correction, DT))
    return measured


def test_rate_limit_holds_on_a_large_error() -> None:
    pi = PIController(PIConfig(kp=10, ki=1, min_mw=-50, max_mw=50, rate_mw_per_s=2))
    outputs = [pi.update(k * DT, 40.0, 0.0) for k in range(20)]
    # First call: no time base, proportional only (clamped); then 2 MW/s × 0.5 s per tick.
    assert outputs[0] == 50.0
    pi.reset()
    outputs = [pi.update(0.0, 0.0, 0.0)] + [pi.update(k * DT, 40.0, 0.0) for k in range(1, 20)]
    steps = [b - a for a, b in itertools.pairwise(outputs)]
    assert all(s == pytest.approx(1.0) for s in steps)


def test_repeated_or_backward_time_changes_nothing() -> None:
    pi = PIController(PIConfig(kp=1, ki=1, min_mw=-10, max_mw=10, rate_mw_per_s=1))
    pi.update(0.0, 0.0, 0.0)
    first = pi.update(1.0, 5.0, 0.0)
    integral = pi.integral_mw
    assert pi.update(1.0, 9.0, 0.0) == first
    assert pi.update(0.5, -9.0, 0.0) == first
    assert pi.integral_mw == integral


def test_reset_forgets_the_integral_and_can_preload_it() -> None:
    pi = PIController(PIConfig(kp=0, ki=1, min_mw=-10, max_mw=10))
    pi.update(0.0, 1.0, 0.0)
    pi.update(3.0, 1.0, 0.0)
    assert pi.integral_mw == pytest.approx(3.0)
    pi.reset()
    assert pi.update(10.0, 1.0, 0.0) == 0.0
    pi.reset(output_mw=4.0)
    assert pi.update(20.0, 0.0, 0.0) == 4.0  # bumpless: the correction in force is kept


def test_config_rejects_inverted_limits() -> None:
    with pytest.raises(ValueError, match="min_mw"):
        PIConfig(kp=1, ki=1, min_mw=1, max_mw=-1)


@given(
    kp=st.floats(0, 20),
    ki=st.floats(0, 5),
    lim=st.tuples(st.floats(-30, 0), st.floats(0, 30)),
    rate=st.floats(0.1, 10),
    steps=st.lists(
        st.tuples(st.floats(0.0, 3.0), st.floats(-100, 100), st.floats(-100, 100)),
        min_size=1,
        max_size=60,
    ),
)
def test_output_within_bounds_and_rate(kp, ki, lim, rate, steps) -> None:
    pi = PIController(PIConfig(kp=kp, ki=ki, min_mw=lim[0], max_mw=lim[1], rate_mw_per_s=rate))
    t = 0.0
    previous = pi.update(t, steps[0][1], steps[0][2])
    assert lim[0] <= previous <= lim[1]
    for dt, target, measured in steps[1:]:
        t += dt
        out = pi.update(t, target, measured)
        assert lim[0] <= out <= lim[1]
        assert abs(out - previous) <= rate * dt + 1e-9
        previous = out
