"""A rolling restart of a partitioned fleet: one node at a time, each of its partitions
handed over with its lease at a quarter-hour boundary, the node restarted, and ownership
given back to it (or left with the standby).

The in-process cluster (`dispatch.cluster.local.LocalCluster`) runs one owner per
partition; here every partition has a home node and a standby node (the next one). The
roll takes the nodes in order; for each partition the node owns, at the first owner tick
at or after the next quarter-hour boundary (an ISP's first instant, so that the schedule's
switch and the ISP's metering are not split across a half-finished tick):

1. right after that tick, the old owner stops commanding: its controller and its lease
   keeper are cancelled, so none of its actors writes again;
2. it releases its lease (the token stays), and the standby acquires it at once (token
   + 1), with no await in between: the cluster's monitor never sees the lease free and
   never counts a handover as a loss;
3. the standby's controller starts from what the old one was doing (`Handoff`): the
   schedule version in force, the PI correction (a bumpless start) and the assets' last
   confirmed readings (each out of the pool until its new actor's first contact, within a
   tick, reads the device); its first tick is one period after the old owner's last, so a
   handover misses no tick when the machine keeps up;
4. once all its partitions are handed over, the old node restarts (a new incarnation: a
   new owner name); with `give_back` they go back to it, one per boundary, the same way,
   otherwise the restarted node is their standby from then on (and a node that took
   partitions over hands them all on when its own turn comes).

Every owner's ticks are recorded, so the report says per handover the gap between the
last tick of the old owner and the first of the new one and the ticks missed in between
(ticks of the partition's period that no owner ran), plus each owner's own late ticks.
`on_tick(spec, pool, members, t)` is called at every tick of every owner with the
partition's members: the trading side meters ISPs through it (the dispatcher does not
import the trading layer). In process, a "node" is a name: a restart is a new owner
incarnation (Ray's actors restart for real; this module exercises the handover).

Times in the run's seconds [s] on the cluster's clock, UTC-aware instants; MW.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from dispatch.board import BoardEntry
from dispatch.cluster.leases import LeaseLostError
from dispatch.cluster.local import LocalCluster, OwnerRun
from dispatch.cluster.partitions import PartitionSpec
from dispatch.pool import PoolController
from dispatch.schedule import Schedule
from dispatch.simulation import FleetMember

QUARTER = timedelta(minutes=15)
TickHook = Callable[[PartitionSpec, PoolController, Sequence[FleetMember], float], None]
"""(partition, its owner's pool controller, the partition's members, tick time [s])."""


class RollError(RuntimeError):
    """A handover could not be made (the old owner had lost its lease, or the standby
    could not acquire it); the message names the partition, owners and token."""


@dataclass(frozen=True)
class Handoff:
    """What a new owner takes over from the old one instead of starting cold."""

    schedule: Schedule
    """The schedule version the old owner's pool followed."""
    correction_mw: float
    """The old pool's PI correction in force [MW] (a bumpless restart of the new one)."""
    readings: Mapping[str, BoardEntry]
    """The assets' last confirmed state: the old pool's board (readings with the time they
    were read). The new board starts from it, every asset out of the pool until its own
    actor has read it: a reading stays fresh for its age limit, so an asset its new actor
    has not reached by the first tick (a stalled loop) is still measured, not unknown."""


@dataclass
class Handover:
    """One handover of a partition's lease from one owner to another."""

    partition: str
    reason: str
    """``roll`` (to the standby) or ``give_back`` (to the restarted home node)."""
    boundary_utc: datetime
    """The quarter-hour boundary it was made at."""
    from_owner: str
    to_owner: str
    from_token: int
    to_token: int
    at_s: float
    """When the lease changed hands [s]."""
    last_tick_s: float | None
    """The old owner's last tick [s]."""
    new_run: OwnerRun
    wall_ms: float = 0.0
    """Wall-clock time of the handover itself [ms]: from stopping the old owner to the
    new owner's controller built (on a virtual clock, time the loop is blocked)."""
    first_tick_s: float | None = None
    """The new owner's first tick [s] (None until it ticked)."""

    def missed_ticks(self, tick_s: float) -> int | None:
        """Ticks of the partition's period that no owner ran around the handover (None if
        the new owner never ticked)."""
        if self.first_tick_s is None or self.last_tick_s is None:
            return None
        gap = (self.first_tick_s - self.last_tick_s) / tick_s
        return max(0, math.floor(gap + 0.5) - 1)


@dataclass
class RollingRestart:
    """A rolling restart of `cluster` (see the module docstring).

    `give_back`: the restarted node takes its partitions back (else the standby keeps
    them); `resume`: the new owner starts from the old one's `Handoff` (else cold: the
    schedule it was started with, no correction); `hand_over` False: no handover at all,
    the old owner is killed and the cluster's monitor fails its partition over once the
    lease lapses (for comparison: what a restart without a handover costs)."""

    cluster: LocalCluster
    give_back: bool = True
    resume: bool = True
    hand_over: bool = True
    on_tick: TickHook | None = None
    handovers: list[Handover] = field(default_factory=list)
    ticks: dict[int, list[float]] = field(default_factory=dict)
    """Tick times [s] by id() of each owner run."""
    restarts: list[tuple[str, int, float]] = field(default_factory=list)
    """(node, incarnation, when [s]) of every node restart."""

    def __post_init__(self) -> None:
        specs = list(self.cluster.specs)
        count = max(2, len(specs))
        self.nodes = [f"node-{k}" for k in range(count)]
        self.home = {s.id: self.nodes[k] for k, s in enumerate(specs)}
        self.standby = {s.id: self.nodes[(k + 1) % count] for k, s in enumerate(specs)}
        self.incarnation = dict.fromkeys(self.nodes, 0)
        self.current: dict[str, OwnerRun] = {}
        self._boundary_seen: dict[int, asyncio.Event] = {}
        self._boundary_at: dict[int, float] = {}

    # --- owners --------------------------------------------------------------------------

    def owner_name(self, spec: PartitionSpec, node: str) -> str:
        """The owner id of `spec` on `node` in its current incarnation."""
        return f"{spec.id}@{node}#{self.incarnation[node]}"

    async def start(self, until_s: float) -> None:
        """Start every partition's owner on its home node, running until `until_s` [s]."""
        for spec in self.cluster.specs:
            run = self.cluster.start_owner(spec, self.owner_name(spec, self.home[spec.id]), until_s)
            if run is None:
                raise RollError(f"partition {spec.id}: its lease is held by another owner")
            await self._attach(run, None)

    async def _attach(self, run: OwnerRun, handoff: Handoff | None) -> None:
        """Once `run`'s controller exists (the task's first step), record its ticks, call
        the tick hook, and apply `handoff`; before its first tick (a tick period away)."""
        for _ in range(1000):
            if run.pool is not None or (run.task is not None and run.task.done()):
                break
            await asyncio.sleep(0)
        pool = run.pool
        if pool is None:
            raise RollError(f"partition {run.spec.id}: the controller of {run.owner} never started")
        if handoff is not None:
            pool.schedule = handoff.schedule
            pool.pi.reset(handoff.correction_mw)
            for asset, entry in handoff.readings.items():
                if pool.board.get(asset) is None:
                    pool.board.post(replace(entry, in_pool=False))
        times = self.ticks.setdefault(id(run), [])
        members = [self.cluster.by_id[a] for a in run.spec.assets]

        def observe(t: float, _target: float) -> None:
            times.append(t)
            if self.on_tick is not None:
                self.on_tick(run.spec, pool, members, t)
            wanted = self._boundary_at.get(id(run))
            if wanted is not None and t >= wanted:
                self._boundary_seen[id(run)].set()

        pool.observers.append(observe)
        self.current[run.spec.id] = run

    # --- the roll ------------------------------------------------------------------------

    def next_boundary_s(self, after_s: float) -> float:
        """The first quarter-hour boundary at or after `after_s` [s of the run]."""
        clock = self.cluster.clock
        utc = clock.utc() + timedelta(seconds=after_s - clock.now())
        floor = utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)
        boundary = floor if floor == utc else floor + QUARTER
        return after_s + (boundary - utc).total_seconds()

    async def roll(self, from_s: float, until_s: float) -> None:
        """Restart the nodes one at a time from the first boundary at or after `from_s`:
        each node's partitions handed to their standbys, the node restarted once it owns
        nothing, then (with `give_back`) its partitions handed back; one handover per
        boundary. Stops where the next boundary is within two ticks of `until_s` (the
        owners end there)."""
        tick = self.cluster.options.tick_s
        limit = until_s - 2 * tick
        at = self.next_boundary_s(from_s)
        for node in list(self.nodes):
            mine = [s for s in self.cluster.specs if self.home[s.id] == node]
            if not mine:
                continue
            for spec in mine:
                if at > limit:
                    return
                await self.hand_over_at(spec, self.standby[spec.id], "roll", at, until_s)
                at = self.next_boundary_s(self.cluster.clock.now() + tick)
            self._restart(node)
            for spec in mine:
                if not self.give_back:  # the standby keeps it; the restarted node stands by
                    self.home[spec.id], self.standby[spec.id] = self.standby[spec.id], node
                    continue
                if at > limit:
                    return
                await self.hand_over_at(spec, node, "give_back", at, until_s)
                at = self.next_boundary_s(self.cluster.clock.now() + tick)

    def _restart(self, node: str) -> None:
        self.incarnation[node] += 1
        self.restarts.append((node, self.incarnation[node], self.cluster.clock.now()))

    async def hand_over_at(
        self, spec: PartitionSpec, to_node: str, reason: str, boundary_s: float, until_s: float
    ) -> Handover:
        """At the old owner's first tick at or after `boundary_s`, hand `spec` to
        `to_node` (see the module docstring)."""
        old = self.current[spec.id]
        seen = asyncio.Event()
        self._boundary_seen[id(old)], self._boundary_at[id(old)] = seen, boundary_s
        waiter = asyncio.ensure_future(seen.wait())
        watched = {waiter} if old.task is None else {waiter, old.task}
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        del self._boundary_at[id(old)]
        if not seen.is_set():
            waiter.cancel()
            raise RollError(
                f"partition {spec.id}: its owner {old.owner} stopped before the boundary at "
                f"{boundary_s:g} s (lost its lease at {old.lost_lease_at_s} s)"
            )
        clock = self.cluster.clock
        pool = old.pool
        assert pool is not None
        handoff = (
            Handoff(pool.schedule, pool.pi.output_mw, pool.board.snapshot())
            if self.resume
            else None
        )
        if not self.hand_over:
            return await self._kill_and_wait(old, reason, boundary_s)
        # Stop commanding, release, acquire: no await in between (see the module doc).
        started = time.perf_counter()
        for task in (old.task, old.keeper):
            if task is not None:
                task.cancel()
        now, utc = clock.now(), clock.utc()
        try:
            self.cluster.leases.release(old.lease, utc)
        except LeaseLostError as exc:
            raise RollError(f"partition {spec.id}: cannot hand over: {exc}") from None
        owner = self.owner_name(spec, to_node)
        new = self.cluster.start_owner(spec, owner, until_s)
        if new is None:
            raise RollError(
                f"partition {spec.id}: {owner} could not acquire the lease released by "
                f"{old.owner} (token {old.lease.token})"
            )
        times = self.ticks.get(id(old), [])
        handover = Handover(
            spec.id,
            reason,
            utc - timedelta(seconds=now - boundary_s),
            old.owner,
            owner,
            old.lease.token,
            new.lease.token,
            now,
            times[-1] if times else None,
            new,
        )
        self.handovers.append(handover)
        await self._attach(new, handoff)
        handover.wall_ms = 1000 * (time.perf_counter() - started)
        return handover

    async def _kill_and_wait(self, old: OwnerRun, reason: str, boundary_s: float) -> Handover:
        """No handover: kill `old` and wait for the cluster's monitor to see its lease
        lapse and start a standby (what a restart without handing over costs)."""
        clock, cluster = self.cluster.clock, self.cluster
        times = self.ticks.get(id(old), [])
        now, utc = clock.now(), clock.utc()
        cluster.kill(old)
        while True:
            new = next((r for r in cluster.runs if r.spec is old.spec and r.started_s >= now), None)
            if new is not None:
                break
            await clock.sleep_until(clock.now() + cluster.options.tick_s / 4)
        handover = Handover(
            old.spec.id,
            reason,
            utc - timedelta(seconds=now - boundary_s),
            old.owner,
            new.owner,
            old.lease.token,
            new.lease.token,
            new.started_s,
            times[-1] if times else None,
            new,
        )
        self.handovers.append(handover)
        await self._attach(new, None)
        return handover

    # --- the report ----------------------------------------------------------------------

    def report(self, until_s: float) -> dict[str, Any]:
        """The handovers (tokens, tick gap, missed ticks), node restarts, and per
        partition the ticks missed over the whole run: between owners, before the first
        tick and after the last, and the owners' own late ticks."""
        tick = self.cluster.options.tick_s
        for handover in self.handovers:
            times = self.ticks.get(id(handover.new_run), [])
            handover.first_tick_s = times[0] if times else None
        handovers = [
            {
                "partition": h.partition,
                "reason": h.reason,
                "boundary": h.boundary_utc.isoformat().replace("+00:00", "Z"),
                "from_owner": h.from_owner,
                "to_owner": h.to_owner,
                "from_token": h.from_token,
                "to_token": h.to_token,
                "at_s": round(h.at_s, 3),
                "last_tick_s": h.last_tick_s,
                "first_tick_s": h.first_tick_s,
                "tick_gap_s": None
                if h.first_tick_s is None or h.last_tick_s is None
                else round(h.first_tick_s - h.last_tick_s, 3),
                "missed_ticks": h.missed_ticks(tick),
                "wall_ms": round(h.wall_ms, 2),
            }
            for h in self.handovers
        ]
        partitions = {}
        for spec in self.cluster.specs:
            runs = [r for r in self.cluster.runs if r.spec.id == spec.id]
            times = sorted(t for r in runs for t in self.ticks.get(id(r), []))
            late = sum(r.pool.kpi.missed for r in runs if r.pool is not None)
            gaps = [b - a for a, b in itertools.pairwise(times)]
            between = sum(max(0, math.floor(g / tick + 0.5) - 1) for g in gaps)
            start = self.cluster.runs[0].started_s if self.cluster.runs else 0.0
            edges = 0
            if times:
                edges += max(0, math.floor((times[0] - start) / tick + 0.5) - 1)
                edges += max(0, math.floor((until_s - times[-1]) / tick + 0.5) - 1)
            partitions[spec.id] = {
                "owners": [r.owner for r in runs],
                "ticks": len(times),
                "missed_ticks": between + edges + late,
                "late_ticks": late,
                "handovers": sum(1 for h in self.handovers if h.partition == spec.id),
            }
        return {
            "handovers": handovers,
            "restarts": [{"node": n, "incarnation": k, "at_s": at} for n, k, at in self.restarts],
            "partitions": partitions,
        }


async def run_roll(
    roll: RollingRestart, *, roll_from_s: float, duration_s: float | None = None
) -> dict[str, Any]:
    """Start the owners, run the cluster's monitor and the roll from `roll_from_s` [s on
    the cluster's clock] for the options' duration (or `duration_s`), release the last
    owners' leases; the cluster's report with the roll's."""
    cluster = roll.cluster
    start = cluster.clock.now()
    until = start + (cluster.options.duration_s if duration_s is None else duration_s)
    await roll.start(until)
    await asyncio.gather(cluster.monitor(until), roll.roll(roll_from_s, until))
    await cluster.clock.sleep_until(until)
    pending = [r.task for r in cluster.runs if r.task is not None]
    pending += [r.keeper for r in cluster.runs if r.keeper is not None]
    await asyncio.gather(*pending, return_exceptions=True)
    for run in roll.current.values():  # done: each last owner gives its partition up
        with contextlib.suppress(LeaseLostError):
            cluster.leases.release(run.lease, cluster.clock.utc())
    report = cluster.report()
    report["roll"] = roll.report(until)
    return report


__all__ = ["Handoff", "Handover", "RollError", "RollingRestart", "TickHook", "run_roll"]
