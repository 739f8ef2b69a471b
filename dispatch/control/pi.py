"""A discrete PI controller that corrects the pool's tracking error.

The dispatcher commands `schedule (feed-forward) + correction`; this module computes the
correction [MW] from the pool's error, `target_mw - measured_mw` [MW] (+ = the pool injects
too little). Time `t` is monotonic seconds, injected by the caller; `dt` is the difference
of successive `t` values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PIConfig:
    """Gains and limits of a `PIController`.

    - `kp` [1]: MW of correction per MW of error.
    - `ki` [1/s]: MW of correction per MW·s of accumulated error.
    - `min_mw` / `max_mw` [MW]: bounds of the correction (`min_mw <= 0 <= max_mw` usually).
    - `rate_mw_per_s` [MW/s]: the correction changes by at most this much per second
      (`math.inf`: no rate limit).
    - `anti_windup`: freeze the integrator while the output is saturated (by a bound or the
      rate limit) in the direction of the error (conditional integration). Switch off only to
      compare against a naive integrator.
    """

    kp: float
    ki: float
    min_mw: float
    max_mw: float
    rate_mw_per_s: float = math.inf
    anti_windup: bool = True

    def __post_init__(self) -> None:
        if self.kp < 0 or self.ki < 0:
            raise ValueError(f"gains must be >= 0, got kp={self.kp}, ki={self.ki}")
        if not self.min_mw <= self.max_mw:
            raise ValueError(f"min_mw {self.min_mw} > max_mw {self.max_mw}")
        if not self.rate_mw_per_s > 0:
            raise ValueError(f"rate_mw_per_s must be > 0, got {self.rate_mw_per_s}")


class PIController:
    """PI correction [MW] of a pool's tracking error, with output bounds, rate limit and
    anti-windup.

    Call `update(t, target_mw, measured_mw)` once per control tick with monotonic `t` [s].
    The first call after construction or `reset` has no time base: it gives the proportional
    term plus the (reset) integral, clamped to the bounds, without integrating and without
    rate limit. A call whose `t` is not after the previous one (repeated or out-of-order
    sample) neither integrates nor moves the output (the rate limit allows no change in zero
    time) and does not move the time base.
    """

    def __init__(self, config: PIConfig) -> None:
        self.config = config
        self._integral_mw = 0.0
        self._output_mw = 0.0
        self._last_t: float | None = None

    @property
    def output_mw(self) -> float:
        """The last correction returned [MW]."""
        return self._output_mw

    @property
    def integral_mw(self) -> float:
        """The integral term [MW] (its contribution to the output)."""
        return self._integral_mw

    def reset(self, output_mw: float = 0.0) -> None:
        """Forget history; the next `update` is a first call. `output_mw` [MW] preloads the
        integral for a bumpless restart (e.g. the correction in force before a restart)."""
        clamped = min(max(output_mw, self.config.min_mw), self.config.max_mw)
        self._integral_mw = clamped
        self._output_mw = clamped
        self._last_t = None

    def update(self, t: float, target_mw: float, measured_mw: float) -> float:
        """The correction [MW] to add to the feed-forward at monotonic time `t` [s], given the
        pool's target and measured power [MW, + injection]."""
        cfg = self.config
        error = target_mw - measured_mw
        p_term = cfg.kp * error
        if self._last_t is None:
            self._last_t = t
            self._output_mw = _clamp(p_term + self._integral_mw, cfg.min_mw, cfg.max_mw)
            return self._output_mw
        dt = t - self._last_t
        if dt <= 0:
            return self._output_mw
        self._last_t = t

        lo = max(cfg.min_mw, self._output_mw - cfg.rate_mw_per_s * dt)
        hi = min(cfg.max_mw, self._output_mw + cfg.rate_mw_per_s * dt)
        integral = self._integral_mw + cfg.ki * error * dt
        wanted = p_term + integral
        limited = _clamp(wanted, lo, hi)
        if cfg.anti_windup and (
            (wanted > limited and error > 0) or (wanted < limited and error < 0)
        ):
            # Saturated in the direction of the error: integrating would only wind up.
            integral = self._integral_mw
            limited = _clamp(p_term + integral, lo, hi)
        self._integral_mw = integral
        self._output_mw = limited
        return limited


def _clamp(value: float, lo: float, hi: float) -> float:
    # The previous output is always within the bounds, so the rate window meets them: lo <= hi.
    return min(max(value, lo), hi)
