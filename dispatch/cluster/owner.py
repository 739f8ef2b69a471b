"""One owner's run of one partition against a `DeviceField` elsewhere, on the wall clock.

This is what a partition's process does, Ray or not (`dispatch.cluster.ray_run` wraps it
in a Ray actor): acquire the partition's lease (retrying until it is free), run today's
pool controller and asset actors on the partition's assets with `RemoteDevice` adapters,
every write fenced with the lease's token, renew the lease every quarter of its TTL and stop
commanding the moment a renewal fails. Each tick it reports its target, measured power and
available rating to the coordinator, and takes back the share of the pool's activation it
must add (`Coordinator.share_mw`), used from the next tick on.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from dispatch.actor import ActorConfig
from dispatch.cluster.field import WallClock
from dispatch.cluster.held import HeldPower
from dispatch.cluster.leases import Lease, LeaseLostError, PartitionLeases
from dispatch.cluster.link import Exchange, FieldLink, RemoteDevice
from dispatch.cluster.partitions import PartitionSpec, partition_schedule
from dispatch.cluster.renewer import LeasesFactory, RenewerProcess
from dispatch.devices.fencing import Fence, FenceHolder
from dispatch.inproc import limits_of
from dispatch.pool import PoolController
from dispatch.schedule import Schedule
from dispatch.simulation import (
    FleetMember,
    SimulationOptions,
    physics_fleet,
    plan_for,
    run_fleet,
    schedule_of,
)

GC_THRESHOLD = (10_000, 10, 10)
"""The collector's thresholds while an owner runs (Python's are 700, 10, 10). A partition
of 5,000 assets makes tens of thousands of short-lived objects a second (futures, readings,
timer handles); collected every 700 allocations, many were still alive and were promoted
and walked again by the older generations: at 20,000 assets in 4 partitions the
collections took 6-7 CPU-s of each owner's 120 s run (`docs/scale.md`)."""

TIMELINE_FIELDS = (
    "t_s",
    "target_mw",
    "measured_mw",
    "share_mw",
    "available_mw",
    "in_pool",
    "unknown",
    "held_assets",
    "held_mw",
    "correction_mw",
    "probing",
    "held_unanswered",
    "held_unanswered_mw",
)
"""The columns of an owner's per-tick `timeline` in its report."""

Report = Callable[[str, float, float, float, float], Awaitable[float]]
"""(partition, t, target, measured, available) -> the partition's share [MW]."""


@dataclass(frozen=True)
class PartitionPlan:
    """What a partition's owner needs, all of it plain data (sent to other processes)."""

    spec: PartitionSpec
    options: SimulationOptions
    epoch: float
    """POSIX time of t = 0 of the run [s]; the schedule starts in its quarter hour."""
    ttl_s: float = 2.0
    count_held: bool = True
    """Count the assets without a fresh reading at the power they last held
    (`dispatch.cluster.held`); False: as nothing, as the pool does by itself."""
    timeline: bool = True
    """Keep a row a tick for the report's `timeline` (a simulated run's length is known;
    a day at 1 s ticks is about 40 MB an owner)."""

    def dispatch_clock(self) -> WallClock:
        """The clock the partition's pool runs on (the run's: seconds since `epoch`)."""
        return WallClock(self.epoch)

    def members(self, link: FieldLink) -> list[FleetMember]:
        """The partition's assets, each reached through `link`."""
        return fleet_members(self.options, set(self.spec.assets), link)

    def schedule(self) -> Schedule:
        """The schedule the partition follows: the run's, restricted to its assets."""
        return partition_schedule(full_schedule(self.options, self.epoch), self.spec)

    @property
    def seed(self) -> int:
        """The seed of the asset actors' jitter."""
        return self.options.seed

    @property
    def tick_s(self) -> float:
        """The pool's tick period [s]."""
        return self.options.tick_s

    @property
    def response_s(self) -> float:
        """The assets' response time [s]."""
        return self.options.response_s


class OwnerPlan(Protocol):
    """What `run_owner` needs of a partition (plain data, sent to other processes):
    `PartitionPlan` for a simulated run, `dispatch.cluster.serve_zone.EnginePartitionPlan`
    for a zone of `vpp serve --cluster`."""

    spec: PartitionSpec
    epoch: float
    ttl_s: float
    count_held: bool
    timeline: bool
    """Keep a row a tick for the report's `timeline` (`TIMELINE_FIELDS`)."""

    def dispatch_clock(self) -> WallClock: ...

    def members(self, link: FieldLink) -> list[FleetMember]: ...

    def schedule(self) -> Schedule: ...

    @property
    def seed(self) -> int: ...

    @property
    def tick_s(self) -> float: ...

    @property
    def response_s(self) -> float: ...


class CachedShare:
    """An `ActivationSource` answering the share the coordinator last gave [MW]."""

    def __init__(self) -> None:
        self.value = 0.0

    def activation_mw(self, t: float) -> float:
        """The last share [MW]."""
        return self.value


def fleet_members(
    options: SimulationOptions, assets: set[str], link: FieldLink | None
) -> list[FleetMember]:
    """The members of the run's fleet that are in `assets`, as
    `dispatch.simulation.inproc_fleet` makes them, each reached through `link` (None: only
    their ids and plans are used)."""
    members = []
    for i, (asset_id, physics, kind, energy) in enumerate(
        physics_fleet(options.assets, options.seed)
    ):
        if asset_id not in assets:
            continue
        limits = limits_of(physics, options.response_s)
        device = RemoteDevice(asset_id, kind, link)  # type: ignore[arg-type]
        members.append(FleetMember(device, limits, kind, energy, plan_for(kind, limits, i), device))
    return members


def full_schedule(options: SimulationOptions, epoch: float) -> Any:
    """The schedule of the whole run (every partition restricts the same one)."""
    every = {a for a, *_ in physics_fleet(options.assets, options.seed)}
    members = fleet_members(options, every, None)
    return schedule_of(members, datetime.fromtimestamp(epoch, UTC), options.duration_s)


async def run_owner(
    plan: OwnerPlan,
    owner: str,
    leases: PartitionLeases,
    exchange: Exchange,
    report: Report,
    until_s: float,
    *,
    node: str = "local",
    leases_factory: LeasesFactory | None = None,
    renewer: RenewerProcess | None = None,
    on_pool: Callable[[PoolController], None] | None = None,
) -> dict[str, Any]:
    """Own `plan.spec` as `owner` until `until_s` [s of the run]; what it did.

    The lease is taken and renewed on the machine's time (`WallClock(plan.epoch)`), the
    pool ticks on `plan.dispatch_clock()`, on whose seconds `until_s` is (the same for a
    simulated run; a server's simulated time line for `vpp serve --cluster`); `on_pool`
    is called with the pool controller before its first tick (e.g. to switch its schedule
    later).

    With `leases_factory` the lease is renewed by a process of its own
    (`dispatch.cluster.renewer`), which this process's pauses (garbage collections hold
    every thread) do not delay; without, by a thread of this process (`LeaseKeeper`).
    `renewer`: one started ahead (for `plan.ttl_s`), used instead of a new one."""
    clock = WallClock(plan.epoch)
    spec = plan.spec
    # The link keeps the actors' deadline (0.5 s) so that they need no task per call.
    io_timeout_s = ActorConfig().io_timeout_s
    link = FieldLink(exchange, batch_s=0.05, deadline_s=io_timeout_s)
    if renewer is not None and renewer.ttl_s != plan.ttl_s:
        renewer.stop()
        renewer = None
    if renewer is None and leases_factory is not None:
        renewer = RenewerProcess(leases_factory, plan.ttl_s)
    if renewer is not None:  # started first: it opens the database meanwhile
        renewer.start()
    # Everything slow before the lease: a lease taken and then not renewed for seconds of
    # set-up lapses at once (20,000 assets' schedule takes seconds on a busy machine).
    members = plan.members(link)
    schedule = plan.schedule()
    if renewer is not None:  # never a thread's renewals at start: run_fleet collects first
        await renewer.ready()
    lease: Lease | None = None
    dispatch_clock = plan.dispatch_clock()  # `until_s` is on its time line
    waited_from = clock.now()
    while lease is None and dispatch_clock.now() < until_s:
        lease = leases.acquire(spec.id, owner, clock.utc(), plan.ttl_s)
        if lease is None:
            await asyncio.sleep(0.2)
    result: dict[str, Any] = {
        "partition": spec.id,
        "owner": owner,
        "node": node,
        "assets": len(spec.assets),
        "waited_for_lease_s": round(clock.now() - waited_from, 3),
    }
    if lease is None:
        if renewer is not None:
            renewer.stop()
        return {**result, "token": None}
    acquired_at = clock.now()
    holder = FenceHolder(Fence(spec.id, lease.token, owner))
    share = CachedShare()
    pools: list[PoolController] = []
    held: list[HeldPower] = []
    lost_at: list[float] = []
    pending: set[asyncio.Task[None]] = set()
    keep_timeline = plan.timeline
    timeline: list[tuple[float, ...]] = []
    """Per tick: t [s], target, measured [MW], the share in force, available rating [MW],
    assets in the pool, assets without a fresh reading, of them counted at held power,
    and that power [MW], the PI correction [MW], assets probing, and of the held assets
    those whose latest write got no answer and what its setpoint would add [MW]."""

    async def tell(t: float, target: float, measured: float, available: float) -> None:
        share.value = await report(spec.id, t, target, measured, available)

    def hook(pool: PoolController) -> None:
        pools.append(pool)
        if on_pool is not None:
            on_pool(pool)
        if plan.count_held:
            held.append(HeldPower(pool))
            pool.metered_unseen.append(held[-1])

        def observe(t: float, target: float) -> None:
            available, in_pool = 0.0, 0
            for a in pool.actors:
                if a.in_pool:
                    available += a.rating_mw
                    in_pool += 1
            if keep_timeline:
                unknown = pool.kpi._unknown[-1][0] if pool.kpi._unknown else 0
                counted = held[0] if held else None
                timeline.append(
                    (
                        round(t, 3),
                        round(target, 1),
                        round(pool.last_measured_mw, 1),
                        round(share.value, 1),
                        round(available, 1),
                        in_pool,
                        unknown,
                        0 if counted is None else counted.assets,
                        0.0 if counted is None else round(counted.mw, 1),
                        round(pool.pi.output_mw, 1),
                        int((pool._probe_until > t).sum()),
                        0 if counted is None else counted.unanswered,
                        0.0 if counted is None else round(counted.unanswered_mw, 1),
                    )
                )
            task = asyncio.ensure_future(tell(t, target, pool.last_measured_mw, available))
            pending.add(task)
            task.add_done_callback(pending.discard)

        pool.observers.append(observe)

    options = SimulationOptions(
        assets=len(members),
        duration_s=max(0.0, until_s - dispatch_clock.now()),
        seed=plan.seed,
        pool=spec.id,
        response_s=plan.response_s,
        site_size=0,
        tick_s=plan.tick_s,
    )
    gc_before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    dispatching = asyncio.ensure_future(
        run_fleet(
            options,
            members,
            dispatch_clock,
            activation=share,
            schedule=schedule,
            on_pool=hook,
            fence=holder,
            # Up to two ticks for the first contacts (a link's deadline of 0.5 s twice,
            # identify and read, past the last actor's phase): a first tick before them
            # drove the seen assets to cover the unread ones (`docs/scale.md`).
            first_contact_s=2.0 * plan.tick_s,
        )
    )

    pauses: list[tuple[float, int, float, float]] = []
    """(at [s], generation, wall [s], CPU [s]) of each garbage collection."""
    gc_started: list[float] = []

    def gc_watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[:] = [clock.now(), time.process_time()]
        elif gc_started:
            at, cpu = gc_started
            wall = clock.now() - at
            pauses.append((at, info["generation"], wall, time.process_time() - cpu))

    gc.callbacks.append(gc_watch)
    keeper: LeaseKeeper | ProcessKeeper
    if renewer is None:
        keeper = LeaseKeeper(leases, lease, plan.ttl_s, clock)
    else:
        keeper = ProcessKeeper(renewer, LeaseKeeper(leases, lease, plan.ttl_s, clock), clock)
    keeper.start(asyncio.get_running_loop(), dispatching.cancel)  # stop commanding at once
    linking = asyncio.ensure_future(link.run(dispatching.done))
    kpi: dict[str, Any] | None = None
    try:
        kpi = await dispatching
    except asyncio.CancelledError:
        if keeper.lost_at is None:
            raise
    finally:
        keeper.stop()
        gc.callbacks.remove(gc_watch)
        gc.set_threshold(*gc_before)
    lease = keeper.lease
    if keeper.lost_at is not None:
        lost_at.append(keeper.lost_at)
    await asyncio.gather(linking, return_exceptions=True)
    if not lost_at and lease is not None:  # done: hand the partition over at once
        with contextlib.suppress(LeaseLostError):
            leases.release(lease, clock.utc())
    pool = pools[0] if pools else None
    ticks = pool.kpi.tick_ms if pool is not None else []
    rtt = [1000 * s for s in link.batch_seconds]
    return {
        **result,
        "token": lease.token if lease is not None else None,
        "acquired_at_s": round(acquired_at, 3),
        "lost_lease_at_s": lost_at[0] if lost_at else None,
        "ticks": len(ticks),
        "tick_p50_ms": _pct(ticks, 50),
        "tick_p99_ms": _pct(ticks, 99),
        "missed_ticks": pool.kpi.missed if pool is not None else 0,
        "fenced_writes": sum(a.fenced for a in pool.actors) if pool is not None else 0,
        "field_batches": link.batches,
        "field_rtt_p50_ms": _pct(rtt, 50),
        "field_rtt_p99_ms": _pct(rtt, 99),
        "lease_statements": leases.statements,
        "held_assets_at_end": held[0].assets if held else None,
        "held_mw_at_end": round(held[0].mw, 3) if held else None,
        "renewals_in_process_from_s": (
            None
            if not isinstance(keeper, ProcessKeeper) or keeper.handed_at is None
            else round(keeper.handed_at, 3)
        ),
        "renewal_gap_max_s": round(max(keeper.gaps_s, default=0.0), 3),
        "renewal_max_ms": round(1000 * max(keeper.latencies_s, default=0.0), 1),
        "renewal_p99_ms": _pct([1000 * x for x in keeper.latencies_s], 99),
        "gc": _gc_summary(pauses),
        "timeline_fields": list(TIMELINE_FIELDS),
        "timeline": timeline,
        **_blindness(kpi),
    }


def _blindness(kpi: dict[str, Any] | None) -> dict[str, Any]:
    """How much of the partition its controller could not see (None: its run was stopped
    before it reported): the assets without a fresh reading at the last tick, and the
    assets ever taken out of the pool for missed reads (a read not answered within the
    actor's deadline). Those count as 0 MW while they go on injecting what they were last
    told, so many of them put the pool's truth off by their power."""
    if kpi is None:
        return {"unknown_assets_at_end": None, "assets_out_for_missed_reads": None}
    return {
        "unknown_assets_at_end": kpi["tracking"]["unknown_assets"]["last"],
        "assets_out_for_missed_reads": kpi["unfaulted_failures"]["by_evidence"].get(
            "missed_reads", 0
        ),
    }


class ProcessKeeper:
    """Renews on a thread (`LeaseKeeper`) until the `RenewerProcess` is ready (its child
    takes seconds to import the engine on a busy machine: waiting for it would delay
    every start and every takeover), then hands the lease to it: the loop beats, the
    child renews. A loss on either side calls `on_lost`."""

    def __init__(self, renewer: RenewerProcess, thread: LeaseKeeper, clock: WallClock) -> None:
        self.renewer = renewer
        self.thread = thread
        self.clock = clock
        self.handed_at: float | None = None
        """When the child took the renewals over [s of the run]; None: not (yet)."""
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, loop: asyncio.AbstractEventLoop, on_lost: Callable[[], Any]) -> None:
        """Renew on the thread now; on the child once it is ready."""
        self.thread.start(loop, on_lost)
        self._tasks.append(loop.create_task(self._hand_over(loop, on_lost)))

    async def _hand_over(self, loop: asyncio.AbstractEventLoop, on_lost: Callable[[], Any]) -> None:
        try:
            await self.renewer.ready()
        except (TimeoutError, RuntimeError):
            return  # the thread goes on renewing
        self.thread.stop()
        if self.thread.lost_at is not None or self.thread.lease is None:
            return
        self.renewer.hand(self.thread.lease, loop, on_lost)
        self.handed_at = self.clock.now()
        self._tasks.append(loop.create_task(self.renewer.beating()))

    def stop(self) -> None:
        """Stop beating and renewing."""
        for task in self._tasks:
            task.cancel()
        self.thread.stop()
        self.renewer.stop()

    @property
    def lease(self) -> Lease | None:
        """The lease as last renewed."""
        if self.handed_at is None:
            return self.thread.lease
        return self.renewer.lease

    @property
    def lost_at(self) -> float | None:
        """When the lease was found lost [s of the run]; None while held."""
        if self.thread.lost_at is not None:
            return self.thread.lost_at
        at = self.renewer.lost_at_posix
        return None if at is None else at - self.clock.epoch

    @property
    def gaps_s(self) -> list[float]:
        """Time between the starts of consecutive renewals [s]."""
        return self.thread.gaps_s + self.renewer.gaps_s

    @property
    def latencies_s(self) -> list[float]:
        """Each renewal's round trip to the database [s]."""
        return self.thread.latencies_s + self.renewer.latencies_s


class LeaseKeeper:
    """Renews a lease every quarter of its TTL on a thread of its own, so that a busy
    event loop (thousands of asset actors making first contact) does not lose the lease
    by renewing late; on a failed renewal it calls `on_lost` on the loop."""

    def __init__(self, leases: PartitionLeases, lease: Lease, ttl_s: float, clock: WallClock):
        self.leases = leases
        self.lease = lease
        self.ttl_s = ttl_s
        self.clock = clock
        self.lost_at: float | None = None
        self.gaps_s: list[float] = []
        self.latencies_s: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop, on_lost: Callable[[], Any]) -> None:
        """Start renewing."""

        def renew() -> None:
            last = self.clock.now()
            while not self._stop.wait(self.ttl_s / 4):
                began = self.clock.now()
                self.gaps_s.append(began - last)
                last = began
                try:
                    self.lease = self.leases.renew(self.lease, self.clock.utc(), self.ttl_s)
                except LeaseLostError:
                    self.lost_at = self.clock.now()
                    loop.call_soon_threadsafe(on_lost)
                    return
                finally:
                    self.latencies_s.append(self.clock.now() - began)

        self._thread = threading.Thread(target=renew, name="vpp-lease", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing (the lease runs out or is released by the caller)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def _gc_summary(pauses: list[tuple[float, int, float, float]]) -> dict[str, Any]:
    """Collections per generation, their wall and CPU time [s], the longest pause."""
    out: dict[str, Any] = {}
    for g in (0, 1, 2):
        mine = [p for p in pauses if p[1] == g]
        out[f"gen{g}"] = {
            "n": len(mine),
            "wall_s": round(sum(p[2] for p in mine), 3),
            "cpu_s": round(sum(p[3] for p in mine), 3),
            "max_wall_s": round(max((p[2] for p in mine), default=0.0), 3),
        }
    return out


def _pct(values: list[float], q: float) -> float | None:
    return None if not values else round(float(np.percentile(values, q)), 3)


__all__ = [
    "CachedShare",
    "OwnerPlan",
    "PartitionPlan",
    "fleet_members",
    "full_schedule",
    "run_owner",
]
