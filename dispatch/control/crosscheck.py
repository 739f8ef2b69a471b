"""Cross-checks of readings that cannot all be true (pure logic, no I/O).

`SocCheck`: a battery's reported power against its reported state-of-charge change. Over
a window of readings, the stored energy must change by about -P dt / eta (discharging) or
-P dt * eta (charging), P the reported power (trapezoid), whatever the efficiency eta
within [eta_min, 1]. Across a read that got no answer the power is unknown: it may have
gone anywhere the device's ramp and limits allow and back (two setpoints acted in the gap),
so that interval counts for the energy of any such path (`reachable_energy`), not the
trapezoid. A device reporting a power it does not inject (``fake_meter``) shows
as energy the SoC does not account for. Units: MW, MWh, s, SoC 0..1; + injection (discharge).

`site_residual`: a site meter against the sum of its assets' reports [MW];
`explain_residual`: which members' reports the meter did not see, over a window
(`explanations`: every set that could be it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
from numpy.typing import ArrayLike

_FORGIVEN_MAX = 2
"""Most readings a steady series may be off at, however long the window (one in five up
to that): over a long window more would forgive a member's real moves at some readings
while its others explain the rest."""

_LONG_ENOUGH = 4
"""From this many readings on, only the latest must be steady among the `recent` ones: the
one before it may be the forgiven reading. The meter is read a moment before the members,
and where the others moved in between (the activation moves them all alike) one reading of
the window is off by their move; while it stayed among the latest two, a lie six times the
threshold went unnamed for two readings more (3.5-3.9 s after it showed, the rest 2 s)."""

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
        "_gap",
        "_history",
        "_resolution",
        "_steps_seen",
        "energy_mwh",
        "eta_min",
        "max_mw",
        "max_window_s",
        "min_mw",
        "min_window_s",
        "noise_mw",
        "ramp_mw_per_s",
    )

    def __init__(
        self,
        energy_mwh: float,
        noise_mw: float,
        *,
        eta_min: float = 0.9,
        min_window_s: float = 1.5,
        max_window_s: float = 10.0,
        max_mw: float | None = None,
        min_mw: float | None = None,
        ramp_mw_per_s: float | None = None,
    ) -> None:
        """`energy_mwh` the usable energy [MWh], `noise_mw` [MW] the power error tolerated
        (ramps between readings); `max_mw` (discharge, > 0) and `min_mw` (charge, < 0) the
        device's power limits and `ramp_mw_per_s` its ramp, bounding what it may have done
        while a read got no answer (without limits an interval across such a read is not
        judged at all)."""
        self.energy_mwh = energy_mwh
        self.max_mw = max_mw
        self.min_mw = min_mw
        self.ramp_mw_per_s = ramp_mw_per_s
        self.noise_mw = noise_mw
        self.eta_min = eta_min
        self.min_window_s = min_window_s
        self.max_window_s = max_window_s
        self._history: list[tuple[float, float, float, float, bool]] = []
        """(time [s], power [MW], SoC, half the span the reading was taken in [s], a read
        got no answer between the one before and this one)."""
        self._gap = False
        """A read got no answer since the latest reading."""
        self._resolution = 1e-2
        self._steps_seen = 0

    def reset(self) -> None:
        """Forget the history (after a gap, a rejoin)."""
        self._history.clear()
        self._gap = False

    def missed(self) -> None:
        """A read got no answer: the device's power between the latest reading and the next
        one is not known (on a lossy link it took that turn's setpoint too, so the power
        may have gone one way and back between the two readings: 54 of 133 honest 3 kW
        batteries, ramping 5 kW/s, were named by their state of charge with a fifth of
        their reads lost when that interval was taken as a straight line)."""
        self._gap = True

    def observe(self, t: float, power_mw: float, soc: float, span_s: float = 0.0) -> float | None:
        """A reading asked for at `t` [s] and answered `span_s` [s] later (the device took
        it somewhere in between: on a busy link, anywhere in a few hundred ms); None while
        consistent, else the start [s] of the shortest window over which the reported power
        and the SoC disagree. The energy over a window is taken between the middles of its
        first and last readings' spans, give or take the largest power in the window over
        their half-spans."""
        half = 0.5 * max(0.0, span_s)
        t = t + half
        history = self._history
        if history:
            last = history[-1]
            if t <= last[0]:
                return None
            if soc != last[2]:
                self._steps_seen += 1
        # The SoC's resolution: the coarsest decimal step all its readings are multiples
        # of (a register in 0.01 % steps gives 1e-4; a float gives none).
        resolution = self._resolution
        while resolution > 0:
            scaled = soc / resolution
            if not abs(scaled - round(scaled)) > 1e-6:
                break
            resolution = _FINER.get(resolution, 0.0)
        self._resolution = resolution
        history.append((t, power_mw, soc, half, self._gap))
        self._gap = False
        while len(history) > 2 and t - history[1][0] >= self.max_window_s:
            history.pop(0)
        if self._steps_seen < 2 or len(history) < 2:
            return None
        # Two readings each off by less than one step (rounded or truncated): their
        # difference is off by at most one step.
        energy_mwh = self.energy_mwh
        quantum = resolution * energy_mwh * 3600.0  # [MW s]
        eta_min, noise_mw, min_window_s = self.eta_min, self.noise_mw, self.min_window_s
        low = high = ramps = 0.0
        peak = abs(power_mw)
        # Windows from the latest interval back: (t0, p0) the reading before (t1, p1).
        walk = reversed(history)
        t1, p1, _, _, gap = next(walk)
        for t0, p0, soc0, half0, gap0 in walk:
            size = abs(p0)
            if size > peak:
                peak = size
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
                high += highest[0] / eta_min + highest[1] * eta_min
            else:
                dt = t1 - t0
                energy = 0.5 * (p0 + p1) * dt  # [MW s], + discharged
                ramps += 0.5 * abs(p1 - p0) * dt  # a step anywhere in the interval
                if energy >= 0:
                    low, high = low + energy, high + energy / eta_min
                else:
                    low, high = low + energy, high + energy * eta_min
            span = t - t0
            if not span < min_window_s:
                implied = -(soc - soc0) * energy_mwh * 3600.0
                slack = noise_mw * span + quantum + ramps + peak * (half0 + half)
                # min(low, high) and max(low, high), without the calls
                lo_b = (high if high < low else low) - slack
                hi_b = (high if high > low else low) + slack
                if not lo_b <= implied <= hi_b:
                    return t0
            t1, p1, gap = t0, p0, gap0
        return None


def reachable_energy(
    p0_mw: float,
    p1_mw: float,
    seconds: float,
    ramp_mw_per_s: float | None,
    min_mw: float,
    max_mw: float,
    *,
    upper: bool,
) -> tuple[float, float]:
    """The energy [MW s] of the highest (`upper`) or lowest path a device's power can take
    from `p0_mw` to `p1_mw` [MW, + discharge] in `seconds`, moving at most `ramp_mw_per_s`
    (None or <= 0: any step) within [`min_mw`, `max_mw`]: (what it discharged, >= 0; what
    it charged, <= 0). The highest path is the highest power at every instant, so it also
    gives the most discharge and the least charge any path can have (and the lowest the
    reverse), whatever the efficiency applied to each."""
    if seconds <= 0:
        return 0.0, 0.0
    # In a frame mirrored for the lowest path (q = -p), both are the highest path: up at
    # the ramp from the first reading, down at the ramp to the second, never above the cap.
    sign = 1.0 if upper else -1.0
    cap = max_mw if upper else -min_mw
    q0, q1 = sign * p0_mw, sign * p1_mw
    if ramp_mw_per_s is None or ramp_mw_per_s <= 0:  # any step: at the cap throughout
        positive, negative = max(cap, 0.0) * seconds, min(cap, 0.0) * seconds
    else:
        rate = ramp_mw_per_s
        # Breakpoints of the piecewise linear path: where the rise meets the fall or the
        # cap, and where it crosses 0 (each piece between two keeps one sign).
        candidates = (
            0.5 * (seconds + (q1 - q0) / rate),  # the rise meets the fall
            (cap - q0) / rate,  # the rise meets the cap
            seconds - (cap - q1) / rate,  # the fall leaves the cap
            -q0 / rate,  # the rise crosses 0
            seconds + q1 / rate,  # the fall crosses 0
        )
        grid = sorted({0.0, seconds, *(x for x in candidates if 0.0 < x < seconds)})
        values = [min(cap, q0 + rate * x, q1 + rate * (seconds - x)) for x in grid]
        positive = negative = 0.0
        for x0, v0, x1, v1 in zip(grid, values, grid[1:], values[1:], strict=False):
            part = 0.5 * (v0 + v1) * (x1 - x0)
            if v0 + v1 >= 0:
                positive += part
            else:
                negative += part
    if upper:
        return positive, negative
    return -negative, -positive


def site_residual(meter_mw: float, reported_mw: list[float]) -> float:
    """What the site meter measures [MW] minus what its assets report together."""
    return meter_mw - sum(reported_mw)


def explain_residual(
    residuals: Sequence[float],
    reports: Mapping[str, Sequence[float]],
    tolerance_mw: float,
    *,
    max_members: int = 4,
    recent: int = 2,
    min_move_mw: float = 0.0,
    forgive_within_mw: float | None = None,
) -> tuple[str, ...] | None:
    """The members whose reports a site meter did not see, from a window of readings.

    `residuals[k]` is meter - sum of the trusted members' reports at reading k [MW];
    `reports[a][k]` is member a's reported power at the same reading [MW]. A member that
    reports a power it does not inject (its real power frozen while its report follows its
    setpoint) makes ``residuals[k] + reports[a][k]`` constant: the meter keeps seeing its
    real power while the report moves. So the culprits are the smallest set S of members
    that moved for which ``residuals + sum(reports[S])`` is steady while the residual
    alone is not, and no other set of up to `max_members` fits that is not that set plus
    members whose moves cancel (a probing pair).

    Steady: within `tolerance_mw` of its median at every reading but at most one in five,
    and at most two (a reading taken while a member ramped between the meter's read and
    its own is off by the ramp), the first (the last balanced reading, before the change)
    and the `recent` latest readings included (from `_LONG_ENOUGH` readings on, only the
    latest), and none where a member of S was on its way from one report to the next
    (`_midway`). Returns S (sorted) when it is the only explanation; None when the residual
    is steady (nothing to explain), when no set of up to `max_members` fits, or when
    explanations contradict each other (the window cannot tell them apart yet: wait for
    more readings). With more culprits at once than
    `max_members` an honest member whose moves happen to mirror theirs could be named; the
    site meter then keeps seeing the real power of everyone it excluded.

    A set is named only if, at the readings where it makes the residual steady, its
    reports together moved away from their first reading by more than `min_move_mw` [MW],
    and each member's own by more than twice the tolerance: lies too small to be
    attributed (each within its device's band, several together beyond the tolerance) make
    a residual that a small honest move, or a move seen only at the readings the
    steadiness test forgives, may happen to match, alone or beside a real culprit. With
    lies that move the residual by at most L between the first reading and any other, no
    set of honest members is named once `min_move_mw` >= L + 2 `tolerance_mw`.

    With `forgive_within_mw` [MW] a reading the steadiness test forgives must still be
    within that of the median (within twice that for the sets that contradict a name): a
    reading taken mid-ramp is off by a ramp's share, while an honest member whose move the
    meter saw at that reading is off by its whole move there.
    """
    fitting, nearly = _explanations(
        residuals, reports, tolerance_mw, max_members, recent, min_move_mw, forgive_within_mw
    )
    if len(fitting) != 1 or nearly != fitting:
        return None  # nothing fits, or explanations that contradict each other
    return fitting[0]


def explanations(
    residuals: Sequence[float],
    reports: Mapping[str, Sequence[float]],
    tolerance_mw: float,
    *,
    max_members: int = 4,
    recent: int = 2,
    min_move_mw: float = 0.0,
) -> list[tuple[str, ...]]:
    """Every set of members that explains the window (`explain_residual`'s test, with
    its arguments), smallest first, none a fitting set plus members that cancel; empty
    when the residual is steady or nothing fits. More than one: the members that are in
    some of them but not all moved alike; a move of one of them alone tells them apart.
    Sets that fit within twice the tolerance count too: a culprit whose window is a little
    noisier than the tolerance is still one of the explanations."""
    return _explanations(residuals, reports, tolerance_mw, max_members, recent, min_move_mw)[1]


def _explanations(
    residuals: Sequence[float],
    reports: Mapping[str, Sequence[float]],
    tolerance_mw: float,
    max_members: int,
    recent: int,
    min_move_mw: float,
    forgive_within_mw: float | None = None,
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """(the sets that fit within `tolerance_mw`, those that fit within twice it): the first
    names, the second must hold nothing else for a name (one that fits only a little worse
    contradicts it)."""
    r = np.asarray(residuals, dtype=float)
    if r.size < recent + 1 or _steady(r[None, :], tolerance_mw, recent)[0]:
        return [], []
    names = sorted(a for a, series in reports.items() if len(series) == r.size)
    if not names:
        return [], []
    matrix = np.asarray([reports[a] for a in names], dtype=float)
    moved = np.ptp(matrix, axis=1) > tolerance_mw
    candidates = [i for i in range(len(names)) if moved[i]]
    fitting: list[frozenset[int]] = []
    loose: list[frozenset[int]] = []
    steady_sets: list[frozenset[int]] = []
    """Sets that make the residual steady within twice the tolerance, named or not: a set
    that only adds members to one of them (whose moves cancel, or a probing pair not quite
    cancelling, making up for a little noise) explains nothing more."""
    own_limit = max(2.0 * tolerance_mw, min_move_mw)
    """What each member of a named set moved by at least [MW] (a lie the meter can pin)."""
    for size in range(1, min(max_members, len(candidates)) + 1):
        groups = np.asarray(list(combinations(candidates, size)), dtype=int)
        members = matrix[groups]  # (group, member, reading)
        sums = members.sum(axis=1)
        explained = r[None, :] + sums
        off = np.abs(explained - np.median(explained, axis=1, keepdims=True))
        near = off <= tolerance_mw
        # How far each member's reports and the set's total moved from the first reading,
        # at the readings the set explains [MW].
        shift = np.where(near, np.abs(sums - sums[:, :1]), 0.0).max(axis=1)
        own = np.where(near[:, None, :], np.abs(members - members[:, :, :1]), 0.0).max(axis=2)
        bound = None if forgive_within_mw is None else 2.0 * forgive_within_mw
        steady = _steady(explained, tolerance_mw, recent, forgive_within_mw)
        nearly = _steady(explained, 2.0 * tolerance_mw, recent, bound)
        # No reading is forgiven where a member's own report was on its way (`_midway`).
        midway = _midway(members, off, tolerance_mw)
        steady &= ~(~near & midway).any(axis=1)
        nearly &= ~((off > 2.0 * tolerance_mw) & midway).any(axis=1)
        large = (shift > min_move_mw) & (own > own_limit).all(axis=1)
        for row in np.flatnonzero(nearly):
            group = frozenset(groups[row].tolist())
            if any(
                smaller < group and _cancel(matrix, group - smaller, own_limit)
                for smaller in steady_sets
            ):
                continue  # a known explanation plus members that cancel
            steady_sets.append(group)
            if large[row] and _holds_a_cancelling_pair(matrix, groups[row], own_limit):
                continue  # two of them moved as mirror images (a probing pair): no proof
            if large[row]:
                loose.append(group)
                if steady[row]:
                    fitting.append(group)
    return (
        [tuple(sorted(names[i] for i in group)) for group in fitting],
        [tuple(sorted(names[i] for i in group)) for group in loose],
    )


def _midway(members: np.ndarray, off: np.ndarray, tolerance_mw: float) -> np.ndarray:
    """Per set (rows of `members`: (set, member, reading) reports [MW]) and reading: a
    member's report was on its way between its readings before and after (more than
    `tolerance_mw` from both) and the explained residual is off there (`off` [MW]) by
    about as much as that member still had to go, to the nearer of the two (less the
    tolerance): what is off there is the member's own move, caught mid-way by its report
    and by the meter alike (a device following its setpoint ramps; a fake meter's report
    jumps with its setpoint). An honest CHP's probe returned, its report 38 kW on the way
    from 50 to 30, as a fake PV plant's report dropped by 20 kW unseen: the CHP explained
    every reading but that one, 10.6 kW off, which the steadiness test forgave, and it was
    named (`fake_meter_timeline.py --paced 7`). A liar whose setpoint ramps over two
    readings, off there by a neighbour's timing (a few kW), is still forgiven it. Judged
    per member: on the set's total, a second liar's step at that reading hid the CHP's
    way and the pair was named (found in review)."""
    out = np.zeros((members.shape[0], members.shape[2]), dtype=bool)
    if members.shape[2] < 3:
        return out
    way = way_left(members[:, :, :-2], members[:, :, 1:-1], members[:, :, 2:])
    caught = (way > tolerance_mw) & (off[:, None, 1:-1] >= way - tolerance_mw)
    out[:, 1:-1] = caught.any(axis=1)
    return out


def way_left(before: ArrayLike, now: ArrayLike, after: ArrayLike) -> np.ndarray:
    """How far [MW] a report `now` still had to go to the nearer of its neighbours
    `before` and `after` (elementwise); negative where it lay outside them (not on its
    way from one to the other)."""
    low, high = np.minimum(before, after), np.maximum(before, after)
    return np.minimum(np.subtract(now, low), np.subtract(high, now))


def _cancel(matrix: np.ndarray, added: frozenset[int], limit_mw: float) -> bool:
    """True if the members `added` (rows of `matrix`) moved together by at most `limit_mw`
    [MW]: added to a set that nearly explains the window they explain nothing more. A member
    whose own move makes a near explanation exact is no such addition: a residual stepping
    between two levels 4 tolerances apart is "nearly steady" about its median, and when the
    liars were m1 and m4, m1 alone was such a set; skipping every set holding it left an
    honest m2 (moving with m4 at one reading) the only explanation, and it was named."""
    rows = sorted(added)
    return float(np.ptp(matrix[rows].sum(axis=0))) <= limit_mw


def _holds_a_cancelling_pair(matrix: np.ndarray, group: np.ndarray, limit_mw: float) -> bool:
    """True if two members of `group` (rows of `matrix`: reports [MW] per reading) moved as
    mirror images: their summed reports moved by at most `limit_mw` (what no lie smaller
    than a nameable one explains) while each moved by more. A probing pair does that whether
    honest or not; over a long window the activation moving both makes their sum drift
    with other liars' small lies, and an honest pair was named beside the one liar that
    explained the window."""
    moves = np.ptp(matrix[group], axis=1)
    for a, b in combinations(range(len(group)), 2):
        together = float(np.ptp(matrix[group[a]] + matrix[group[b]]))
        if together <= limit_mw < min(moves[a], moves[b]):
            return True
    return False


def _steady(
    series: np.ndarray, tolerance_mw: float, recent: int, forgive_within_mw: float | None = None
) -> np.ndarray:
    """Per row of `series`: within `tolerance_mw` of the row's median at every reading but
    at most one in five (and `_FORGIVEN_MAX`), the first and the `recent` last ones
    included; with `forgive_within_mw`, every reading within that of the median."""
    off = np.abs(series - np.median(series, axis=1, keepdims=True))
    near = off <= tolerance_mw
    allowed = min(_FORGIVEN_MAX, max(1, series.shape[1] // 5))
    if series.shape[1] >= _LONG_ENOUGH:
        recent = 1
    steady = ((~near).sum(axis=1) <= allowed) & near[:, 0] & near[:, -recent:].all(axis=1)
    if forgive_within_mw is not None:
        steady &= (off <= forgive_within_mw).all(axis=1)
    return steady
