"""`SocCheck.observe` walks its windows with its attributes held in locals and each
reading unpacked once: its answers and its state after each reading must be exactly those
of the walk it replaced, over any series of readings, missed reads and spans."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.control.crosscheck import _FINER, SocCheck, reachable_energy


class FormerSocCheck(SocCheck):
    """The check as it walked its windows before."""

    __slots__ = ()

    def observe(self, t: float, power_mw: float, soc: float, span_s: float = 0.0) -> float | None:
        """`SocCheck.observe` as it was."""
        half = 0.5 * max(0.0, span_s)
        t = t + half
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
        history.append((t, power_mw, soc, half, self._gap))
        self._gap = False
        while len(history) > 2 and t - history[1][0] >= self.max_window_s:
            history.pop(0)
        if self._steps_seen < 2 or len(history) < 2:
            return None
        # Two readings each off by less than one step (rounded or truncated): their
        # difference is off by at most one step.
        quantum = self._resolution * self.energy_mwh * 3600.0  # [MW s]
        low = high = ramps = 0.0
        peak = abs(power_mw)
        for j in range(len(history) - 1, 0, -1):
            t0, p0, _, half0, _ = history[j - 1]
            t1, p1, _, _, gap = history[j]
            peak = max(peak, abs(p0))
            if gap:  # unread in between: any path the device's ramp and limits allow
                if self.max_mw is None or self.min_mw is None:
                    return None  # nothing known of the power from here back
                lowest = reachable_energy(
                    p0, p1, t1 - t0, self.ramp_mw_per_s, self.min_mw, self.max_mw, upper=False
                )
                highest = reachable_energy(
                    p0, p1, t1 - t0, self.ramp_mw_per_s, self.min_mw, self.max_mw, upper=True
                )
                peak = max(peak, self.max_mw, -self.min_mw)
                low += lowest[0] + lowest[1]  # eta 1: the least discharge the SoC can show
                high += highest[0] / self.eta_min + highest[1] * self.eta_min
            else:
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
            slack = self.noise_mw * span + quantum + ramps + peak * (half0 + half)
            lo_b, hi_b = min(low, high) - slack, max(low, high) + slack
            if not lo_b <= implied <= hi_b:
                return t0
        return None


def _state(check: SocCheck) -> tuple[object, ...]:
    return (list(check._history), check._gap, check._resolution, check._steps_seen)


_reading = st.tuples(
    st.sampled_from(["read", "read", "read", "missed"]),
    st.floats(0.0, 1.5),  # seconds since the previous reading
    st.floats(-1.0, 1.0),  # reported power [MW]
    st.floats(-0.02, 0.02),  # SoC change
    st.floats(0.0, 0.4),  # span of the read [s]
    st.sampled_from([None, 1e-2, 1e-4]),  # SoC rounded to this, or not
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_reading, min_size=1, max_size=30), st.booleans())
def test_observe_answers_and_keeps_exactly_what_the_former_walk_did(
    readings: list[tuple[str, float, float, float, float, float | None]], limits: bool
) -> None:
    bounds = {"max_mw": 1.0, "min_mw": -1.0, "ramp_mw_per_s": 0.5} if limits else {}
    new = SocCheck(0.5, 0.02, **bounds)  # type: ignore[arg-type]
    old = FormerSocCheck(0.5, 0.02, **bounds)  # type: ignore[arg-type]
    t, soc = 0.0, 0.5
    for kind, gap, power, change, span, step in readings:
        t += gap
        if kind == "missed":
            new.missed()
            old.missed()
        else:
            soc = min(1.0, max(0.0, soc + change))
            shown = soc if step is None else round(soc / step) * step
            assert new.observe(t, power, shown, span) == old.observe(t, power, shown, span)
        assert _state(new) == _state(old)
