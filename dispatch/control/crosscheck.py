"""Cross-checks of readings that cannot all be true (pure logic, no I/O).

`SocCheck`: a battery's reported power against its reported state-of-charge change. Over
a window of readings, the stored energy must change by about -P dt / eta (discharging) or
-P dt * eta (charging), P the reported power (trapezoid), whatever the efficiency eta
within [eta_min, 1]. A device reporting a power it does not inject (``fake_meter``) shows
as energy the SoC does not account for. Units: MW, MWh, s, SoC 0..1; + injection (discharge).

`site_residual`: a site meter against the sum of its assets' reports [MW].
"""

from __future__ import annotations

_FINER = {1e-2: 1e-3, 1e-3: 1e-4, 1e-4: 1e-5, 1e-5: 0.0}
"""The next finer SoC resolution to try (0: not quantized)."""


class SocCheck:
    """Windows of readings whose SoC change the reported power cannot explain.

    Over every window of recent readings at least `min_window_s` long (up to
    `max_window_s`), the energy the reported power implies (trapezoid, efficiency anywhere
    in [eta_min, 1]) must match the SoC change within `noise_mw` per second, half of each
    reported power change times its interval (a step may fall anywhere in it), plus the SoC's
    resolution (two quantized readings differ by at most one step more than the truth,
    whatever the window): the coarsest
    decimal step (1 % down to 0.001 %) every reading so far is a multiple of, none for a
    float. Nothing is judged before two SoC changes were seen."""

    __slots__ = (
        "_history",
        "_resolution",
        "_steps_seen",
        "energy_mwh",
        "eta_min",
        "max_window_s",
        "min_window_s",
        "noise_mw",
    )

    def __init__(
        self,
        energy_mwh: float,
        noise_mw: float,
        *,
        eta_min: float = 0.9,
        min_window_s: float = 1.5,
        max_window_s: float = 10.0,
    ) -> None:
        """`energy_mwh` the usable energy [MWh], `noise_mw` [MW] the power error tolerated
        (ramps between readings)."""
        self.energy_mwh = energy_mwh
        self.noise_mw = noise_mw
        self.eta_min = eta_min
        self.min_window_s = min_window_s
        self.max_window_s = max_window_s
        self._history: list[tuple[float, float, float]] = []
        self._resolution = 1e-2
        self._steps_seen = 0

    def reset(self) -> None:
        """Forget the history (after a gap, a rejoin)."""
        self._history.clear()

    def observe(self, t: float, power_mw: float, soc: float) -> float | None:
        """A reading at `t` [s]; None while consistent, else the start [s] of the shortest
        window over which the reported power and the SoC disagree."""
        history = self._history
        if history and t <= history[-1][0]:
            return None
        if history and soc != history[-1][2]:
            self._steps_seen += 1
        # The SoC's resolution: the coarsest decimal step all its readings are multiples
        # of (a register in 0.01 % steps gives 1e-4; a float gives none).
        while (
            self._resolution > 0
            and abs(soc / self._resolution - round(soc / self._resolution)) > 1e-6
        ):
            self._resolution = _FINER.get(self._resolution, 0.0)
        history.append((t, power_mw, soc))
        while len(history) > 2 and t - history[1][0] >= self.max_window_s:
            history.pop(0)
        if self._steps_seen < 2 or len(history) < 2:
            return None
        # Two readings each off by less than one step (rounded or truncated): their
        # difference is off by at most one step.
        quantum = self._resolution * self.energy_mwh * 3600.0  # [MW s]
        low = high = ramps = 0.0
        for j in range(len(history) - 1, 0, -1):
            t0, p0, _ = history[j - 1]
            t1, p1, _ = history[j]
            energy = 0.5 * (p0 + p1) * (t1 - t0)  # [MW s], + discharged
            ramps += 0.5 * abs(p1 - p0) * (t1 - t0)  # a step anywhere in the interval
            if energy >= 0:
                low, high = low + energy, high + energy / self.eta_min
            else:
                low, high = low + energy, high + energy * self.eta_min
            span = t - t0
            if span < self.min_window_s:
                continue
            implied = -(soc - history[j - 1][2]) * self.energy_mwh * 3600.0
            slack = self.noise_mw * span + quantum + ramps
            lo_b, hi_b = min(low, high) - slack, max(low, high) + slack
            if not lo_b <= implied <= hi_b:
                return t0
        return None


def site_residual(meter_mw: float, reported_mw: list[float]) -> float:
    """What the site meter measures [MW] minus what its assets report together."""
    return meter_mw - sum(reported_mw)
