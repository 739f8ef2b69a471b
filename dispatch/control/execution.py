"""Does a device follow its setpoints? An envelope of where an obeying device may be,
checked on every reading, whatever the command's life (no waiting for a deadline that
superseding setpoints keep pushing back).

From the last consistent reading (the anchor), two followers ramp at the asset's rated
ramp [MW/s] through the setpoints sent since: a fast one that acts on each setpoint from
when it was sent, and a slow one that acts on it `lag_s` after it was acknowledged (the
device had it by then; `lag_s` covers its dead time) and stands still from the send until
`pause_s` after the acknowledgement (the dead time a new setpoint imposes); after a
reversal of direction, followers that take each setpoint at its send or at its
acknowledgement, with no dead time or the whole of it, widen it (a device may still move
towards the earlier setpoint). A device that
ramps at a fraction of its rated rate falls behind the slow follower on any move it cannot
finish within about a reading period at that fraction (the pool sizes its probing moves so
that it cannot: `dispatch.pool`). Each
target is clamped to what the device said it can do when it was sent (e.g. a PV plant's
available power). A reading at `t` is consistent when it lies between the two, widened by
the band [MW]. For a setpoint that is a cap (PV curtailment), below is obeying unless the
device says the weather allows more.

An inconsistent reading is evidence of an execution fault (``ack_no_exec``, ``stuck``,
``partial``, ``slow_ramp``): `observe` returns the monotonic time [s] from which it was
observable, the first setpoint sent since the device last sat on its fast follower. Pure
logic; times are monotonic seconds given by the caller; MW, + injection.
"""

from __future__ import annotations

from collections import deque
from itertools import pairwise

SHORT_SPAN_S = 0.001
"""A reading's span (asked to answered, or an anchor's) up to this long [s] is bounded, not
computed twice: the envelope at the span's end lies within the one at its start widened
by twice ramp x span (at most two thousandths of the ramp [MW]; a wider envelope never
names an obeying device). Twice: a device moves at most its ramp, but the envelope's lower
edge, the lowest of several followers, can fall at twice it where a reversal's followers
take over from each other (hypothesis found one: 1 MW/s at a 0.5 MW/s ramp). On the real
clock nearly every in-process reading has a span of some microseconds, and computing both
ends made the envelope four times the work of the check."""


def _follow(
    start_t: float,
    start_mw: float,
    heading: float | None,
    targets: list[tuple[float, float]],
    t: float,
    ramp: float,
    pauses: list[tuple[float, float]] = (),  # type: ignore[assignment]
) -> float:
    """Position [MW] at `t` of a follower at `start_mw` at `start_t`, heading for `heading`
    (None: holding), that takes each (time, target) of `targets` from its time on and does
    not move during `pauses` ((from, to) [s])."""
    p, now, goal = start_mw, start_t, heading

    def moving(a: float, b: float) -> float:
        paused = sum(max(0.0, min(b, e) - max(a, s)) for s, e in pauses)
        return max(0.0, b - a - paused)

    for at, target in targets:
        if at >= t:
            break
        if at > now:
            if goal is not None:
                p = _ramp(p, goal, ramp * moving(now, at))
            now = at
        goal = target
    if goal is not None and t > now:
        p = _ramp(p, goal, ramp * moving(now, t))
    return p


def _ramp(current: float, target: float, step: float) -> float:
    if target > current:
        return min(target, current + step)
    return max(target, current - step)


class ExecutionWatch:
    """The envelope of one asset and the check of each reading against it."""

    __slots__ = (
        "_anchor",
        "_caught_up_t",
        "_commands",
        "_first_after",
        "band_mw",
        "is_limit",
        "lag_s",
        "pause_s",
        "ramp_mw_per_s",
    )

    def __init__(
        self,
        ramp_mw_per_s: float,
        band_mw: float,
        *,
        lag_s: float = 0.6,
        pause_s: float = 0.5,
        is_limit: bool = False,
    ) -> None:
        """`ramp_mw_per_s` > 0 the rated ramp, `band_mw` the execution band half-width,
        `lag_s` [s] how long after its acknowledgement an obeying device may start acting on
        a setpoint, `pause_s` [s] how long after the acknowledgement it may stand still on
        receiving one (both: its dead time)."""
        self.ramp_mw_per_s = max(ramp_mw_per_s, 1e-9)
        self.band_mw = band_mw
        self.lag_s = lag_s
        self.pause_s = pause_s
        self.is_limit = is_limit
        self._anchor: tuple[float, float, float] | None = None
        """(asked [s], power [MW], answered [s]) of the last consistent reading."""
        self._commands: deque[tuple[float, float, float]] = deque()
        """(sent [s], target [MW], acknowledged [s]) of each setpoint."""
        self._caught_up_t: float | None = None
        self._first_after: float | None = None

    @property
    def started(self) -> bool:
        """True once the watch has an anchor."""
        return self._anchor is not None

    def reset(self, t: float, measured_mw: float) -> None:
        """Anchor at `measured_mw` [MW] at `t` [s], forgetting every setpoint (first
        reading, rejoining)."""
        self._anchor = (t, measured_mw, t)
        self._commands.clear()
        self._caught_up_t = t
        self._first_after = None

    def reanchor(self, t: float, measured_mw: float, answered_t: float | None = None) -> None:
        """Anchor at `measured_mw` [MW], read between `t` and `answered_t` [s], keeping only
        the latest setpoint: what else the device was sent since is uncertain (a write whose
        answer was lost may have landed), so this reading is no evidence either way."""
        if self._anchor is None:
            self.reset(t, measured_mw)
            return
        latest = self._commands[-1] if self._commands else None
        self._anchor = (t, measured_mw, t if answered_t is None else max(t, answered_t))
        self._commands.clear()
        if latest is not None:
            self._commands.append(latest)
        self._caught_up_t = t
        self._first_after = None

    def commanded(
        self,
        t: float,
        setpoint_mw: float,
        lo_mw: float | None = None,
        hi_mw: float | None = None,
        acked_t: float | None = None,
    ) -> None:
        """A setpoint [MW] was sent at `t` [s] and acknowledged at `acked_t` [s] (None: at
        once); `lo_mw`/`hi_mw` what the device can do now."""
        if self._anchor is None:
            return
        target = setpoint_mw
        if hi_mw is not None:
            target = min(target, hi_mw)
        if lo_mw is not None:
            target = max(target, lo_mw)
        acked = t if acked_t is None else max(t, acked_t)
        self._commands.append((t, target, acked))
        if self._first_after is None:
            self._first_after = acked

    def _followers(self, t: float) -> tuple[float, float, float]:
        """(fast, lowest, highest) position [MW] an obeying device may have at `t` [s].

        The anchor reading was taken somewhere between its asking and its answer: the
        followers start from both ends of that span (a stalled loop answers late, and a
        device anchored at the asking time alone would seem a whole stall behind)."""
        assert self._anchor is not None
        t_a, p_a, t_end = self._anchor
        fast, low, high = self._followers_from(t, t_a, p_a)
        if t_end > t_a and t > t_end:
            if t_end - t_a <= SHORT_SPAN_S:
                slack = 2.0 * self.ramp_mw_per_s * (t_end - t_a)
                return fast, low - slack, high + slack
            _, low_end, high_end = self._followers_from(t, t_end, p_a)
            low, high = min(low, low_end), max(high, high_end)
        return fast, low, high

    def _followers_from(self, t: float, t_a: float, p_a: float) -> tuple[float, float, float]:
        """`_followers` of a device at `p_a` [MW] at `t_a` [s]."""
        sent = [(at, target) for at, target, _ in self._commands]
        before = [c for c in sent if c[0] <= t_a]
        after = [c for c in sent if c[0] > t_a]
        fast = _follow(t_a, p_a, before[-1][1] if before else None, after, t, self.ramp_mw_per_s)
        slow = self._lagged(t_a, p_a, t, 1.0, self.lag_s, self.pause_s)
        positions = [fast, slow]
        targets = [p_a] + [target for _, target, _ in self._commands]
        steps = [b - a for a, b in pairwise(targets)]
        if any(d > self.band_mw for d in steps) and any(d < -self.band_mw for d in steps):
            # A reversal: a device that took the earlier setpoint early and the later one
            # late may still move towards the earlier one. Bound it by the extremes of
            # when it takes each setpoint (sent or acknowledged; the earlier ones at their
            # send and the latest at its acknowledgement) and of its dead time.
            positions += [
                self._lagged(t_a, p_a, t, share, dead, dead, from_send=False, last_share=last)
                for share, last in ((0.0, 0.0), (1.0, 1.0), (0.0, 1.0))
                for dead in (0.0, self.pause_s)
            ]
        return fast, min(positions), max(positions)

    def _lagged(
        self,
        t_a: float,
        p_a: float,
        t: float,
        taken_share: float,
        lag_s: float,
        pause_s: float,
        *,
        from_send: bool = True,
        last_share: float | None = None,
    ) -> float:
        """A follower at `p_a` [MW] at `t_a` [s] that takes each setpoint at `taken_share` of
        the way from its send to its acknowledgement (the latest at `last_share`, if given),
        acts on it `lag_s` later and stands still from the send (or, not `from_send`, from
        taking it) until `pause_s` after taking it."""
        shares = [taken_share] * len(self._commands)
        if last_share is not None and shares:
            shares[-1] = last_share
        taken = [
            (at + share * (acked - at), target)
            for (at, target, acked), share in zip(self._commands, shares, strict=True)
        ]
        delayed = [(when + lag_s, target) for when, target in taken]
        acting = [c for c in delayed if c[0] <= t_a]
        later = [c for c in delayed if c[0] > t_a]
        pauses = [
            (at if from_send else when, when + pause_s)
            for (at, _, _), (when, _) in zip(self._commands, taken, strict=True)
        ]
        return _follow(
            t_a, p_a, acting[-1][1] if acting else None, later, t, self.ramp_mw_per_s, pauses
        )

    def value(self, t: float) -> float:
        """Where a device that acts at once would be at `t` [s] [MW]."""
        return self._followers(t)[0]

    def interval(self, t: float) -> tuple[float, float]:
        """Where an obeying device may be at `t` [s]: [lo, hi] MW, band included."""
        _, low, high = self._followers(t)
        return low - self.band_mw, high + self.band_mw

    def _window(self, t: float, answered_t: float | None) -> tuple[float, float, float, float]:
        """(fast at `t`, fast at `answered_t`, lo, hi) [MW]: where an obeying device may be
        at some moment between `t` and `answered_t` [s] (band included)."""
        fast, low, high = self._followers(t)
        fast_end = fast
        if answered_t is not None and answered_t > t:
            if answered_t - t <= SHORT_SPAN_S:
                slack = 2.0 * self.ramp_mw_per_s * (answered_t - t)
                low, high = low - slack, high + slack
            else:
                fast_end, low_end, high_end = self._followers(answered_t)
                low, high = min(low, low_end), max(high, high_end)
        return fast, fast_end, low - self.band_mw, high + self.band_mw

    def overtook(self, t: float, measured_mw: float, answered_t: float | None = None) -> bool:
        """True if a reading [MW] at `t` [s] lies beyond the envelope on the side of the
        latest setpoint: further than even the fastest obeying device could have moved
        towards it. No device at its declared ramp does that; one that reports its setpoint
        instead of its power (``fake_meter``) does, at the first reversal or large step."""
        if self._anchor is None:
            return False
        _, _, lo, hi = self._window(t, answered_t)
        return self._beyond(measured_mw, lo, hi)

    def _beyond(self, measured_mw: float, lo: float, hi: float) -> bool:
        """True if `measured_mw` lies outside [lo, hi] on the side of the latest setpoint."""
        if not self._commands:
            return False
        latest = self._commands[-1][1]
        return (measured_mw > hi and latest > hi) or (measured_mw < lo and latest < lo)

    def _consistent(self, t: float, measured_mw: float, answered_t: float | None) -> None:
        """A consistent reading [MW], asked at `t` and answered at `answered_t` [s]: the new
        anchor; setpoints acknowledged long before it are forgotten (the latest stays)."""
        self._anchor = (t, measured_mw, t if answered_t is None else max(t, answered_t))
        commands = self._commands
        while commands and commands[0][2] < t - self.lag_s - 1.0:
            if len(commands) == 1:
                break
            commands.popleft()

    def _fast_from(self, t: float, t_a: float, p_a: float) -> float:
        """The fast follower [MW] at `t` [s] of a device at `p_a` [MW] at `t_a` [s]: the
        first value of `_followers_from` (the same arithmetic, in the same order, without
        its other followers): heading for the latest setpoint sent by `t_a`, taking each
        one sent after `t_a` from its send on, at the rated ramp."""
        ramp = self.ramp_mw_per_s
        goal: float | None = None
        for at, target, _ in self._commands:
            if at <= t_a:
                goal = target
        p, now = p_a, t_a
        for at, target, _ in self._commands:
            if at <= t_a:
                continue
            if at >= t:
                break
            if at > now:
                if goal is not None:
                    p = _ramp(p, goal, ramp * max(0.0, at - now))
                now = at
            goal = target
        if goal is not None and t > now:
            p = _ramp(p, goal, ramp * max(0.0, t - now))
        return p

    def observe(
        self,
        t: float,
        measured_mw: float,
        available_mw: float | None = None,
        answered_t: float | None = None,
    ) -> float | None:
        """`judge`'s first answer: None if the reading is consistent, else the time [s] from
        which the failure was observable."""
        return self.judge(t, measured_mw, available_mw, answered_t)[0]

    def judge(
        self,
        t: float,
        measured_mw: float,
        available_mw: float | None = None,
        answered_t: float | None = None,
    ) -> tuple[float | None, bool]:
        """(`since`, `overtook`) of one reading, the envelope computed once.

        `since`: check a reading [MW] at `t` [s]; None if consistent (it becomes the anchor),
        else the time [s] from which the failure was observable: the first setpoint sent
        since the device last sat on its fast follower (or that moment, if none since).

        For a setpoint that is a cap, `available_mw` [MW] (what the device says the weather
        allows now) turns the check two-sided: below both the envelope and what is
        available is not obeying either.

        A reading asked for at `t` and answered at `answered_t` [s] was taken somewhere in
        between (a busy link or host delays it): it is consistent if an obeying device could
        have been there at some moment of that span.

        `overtook`: as `overtook`, judged before the reading moves the anchor."""
        if self._anchor is None:
            self.reset(t, measured_mw)
            return None, False
        # Nearly every reading of an obeying device lies within the band of the fast
        # follower: the envelope holds that follower, so such a reading is consistent,
        # overtakes nothing and has caught up, whatever the other followers say. Only
        # that follower is computed then (the whole envelope, two starts and two ends of
        # up to eight followers each, was about a third of the event loop's time of a
        # partition owner of 5,000 assets, sampled with py-spy).
        # Exactly the full answer: the envelope's lo is the lowest follower (the fast one
        # included) less slack and band, rounded no higher than `fast - band` (rounding is
        # monotone); hi alike.
        t_a, p_a, _ = self._anchor
        fast = self._fast_from(t, t_a, p_a)
        band = self.band_mw
        # both forms: in floating point they differ at the band's edge, and the envelope's
        # answer needs both (the equivalence test finds a case that needs the second)
        if fast - band <= measured_mw <= fast + band and abs(measured_mw - fast) <= band:
            self._caught_up_t = t
            self._first_after = None
            self._consistent(t, measured_mw, answered_t)
            return None, False
        fast, fast_end, lo, hi = self._window(t, answered_t)
        overtook = self._beyond(measured_mw, lo, hi)
        if self.is_limit:
            floor = -float("inf") if available_mw is None else available_mw - self.band_mw
            ok = min(lo, floor) <= measured_mw <= hi
        else:
            ok = lo <= measured_mw <= hi
        if min(abs(measured_mw - fast), abs(measured_mw - fast_end)) <= self.band_mw:
            self._caught_up_t = t
            self._first_after = None
        if ok:
            self._consistent(t, measured_mw, answered_t)
            return None, overtook
        if self._first_after is not None:
            return self._first_after, overtook
        return (self._caught_up_t if self._caught_up_t is not None else t), overtook
