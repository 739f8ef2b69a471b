"""How a TSO setpoint becomes the pool's activation request over time.

aFRR must be fully activated within the product's full activation time (FAT). The DE FAT
is 5 min (300 s), a first reaction within 30 s, and the PICASSO standard is 5 min in NL,
BE (7.5 -> 5 min on joining), FR and AT as well (../shared/docs/market-rules-reference.md
section 4.3, regelleistung.net, Elia). The market plugins carry no FAT rule yet, so the
caller passes it (`AFRR_FAT_S` by default).

The request follows a new setpoint along a ramp that reaches it within `ramp_time_s`
(by default half the FAT: the other half is margin for the devices' own response and the
pool's PI correction). Its rate is max(band, |step|) / ramp_time_s: never slower than
band / FAT, and a swing across the whole band (+band -> -band) still ends within the FAT.
A ramp keeps the pool from overshooting on a step and is the trajectory the TSO's
tolerance channel expects (a ramp at the prequalified power over the FAT).
"""

from __future__ import annotations

import math

AFRR_FAT_S = 300.0
"""Full activation time of aFRR [s]: 5 min (DE, and the PICASSO standard)."""
RAMP_SHARE = 0.5
"""Share of the FAT over which a setpoint step is requested of the pool."""


class ActivationRamp:
    """The activation request [MW, + up] following a target along a ramp (module doc)."""

    def __init__(self, ramp_time_s: float) -> None:
        if not (math.isfinite(ramp_time_s) and ramp_time_s > 0):
            raise ValueError(f"ramp_time_s={ramp_time_s} must be a finite number of seconds > 0")
        self.ramp_time_s = ramp_time_s
        self.value_mw = 0.0
        self._target = 0.0
        self._rate = 0.0
        self._t: float | None = None

    @property
    def rate_mw_per_s(self) -> float:
        """The rate [MW/s] of the ramp in progress (0 when none was started)."""
        return self._rate

    def follow(self, t: float, target_mw: float, band_mw: float) -> float:
        """The request at `t` [s] (monotonic), moving towards `target_mw` [MW]; `band_mw`
        [MW, >= 0] sets the slowest rate (band / ramp time)."""
        if self._t is None:
            self._t = t
        if target_mw != self._target:
            self._target = target_mw
            step = abs(target_mw - self.value_mw)
            self._rate = max(abs(band_mw), step) / self.ramp_time_s
        dt = max(0.0, t - self._t)
        self._t = max(self._t, t)
        gap = self._target - self.value_mw
        move = min(abs(gap), self._rate * dt)
        if move >= abs(gap) - 1e-12:  # reached (float sums of rate x dt)
            self.value_mw = self._target
        else:
            self.value_mw += math.copysign(move, gap)
        return self.value_mw
