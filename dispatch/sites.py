"""Site meters against their assets' reports: finding a device whose measurement cannot
be true (``fake_meter`` on PV or CHP, where no state of charge gives it away).

A `SiteWatch` reads one site's meter each period (its own asyncio task), compares it with
the sum of the members' fresh readings on the telemetry board (`control.crosscheck.
site_residual`), read at the same instant as the members' own reads (just after them,
or with `settle_s` just before them, before any of their new setpoints acts), and, when
the residual stays beyond `threshold_mw`, steady, for `persist` readings,
locates the culprit: the member whose reported change is mirrored, with the opposite sign,
by the residual's change since the site last balanced, or else by the residual's step at
the reading it has been steady since (the member's own step coincided with it): the meter
did not see what that member said it did. The pool's probing moves make such changes, one
pair of opposite moves per site at a time (each member's `site_id` tells the pool its
site). The culprit leaves the pool with cross-check evidence, observable since the first
unbalanced reading. A change no single member explains is left undecided until a later one does.

A member whose readings were proven wrong (`AssetActor.untrusted`, by this watch or by
its own state-of-charge check) no longer counts: its real power is taken as what it
reported when the site last balanced (such a device's power is frozen), so the site
balances again without it and the other members stay watched.

A site whose members are not all fresh cannot be balanced, but its meter still says what
they inject together: `unseen_mw` is the meter minus the fresh members' reports, the
power of the members nobody can read (a silent device keeps running; a quarantined one
too). The pool adds it to what it measured and does not try to steer it.

Units: MW, + injection; times monotonic seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

from dispatch.actor import AssetActor
from dispatch.board import TelemetryBoard
from dispatch.clock import DispatchClock
from dispatch.control.crosscheck import site_residual
from dispatch.device import DeviceAdapter, DeviceError


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
    ) -> None:
        self.meter = meter
        self.members = list(members)
        self.board = board
        self.clock = clock
        self.threshold_mw = threshold_mw
        self.persist = persist
        self.period_s = period_s
        self.phase_s = phase_s
        self.max_age_s = max_age_s
        self.settle_s = settle_s
        """With `settle_s` > 0 the meter is read just BEFORE the members' reads (`phase_s`)
        and compared, `settle_s` later, with readings taken after it: no write of this
        period has acted yet."""
        self.flagged: list[str] = []
        self._excluded: set[str] = set()
        """Members whose reports no longer count (proven wrong)."""
        self._offset_mw = 0.0
        """What the excluded members are taken to inject [MW]."""
        self._previous: tuple[float, dict[str, float]] | None = None
        """Residual [MW] and members' reports at the previous complete reading."""
        self._suspect: tuple[str, float] | None = None
        """The member whose own reported step mirrored the residual's last step, and when."""
        for actor in self.members:
            actor.site_id = meter.asset_id
        self._balanced: tuple[float, dict[str, float]] | None = None
        """Residual [MW] and members' reports at the last balanced reading."""
        self._run = 0
        self._run_start: float | None = None
        self._unbalanced_since: float | None = None
        """The first reading of the current unbalanced stretch [s]: observable since."""
        self._last_residual = 0.0
        self._unseen: tuple[float, float] | None = None
        """(time [s], power [MW]) of the members without a fresh reading, as metered."""

    def unseen_mw(self, t: float) -> float:
        """The power [MW] the meter sees from members without a fresh reading, as of the
        last comparison if it is at most `max_age_s` old at `t` [s]; else 0."""
        if self._unseen is None or t - self._unseen[0] > self.max_age_s:
            return 0.0
        return self._unseen[1]

    async def run(self, until_s: float) -> None:
        """Read the meter once per period until `until_s` [s]."""
        turn = self.clock.now() + self.phase_s
        while turn < until_s:
            await self.clock.sleep_until(turn)
            await self.check(self.clock.now())
            turn += self.period_s

    async def check(self, t: float) -> None:
        """One comparison at `t` [s]."""
        try:
            meter_mw = (await self.meter.read()).power_mw
        except DeviceError:
            return  # a silent meter proves nothing
        if self.settle_s > 0:  # the members read right after the meter, before they write
            await self.clock.sleep_until(t + self.settle_s)
        now = self.clock.now()
        reports: dict[str, float] = {}
        unknown = False
        for actor in self.members:
            if actor.untrusted:
                self._exclude(actor)
                continue
            entry = self.board.get(actor.asset_id)
            if entry is None or entry.telemetry is None or not entry.fresh(now, self.max_age_s):
                unknown = True  # nobody can read it: the meter alone sees its power
                continue
            if self.settle_s > 0 and (entry.read_t is None or entry.read_t < t):
                self._balanced, self._run = None, 0  # read before the meter: no conclusion
                self._previous = self._suspect = self._unbalanced_since = None
                self._unseen = None
                return
            reports[actor.asset_id] = entry.telemetry.power_mw
        if unknown:
            self._unseen = (
                now,
                site_residual(meter_mw, list(reports.values())) - self._offset_mw,
            )
            self._balanced, self._run = None, 0  # unknown member: no conclusion on the rest
            self._previous = self._suspect = self._unbalanced_since = None
            return
        self._unseen = None
        residual = site_residual(meter_mw, list(reports.values())) - self._offset_mw
        previous, self._previous = self._previous, (residual, reports)
        if previous is not None:
            stepped = self._mirror(residual - previous[0], reports, previous[1])
            if stepped is not None:
                self._suspect = (stepped, t)
        if abs(residual) <= self.threshold_mw:
            self._balanced = (residual, reports)
            self._run, self._run_start, self._unbalanced_since = 0, None, None
            return
        if self._unbalanced_since is None:
            self._unbalanced_since = t
        if self._run == 0 or abs(residual - self._last_residual) > 0.5 * self.threshold_mw:
            self._run, self._run_start = 0, t  # a moving residual is timing, not a lie
        self._last_residual = residual
        self._run += 1
        if self._run < self.persist:
            return
        culprit = None if self._balanced is None else self._locate(residual, reports)
        if culprit is None and self._suspect is not None and self._suspect[1] == self._run_start:
            culprit = self._suspect[0]  # steady since that member's own reported step
        if culprit is None:
            return
        actor = next(a for a in self.members if a.asset_id == culprit)
        since = self._unbalanced_since if self._unbalanced_since is not None else t
        actor.cross_check_failed(
            now,
            f"site meter {meter_mw:.3f} MW, its assets report {sum(reports.values()):.3f} MW; "
            f"{culprit}'s reported change is not in the meter",
            since,
        )
        self.flagged.append(culprit)
        self._exclude(actor)
        self._run, self._run_start = 0, None
        self._previous = self._suspect = self._unbalanced_since = None

    def _exclude(self, actor: AssetActor) -> None:
        """Stop counting `actor`'s reports: from now on it is taken to inject what it
        reported when the site last balanced (or its last report, if never)."""
        if actor.asset_id in self._excluded:
            return
        self._excluded.add(actor.asset_id)
        honest: float | None = None
        if self._balanced is not None:
            residual, reports = self._balanced
            honest = reports.pop(actor.asset_id, None)
            self._balanced = (residual, reports)
        if honest is None:
            honest = 0.0 if actor.telemetry is None else actor.telemetry.power_mw
        self._offset_mw += honest

    def _locate(self, residual: float, reports: dict[str, float]) -> str | None:
        assert self._balanced is not None
        before_residual, before = self._balanced
        return self._mirror(residual - before_residual, reports, before)

    def _mirror(
        self, change: float, reports: dict[str, float], before: dict[str, float]
    ) -> str | None:
        """The member whose reported change since `before` mirrors the residual's
        `change` [MW] (the meter did not see it): the only one within 30 % of it, or one
        clearly closer than every other; else None."""
        if abs(change) <= 0.5 * self.threshold_mw:
            return None
        fits = []
        for asset, now in reports.items():
            moved = now - before.get(asset, now)
            miss = abs(change + moved)
            if abs(moved) > 0.5 * self.threshold_mw and miss < 0.3 * abs(change):
                fits.append((miss, asset))
        fits.sort()
        if len(fits) == 1 or (
            len(fits) > 1 and fits[1][0] >= 2.0 * fits[0][0] + 0.2 * self.threshold_mw
        ):
            return fits[0][1]  # the only one, or clearly closer than any other
        return None


def group_sites(n: int, size: int) -> list[range]:
    """Indices of `n` assets grouped into sites of `size` (the last one smaller)."""
    size = max(1, size)
    return [range(i, min(n, i + size)) for i in range(0, n, size)] if n else []


__all__ = ["SiteWatch", "group_sites"]
