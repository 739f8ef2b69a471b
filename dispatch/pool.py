"""The pool controller: every tick, the sold schedule plus the TSO's activation becomes one
setpoint per asset.

Each tick (1 s by default), on a snapshot of the telemetry board that does not change while
the tick computes:

1. target [MW] = the schedule's planned pool injection for the quarter hour of now + the
   `ActivationSource`'s activation;
2. measured [MW] = the sum of the FRESH readings only (`BoardEntry.fresh`: the latest read
   attempt answered and the reading is at most `max_reading_age_s` old). An asset without
   a fresh reading is *unknown*: it counts as nothing, the tick reports how many assets
   and how much planned power are unknown, and allocation treats it as lost (its share
   goes to the others) until it answers again;
3. a PI correction (anti-windup, rate limit) on target - measured is added, so that assets
   that do less than asked are made up for by the others;
4. what the assets in the pool must produce = target + correction - what the fresh assets
   out of the pool measure; each asset in the pool starts from its own planned injection
   (clipped to what it can reach this tick, given its limits, ramp and state of charge),
   and the rest is shared by headroom (`dispatch.control.allocation.water_fill`);
5. probing: an asset whose setpoint has not moved by more than half a probing move for
   `probe_after_s` is given a small move (`probe_share` of its rating, or what its declared
   ramp covers in `probe_ramp_s` if more, within its room; held `probe_hold_s` once reached
   at its ramp), paired with an opposite move of another flat asset so that the pool's
   total is unchanged, so that a device that does not follow, or follows too slowly, is
   seen on a flat schedule. A PV plant or CHP behind a site meter is paired with one
   behind another meter (one such move per meter at a time: two fake meters of one site
   probed together made opposite unseen moves that cancelled at their meter); the other
   members of a site (storage) pair among themselves, one pair per site at a time, so
   that the site watch can tell whose reported move its meter did not see; storage too
   small for its meter to pin a lie on (two units or more in a site) is probed in
   *rounds* instead (`PoolConfig.storage_probe_share`, `dispatch.control.storage_rounds`):
   all of a site's such units at once, by up to 90 % of their rating within what their
   state of charge holds, held `PoolConfig.storage_probe_hold_s`, moves summing to zero
   tick by tick, judged by their own state of charge (one left alone in its site pairs
   with one alone in another); members a site watch asks for go first, but one flat for
   three probing intervals goes before one asked for again soon after its last probe;
   a PV plant or CHP there moves by more than its meter can put down to band errors
   (`AssetActor.site_nameable_mw`), with a partner that has the room; the pairs starting
   in one tick move at most `PoolConfig.probe_budget_share` of the fleet's rating and
   those in flight at most `PoolConfig.probe_flight_share` of it, since a pair's two moves
   do not land at once; while the schedule sells an aFRR band, the
   moves in flight add up to at most `PoolConfig.probe_band_share` of it (pairs a site
   watch asked for excepted), so that the TSO's read-back stays within its tolerance;
6. each actor is handed its setpoint (`AssetActor.command`, latest wins, with the tick's
   time so that latencies run from here): the tick never waits on a device;
7. observers (e.g. the simulation's truth sampler) are called with the tick's time and
   target, after the tick's duration was measured.

Power that no fresh reading accounts for but a site meter sees (a silent device that keeps
running, a quarantined one whose registers can no longer be read) is added to the measured
total and left out of the allocation as uncontrollable, through `metered_unseen`: each
source returns that power [MW] now, or 0 when it has nothing fresh to say. Without it the
pool would count such a device as lost and over-deliver by its power.

A tick that starts more than a whole period late counts as missed (the next one runs at
once, on the then-current snapshot).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from dispatch.activation import ActivationSource
from dispatch.actor import AssetActor
from dispatch.board import TelemetryBoard
from dispatch.clock import DispatchClock
from dispatch.control.allocation import reachable_interval, soc_power_limits, water_fill
from dispatch.control.pi import PIConfig, PIController
from dispatch.control.probe_balance import balance_probes
from dispatch.control.storage_rounds import balance_groups, round_moves
from dispatch.ids import new_dispatch_id
from dispatch.kpi import KpiRecorder
from dispatch.observability import DispatchMetrics, event_log
from dispatch.schedule import Schedule
from regulatory.assets.base import BalancingProduct

if TYPE_CHECKING:
    from dispatch.allocation import ChosenAllocation

_OVERDUE = 3.0
"""A member flat for this many times `PoolConfig.probe_after_s` goes before members a site
watch asked for again though they probed lately (`PoolController._pairs`)."""

_CROSS_CANDIDATES = 64
"""Partners looked at for one probing move behind another meter (the longest-waiting
first): the search costs at most this many looks per site and tick, not one per due
member of every other site (a thousand sites would make that a million)."""


@dataclass(frozen=True)
class PoolConfig:
    """How the pool is controlled [s, 1, 1/s, MW, MW/s]."""

    tick_s: float = 1.0
    kp: float = 0.1
    ki: float = 0.1
    """Integral gain [1/s]; at a coarse tick it is bounded by `max_ki_per_tick`."""
    max_ki_per_tick: float = 0.3
    """Bound of the integral gain per tick, ki x tick_s [1]. A setpoint reaches the pool's
    sum of readings two ticks after the tick that set it (an actor's turn reads before it
    writes, so the write's effect is read at its next turn and used at the tick after
    that); an integrator with a two-tick delay is unstable above 1.0 per tick (with kp 0.1)
    and rings above about 0.4. At 0.1/s a 15 s tick gave 1.5 per tick: the pool swung
    between 1 and 31 MW around a 15 MW target with a period of five ticks, and what an ISP
    delivered off its target was the residue of that swing (an NL ISP of the CI day moved
    0.05-0.2 MWh of the 0.25 MWh of aFRR it took on). At 0.3 the loop's slowest pole is
    0.61 with a two-tick delay and 0.75 with three (a read a tick late on a loaded host);
    a 1 s tick keeps ki = 0.1/s."""
    correction_limit_mw: float = 10.0
    """Bound of the PI correction [MW] (anti-windup acts here)."""
    correction_rate_mw_per_s: float = 5.0
    soc_horizon_s: float = 900.0
    """Storage is only asked for power it can hold this long [s]."""
    max_reading_age_s: float = 2.5
    """A reading older than this [s] is stale: never counted as delivery."""
    probe_after_s: float = 10.0
    """A setpoint flat this long [s] gets a probing move."""
    probe_retries: int = 2
    """A probe behind a site meter that no comparison of its site saw is made again at
    once at most this many times in a row (`PoolController._probe_again`); after that the
    asset waits for its next routine probe. Unbounded, an asked probe whose move no
    comparison ever saw was asked again every 5 s for ever where routine probing is off
    (`probe_after_s` infinite)."""
    probe_share: float = 0.15
    """Size of a probing move, as a share of the asset's rating."""
    storage_probe_share: float = 0.9
    """Storage behind a site meter is probed in *rounds* (`dispatch.control.storage_rounds`):
    every free storage unit of the site at once, each by up to this share of its rating
    within what it can hold for `soc_horizon_s` (less `storage_probe_margin_share`), some
    up and some down, summing to zero. A lying battery's state of charge gives it away once
    its lie has moved enough energy: a lie of the few hundred watts the activation gives a
    3 kW battery takes 4-18 s to make one 0.01 % step, a probe of 2.7 kW under one second.
    0: no rounds (storage pairs inside its site by `probe_share`, as any member)."""
    storage_probe_after_share: float = 0.3
    """A site's storage round starts once one of its storage units was flat for this share
    of `probe_after_s` (3 s of 10 s), so that `probe_after_s` stays the one switch of
    routine probing (`math.inf`: none; a site watch's asks are still served)."""
    storage_flight_share: float = 0.02
    """The storage rounds in flight (one side of each) add up to at most this share of the
    fleet's rating [1] (rounds a site watch asked for excepted); the pairs have their own
    bound (`probe_flight_share`). A round's members ramp alike and its setpoints sum to
    zero every tick, but their writes land up to a second apart: each round in flight can
    put up to one side of its moves into the pool's true error for that long."""
    storage_probe_hold_s: float = 3.0
    """How long a storage round's moves are held [s], once every member reached its move
    (`probe_hold_s` for the pairs). A lying battery is named once the energy it claimed
    and did not move exceeds what its check allows for its SoC register's step and the
    reads' timing: a round's move must last until then. With 2 s (the pairs' hold) rounds
    ended about when a lie of 1-1.5 kW had claimed one step more than the slack, and the
    move back (a ramp the check must allow for, the lie turning) hid it again: in process
    with Modbus timing (`fake_meter_timeline.py --paced`, seeds 1-16, detection counted at
    the evidence's answer) 165 liars later than 3 s at 30 % and 51 at 10 %; held 3 s, 95
    and 33 (at 30 % lower or equal in every seed); held 4 s, worse than 2 s (130 against
    117 in seeds 1-12). Under the rounds' flight bound fewer rounds fit in a minute (45
    sites of two batteries, bound reached: 88 rounds against 114)."""
    storage_probe_margin_share: float = 0.1
    """Room a round leaves each storage unit [share of its rating]: the allocation's base
    moves while the round runs (`dispatch.control.storage_rounds.balance_groups` keeps the
    round's sum at zero if it does anyway)."""
    probe_hold_s: float = 2.0
    """How long a probing move is held [s]."""
    probe_gap_s: float = 1.0
    """After a probing pair of a site returns, the site's next pair waits this long [s]:
    its meter sees the return and the next start at different readings."""
    probe_ramp_s: float = 0.5
    """A probing move is at least what the asset's declared ramp covers in this time [s]:
    a device ramping at a tenth of its rate needs ten times as long, more than the
    execution check allows, so ``slow_ramp`` cannot finish a probe unseen."""
    probe_budget_share: float = 0.03
    """Probing moves that start in one tick add up to at most this share of the fleet's
    rating (the pairs asked for or waiting longest first; the rest wait a tick)."""
    probe_flight_share: float = 0.05
    """The probing moves in flight (one move per pair) add up to at most this share of the
    fleet's rating [1]; pairs a site watch asked for go regardless. A pair's two moves land
    at different instants (a CHP ramps for several ticks while its battery partner moves
    at once), so each pair in flight can put up to its move into the pool's true error:
    at 20,000 assets in 4 partitions about 2,000 CHP pairs were in flight in a
    partition's first probing wave, and its devices' truth fell up to 387 MW below its
    target (tolerance 340 MW)."""
    cross_budget_share: float = 0.02
    """Of that, the pairs behind two site meters (`PoolController._crossing`) that start
    in one tick add up to at most this share of the fleet's rating."""
    probe_band_share: float = 0.01
    """While the schedule holds an aFRR band (`PoolController.afrr_band_mw`), the probing
    moves in flight add up to at most this share of it [1]; pairs that do not fit wait,
    except those a site watch asked for. The TSO reads the pool's measured power back and
    allows 2 % of the band off the truth; a pair's two readings are taken at different
    instants of a period (and its moves land at different ticks), so each pair in flight
    can put up to its move into that sum: probes take at most half of the tolerance. On a
    10-asset pool with a 2 MW band (15 % of a battery, 0.28 MW, 14 % of the band) the
    truth was up to 12.7 % of the band off the TSO's setpoint with the fleet-rating
    budget alone."""
    count_stale: bool = False
    """The old, wrong way, kept only to show what it hides: every asset's LAST reading
    counts as delivery, stale or not (never use it to dispatch)."""


TickObserver = Callable[[float, float], None]
"""Called after each tick with its time [s] and the pool's target [MW]."""


class PoolController:
    """Ticks the pool (see the module docstring)."""

    def __init__(
        self,
        pool: str,
        schedule: Schedule,
        activation: ActivationSource,
        actors: Sequence[AssetActor],
        board: TelemetryBoard,
        clock: DispatchClock,
        metrics: DispatchMetrics,
        kpi: KpiRecorder,
        config: PoolConfig | None = None,
        observers: Sequence[TickObserver] = (),
    ) -> None:
        self.pool = pool
        self.schedule = schedule
        self.activation = activation
        self.actors = list(actors)
        self.board = board
        self.clock = clock
        self.metrics = metrics
        self.kpi = kpi
        self.config = config if config is not None else PoolConfig()
        limit = self.config.correction_limit_mw
        self.pi = PIController(
            PIConfig(
                kp=self.config.kp,
                ki=min(self.config.ki, self.config.max_ki_per_tick / self.config.tick_s),
                min_mw=-limit,
                max_mw=limit,
                rate_mw_per_s=self.config.correction_rate_mw_per_s,
            )
        )
        self.ticks = 0
        self._ids = [a.asset_id for a in self.actors]
        self._max = np.array([a.limits.max_mw for a in self.actors])
        self._min = np.array([a.limits.min_mw for a in self.actors])
        self._min_stable = np.array([a.limits.min_stable_mw for a in self.actors])
        self._ramp = np.array([a.limits.ramp_mw_per_s for a in self.actors])
        self._energy = np.array(
            [np.nan if a.energy_mwh is None else a.energy_mwh for a in self.actors]
        )
        self._is_limit = np.array([a.limits.setpoint_is_limit for a in self.actors])
        self._band = np.array([a.config.policy.band_mw(a.limits.max_mw) for a in self.actors])
        self._is_limit_l: list[bool] = self._is_limit.tolist()
        self._band_l: list[float] = self._band.tolist()
        self._min_stable_l: list[float] = self._min_stable.tolist()
        self._log = event_log(pool=pool)
        self._plan_cache: tuple[object, np.ndarray] | None = None
        self._band_cache: tuple[object, float] | None = None
        self.observers = list(observers)
        self.allocator: ChosenAllocation | None = None
        """The allocation strategy chosen per tick (`dispatch.allocation`); None: `_allocate`."""
        self.metered_unseen: list[Callable[[float], float]] = []
        """Sources of power the meters see but no fresh reading accounts for [MW] (e.g.
        `dispatch.sites.SiteWatch.unseen_mw`)."""
        self.unread: tuple[float, list[int] | None] = (-math.inf, None)
        """(t [s], the assets with a reading that is not fresh at t, by index, in order) of
        the tick at t, known before its `metered_unseen` sources are asked (they may walk
        only these; None: not known, every asset counts as fresh with `count_stale`)."""
        self.last_target_mw = 0.0
        self.last_measured_mw = 0.0
        """What the last tick counted as delivered [MW]: fresh readings plus metered."""
        n = len(self.actors)
        self._rating = np.maximum(np.abs(self._max), np.abs(self._min))
        self._last_sp = np.full(n, np.nan)
        t0 = clock.now()
        # Stagger the first probes over the probing interval, neighbours (one site) apart.
        spread = (np.arange(n) * 0.6180339887498949) % 1.0
        self._moved_t = t0 - self.config.probe_after_s * spread
        self._probe = np.zeros(n)
        self._storage = ~np.isnan(self._energy)
        """Per asset, True for storage (it has an energy content)."""
        self._up_only = ~self._storage & ~self._is_limit & (self._min >= 0)
        """No storage, not a cap, never below 0 MW: a unit with a minimum stable load."""
        self._probe_until = np.full(n, -np.inf)
        self._probe_start = np.full(n, -np.inf)
        """When each asset's latest probing move started [s] (the tick that set it)."""
        self._was_running = np.zeros(n, dtype=bool)
        """Assets probing after the previous tick."""
        self._ended_t = np.full(n, np.nan)
        """When the probe of an asset behind a site meter ended [s], until the pool has
        looked whether a comparison of its site saw its move (NaN: nothing to look at)."""
        self._group = np.full(n, -1, dtype=np.int64)
        """The probe group of each asset (a storage round, or a pair inside one site) whose
        moves are kept summing to zero tick by tick (-1: none)."""
        self._groups = 0
        self._round = np.zeros(n, dtype=bool)
        """Assets whose latest probe is a storage round (`PoolConfig.storage_probe_share`)."""
        self._last_sign = np.zeros(n)
        """The way each asset's latest probe went (+1 up, -1 down, 0: none yet)."""
        self._round_cap = np.full(n, np.inf)
        """Per asset, what the moves of its site's storage round may add up to, both ways
        [MW]: under what its site meter can pin on one member (`AssetActor.
        site_nameable_mw`), so that a round's moves never name anyone by the meter, however
        many of its members lie (their own states of charge judge them; 90 % moves of the
        in-process fleet's large batteries, read up to 450 ms late, named two honest ones
        by their site meter)."""
        self._in_rounds = np.zeros(n, dtype=bool)
        """Per asset, True for storage behind a site meter too small for the meter to pin
        its lie on it (its rating under `_round_cap`): it is probed in rounds, judged by
        its own state of charge, while two of its site's such units are in the pool (a
        lone one pairs with a lone one behind another meter, else as any member, as
        often). Larger storage pairs inside its site, as before: its meter names it (in
        process, where batteries of a few hundred kW read a state of charge with no steps,
        rounds kept under what the meter can pin left 20-35 lying batteries of 40
        unnamed)."""
        self._again = np.zeros(n, dtype=bool)
        """Assets whose probe no comparison of their site saw, due again at once."""
        self._retries = np.zeros(n, dtype=np.int64)
        """How many probes in a row each asset was given again (`_again`)."""
        self.probes = 0
        self._sites: np.ndarray | None = None
        self._partner = np.full(n, -1, dtype=np.int64)
        """The other asset of each probing pair (-1: none yet)."""
        self._index = {asset_id: i for i, asset_id in enumerate(self._ids)}
        self._asked = np.zeros(n, dtype=bool)
        """Assets a site watch asked to probe now (`request_probe`), for the next tick."""
        self._crossing = np.zeros(n, dtype=bool)
        """Per asset, True if it sits behind a site meter, its lie shows only there (a lie
        floor: PV, CHP) and a unit of that kind behind another meter can be its probing
        partner: it is probed with one, never inside its own site."""
        self._lie_floor = np.zeros(n)
        """Per asset, the smallest probe [MW] its site meter can pin on it if it reports a
        move it does not make (a tenth above `AssetActor.site_nameable_mw`); 0 without a
        site or for storage, whose own state of charge gives such a lie away."""

    def request_probe(self, asset_ids: Sequence[str]) -> None:
        """Probe one of `asset_ids` at the next tick, whether its setpoint was flat or not:
        a site watch that cannot tell which of several members made a move its meter did
        not see asks for a move of one of them alone (paired with an opposite move of
        another member of its site, so the pool's total is unchanged). The first that is
        in the pool, not probing, and has room is moved; the request holds for one tick."""
        for asset_id in asset_ids:
            i = self._index.get(asset_id)
            if i is not None:
                self._asked[i] = True

    async def run(self, until_s: float, grid_s: float | None = None) -> None:
        """Tick every `tick_s` until the clock reaches `until_s` [s], the first tick now.
        With `grid_s` [s], the ticks after the first fall on `grid_s` + k `tick_s` (a first
        tick that waited for first contacts does not shift every later one off the grid
        that the quarter hours and the assets' turns keep)."""
        period = self.config.tick_s
        due = self.clock.now()
        if grid_s is not None and due < until_s:
            await self.clock.sleep_until(due)
            self.tick(self.clock.now())
            due = grid_s + (math.floor((due - grid_s) / period + 1e-9) + 1) * period
        while due < until_s:
            await self.clock.sleep_until(due)
            now = self.clock.now()
            if now - due >= period:
                missed = int((now - due) // period)
                for _ in range(missed):
                    self.kpi.missed_tick()
                    self.metrics.missed_ticks.labels(self.pool).inc()
                due += missed * period
            self.tick(now)
            due += period

    def tick(self, t: float) -> None:
        """One control step at `t` [s]; never awaits."""
        started = time.perf_counter()
        self.ticks += 1
        dispatch_id = new_dispatch_id(self.schedule)  # unique; names schedule, plan, bids
        utc = self.clock.utc()
        snapshot = self.board.snapshot()
        n = len(self.actors)
        planned = self._planned_at(utc)
        max_age = self.config.max_reading_age_s
        count_stale = self.config.count_stale
        # Per asset in plain Python (a numpy element costs more than the arithmetic):
        # 10,000 assets every second.
        measured_l = [0.0] * n
        last_seen_l = [0.0] * n
        ages_l = [math.nan] * n
        soc_l = [math.nan] * n
        cap_hi_l = self._max.tolist()
        cap_lo_l = self._min.tolist()
        include_l = [False] * n
        fresh_l = [False] * n
        planned_l = planned.tolist()
        is_limit = self._is_limit_l
        band = self._band_l
        min_stable = self._min_stable_l
        get = snapshot.get
        unread: list[int] = []
        for i, asset_id in enumerate(self._ids):
            entry = get(asset_id)
            if entry is None or entry.telemetry is None:
                continue
            reading = entry.telemetry
            power = reading.power_mw
            last_seen_l[i] = power
            read_t = entry.read_t
            if not (count_stale or entry.fresh(t, max_age)):
                unread.append(i)
                continue  # unknown: counts as nothing, lost for allocation
            fresh_l[i] = True
            ages_l[i] = t - (read_t if read_t is not None else t)
            measured_l[i] = power
            if reading.soc is not None:
                soc_l[i] = reading.soc
            if reading.max_mw is not None and reading.max_mw < cap_hi_l[i]:
                cap_hi_l[i] = reading.max_mw
            setpoint = reading.setpoint_mw
            if is_limit[i] and setpoint is not None and power < setpoint - band[i]:
                cap_hi_l[i] = min(cap_hi_l[i], power)  # below its cap: all there is
            if reading.min_mw is not None and reading.min_mw > cap_lo_l[i]:
                cap_lo_l[i] = reading.min_mw
            stable = min_stable[i]
            if stable > 0.0 and planned_l[i] <= 0.0:
                # A unit with a minimum stable load is on or off as its plan says: planned
                # off, it is not started to fill a gap (any setpoint below its minimum
                # load starts it AT that load, out of control) and a running one is
                # stopped (0 MW: it ramps down through its unstable range itself).
                cap_lo_l[i] = cap_hi_l[i] = 0.0
            elif power >= 0.5 * stable > 0.0:
                # A running unit with a minimum stable load is kept at or above it: below,
                # it would clamp (or refuse) what it was asked and look like drifting.
                cap_lo_l[i] = max(cap_lo_l[i], stable)
            include_l[i] = entry.in_pool
        measured = np.array(measured_l)
        last_seen = np.array(last_seen_l)
        ages = np.array(ages_l)
        soc = np.array(soc_l)
        cap_hi = np.array(cap_hi_l)
        cap_lo = np.array(cap_lo_l)
        include = np.array(include_l, dtype=bool)
        fresh = np.array(fresh_l, dtype=bool)
        activation = self.activation.activation_mw(t)
        target = float(planned.sum()) + activation
        self.unread = (t, None if count_stale else unread)
        unseen = sum(source(t) for source in self.metered_unseen)
        total_measured = float(measured.sum()) + unseen
        correction = self.pi.update(t, target, total_measured)
        allocate = self._allocate if self.allocator is None else self.allocator.bound(self, t)
        setpoints, lo, hi = allocate(
            target + correction - float(measured[fresh & ~include].sum()) - unseen,
            planned,
            measured,
            cap_lo,
            cap_hi,
            soc,
            include,
        )
        setpoints = self._add_probes(
            t, setpoints, lo, hi, include, cap_lo, cap_hi, self.afrr_band_mw(utc), soc
        )
        # A unit planned on that is still below its minimum stable load is starting: it is
        # told at least that load (it ramps up through its unstable range at its own rate,
        # which is what the allocation counted on this tick); a setpoint in between would
        # be clamped by the unit, and the execution check would call it drifting.
        starting = include & (self._min_stable > 0.0) & (planned > 0.0)
        setpoints = np.where(starting, np.maximum(setpoints, self._min_stable), setpoints)
        product = "schedule" if activation == 0 else "afrr"
        actors, values = self.actors, setpoints.tolist()  # Python floats: no numpy scalars
        for i in np.flatnonzero(include).tolist():
            actors[i].command(values[i], dispatch_id, product, t)
        duration = time.perf_counter() - started
        unknown = ~fresh
        self.metrics.tick_seconds.labels(self.pool).observe(duration)
        self.metrics.tracking_error.labels(self.pool).set(target - total_measured)
        self.kpi.tick(
            t,
            utc,
            duration,
            target,
            total_measured,
            unknown_assets=int(unknown.sum()),
            unknown_planned_mw=float(planned[unknown].sum()),
            measured_if_stale_mw=float(last_seen.sum()),
            telemetry_ages_s=ages[fresh],
        )
        self.last_target_mw = target
        self.last_measured_mw = total_measured
        for observer in self.observers:
            observer(t, target)

    def _add_probes(
        self,
        t: float,
        setpoints: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        include: np.ndarray,
        cap_lo: np.ndarray,
        cap_hi: np.ndarray,
        band_mw: float = 0.0,
        soc: np.ndarray | None = None,
    ) -> np.ndarray:
        """Hold running probes; start new ones, in pairs of opposite moves, for assets in
        the pool whose setpoint has been flat for `probe_after_s` (see the module doc).

        `lo`, `hi` [MW]: what each asset can reach this tick (a probe is clipped to it and
        reached over several ticks by a slow asset); `cap_lo`, `cap_hi` [MW]: its limits
        now, which bound the room a probe may use; `band_mw` [MW]: the aFRR band held now
        (0: none), which bounds the moves in flight (`PoolConfig.probe_band_share`); `soc`
        [1]: each asset's fresh state of charge (NaN: none), which bounds a storage round's
        room (None: no rounds)."""
        if not include.any():
            return setpoints
        cfg = self.config
        # A move counts when it is large enough for every check (execution, site meter,
        # a device ramping at a tenth of its rate): about half a probing move.
        significant = 0.5 * np.minimum(
            self._rating,
            np.maximum(cfg.probe_share * self._rating, cfg.probe_ramp_s * self._ramp),
        )
        moved = include & ~(np.abs(setpoints - self._last_sp) <= significant)
        self._moved_t[moved] = t
        self._last_sp[moved] = setpoints[moved]
        self._probe_again(t, include)
        # A probe whose partner left the pool stops: alone it would only unbalance it.
        orphaned = (self._probe_until > t) & ~include[np.maximum(self._partner, 0)]
        self._stop_probes(orphaned, t)
        self._end_broken_groups(t)
        running = include & (self._probe_until > t)
        # A running probe a site watch asks about ends now: its return is a move of that
        # member alone, which tells the watch's explanations apart. While it runs its site
        # starts no other such move, and a skipped comparison that merged the site's
        # previous probe's return with this one's start leaves two members that moved by
        # the same step: the watch told them apart only at the probe's natural end, a liar
        # named 3.5-4 s after its lie showed (in process, a twentieth of the reads lost).
        # Not in the tick it started: its move is written in the actors' turns after that
        # tick, its return in the turns after this one, each after the turn's read, so the
        # move and its return are two readings. A partner behind the same meter returns
        # with it; one behind another meter holds its move to its end (its own meter may be
        # judging it), the pool off by that move until then.
        # Not a storage round: its members' own states of charge judge them, and a round cut
        # short moves too little energy for that.
        ending = self._asked & running & (self._probe_start < t) & ~self._round
        if ending.any():
            ended = np.flatnonzero(ending)
            partners = self._partner[ended]
            site = self._site_index()
            along = partners[site[partners] == site[ended]]
            self._probe_until[ended] = t
            self._probe_until[along] = t
            self._asked[ended] = False
            running = include & (self._probe_until > t)
        asked = self._asked & include & ~running
        self._asked[:] = False
        site = self._site_index()
        rounds = np.zeros(len(site), dtype=bool)
        if cfg.storage_probe_share > 0 and soc is not None and self._in_rounds.any():
            # Where two of a site's small storage units are in the pool now: a lone one
            # (its partner out of the pool) pairs as any member.
            here = self._in_rounds & include
            count = np.bincount(site[here], minlength=int(site.max()) + 1)
            rounds = here & (count[np.maximum(site, 0)] >= 2)
        # Storage behind a site meter is probed as often as rounds run, alone in its site
        # too (paired with another such unit behind another meter, `_pairs`).
        small_storage = self._in_rounds & include if cfg.storage_probe_share > 0 else rounds
        flat_for = np.where(
            small_storage, cfg.storage_probe_after_share * cfg.probe_after_s, cfg.probe_after_s
        )
        due = include & ~running & ((t - self._moved_t >= flat_for) | asked | self._again)
        # Only assets with room to move their own way: one without would head its site's
        # queue, the longest waiting, and block the site's probes.
        room_up = np.where(self._is_limit, 0.0, cap_hi - setpoints)
        room_down = np.where(
            self._up_only,
            np.where(room_up <= 2 * self._band, setpoints - 0.5 * self._rating, 0.0),
            setpoints - cap_lo,
        )
        # A cap that is not curtailing (its setpoint at or above the power the weather
        # gives) is not probed: moved down it curtails energy no one can give back, and
        # its partner's opposite move drains storage away from its plan (a PV plant
        # probed every ~20 s delivered 30 % below its schedule over a day).
        uncurtailed = self._is_limit & (setpoints >= cap_hi - self._band)
        room_down = np.where(uncurtailed, 0.0, room_down)
        roomy = np.maximum(room_up, room_down) > 2 * self._band
        due &= roomy
        round_due = due & rounds
        round_asked = asked & round_due
        asked &= roomy & ~rounds
        candidates = np.flatnonzero(due)
        if candidates.size >= 2 or (candidates.size and asked.any()):
            recent = include & (self._probe_until > t - cfg.probe_gap_s)
            up, down = self._pairs(
                candidates,
                recent,
                asked,
                include & ~running & roomy,
                (room_up, room_down),
                no_lead=rounds,
                overdue=t - self._moved_t >= _OVERDUE * cfg.probe_after_s,
                asked_lately=t - self._probe_start < cfg.probe_after_s,
            )
            forced = self._up_only[up]
            room_a = np.minimum(cap_hi[up] - setpoints[up], setpoints[down] - cap_lo[down])
            room_b = np.minimum(setpoints[up] - cap_lo[up], cap_hi[down] - setpoints[down])
            # A unit with a minimum stable load moves up; at its maximum it may move down
            # instead, staying in the upper half of its rating (its stable load is below).
            at_top = (cap_hi[up] - setpoints[up]) <= 2 * self._band[up]
            room_b = np.where(
                forced,
                np.where(
                    at_top,
                    np.minimum(setpoints[up] - 0.5 * self._rating[up], room_b),
                    -np.inf,
                ),
                room_b,
            )
            # A cap (PV curtailment) is only probed downwards: above, the weather decides.
            room_a = np.where(self._is_limit[up], -np.inf, room_a)
            room_b = np.where(self._is_limit[down], -np.inf, room_b)
            sign = np.where(room_a >= room_b, 1.0, -1.0)
            room = np.maximum(room_a, room_b)
            # At least the share of the smaller rating; more, where there is room, for a
            # fast asset: what its declared ramp covers in `probe_ramp_s`. The whole move is
            # kept; a slow asset reaches it over several ticks (clipped to its reachable
            # interval each tick) and holds it as long as the others.
            need = cfg.probe_ramp_s * np.maximum(self._ramp[up], self._ramp[down])
            size = np.maximum(
                cfg.probe_share * np.minimum(self._rating[up], self._rating[down]),
                np.minimum(need, room),
            )
            # Behind a site meter, a unit whose lie only the meter can show moves by more
            # than the meter can put down to every member's band at once, where there is
            # room: a smaller unseen move is no proof against anyone.
            floor = np.maximum(self._lie_floor[up], self._lie_floor[down])
            size = np.maximum(size, np.minimum(floor, room))
            useful = np.isfinite(room) & (room > 2 * np.minimum(self._band[up], self._band[down]))
            up, down, step, sign = up[useful], down[useful], size[useful], sign[useful]
            # The two moves of a pair do not land at once (a PV cap drops at once, a CHP
            # ramps up after its dead time): every pair that starts in one tick adds its
            # transient to the pool's true error. At most `probe_budget_share` (3 %) of the
            # fleet's rating starts moving per tick (the first pair always may): 40 sites
            # starting their 20 kW pairs together were 0.44 MW off at every start.
            budget = cfg.probe_budget_share * float(self._rating.sum())
            keep = np.cumsum(step) - step < budget
            # Pairs behind two meters (a PV cap and a CHP) are never the same site's: up to
            # 40 such pairs of 20 kW may be due at once. They get a smaller budget of their
            # own (at 3 % an honest fleet was 0.34 MW off, tolerance 0.30 MW).
            crossing = np.where(self._crossing[up] | self._crossing[down], step, 0.0)
            keep &= np.cumsum(crossing) - crossing < cfg.cross_budget_share * float(
                self._rating.sum()
            )
            pinned = asked[up] | asked[down]
            # (Storage rounds have a bound of their own, `storage_flight_share`.)
            in_flight = 0.5 * float(np.abs(self._probe[running & ~self._round]).sum())
            routine = np.where(keep & ~pinned, step, 0.0)
            # A pair starts while the moves before it stay under the bound: with none in
            # flight one always may (a small pool's probe can be larger than the bound).
            keep &= pinned | (
                in_flight + np.cumsum(routine) - routine
                < cfg.probe_flight_share * float(self._rating.sum())
            )
            if band_mw > 0.0:
                # An aFRR band is held: the moves in flight, these included, stay within
                # `probe_band_share` of it (one move per pair: its two readings can be a
                # move apart). Pairs a site watch asked for go regardless: they name a
                # device the meters already doubt.
                routine = np.where(keep & ~pinned, step, 0.0)
                keep &= pinned | (
                    in_flight + np.cumsum(routine) <= cfg.probe_band_share * band_mw + 1e-12
                )
            up, down, step, sign = up[keep], down[keep], step[keep], sign[keep]
            self._probe[up] = sign * step
            self._probe[down] = -sign * step
            ramp = np.maximum(np.minimum(self._ramp[up], self._ramp[down]), 1e-9)
            hold = t + cfg.probe_hold_s + np.ceil(step / ramp / cfg.tick_s) * cfg.tick_s
            chosen = np.concatenate((up, down))
            self._probe_until[chosen] = np.concatenate((hold, hold))
            self._probe_start[chosen] = t
            self._retries[chosen] = np.where(self._again[chosen], self._retries[chosen] + 1, 0)
            self._again[chosen] = False
            self._partner[up], self._partner[down] = down, up
            self._round[chosen] = False
            self._last_sign[up], self._last_sign[down] = sign, -sign
            # A storage pair inside one site is kept summing to zero (its site's total with
            # it): one member clipped by its state of charge no longer leaves the other's
            # whole move in the site. Not a PV plant's or CHP's pair: held to its partner's
            # ramp, a cap's drop would show its lie no sooner than the partner's move.
            inside = (site[up] == site[down]) & self._storage[up] & self._storage[down]
            ids = self._groups + np.arange(int(inside.sum()))
            self._group[up], self._group[down] = -1, -1
            self._group[up[inside]], self._group[down[inside]] = ids, ids
            self._groups += ids.size
            self._moved_t[chosen] = np.concatenate((hold, hold))
            self.probes += int(chosen.size)
            running = include & (self._probe_until > t)
        if round_due.any():
            running = self._start_rounds(
                t,
                setpoints,
                running,
                include & ~running & rounds,
                (round_due, round_asked),
                (cap_lo, cap_hi),
                soc,
                band_mw,
            )
        self._probe[~running] = 0.0
        ended = self._was_running & ~running & (self._site_index() >= 0) & ~self._round
        self._ended_t[ended] = t
        self._was_running = running
        if running.any():
            with np.errstate(invalid="ignore"):
                probed = np.where(running, np.clip(setpoints + self._probe, lo, hi), setpoints)
            probed = balance_groups(setpoints, probed, self._group, running)
            # What clipped moves take from the total, the others give back.
            # A unit with a minimum stable load moves only while it runs, and not below
            # that load (the pool would clamp a starting one back up to it).
            stable = self._min_stable
            off = (stable > 0.0) & ~(setpoints >= stable)
            free = include & (self._site_index() < 0) & ~off
            setpoints = balance_probes(
                setpoints,
                probed,
                running,
                free,
                np.where(stable > 0.0, np.maximum(lo, stable), lo),
                hi,
                storage=self._storage,
                caps=self._is_limit,
            )
        return setpoints

    def _end_broken_groups(self, t: float) -> None:
        """A probe group (`_group`) whose member stopped (its partner left the pool, a site
        watch ended it) stops as a whole at `t` [s]: the others alone would move the
        site's total."""
        live = self._was_running & (self._group >= 0)
        stopped = live & (self._probe_until <= t)
        if stopped.any():
            dead = live & np.isin(self._group, np.unique(self._group[stopped]))
            self._stop_probes(dead & (self._probe_until > t), t)

    def _stop_probes(self, which: np.ndarray, t: float) -> None:
        """The probes of `which` (mask) stop at `t` [s], before their end, because a
        partner or a member of their group left the pool: their setpoints go back now, so
        they count as flat from now, not from the end they were given. (A probe a site
        watch ends early keeps that end: its asset's next routine probe waits as before.)
        Counted from that end, a storage round broken by a member's lost read kept its
        site waiting for the rest of the round's hold before the next could start (a
        fifth of the reads lost: two lying batteries of a site, their round of 19 s broken
        at 20 s, probed again at 26 s)."""
        self._probe_until[which] = t
        self._moved_t[which] = np.minimum(self._moved_t[which], t)

    def _start_rounds(
        self,
        t: float,
        setpoints: np.ndarray,
        running: np.ndarray,
        free: np.ndarray,
        wanted: tuple[np.ndarray, np.ndarray],
        caps: tuple[np.ndarray, np.ndarray],
        soc: np.ndarray | None,
        band_mw: float,
    ) -> np.ndarray:
        """Start a storage round (`dispatch.control.storage_rounds`) in each site with a
        `due` storage unit and none of its rounds running or just returned: every `free`
        storage unit of the site (in the pool, not probing) with room. Rounds asked for by
        a site watch go first and regardless; the others while the moves in flight stay
        under `probe_flight_share` of the fleet's rating (and `probe_band_share` of an aFRR
        band held). `running`: the assets probing before; `wanted`: (due, asked) masks;
        `caps`: (lo, hi) [MW] each asset's limits now. Returns which assets are probing."""
        cfg = self.config
        site = self._site_index()
        due, asked = wanted
        cap_lo, cap_hi = caps
        recent = self._round & (self._probe_until > t - cfg.probe_gap_s)
        busy = np.unique(site[recent])
        wanted_sites = np.unique(site[due])
        cand = np.flatnonzero(free & np.isin(site, wanted_sites) & ~np.isin(site, busy))
        if cand.size < 2 or soc is None:
            return running
        # While an aFRR band is held, by the routine share: the TSO reads the pool back
        # within `probe_band_share` of the band, and a large move the allocation's base
        # cannot follow in one tick spreads over the pool.
        share = cfg.storage_probe_share if band_mw <= 0.0 else cfg.probe_share
        # Rounds in flight have a bound of their own (`storage_flight_share`): sharing the
        # pairs' bound, the PV plants' and CHPs' pairs took it all and the rounds of 400
        # Modbus devices were cut to moves of 0.4-1.2 kW, liars named 10-19 s after their
        # lie showed. While an aFRR band is held, everything in flight shares its bound.
        if band_mw > 0.0:
            in_flight = 0.5 * float(np.abs(self._probe[running]).sum())
            bound = min(
                cfg.probe_flight_share * float(self._rating.sum()),
                cfg.probe_band_share * band_mw,
            )
        else:
            in_flight = 0.5 * float(np.abs(self._probe[running & self._round]).sum())
            bound = cfg.storage_flight_share * float(self._rating.sum())
        lo_soc, hi_soc = soc_power_limits(soc[cand], self._energy[cand], cfg.soc_horizon_s)
        known = ~np.isnan(soc[cand])  # no fresh state of charge: no room known
        margin = cfg.storage_probe_margin_share * self._rating[cand]
        up_room = np.minimum(cap_hi[cand], hi_soc) - setpoints[cand] - margin
        down_room = setpoints[cand] - np.maximum(cap_lo[cand], lo_soc) - margin
        wanted_mw = share * self._rating[cand]
        up_room = np.clip(np.where(known, up_room, 0.0), 0.0, wanted_mw)
        down_room = np.clip(np.where(known, down_room, 0.0), 0.0, wanted_mw)
        # Only the sites that may fit are sized (asked ones, then the longest waiting, while
        # the most each could move fits what is left of the bound; sizing every due site
        # each tick cost 22 ms at 500 sites of six batteries, 89 ms at 2,000), and only
        # those that could move at all (else a site of full, idle batteries, never probed,
        # stayed the longest waiting and took the bound from every other).
        sites, first = np.unique(site[cand], return_inverse=True)
        ups = np.zeros(sites.size)
        np.add.at(ups, first, up_room)
        downs = np.zeros(sites.size)
        np.add.at(downs, first, down_room)
        most = np.minimum(ups, downs)
        least = np.full(sites.size, np.inf)
        np.minimum.at(least, first, 2 * self._band[cand])
        asked_site, order = self._site_order(cand, first, sites.size, asked)
        order = order[most[order] >= least[order]]
        before = np.cumsum(most[order]) - most[order]
        fits = asked_site[order] | (before < max(bound - in_flight, 0.0)) | (before <= 0.0)
        sized = np.isin(first, order[fits])
        cand, first = cand[sized], first[sized]
        moves = round_moves(
            site[cand],
            up_room[sized],
            down_room[sized],
            wanted_mw[sized],
            self._last_sign[cand],
            2 * self._band[cand],
        )
        moving = moves != 0.0
        # A site sized that makes no round now is tried again after a flat time, not first
        # at every tick.
        self._moved_t[cand[~moving]] = t
        cand, moves, first = cand[moving], moves[moving], first[moving]
        if cand.size < 2:
            return running
        # One round per site, asked ones first, then the longest waiting.
        kept, first = np.unique(first, return_inverse=True)  # sites with a round to make
        # A round's moves add up (both ways) to less than its meter can pin on a member:
        # lying members' unseen moves, each too small to name, summed to a residual that
        # the site watch pinned on an honest PV plant moving at the same time (in process,
        # 400 assets, `fake_meter:0.3@20s`, seed 2: two honest PV plants named).
        total = np.zeros(kept.size)
        np.add.at(total, first, np.abs(moves))
        cap = np.full(kept.size, np.inf)
        np.minimum.at(cap, first, self._round_cap[cand])
        with np.errstate(divide="ignore", invalid="ignore"):
            moves = moves * np.minimum(1.0, cap / total)[first]
        size = np.zeros(kept.size)
        np.add.at(size, first, np.maximum(moves, 0.0))
        asked_site, order = self._site_order(cand, first, kept.size, asked)
        scale = np.zeros(kept.size)
        for k in order.tolist():
            left = bound - in_flight
            # With nothing in flight and no band held one round always may (a small pool's
            # round can be larger than the bound); else a round that does not fit waits,
            # or while a band is held moves less (scaled alike, its moves still cancel).
            if asked_site[k] or size[k] <= left or (band_mw <= 0.0 and not in_flight > 0.0):
                scale[k] = 1.0
            elif band_mw > 0.0 and left > 0.0:
                scale[k] = left / size[k]
            in_flight += scale[k] * size[k]
        moves = moves * scale[first]
        whole = np.ones(kept.size, dtype=bool)
        np.logical_and.at(
            whole, first, (scale[first] >= 1.0) | (np.abs(moves) >= 2 * self._band[cand])
        )
        chosen = whole[first]
        cand, moves, first = cand[chosen], moves[chosen], first[chosen]
        if cand.size < 2:
            return running
        ramp = np.maximum(self._ramp[cand], 1e-9)
        reach = np.ceil(np.abs(moves) / ramp / cfg.tick_s) * cfg.tick_s
        longest = np.zeros(kept.size)
        np.maximum.at(longest, first, reach)
        hold = t + cfg.storage_probe_hold_s + longest[first]
        started, first = np.unique(first, return_inverse=True)
        ids = self._groups + first
        self._groups += started.size
        self._probe[cand] = moves
        self._probe_until[cand] = hold
        self._probe_start[cand] = t
        self._moved_t[cand] = hold
        self._group[cand] = ids
        self._round[cand] = True
        self._last_sign[cand] = np.sign(moves)
        self._retries[cand] = 0
        self._again[cand] = False
        # Each member's partner is the next of its round, the last's the first (a round
        # whose member leaves the pool stops as a whole, `_end_broken_groups`).
        order = np.argsort(ids, kind="stable")
        ranked, by_group = cand[order], ids[order]
        new = np.r_[True, by_group[1:] != by_group[:-1]]
        last = np.r_[new[1:], True]
        heads = ranked[np.flatnonzero(new)[np.cumsum(new) - 1]]
        self._partner[ranked] = np.where(last, heads, np.r_[ranked[1:], ranked[:1]])
        self.probes += int(cand.size)
        out = running.copy()
        out[cand] = True
        return out

    def _site_order(
        self, members: np.ndarray, first: np.ndarray, sites: int, asked: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(asked, order) of `sites` sites whose `members` (assets) sit at `first` (each
        member's site position): per site, whether a site watch asked for one of its
        members, and the sites asked ones first, then the longest waiting."""
        asked_site = np.zeros(sites, dtype=bool)
        np.logical_or.at(asked_site, first, asked[members])
        waited = np.full(sites, np.inf)
        np.minimum.at(waited, first, self._moved_t[members])
        return asked_site, np.lexsort((waited, ~asked_site))

    def _probe_again(self, t: float, include: np.ndarray) -> None:
        """Make due at once each asset behind a site meter whose probe ended a tick ago or
        more without any comparison of its site seeing its move (`AssetActor.
        site_compared_t` before the move's first reading, a tick after it started): over
        a lossy link every comparison during a probe may be skipped (a member's read lost
        while it was on its way, or the prober's own), and a fake meter's lie then waited
        for its next routine probe, 10-30 s later, or the run's end (in process, a
        twentieth of the reads lost). Also a probe cut short because its partner left the
        pool. It waits for its site to be free as any due member, and is made again at most
        `PoolConfig.probe_retries` times in a row."""
        tick = self.config.tick_s
        looked = np.flatnonzero(~np.isnan(self._ended_t) & (t >= self._ended_t + tick))
        if not looked.size:
            return
        compared = np.array([self.actors[i].site_compared_t for i in looked.tolist()])
        unseen = looked[(compared < self._probe_start[looked] + tick) & include[looked]]
        unseen = unseen[self._retries[unseen] < self.config.probe_retries]
        self._again[unseen] = True
        if math.isfinite(self.config.probe_after_s):
            # Ordered among the due members as one that became due now.
            self._moved_t[unseen] = np.minimum(self._moved_t[unseen], t - self.config.probe_after_s)
        self._ended_t[looked] = np.nan

    def _pairs(
        self,
        candidates: np.ndarray,
        busy_now: np.ndarray,
        asked: np.ndarray | None = None,
        movable: np.ndarray | None = None,
        room: tuple[np.ndarray, np.ndarray] | None = None,
        no_lead: np.ndarray | None = None,
        overdue: np.ndarray | None = None,
        asked_lately: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (up[k], down[k]) of due assets to probe in opposite directions (`up` may
        move down instead when it has more room, unless it is up-only).

        Behind a site meter, one pair of the site's own assets at a time, and only when
        none of them is probing or has just returned (`busy_now`); an asset a site watch
        asked for (`asked`) first, then an `overdue` one (flat for `_OVERDUE` times
        `probe_after_s`), then one asked for again though it probed lately
        (`asked_lately`: within `probe_after_s`), then the longest-waiting. A site watch
        whose doubt its asks do not settle asks for the same members every few seconds:
        first in line, they kept the site's one move to themselves, and fake CHPs of such
        sites, flat at their setpoints, were never probed in 60 s, their lies never shown
        (in process with Modbus timing, seeds 4 and 12; over Modbus one of 40 fake meters
        was never named). The site's total is unchanged
        and its meter sees one move each way, so a reported move it did not see points at
        one asset. An asked asset's partner may be any `movable` member of its site (in
        the pool, not probing, with room), flat or not, but not another asked one when
        there is a choice. Assets without a site pair among themselves.

        With `room` ((up, down) [MW] each asset may move now), a member whose lie only its
        site meter can show (`_lie_floor`: PV, CHP) is paired, where any member of its site
        allows it, with a partner that lets both move by more than that floor (a 50 kW CHP
        paired with a 3 kW battery moved by 4 kW: unseen by the meter's rules, a fake
        meter's lie went unnamed until its next probe, 20 s later), any movable member
        counting before a smaller move.

        `no_lead` (storage in rounds) never leads a pair inside its site, but may be the
        partner a PV plant or CHP pairing there needs (a single-site pool: no partner
        behind another meter; without it such a PV plant was never probed)."""
        site = self._site_index()
        no_lead = no_lead if no_lead is not None else np.zeros(len(site), dtype=bool)
        asked = asked if asked is not None else np.zeros(len(site), dtype=bool)
        ups, downs = self._pair_among(candidates[(site[candidates] < 0) & ~asked[candidates]])
        grouped = candidates[site[candidates] >= 0]
        if grouped.size:
            # A PV plant or CHP (a lie only its meter shows) moves with a partner behind
            # another meter where one can be its partner (`_crossing`), one such move per
            # site at a time: a probing pair inside one site moved two fake meters together
            # again and again, their unseen moves cancelling at the meter they share (on
            # the Modbus benchmark's fleet, seeds 1-6, 35 or more of 720 named late or
            # never; 14 with this and the site watch's check of a stretch that ends
            # balanced). The others (storage, whose state of charge shows its lies) pair
            # inside their site as before, beside such a move.
            crossing = self._crossing
            busy = set(site[busy_now & ~crossing].tolist())
            busy_crossing = set(site[busy_now & crossing].tolist())
            none = np.zeros(grouped.size, dtype=bool)
            late = overdue[grouped] if overdue is not None else none
            lately = asked_lately[grouped] if asked_lately is not None else none
            again = asked[grouped] & lately
            rank = np.where(asked[grouped] & ~again, 0, np.where(late, 1, np.where(again, 2, 3)))
            order = np.lexsort((self._moved_t[grouped], rank))
            waiting = grouped[order]
            by_site: dict[int, list[int]] = {}
            cross: dict[int, list[int]] = {}
            for i, s in zip(waiting.tolist(), site[waiting].tolist(), strict=True):
                if crossing[i]:
                    if s not in busy_crossing:
                        cross.setdefault(s, []).append(i)
                elif s not in busy:
                    by_site.setdefault(s, []).append(i)
            movable_by_site: dict[int, list[int]] = {}
            if movable is not None:
                for i in np.flatnonzero(movable & (site >= 0) & ~crossing).tolist():
                    movable_by_site.setdefault(int(site[i]), []).append(i)
            site_up, site_down = self._cross_site_pairs(cross, site, room)
            # Storage units that found no partner in their site (the others of their site
            # named, or out of the pool), the longest waiting of each site.
            lone: list[int] = []
            for s, members in by_site.items():
                # The asked or longest-waiting member goes first, unless its only partners
                # make a move too small for the meter to pin a lie on (a battery and a PV
                # plant): then the next member that has a better one.
                in_site = movable_by_site.get(s, [])
                fallback: tuple[int, int] | None = None
                leader = next((i for i in members if not no_lead[i]), None)
                for k, first in enumerate(members):
                    if no_lead[first]:
                        continue
                    rest = members[:k] + members[k + 1 :]
                    others = [i for i in in_site if i != first and i not in rest]
                    pair, small = self._site_pair(first, rest, others, asked, room)
                    if pair is None:
                        continue
                    if not small:
                        fallback = pair
                        break
                    if fallback is None and first == leader:
                        fallback = pair
                if fallback is not None:
                    site_up.append(fallback[0])
                    site_down.append(fallback[1])
                elif (
                    leader is not None
                    and self._in_rounds[leader]
                    and self.config.storage_probe_share > 0
                ):
                    lone.append(leader)
            # Such units pair with each other across sites: each one's state of charge
            # judges it, and each meter sees one move (beside a PV plant's or CHP's move
            # there, as a round's can be). Alone in its site once the other batteries
            # there were named, a fake battery whose lie had shown in its last round was
            # never moved again (in process with Modbus timing, seed 16: two never named
            # in the 37 s after their lie showed; also when kept from sites with such a
            # move).
            if len(lone) >= 2:
                lone_up, lone_down = self._pair_among(np.array(lone, dtype=np.int64))
                site_up.extend(lone_up.tolist())
                site_down.extend(lone_down.tolist())
            ups = np.concatenate((ups, np.array(site_up, dtype=np.int64)))
            downs = np.concatenate((downs, np.array(site_down, dtype=np.int64)))
        return ups, downs

    def _cross_site_pairs(
        self,
        by_site: dict[int, list[int]],
        site_of: np.ndarray,
        room: tuple[np.ndarray, np.ndarray] | None,
    ) -> tuple[list[int], list[int]]:
        """(ups, downs): probing pairs whose two members sit behind different site meters,
        one member per site (`by_site`: each free site's due members, asked or
        longest-waiting first; its first is the one to move).

        Each meter then sees a single move: an honest member's is in the meter, a liar's
        is not, whatever its partner is. Partners must be able to pair (`_partners_for`,
        and for a cap the cap's own rule too) and let both move by more than their lie
        floors (`_wide_enough`), the closest ramp first (for an up-only unit, the largest
        rating); never last time's partner where another fits. A member that finds no
        partner waits for a later tick (never a partner inside its own site)."""
        used: set[int] = set()
        ups: list[int] = []
        downs: list[int] = []
        waiting = [(i, o) for o, due in by_site.items() for i in due]
        for s, members in by_site.items():
            if s in used:
                continue
            first = members[0]
            others: list[int] = []
            for i, o in waiting:  # the first few that wait behind other free meters
                if o != s and o not in used:
                    others.append(i)
                    if len(others) >= _CROSS_CANDIDATES:
                        break
            # A cap's partner must suit the cap too (not an up-only unit too slow for it).
            fits = [
                i
                for i in self._partners_for(first, others)
                if not self._is_limit[i] or first in self._partners_for(i, [first])
            ]
            wide, narrow = self._wide_enough(first, fits, room)
            floor = self._lie_floor[first]
            fits = [i for i in fits if i in wide or (i not in narrow and floor <= 0)]
            if len(fits) > 1:
                fits = [i for i in fits if i != self._partner[first]] or fits
            if not fits:
                continue
            if self._up_only[first]:
                partner = max(fits, key=lambda i: self._rating[i])
            else:
                partner = min(fits, key=lambda i: abs(self._ramp[i] - self._ramp[first]))
            pair = (partner, first) if self._up_only[partner] else (first, partner)
            used.update((s, int(site_of[partner])))
            ups.append(pair[0])
            downs.append(pair[1])
        return ups, downs

    def _site_pair(
        self,
        first: int,
        rest: list[int],
        others: list[int],
        asked: np.ndarray,
        room: tuple[np.ndarray, np.ndarray] | None,
    ) -> tuple[tuple[int, int] | None, bool]:
        """((up, down), small) of a probing pair for `first` among its site's due members
        `rest` and other movable members `others`, or None; `small` when the move it
        allows is below a floor one of them has (`_wide_enough`).

        An up-only unit's partner is the largest free asset; a free asset's, the free one
        with the closest ramp (a probe is sized by the pair; for a cap an up-only unit may
        be that one), else an up-only unit. Partners by preference: flat members, then any
        other that can move (only for an asked member, which must move now, or a flat one
        whose only flat partner is its last one), members asked for last. Not its partner
        of last time where there is another: two fake meters probed together make opposite
        unseen moves that cancel at the meter, and the same pair would hide them again and
        again."""
        flat = [i for i in rest if not asked[i]]
        wide, narrow = self._wide_enough(first, rest + others, room)
        if not asked[first] and flat != [self._partner[first]] and not wide:
            others = []  # a flat member with flat partners, or none: as always
        free: list[int] = []
        tiers = [
            flat,
            [i for i in others if not asked[i]],
            [i for i in rest + others if asked[i]],
        ]
        # Partners that let the meter's lie show come first, any tier; then those that
        # need no such move; a probe too small for the meter comes last.
        tiers = (
            [[i for i in tier if i in wide] for tier in tiers]
            + [[i for i in tier if i not in narrow] for tier in tiers]
            + tiers
        )
        for tier in tiers:
            tier = self._partners_for(first, tier)
            if len(tier) > 1 or (tier and tier[0] != self._partner[first]):
                free = [i for i in tier if i != self._partner[first]] or tier
                break
        if not free:  # only last time's partner, wherever it is: better than none
            last = [i for i in rest + others if i == self._partner[first]]
            free = self._partners_for(first, last)
        pair: tuple[int, int] | None = None
        if self._up_only[first]:
            if free:
                pair = (first, max(free, key=lambda i: self._rating[i]))
        elif free:
            partner = min(free, key=lambda i: abs(self._ramp[i] - self._ramp[first]))
            # a cap's up-only partner: it moves up
            pair = (partner, first) if self._up_only[partner] else (first, partner)
        elif rest:
            pair = (rest[0], first)
        if pair is None:
            return None, False
        other = pair[1] if pair[0] == first else pair[0]
        small = other in narrow or (self._lie_floor[first] > 0 and other not in wide)
        return pair, small

    def _wide_enough(
        self, first: int, members: list[int], room: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[set[int], set[int]]:
        """(wide, narrow): which of `members` let `first` and itself make a probe above
        their lie floor (`_lie_floor`), given `room` ((up, down) [MW] each may move now),
        and which have a floor that a probe with `first` cannot reach. Members without a
        floor, paired with a `first` without one, are in neither."""
        wide: set[int] = set()
        narrow: set[int] = set()
        if room is None:
            return wide, narrow
        up, down = room
        for i in members:
            floor = max(self._lie_floor[first], self._lie_floor[i])
            if floor <= 0.0:
                continue
            pair_room = max(min(up[first], down[i]), min(down[first], up[i]))
            (wide if pair_room >= floor else narrow).add(i)
        return wide, narrow

    def _partners_for(self, first: int, members: list[int]) -> list[int]:
        """Which of `members` may make a probing pair with `first`: two caps cannot (both
        only move down), and an up-only unit only with a cap (it moves up, the cap down;
        with any other it is paired as the one asked for, `first`). A cap's partner is
        the one with the closest ramp, so a large PV plant can move by what a slow
        execution would show, instead of what a small battery can take back; an up-only
        unit that ramps at less than half the cap's rate is no partner (it would hold the
        cap's probe, and its site's, for many ticks)."""
        if self._is_limit[first]:
            fast = 0.5 * self._ramp[first]
            return [
                i
                for i in members
                if not self._is_limit[i] and (not self._up_only[i] or self._ramp[i] >= fast)
            ]
        return [i for i in members if not self._up_only[i]]

    def _pair_among(self, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs of due assets without a site meter."""
        # Units with a minimum stable load (no storage, not a cap) are only probed
        # upwards, each paired with a downward move of a free asset; the free ones left
        # pair among themselves, similar ramps together.
        up_only = candidates[self._up_only[candidates]]
        free = candidates[~self._up_only[candidates]]
        k = min(up_only.size, free.size)
        # Their partners are the largest free assets (a probe is sized by the smaller).
        free = free[np.argsort(-self._rating[free], kind="stable")]
        forced_up, forced_down = up_only[:k], free[:k]
        free = free[k:]
        free = free[np.argsort(self._ramp[free], kind="stable")]
        if free.size % 2:
            free = free[:-1]
        return np.concatenate((forced_up, free[0::2])), np.concatenate((forced_down, free[1::2]))

    def _site_index(self) -> np.ndarray:
        """A number per asset, the same for the assets behind one site meter (read from the
        actors once sites are known; an asset without one is alone)."""
        if self._sites is not None:
            return self._sites
        keys: dict[str, int] = {}
        index = np.array(
            [
                -1 - i if a.site_id is None else keys.setdefault(a.site_id, len(keys))
                for i, a in enumerate(self.actors)
            ],
            dtype=np.int64,
        )
        if keys:  # kept once the sites are known (no site yet: asked again next time)
            self._sites = index
            self._lie_floor = np.array(
                [
                    1.1 * a.site_nameable_mw if a.site_id is not None and not storage else 0.0
                    for a, storage in zip(self.actors, self._storage, strict=True)
                ]
            )
            self._crossing = self._cross_partners_exist(index)
            nameable = np.array([a.site_nameable_mw if a.site_id else 0.0 for a in self.actors])
            self._round_cap = np.where(nameable > 0.0, 0.9 * nameable, np.inf)
            self._in_rounds = self._storage & (index >= 0) & (self._rating < self._round_cap)
        return index

    def _cross_partners_exist(self, site: np.ndarray) -> np.ndarray:
        """Per asset, True if it has a lie floor and some asset with a lie floor behind
        another meter could be its probing partner (`_partners_for`, both ways for a cap):
        where none could (a PV plant beside only slow CHPs), it pairs inside its site."""
        floored = np.flatnonzero((site >= 0) & (self._lie_floor > 0))
        kinds: dict[tuple[bool, bool, float], list[int]] = {}
        for i in floored.tolist():  # one representative per kind of unit and ramp
            kinds.setdefault(
                (bool(self._is_limit[i]), bool(self._up_only[i]), self._ramp[i]), []
            ).append(i)
        out = np.zeros(len(site), dtype=bool)
        for members in kinds.values():
            first = members[0]
            others = [m[0] for m in kinds.values()] + [m[1] for m in kinds.values() if len(m) > 1]
            others = [i for i in others if i != first]
            fits = [
                i
                for i in self._partners_for(first, others)
                if not self._is_limit[i] or first in self._partners_for(i, [first])
            ]
            if fits and int(site.max()) > 0:
                out[members] = True
        return out

    def afrr_band_mw(self, utc: datetime) -> float:
        """The aFRR band the schedule holds in the quarter hour of `utc` [MW, >= 0]: per
        zone the larger of aFRR+ and aFRR- sold, summed over zones (0 outside the
        schedule), computed once per quarter hour."""
        quarter = utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)
        if self._band_cache is None or self._band_cache[0] != quarter:
            band = 0.0
            if self.schedule.start <= quarter < self.schedule.end:
                k = self.schedule.index.index(quarter)
                for sold in self.schedule.capacity_sold_mw.values():
                    band += max(
                        (
                            float(sold[p][k])
                            for p in (BalancingProduct.AFRR_POS, BalancingProduct.AFRR_NEG)
                            if p in sold
                        ),
                        default=0.0,
                    )
            self._band_cache = (quarter, band)
        return self._band_cache[1]

    def _planned_at(self, utc: datetime) -> np.ndarray:
        """Each asset's planned injection [MW] in the quarter hour of `utc` (0 outside the
        schedule or for an asset it does not name), computed once per quarter hour."""
        quarter = utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)
        if self._plan_cache is None or self._plan_cache[0] != quarter:
            planned = np.zeros(len(self._ids))
            inside = self.schedule.start <= quarter < self.schedule.end
            for i, asset_id in enumerate(self._ids):
                if inside and asset_id in self.schedule.injection_mw:
                    planned[i] = self.schedule.planned_mw(asset_id, quarter)
            self._plan_cache = (quarter, planned)
        return self._plan_cache[1]

    def _allocate(
        self,
        wanted_mw: float,
        planned: np.ndarray,
        measured: np.ndarray,
        cap_lo: np.ndarray,
        cap_hi: np.ndarray,
        soc: np.ndarray,
        include: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Setpoints [MW] of the assets in the pool summing to `wanted_mw` where they can:
        each from its plan, the rest by headroom; with each asset's reachable interval
        (lo, hi) [MW] this tick (NaN outside the pool)."""
        nan = np.full(len(planned), np.nan)
        if not include.any():
            return nan, nan, nan
        lo_soc, hi_soc = soc_power_limits(soc, self._energy, self.config.soc_horizon_s)
        storage = ~np.isnan(soc) & self._storage
        lo_cap = np.where(storage, np.maximum(cap_lo, lo_soc), cap_lo)
        hi_cap = np.where(storage, np.minimum(cap_hi, hi_soc), cap_hi)
        lo_cap = np.minimum(lo_cap, hi_cap)
        lo, hi = reachable_interval(measured, lo_cap, hi_cap, self._ramp, self.config.tick_s)
        lo, hi = lo[include], hi[include]
        base = np.clip(planned[include], lo, hi)
        missing = wanted_mw - float(base.sum())
        weights = np.ones(len(base))
        if missing >= 0:
            chosen = base + water_fill(missing, hi - base, weights)
        else:
            # Down, storage first: it takes back what it gave on the way up (an aFRR up
            # call falls to storage, as PV and wind run at what the weather gives), instead
            # of a wind farm being curtailed while the battery drains away from its plan
            # and is empty when the plan calls on it (NL on the sample day: 2.7 % off).
            room = base - lo
            stored = storage[include]
            first = water_fill(-missing, np.where(stored, room, 0.0), weights)
            rest = -missing - float(first.sum())
            chosen = base - first - water_fill(rest, np.where(stored, 0.0, room), weights)
        setpoints = np.full(len(planned), np.nan)
        setpoints[include] = np.clip(chosen, lo, hi)
        lo_all, hi_all = nan.copy(), nan.copy()
        lo_all[include], hi_all[include] = lo, hi
        return setpoints, lo_all, hi_all
