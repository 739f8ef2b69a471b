"""Site meters against their assets' reports: finding a device whose measurement cannot
be true (``fake_meter`` on PV or CHP, where no state of charge gives it away).

A `SiteWatch` reads one site's meter each period (its own asyncio task) and compares it
with the sum of the members' fresh readings (`control.crosscheck.site_residual`), taken
from the actors as soon as each read answers, read at the same instant as the members'
own reads (just after them, or with `settle_s` just before them, before any of their new
setpoints acts, and again each time it looks for their answers, so that the meter's power
is interpolated to the moment their readings were taken: `_meter_at`; a member whose read
of the period is late is waited for up to `settle_s` + `late_s` in all; one whose read
is still missing, or got no answer, counts where an obeying device's envelope pins it
down (`AssetActor.held_mw`), and only where that is not known is the comparison skipped).
While the residual stays within `threshold_mw` the site is balanced and each such reading
starts a new window. Once it has been beyond for `persist` readings, the window (up to `window`
readings, the last balanced one first) is explained (`control.crosscheck.
explain_residual`): the one set of members whose reports, added back to the residual,
make it steady while they moved by more than small lies can add up to (`min_move_mw`).
The meter did not see what they said they did. The pool's probing moves make such
changes, one pair of opposite moves per site at a time (each member's `site_id` tells the
pool its site). Each culprit leaves the pool with cross-check evidence, observable since
the first reading of the window at which its report had moved. A window no set explains,
or that two sets explain, is kept, balanced readings included, until later readings tell
(or the window is full); where two sets explain it, the watch asks the pool to move one of
the members they disagree on alone (`request_probe`); where no set explains an unbalanced
window (a lie that began in the middle of a move, two liars whose lies cancel), it asks for
its suspects, the members whose reports moved most, and a stretch may start wherever the
residual jumped.

A member whose readings were proven wrong (`AssetActor.untrusted`, by this watch or by
its own checks) no longer counts: it is taken to inject what the meter makes of it (the
steady value of residual plus its reports, or for one excluded elsewhere the residual plus
its report at the latest reading), and the window is rewritten as if it always had, so the
site balances again without it and what the window shows of the others is kept.

A site whose members are not all fresh cannot be balanced, but its meter still says what
they inject together: `unseen_mw` is the meter minus the fresh, trusted members' reports,
the power of the members nobody can read or believe (a silent device keeps running; a
quarantined one too; a liar's real power stays on). The pool adds it to what it measured
and does not try to steer it.

Units: MW, + injection; times monotonic seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from dispatch.actor import AssetActor
from dispatch.board import TelemetryBoard
from dispatch.clock import DispatchClock
from dispatch.control.asset_state import AssetState
from dispatch.control.crosscheck import (
    explain_residual,
    explanations,
    site_residual,
    way_left,
)
from dispatch.device import DeviceAdapter, DeviceError

_POLL_S = 0.02
"""How often [s] to look again for members whose read is late."""

_SETTLE_READINGS = 3
"""Comparisons that must agree on what members excluded on outside evidence inject before
it is settled (`SiteWatch._settle_excluded`)."""

_MAX_CULPRITS = 6
"""Most members of one site named at once (a third of a fleet of fake meters puts up to
six or seven behind one meter of ten, all moving with the same activation step)."""
_STRETCHES = 3
"""Latest unbalanced stretches of a window tried on their own."""


class SiteWatch:
    """The meter of one site and the actors of its members."""

    def __init__(
        self,
        meter: DeviceAdapter,
        members: Sequence[AssetActor],
        board: TelemetryBoard,
        clock: DispatchClock,
        *,
        threshold_mw: float,
        persist: int = 2,
        period_s: float = 1.0,
        phase_s: float = 0.9,
        max_age_s: float = 2.5,
        settle_s: float = 0.0,
        late_s: float = 0.0,
        window: int = 30,
        request_probe: Callable[[Sequence[str]], None] | None = None,
        hold_s: float | None = None,
        max_guesses: int = 2,
        guess_spread_mw: float | None = None,
    ) -> None:
        self.meter = meter
        self.members = list(members)
        self.board = board
        self.clock = clock
        self.threshold_mw = threshold_mw
        self.persist = persist
        """Unbalanced readings needed before a culprit is named."""
        self.period_s = period_s
        self.phase_s = phase_s
        self.max_age_s = max_age_s
        self.settle_s = settle_s
        """With `settle_s` > 0 the meter is read just BEFORE the members' reads (`phase_s`)
        and compared with readings taken after it, once they are all in (looked for when
        the last member's read is due, then every `_POLL_S`, the meter read again each
        time): no write of this period has acted yet."""
        self.late_s = late_s
        """How much longer than `settle_s` [s] to wait for members whose read of the period
        is not in yet (a busy link): up to their read deadline, so that a late answer does
        not cost the comparison."""
        self.hold_s = 1.6 * period_s if hold_s is None else hold_s
        """How old [s] a member's previous reading may be to stand for it when its read of
        the period got no answer (`AssetActor.held_mw`; 0: never). Over Modbus a read or
        two of a site's ten members went unanswered in a third of the periods, each such
        comparison was skipped, and a fake meter's two-second probe often fell into a run
        of skipped ones: 34 of 84 PV and CHP liars (5 % of reads lost, in process) were
        named 4-32 s after their lie showed, the next probe of them."""
        self.max_guesses = max_guesses
        """Most members counted by `held_mw` in one comparison: beyond, the comparison
        would rest on guesses more than on readings (a busy host where half the reads are
        late), and it is skipped as before."""
        self.guess_spread_mw = 0.125 * threshold_mw if guess_spread_mw is None else guess_spread_mw
        """How far [MW] the members counted by `held_mw` in one comparison may be off
        together, where their envelopes are wider than their bands (a move under way): a
        quarter of the steadiness tolerance. Counted only where it is narrow, a battery
        whose read was lost while it followed the activation (3 kW, band 60 W, moving by a
        kilowatt) cost the comparison, and a fake meter's probe that fell into two such
        comparisons was named at its return, 3.1-4.1 s after its lie showed (in process, a
        twentieth of the reads lost)."""
        self.min_move_mw = threshold_mw + sum(a.watch.band_mw for a in self.members)
        """Members are named only for reports that moved by more than this [MW] where they
        explain the residual: every member may be off by up to its execution band unseen
        (a liar asked for less change than its band looks like an honest device), those
        small lies add up, and a small honest move that happens to match them is no
        culprit (`explain_residual`: the lies' sum plus twice the tolerance)."""
        for actor in self.members:
            actor.site_nameable_mw = self.min_move_mw
        self.window = window
        """Readings kept to explain an unbalanced residual (the last balanced one first)."""
        self.request_probe = request_probe
        """Asks the pool to move one of the given members alone (`PoolController.
        request_probe`) when several explanations fit: members that moved alike."""
        self.flagged: list[str] = []
        self._excluded: set[str] = set()
        """Members whose reports no longer count (proven wrong)."""
        self._offset_mw = 0.0
        """What the excluded members are taken to inject [MW]."""
        self._loose: tuple[float, float] | None = None
        """How far [MW] (down, up) what members excluded on outside evidence inject may be
        from what they were taken to inject, until the readings after settle it
        (`_settle_excluded`); None when nothing is to settle."""
        self._loose_seen: list[float] = []
        """The residuals [MW] of the latest comparisons since the latest such exclusion."""
        self._loose_balanced = 0
        """Balanced comparisons in a row since then: two, and the estimate stands."""
        self._loose_reports: dict[str, float] = {}
        """The members' reports [MW] at the comparison before."""
        for actor in self.members:
            actor.site_id = meter.asset_id
        self._readings: deque[tuple[float, float, dict[str, float]]] = deque(maxlen=window)
        """(time [s], residual [MW], members' reports [MW]) since the last balanced reading
        (that one first), or since the window was last restarted."""
        self._before: tuple[float, float, dict[str, float]] | None = None
        """The balanced reading of the comparison just before the window's first one, kept
        while the window starts from a single balanced reading: `_explain` may start from
        it when the window's first reading was taken in the middle of a move."""
        self._unbalanced_since: float | None = None
        """The first reading of the current unbalanced stretch [s]: observable since."""
        self._unbalanced = 0
        self._pending = False
        """An unbalanced stretch was not explained yet (two members moved alike): its
        window is kept through balanced readings, which tell the explanations apart."""
        self._unseen: tuple[float, float, list[AssetActor]] | None = None
        """(time [s], power [MW], the members it is the power of) of the members without
        a fresh or trusted reading, as metered."""

    def unseen_mw(self, t: float) -> float:
        """The power [MW] the meter sees from members without a fresh, trusted reading (a
        silent device, a quarantined one, one whose reports were proven wrong), as of the
        last comparison if it is at most `max_age_s` old at `t` [s]; else 0. A member that
        has answered since that comparison is counted by its own reading once the pool has
        it (on the board, after the actor's turn), so its report is taken off from then on
        (at start-up, when members answer their first contact one after another, it was
        counted twice: the pool was 7 MW off a 100-asset fleet)."""
        if self._unseen is None or t - self._unseen[0] > self.max_age_s:
            return 0.0
        compared, power, unread = self._unseen
        for actor in unread:
            entry = self.board.get(actor.asset_id)
            if (
                actor.answered_t is not None
                and actor.answered_t > compared
                and entry is not None
                and entry.telemetry is actor.telemetry  # the pool has that reading too
                and entry.fresh(t, self.max_age_s)
                and not actor.untrusted
            ):
                assert actor.telemetry is not None  # fresh
                power -= actor.telemetry.power_mw
        return power

    async def run(self, until_s: float) -> None:
        """Read the meter once per period until `until_s` [s]."""
        turn = self.clock.now() + self.phase_s
        while turn < until_s:
            await self.clock.sleep_until(turn)
            await self.check(self.clock.now())
            turn += self.period_s

    async def check(self, t: float) -> None:
        """One comparison at `t` [s]."""
        first = await self._meter_sample()
        if first is None:
            return  # a silent meter proves nothing
        samples = [first]
        if self.settle_s > 0:  # the members read right after the meter, before they write
            # Look when the last member's read is due, then as long as one is late; the
            # meter is read again each time, so that it is known at the members' reads.
            last_due = max(a.config.phase_s for a in self.members) - self.phase_s
            until = t + self.settle_s + self.late_s
            await self.clock.sleep_until(min(until, t + max(0.0, last_due) + _POLL_S))
            waiting = -1
            while True:
                late = self._late_count(t)
                if late != waiting:  # someone answered: the meter at that moment
                    waiting = late
                    sample = await self._meter_sample()
                    if sample is not None:
                        samples.append(sample)
                if not late or self.clock.now() >= until:
                    break
                await self.clock.sleep_until(min(until, self.clock.now() + _POLL_S))
        now = self.clock.now()
        reports: dict[str, float] = {}
        read: list[AssetActor] = []
        unread: list[AssetActor] = []
        estimated: list[AssetActor] = []
        """Members whose latest read got no answer, counted at `held_mw` here; the pool has
        no fresh reading of them, so for it they are as unread (the meter tells their
        power). One whose read is only late still counts for the pool by its reading."""
        guesses = 0
        spread = 0.0
        """How far [MW] the members counted by `held_mw` may be off together."""
        for actor in self.members:
            if actor.untrusted:
                self._exclude(actor)
                continue
            fresh = _fresh(actor, now, self.max_age_s)
            if not fresh or (self.settle_s > 0 and (actor.read_t is None or actor.read_t < t)):
                # No answer to this period's read (lost, or late): where an obeying
                # device's envelope pins it down, that stands for it (`held_mw`).
                # Where it was when its read was asked (its turn writes after reading: a
                # setpoint it was sent since had not acted then).
                asked = t + max(0.0, actor.config.phase_s - self.phase_s)
                held = (
                    actor.held_mw(asked, self.hold_s, self.guess_spread_mw - spread)
                    if self.hold_s > 0 and guesses < self.max_guesses
                    else None
                )
                if held is not None:
                    guesses += 1
                    spread += held[1]
                    reports[actor.asset_id] = held[0]
                    if not fresh:
                        estimated.append(actor)
                    continue
                if not fresh:
                    unread.append(actor)  # nobody can read it: the meter alone sees it
                    continue
                return  # its read is late, older than the meter's: skip this comparison
            assert actor.telemetry is not None  # fresh
            reports[actor.asset_id] = actor.telemetry.power_mw
            read.append(actor)
        meter_mw = _meter_at(samples, read)
        metered = site_residual(meter_mw, list(reports.values()))
        # What the pool cannot read but the meter sees: unreadable and excluded members,
        # and those whose latest read got no answer (the pool has no fresh reading).
        if unread or estimated or self._excluded:
            guessed = sum(reports[a.asset_id] for a in estimated)
            self._unseen = (now, metered + guessed, unread + estimated)
        else:
            self._unseen = None
        if unread:
            return  # an unknown member: no conclusion on the rest, the window waits
        for actor in self.members:
            actor.site_compared_t = t  # its moves so far are in a comparison
        residual = metered - self._offset_mw
        if self._loose is not None:
            residual -= self._settle_excluded(residual, reports)
        balanced = abs(residual) <= self.threshold_mw
        if balanced and not self._pending:
            # A short unbalanced stretch that ends balanced may be two lies that cancel
            # now (two liars of this site moved at consecutive readings): the window with
            # this reading tells, before it is dropped.
            if self._unbalanced and self._readings:
                self._readings.append((t, residual, reports))
                culprits = self._explain()
                if culprits is not None:
                    self._name(culprits, now, meter_mw, reports)
                    return
            anchor = self._readings[0] if len(self._readings) == 1 else None
            self._restart((t, residual, reports))
            if anchor is not None and t - anchor[0] <= 1.5 * self.period_s:
                self._before = anchor  # the comparison just before, balanced too
            return
        if not balanced:
            if self._unbalanced_since is None:
                self._unbalanced_since = t
            self._unbalanced += 1
        self._readings.append((t, residual, reports))
        if self._unbalanced < self.persist:
            self._separate(recent=1)  # two readings: enough to see twin moves coming
            return
        culprits = self._explain()
        if culprits is None:
            # Not explained yet: keep the window, balanced readings included (what the
            # members do next tells twin moves apart), until it is or the window is full.
            self._pending = not (balanced and len(self._readings) == self._readings.maxlen)
            if not self._pending:
                self._restart((t, residual, reports))
            else:
                self._separate()
            return
        self._name(culprits, now, meter_mw, reports)

    def _name(
        self, culprits: tuple[str, ...], now: float, meter_mw: float, reports: dict[str, float]
    ) -> None:
        """Name `culprits` (the window explains the residual by their reports) at `now`
        [s], take them out and restart the window if it balances without them."""
        t = self._readings[-1][0]
        stretch = self._unbalanced_since if self._unbalanced_since is not None else t
        for culprit in culprits:
            actor = next(a for a in self.members if a.asset_id == culprit)
            actor.cross_check_failed(
                now,
                f"site meter {meter_mw:.3f} MW, its assets report "
                f"{sum(reports.values()):.3f} MW; {culprit}'s reported changes are not in "
                "the meter",
                self._moved_since(culprit, stretch),
            )
            self.flagged.append(culprit)
        # The meter goes on seeing the culprits' real power: what keeps the residual plus
        # their reports steady.
        explained = [res + sum(rep[c] for c in culprits) for _, res, rep in self._readings]
        self._take_out(culprits, float(np.median(explained)))
        if abs(self._readings[-1][1]) <= self.threshold_mw:
            self._restart(self._readings[-1])

    async def _meter_sample(self) -> tuple[float, float] | None:
        """The meter's power [MW] and when it was taken [s] (the middle of the read's
        span); None if it did not answer."""
        asked = self.clock.now()
        try:
            power = (await self.meter.read()).power_mw
        except DeviceError:
            return None
        return 0.5 * (asked + self.clock.now()), power

    def _moved_since(self, asset: str, default: float) -> float:
        """The first reading of the window at which `asset`'s report had moved away from
        its first one (the meter did not follow from then on); `default` if none [s]."""
        first = self._readings[0][2][asset]
        for t, _, reports in self._readings:
            if abs(reports[asset] - first) > 0.5 * self.threshold_mw:
                return t
        return default

    def _take_out(self, assets: Sequence[str], honest_mw: float) -> None:
        """Stop counting `assets`' reports: together they are taken to inject `honest_mw`
        [MW] from now on, and the window is rewritten as if they always had (what they
        reported is put back into each residual), so that what it shows of the other
        members is kept."""
        self._excluded.update(assets)
        self._offset_mw += honest_mw
        rewritten = [
            (
                t,
                residual + sum(reports.get(a, 0.0) for a in assets) - honest_mw,
                {a: p for a, p in reports.items() if a not in assets},
            )
            for t, residual, reports in self._readings
        ]
        self._readings.clear()
        self._readings.extend(rewritten)
        if self._before is not None:
            t, residual, reports = self._before
            if all(a in reports for a in assets):
                self._before = (
                    t,
                    residual + sum(reports[a] for a in assets) - honest_mw,
                    {a: p for a, p in reports.items() if a not in assets},
                )
            else:
                self._before = None

    def _explain(self) -> tuple[str, ...] | None:
        """The members whose reported changes over the window the meter did not see.

        Tried over the whole window and over its latest stretches, each from the balanced
        reading before it (a lie that began after the window opened fits only those);
        the first with one explanation wins and the window is cut to it."""
        readings = list(self._readings)
        stretches = [
            i
            for i in range(1, len(readings) - 2)
            if abs(readings[i][1]) <= self.threshold_mw
            and abs(readings[i + 1][1]) > self.threshold_mw
        ]
        # Where the residual jumped inside an unbalanced window (a lie that began in the
        # middle of a move, two liars' moves that cancelled, then one of them moved alone):
        # the reading before the jump starts a stretch too.
        jumps = [
            i
            for i in range(1, len(readings) - 2)
            if abs(readings[i + 1][1] - readings[i][1]) > self.threshold_mw and i not in stretches
        ]
        starts = [0, *sorted(set(stretches[-_STRETCHES:] + jumps[-_STRETCHES:]))]
        for start in starts:
            part = readings[start:]
            members = set(part[0][2]).intersection(*(r[2] for r in part[1:]))
            series = {a: [r[2][a] for r in part] for a in members}
            culprits = explain_residual(
                [r[1] for r in part],
                series,
                0.5 * self.threshold_mw,
                min_move_mw=self.min_move_mw,
                max_members=_MAX_CULPRITS,
            )
            # The reading before the stretch: a member of the set caught mid-move at the
            # stretch's first reading is judged against it (`_on_its_way`).
            before = self._before if start == 0 else readings[start - 1]
            if culprits is not None and not self._on_its_way(culprits, part, before):
                for _ in range(start):
                    self._readings.popleft()
                return culprits
        # The window's first reading may itself have been taken in the middle of a move
        # (an honest member ramping with the activation between the meter's read and its
        # own: balanced, but off by up to the threshold, more than the tolerance), and no
        # set fits with it however long the window: started from the balanced reading
        # before it, that one is an inner reading the steadiness test may forgive, as it
        # forgives any other one taken mid-ramp, but only where it is off by no more than
        # twice the threshold (two balanced readings, each within the threshold, differ by
        # up to that: within the threshold alone, a fake PV plant 3.1 kW off there waited
        # 5.7 s for its next probe, in process with Modbus timing). Unbounded, an honest
        # CHP that ramped with the liar's probe (the meter saw its move at that reading, it
        # was 18 kW off there) explained such a window as well as the liar, whose report
        # was 2.9 kW off.
        before = self._before
        if before is not None and len(readings) < (self._readings.maxlen or 0):
            part = [before, *readings]
            members = set(part[0][2]).intersection(*(r[2] for r in part[1:]))
            culprits = explain_residual(
                [r[1] for r in part],
                {a: [r[2][a] for r in part] for a in members},
                0.5 * self.threshold_mw,
                min_move_mw=self.min_move_mw,
                max_members=_MAX_CULPRITS,
                forgive_within_mw=2.0 * self.threshold_mw,
            )
            if culprits is not None:
                self._readings.appendleft(before)
                self._before = None
                return culprits
        return None

    def _on_its_way(
        self,
        culprits: tuple[str, ...],
        part: list[tuple[float, float, dict[str, float]]],
        before: tuple[float, float, dict[str, float]] | None,
    ) -> bool:
        """True if a member of `culprits` was on its way at the first reading of `part`
        (the window, or a stretch of it, from its start): its report there between its
        reports at the reading `before` and at the next one, more than the
        tolerance from both, and the set's explanation off at that reading before by about
        as much as it still had to go (`control.crosscheck._midway`'s rule, one reading
        further back). The meter saw that move as it saw the rest of the way: an honest
        CHP caught at 41.9 kW on its way from 50 to 30, whose last 12 kW matched a fake PV
        plant's 9 kW lie, explained the window from its first reading alone and was named
        (in process with Modbus timing, `fake_meter_timeline.py --paced 10`, found in
        review). A liar caught so waits for the pool's probe of it. `before`: the reading
        before `part` (`_before`, balanced, for the whole window; for a stretch the reading
        before it, which may be unbalanced: a liar moving at the stretch's start then
        waits for the pool's probe of it, as above); the same CHP, caught at 44.8 kW at
        the first reading of a stretch after a jump, matched a fake PV plant's 10.6 kW lie
        over the rest and was named (`--paced 8`, storage probes held 3 s)."""
        if before is None or len(part) < 2 or not all(c in before[2] for c in culprits):
            return False
        tolerance = 0.5 * self.threshold_mw
        steady = float(np.median([r + sum(rep[c] for c in culprits) for _, r, rep in part]))
        off = abs(before[1] + sum(before[2][c] for c in culprits) - steady)
        way = way_left(
            [before[2][c] for c in culprits],
            [part[0][2][c] for c in culprits],
            [part[1][2][c] for c in culprits],
        )
        return bool(((way > tolerance) & (off >= way - tolerance)).any())

    def _separate(self, recent: int = 2) -> None:
        """Where several sets of members explain the window, ask the pool to move one of
        the members that are in some of them but not in all: alone, its move is either in
        the meter (honest) or not (it lied), and the next readings tell which."""
        if self.request_probe is None or len(self._readings) < 2:
            return
        readings = list(self._readings)
        members = set(readings[0][2]).intersection(*(r[2] for r in readings[1:]))
        fitting = explanations(
            [r[1] for r in readings],
            {a: [r[2][a] for r in readings] for a in members},
            0.5 * self.threshold_mw,
            recent=recent,
            min_move_mw=self.min_move_mw,
            max_members=_MAX_CULPRITS,
        )
        if len(fitting) >= 2:
            common = set(fitting[0]).intersection(*fitting[1:])
            suspects = sorted({a for group in fitting for a in group} - common)
        elif (
            self._unbalanced >= self.persist
            and self._pending
            and abs(readings[-1][1]) > self.threshold_mw  # the lie shows now
        ):
            suspects = self._suspects(readings, members)
        else:
            suspects = []
        if suspects:
            self.request_probe(suspects)

    def _suspects(
        self, readings: list[tuple[float, float, dict[str, float]]], members: set[str]
    ) -> list[str]:
        """Members to move alone when an unbalanced window has no explanation (the lie
        began in the middle of a move, two liars' moves cancel, more liars than the rules
        can name at once): those whose reports moved over the window, the most first, or
        every member where none did. Alone, a liar's move is not in the meter, and the
        stretch from the last balanced reading names it."""
        moves = {
            a: max(r[2][a] for r in readings) - min(r[2][a] for r in readings) for a in members
        }
        moved = [a for a in sorted(moves, key=lambda a: -moves[a]) if moves[a] > self.threshold_mw]
        return moved or sorted(members)

    def _late_count(self, t: float) -> int:
        """How many members that are read (fresh) have not answered their read of the
        period that began after the meter's reading at `t` [s]."""
        now = self.clock.now()
        return sum(
            1
            for actor in self.members
            if not actor.untrusted
            and _fresh(actor, now, self.max_age_s)
            and (actor.read_t is None or actor.read_t < t)
        )

    def _restart(self, balanced: tuple[float, float, dict[str, float]] | None = None) -> None:
        """Start the window again: from `balanced` (a reading within the threshold), or
        empty."""
        self._readings.clear()
        if balanced is not None:
            self._readings.append(balanced)
        self._before = None
        self._unbalanced_since = None
        self._unbalanced = 0
        self._pending = False

    def _exclude(self, actor: AssetActor) -> None:
        """Stop counting `actor`'s reports (proven wrong elsewhere, e.g. by its state of
        charge): it is taken to inject what the meter made of it at the window's latest
        balanced reading (the latest reading where there is none), the other members'
        reports taken as true, within its limits (its last report if there is no reading).

        Not simply the latest reading: where another member's lie showed there, all of it
        was put down to this one. A fake battery named by its state of charge just as a
        fake PV plant's 20 kW lie showed was taken to inject -19.5 kW, the PV plant's lie
        vanished from the residual with it, and the PV plant was named 26 s later (in
        process with Modbus timing, `fake_meter_timeline.py --paced 5`)."""
        if actor.asset_id in self._excluded:
            return
        readings = [r for r in self._readings if actor.asset_id in r[2]]
        balanced = [r for r in readings if abs(r[1]) <= self.threshold_mw]
        if readings:  # what the meter says it injects, the others taken as true
            _, residual, reports = (balanced or readings)[-1]
            honest = residual + reports[actor.asset_id]
        else:
            honest = 0.0 if actor.telemetry is None else actor.telemetry.power_mw
        limits = actor.limits
        taken = min(max(honest, limits.min_mw), limits.max_mw)
        self._take_out([actor.asset_id], taken)
        down, up = self._loose or (0.0, 0.0)
        self._loose = (down + limits.min_mw - taken, up + limits.max_mw - taken)
        self._loose_seen = []
        self._loose_balanced = 0
        self._loose_reports = readings[-1][2] if readings else {}

    def _settle_excluded(self, residual: float, reports: dict[str, float]) -> float:
        """How far [MW] to move the offset (what the excluded members are taken to inject)
        by this comparison's `residual` [MW]: where the latest `_SETTLE_READINGS`
        comparisons since an exclusion on outside evidence (`_exclude`) agree on an
        unbalanced residual, and the members so excluded can be off by that much
        (`_loose`), that residual is theirs: the offset takes it and the window restarts
        from here. 0 otherwise. Members may move
        meanwhile: a move the residual does not follow is in the meter (the watch's asks
        for probes move them; waiting for still readings, it waited for ever).

        Taken at the window's latest balanced reading, a lying battery in a storage round
        was put at +3 kW, its round's report, while it stayed at -1.1 kW: the residual
        stayed at -4.1 kW for good, no member explained it, and the watch asked the pool
        to probe the same honest CHP every 2 s for the rest of the run while a fake CHP of
        the site was never moved (in process with Modbus timing, seed 4: its lie never
        showed; seed 14, three lying batteries of one site, two fake PV plants). Two
        balanced comparisons in a row end the settling (the estimate stands), and so does
        a residual that turns unbalanced from balanced as a member's report moves (a lie
        showing): armed until a settle, it took in a fake PV plant's lie that showed
        after the exclusion as an excluded CHP's power (found in review). A lie that shows
        with no report moving (a liar frozen mid-move) and stays put three comparisons
        unexplained is still taken in as the excluded members' power; it shows again at
        the liar's next move."""
        before, self._loose_reports = self._loose_reports, reports
        tolerance = 0.5 * self.threshold_mw
        if abs(residual) <= self.threshold_mw:
            self._loose_balanced += 1
            if self._loose_balanced >= 2:  # the estimate was good enough: it stands
                self._stop_settling()
            return 0.0
        turned = self._loose_balanced > 0
        self._loose_balanced = 0
        moved = any(abs(p - before[a]) > tolerance for a, p in reports.items() if a in before)
        if turned and moved:
            # Unbalanced from balanced as a member's report moved: a lie showing (the
            # window's explanations are for that), not the estimate.
            self._stop_settling()
            return 0.0
        residuals = self._loose_seen
        residuals.append(residual)
        del residuals[:-_SETTLE_READINGS]
        if len(residuals) < _SETTLE_READINGS or max(residuals) - min(residuals) > tolerance:
            return 0.0
        shift = float(np.median(residuals))
        down, up = self._loose or (0.0, 0.0)
        if not down - tolerance <= shift <= up + tolerance:
            return 0.0
        self._offset_mw += shift
        self._stop_settling()
        self._restart()
        return shift

    def _stop_settling(self) -> None:
        """Nothing is left to settle (`_settle_excluded`)."""
        self._loose = None
        self._loose_seen = []


def _meter_at(samples: Sequence[tuple[float, float]], members: Sequence[AssetActor]) -> float:
    """A site meter's power [MW] at its members' reads: interpolated in `samples` ((time
    [s], power [MW]), in time order) at the mean of the times `members`' readings were
    taken (each the middle of its read's span, between asking and answering), held at the
    ends; the first sample alone if there is one, or no member.

    The meter is read just before its members; a member that ramps between that and its
    own read reports a power the meter had not seen yet. While the activation moves a
    site's CHPs (50 kW/s) that was 2-3 kW against a steadiness tolerance of 1.5 kW, and a
    fake meter's window was steady only once the moves stopped (named 5-10 s after its lie
    showed, over Modbus). Read again until the members have all answered, the meter is
    known at their reads."""
    if len(samples) == 1 or not members:
        return samples[0][1]
    times = [
        0.5 * (a.read_t + (a.answered_t if a.answered_t is not None else a.read_t))
        for a in members
        if a.read_t is not None
    ]
    if not times:
        return samples[0][1]
    at = sum(times) / len(times)
    return float(np.interp(at, [x for x, _ in samples], [p for _, p in samples]))


def _fresh(actor: AssetActor, t: float, max_age_s: float) -> bool:
    """The member's latest reading may count as its power at `t` [s]: read from the actor
    itself, as soon as the read answered (the board has it only once the turn's write is
    done too)."""
    return (
        actor.telemetry is not None
        and actor.read_t is not None
        and not actor.last_read_failed
        and t - actor.read_t <= max_age_s
        and actor.state.state is not AssetState.QUARANTINED
    )


def group_sites(n: int, size: int) -> list[range]:
    """Indices of `n` assets grouped into sites of `size` (the last one smaller)."""
    size = max(1, size)
    return [range(i, min(n, i + size)) for i in range(0, n, size)] if n else []


__all__ = ["SiteWatch", "group_sites"]
