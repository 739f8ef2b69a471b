"""Cross-checks of readings that cannot all be true (pure logic, no I/O).

`SocCheck`: a battery's reported power against its reported state-of-charge change. Over
each interval between two readings, the stored energy must change by about
-P dt / eta (discharging) or -P dt * eta (charging), P the reported power (trapezoid),
whatever the efficiency eta within [eta_min, 1]. A device reporting a power it does not
inject (``fake_meter``) shows as a residual of one sign accumulating over consecutive
intervals. Units: MW, MWh, s, SoC 0..1; + injection (discharge).

`site_residual`: a site meter against the sum of its assets' reports [MW].
"""

from __future__ import annotations


class SocCheck:
    """Consecutive intervals whose SoC change the reported power cannot explain."""

    __slots__ = (
        "_last",
        "_run_excess",
        "_run_intervals",
        "_run_sign",
        "_run_start",
        "energy_mwh",
        "eta_min",
        "min_intervals",
        "noise_mw",
        "threshold_mw_s",
    )

    def __init__(
        self,
        energy_mwh: float,
        noise_mw: float,
        *,
        eta_min: float = 0.9,
        threshold_mw_s: float | None = None,
        min_intervals: int = 2,
    ) -> None:
        """`noise_mw` [MW]: the power error tolerated per interval (ramps between readings,
        SoC resolution); `threshold_mw_s` [MW s]: accumulated unexplained energy that
        proves a false reading (default 1 s of `noise_mw`)."""
        self.energy_mwh = energy_mwh
        self.noise_mw = noise_mw
        self.eta_min = eta_min
        self.threshold_mw_s = noise_mw if threshold_mw_s is None else threshold_mw_s
        self.min_intervals = min_intervals
        self._last: tuple[float, float, float] | None = None
        self._run_sign = 0
        self._run_excess = 0.0
        self._run_intervals = 0
        self._run_start: float | None = None

    def reset(self) -> None:
        """Forget the history (after a gap, a rejoin)."""
        self._last = None
        self._run_sign, self._run_excess, self._run_intervals = 0, 0.0, 0
        self._run_start = None

    def observe(self, t: float, power_mw: float, soc: float) -> float | None:
        """A reading at `t` [s]; None while consistent, else the time [s] since which the
        reported power and the SoC disagree (start of the run of unexplained intervals)."""
        last = self._last
        self._last = (t, power_mw, soc)
        if last is None or t <= last[0]:
            return None
        t0, p0, soc0 = last
        dt = t - t0
        power = 0.5 * (p0 + power_mw)
        # Power [MW] the SoC change implies, for the two ends of the efficiency range.
        implied = -(soc - soc0) * self.energy_mwh * 3600.0 / dt
        if power >= 0:  # discharging: implied = P / eta, eta in [eta_min, 1]
            low, high = power, power / self.eta_min
        else:  # charging: implied = P * eta
            low, high = power, power * self.eta_min
        low, high = min(low, high) - self.noise_mw, max(low, high) + self.noise_mw
        if low <= implied <= high:
            self._run_sign, self._run_excess, self._run_intervals = 0, 0.0, 0
            self._run_start = None
            return None
        sign = 1 if implied > high else -1
        excess = (implied - high if sign > 0 else low - implied) * dt
        if sign != self._run_sign:
            self._run_sign, self._run_excess, self._run_intervals = sign, 0.0, 0
            self._run_start = t0
        self._run_excess += excess
        self._run_intervals += 1
        if self._run_intervals >= self.min_intervals and self._run_excess >= self.threshold_mw_s:
            return self._run_start
        return None


def site_residual(meter_mw: float, reported_mw: list[float]) -> float:
    """What the site meter measures [MW] minus what its assets report together."""
    return meter_mw - sum(reported_mw)
