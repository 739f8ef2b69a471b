"""Does a device follow its setpoints? A reference trajectory per asset, checked on every
reading, whatever the command's life (no waiting for a deadline that superseding setpoints
keep pushing back).

The reference is what a device that obeys could do: from its measured power when the watch
was (re)started, towards each setpoint from the moment it was sent, at the asset's rated
ramp [MW/s], clamped to what the device said it can do (e.g. a PV plant's available power).
A reading at `t` is consistent when it lies between the reference at `t - lag_s` (a device
that started late: dead time, a slow write) and the reference at `t`, widened by the band
[MW]. For a setpoint that is a cap (PV curtailment), being below the reference is obeying.

An inconsistent reading is evidence of an execution fault (``ack_no_exec``, ``stuck``,
``partial``, ``slow_ramp``): `observe` returns the monotonic time [s] from which it was
observable, the first setpoint sent after the last consistent reading. Pure logic; times
are monotonic seconds given by the caller; MW, + injection.
"""

from __future__ import annotations

from collections import deque


class ExecutionWatch:
    """The reference trajectory of one asset and the check of each reading against it."""

    __slots__ = (
        "_caught_up_t",
        "_first_after",
        "_points",
        "band_mw",
        "is_limit",
        "lag_s",
        "ramp_mw_per_s",
    )

    def __init__(
        self, ramp_mw_per_s: float, band_mw: float, *, lag_s: float = 1.5, is_limit: bool = False
    ) -> None:
        """`ramp_mw_per_s` > 0 the rated ramp, `band_mw` the execution band half-width,
        `lag_s` [s] how late an obeying device may be (dead time + read timing)."""
        self.ramp_mw_per_s = max(ramp_mw_per_s, 1e-9)
        self.band_mw = band_mw
        self.lag_s = lag_s
        self.is_limit = is_limit
        self._points: deque[tuple[float, float]] = deque()
        self._caught_up_t: float | None = None
        self._first_after: float | None = None

    @property
    def started(self) -> bool:
        """True once the watch has a reference."""
        return bool(self._points)

    def reset(self, t: float, measured_mw: float) -> None:
        """Start the reference at `measured_mw` [MW] at `t` [s] (first reading, rejoining)."""
        self._points.clear()
        self._points.append((t, measured_mw))
        self._caught_up_t = t
        self._first_after = None

    def commanded(
        self, t: float, setpoint_mw: float, lo_mw: float | None = None, hi_mw: float | None = None
    ) -> None:
        """A setpoint [MW] was sent at `t` [s]; `lo_mw`/`hi_mw` what the device can do now."""
        if not self._points:
            return
        target = setpoint_mw
        if hi_mw is not None:
            target = min(target, hi_mw)
        if lo_mw is not None:
            target = max(target, lo_mw)
        now = self.value(t)
        while self._points and self._points[-1][0] > t:
            self._points.pop()
        self._points.append((t, now))
        self._points.append((t + abs(target - now) / self.ramp_mw_per_s, target))
        if self._first_after is None:
            self._first_after = t

    def value(self, t: float) -> float:
        """The reference [MW] at `t` [s]."""
        points = self._points
        if t <= points[0][0]:
            return points[0][1]
        if t >= points[-1][0]:
            return points[-1][1]
        for (t0, p0), (t1, p1) in zip(points, list(points)[1:], strict=False):
            if t0 <= t <= t1:
                return p0 if t1 == t0 else p0 + (p1 - p0) * (t - t0) / (t1 - t0)
        return points[-1][1]

    def interval(self, t: float) -> tuple[float, float]:
        """Where an obeying device may be at `t` [s]: [lo, hi] MW, band included."""
        start = t - self.lag_s
        values = [self.value(start), self.value(t)]
        values += [p for tp, p in self._points if start < tp < t]
        return min(values) - self.band_mw, max(values) + self.band_mw

    def observe(
        self, t: float, measured_mw: float, available_mw: float | None = None
    ) -> float | None:
        """Check a reading [MW] at `t` [s]; None if consistent, else the time [s] from which
        the failure was observable: the first setpoint sent since the device last sat on
        its reference (or that moment, if no setpoint was sent since).

        For a setpoint that is a cap, `available_mw` [MW] (what the device says the weather
        allows now) turns the check two-sided: below both the reference and what is
        available is not obeying either."""
        if not self._points:
            self.reset(t, measured_mw)
            return None
        lo, hi = self.interval(t)
        if self.is_limit:
            floor = -float("inf") if available_mw is None else available_mw - self.band_mw
            ok = min(lo, floor) <= measured_mw <= hi
        else:
            ok = lo <= measured_mw <= hi
        if abs(measured_mw - self.value(t)) <= self.band_mw:
            self._caught_up_t = t
            self._first_after = None
        if ok:
            self._prune(t)
            return None
        if self._first_after is not None:
            return self._first_after
        return self._caught_up_t if self._caught_up_t is not None else t

    def _prune(self, t: float) -> None:
        horizon = t - self.lag_s - 1.0
        while len(self._points) > 2 and self._points[1][0] <= horizon:
            self._points.popleft()
