"""`vpp serve --cluster ADDRESS`: the engine's pools run as partitions on a Ray cluster.

Needs the optional extra ``vpp-engine[cluster]``; only `trading.cli.serve` imports this
module, and only with ``--cluster``. The server joins the cluster at start-up
(`RayCluster.connect`) and hands it to the engine (`trading.engine.live_books.LiveConfig`);
each zone of a tenant's day is then dispatched by `RayCluster.run_zone` instead of the
in-process `dispatch.simulation.run_fleet`, with the same arguments:

- the zone's assets are split into partitions (`split_count`, at most
  `max_partition_assets` each); each is a named Ray actor (`EnginePartitionActor`,
  ``max_restarts=-1``), placed round the cluster's live nodes in turn (`spread_over_nodes`), that
  runs `dispatch.cluster.owner.run_owner`: the partition's lease (the table
  ``partition_leases`` of the server's database, so every node must reach it), today's
  pool controller and asset actors, writes fenced with the lease's token, renewals in a
  process of their own;
- the devices stay in the server (the embedded simulated fleet the meters read) and so
  do the coordinator (the zone's aFRR activation split among the partitions pro rata of
  what they have available) and the schedule versions: the partitions reach the server
  over the wire of `dispatch.cluster.wire` (its address: the server's node address as
  Ray sees it);
- every tick of the server's clock, the server reads each partition's board (its
  telemetry as the partition's controller saw it) and status, merges the boards into the
  zone's `ClusterPool`, meters from them as it meters an in-process pool, and looks at the
  leases: a lease that lapsed is a lost partition, whose share the coordinator gives the
  others of the zone while its actor (restarted by Ray if it crashed) runs again and takes
  the lease with the next token.

A new schedule version (a re-plan) goes to every partition at once; each pool reads it at
its next quarter-hour boundary, as in process. The partitions' pools tick on the server's
time line (``--clock-start`` shifts it, ``--clock-speed`` scales it:
`dispatch.cluster.field.WallClock`); their leases are kept on the machines' clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from dispatch.activation import ActivationSource
from dispatch.allocation import ChosenAllocation
from dispatch.clock import DispatchClock
from dispatch.cluster.coordinator import Coordinator, PartitionReport
from dispatch.cluster.field import DeviceField
from dispatch.cluster.leases import PartitionLeases
from dispatch.cluster.metrics import ClusterCollector
from dispatch.cluster.owner import run_owner
from dispatch.cluster.partitions import PartitionSpec, partition_schedule, split_fleet
from dispatch.cluster.ray_run import (
    NAMESPACE,
    LeasesFactory,
    configure_quiet,
    partition_metrics,
    process_metrics,
)
from dispatch.cluster.renewer import RenewerProcess
from dispatch.cluster.serve_zone import (
    ClusterPool,
    EnginePartitionPlan,
    PartitionView,
    member_specs,
)
from dispatch.cluster.wire import FieldClient, FieldServer
from dispatch.pool import PoolController
from dispatch.schedule import Schedule
from dispatch.simulation import FleetMember, SimulationOptions

TTL_S = 2.0
"""The partitions' lease TTL [s]."""
VIEW_TIMEOUT_S = 5.0
METRICS_TIMEOUT_S = 5.0
"""Real seconds a scrape waits for the partitions' metrics."""
"""How long the server waits for the partitions' boards at a tick [s]."""


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)
class EnginePartitionActor:
    """One partition of a server's zone (see the module docstring); async, so that its
    board, status and schedule are served while it runs."""

    def __init__(self, partition: str, leases: LeasesFactory) -> None:
        self.partition = partition
        self.factory = leases
        self.leases = leases()
        self.node = ray.get_runtime_context().get_node_id()
        self.incarnation = f"{self.node[:8]}-{os.getpid()}"
        self.renewer = RenewerProcess(leases, TTL_S)
        self.renewer.start()  # ahead of need: the child imports the engine meanwhile
        self.pool: PoolController | None = None
        self.spec: PartitionSpec | None = None
        self.owner: str | None = None
        self.token: int | None = None
        self.task: asyncio.Task[Any] | None = None
        self.allocation: tuple[str, dict[str, Any]] | None = None
        """The allocation strategy the server's pool flag chose, with the assets' move
        costs (None: the pool's default)."""

    async def node_id(self) -> str:
        return self.node

    async def metrics_text(self) -> tuple[str, str]:
        """(node, this process's Prometheus text): see `dispatch.cluster.metrics`."""
        return process_metrics(self.node)

    async def run(self, plan: EnginePartitionPlan, host: str, port: int, until_s: float) -> Any:
        """Own the partition until `until_s` [s of the server's clock]; what it did."""
        configure_quiet()
        client = FieldClient(host, port)
        self.spec = plan.spec
        self.owner = f"{plan.spec.id}@{self.incarnation}"

        def hold(pool: PoolController) -> None:
            self.pool = pool
            self._allocate_with(pool)
            lease = self.leases.get(plan.spec.id)
            self.token = None if lease is None else lease.token

        renewer, self.renewer = self.renewer, RenewerProcess(self.factory, TTL_S)
        self.task = asyncio.ensure_future(
            run_owner(
                plan,
                self.owner,
                self.leases,
                client.exchange,
                client.report,
                until_s,
                node=self.node,
                leases_factory=self.factory,
                renewer=renewer,
                on_pool=hold,
            )
        )
        try:
            return await self.task
        finally:
            self.pool = None
            await client.close()
            self.renewer.start()  # warm for a next run

    async def stop(self) -> None:
        """End the run at once (the server's day stopped): the lease lapses within its TTL."""
        if self.task is not None:
            self.task.cancel()

    async def set_allocation(self, name: str, costs: dict[str, Any]) -> None:
        """Allocate with strategy `name` from the pool's next tick (and in every later run
        of this actor); `costs`: the assets' move costs `merit_order` ranks them by."""
        self.allocation = (name, costs)
        if self.pool is not None:
            self._allocate_with(self.pool)

    def _allocate_with(self, pool: PoolController) -> None:
        if self.allocation is not None:
            name, costs = self.allocation
            pool.allocator = ChosenAllocation(lambda: name, costs)

    async def set_schedule(self, schedule: Schedule) -> None:
        """Follow `schedule` (the zone's new version) from the pool's next quarter hour."""
        if self.pool is not None and self.spec is not None:
            self.pool.schedule = partition_schedule(schedule, self.spec)

    async def view(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(status, the board's entries): what the server merges into its `ClusterPool`."""
        pool = self.pool
        status = {
            "node": self.node,
            "owner": self.owner,
            "token": self.token,
            "ticks": 0 if pool is None else len(pool.kpi.tick_ms),
            "missed": 0 if pool is None else pool.kpi.missed,
            "measured_mw": None if pool is None else pool.last_measured_mw,
            "allocation": None if pool is None or pool.allocator is None else pool.allocator.name,
        }
        return status, {} if pool is None else dict(pool.board.snapshot())


class RayCluster:
    """The engine's way onto a Ray cluster (see the module docstring)."""

    def __init__(
        self,
        address: str,
        leases: LeasesFactory,
        *,
        max_partition_assets: int = 1000,
        partitions: int = 2,
    ) -> None:
        self.address = address
        self.leases_factory = leases
        self.max_partition_assets = max_partition_assets
        self.partitions = partitions
        """Partitions per zone (fewer if the zone has fewer assets; more if a partition
        would exceed `max_partition_assets`)."""
        self.host: str | None = None
        self._running: dict[str, Any] = {}
        """The partition actors of the zones running now, by actor name (for metrics)."""

    def metrics_collector(self) -> ClusterCollector:
        """The running partitions' dispatch series, each sample with its ``node`` label
        (the partition id is its ``pool``), fetched from the partitions at each scrape;
        a partition that does not answer within `METRICS_TIMEOUT_S` is left out of it."""
        return ClusterCollector(
            lambda: partition_metrics(list(self._running.values()), METRICS_TIMEOUT_S)
        )

    def connect(self) -> list[str]:
        """Join the cluster (in the server's main thread, at start-up); its live nodes."""
        ray.init(address=self.address, namespace=NAMESPACE, log_to_driver=False)
        self.host = ray.util.get_node_ip_address()
        return sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])

    def close(self) -> None:
        """Leave the cluster (the partitions' actors end with the server)."""
        ray.shutdown()

    async def run_zone(
        self,
        options: SimulationOptions,
        fleet: list[FleetMember],
        clock: DispatchClock,
        *,
        activation: ActivationSource | None = None,
        schedule: Schedule | None = None,
        zones: dict[str, str] | None = None,
        on_pool: Any = None,
    ) -> dict[str, Any]:
        """Dispatch `fleet` (one zone, `options.pool`) for `options.duration_s` as partitions
        on the cluster, on the server's `clock`; the arguments of `run_fleet`. What the
        partitions did, per partition."""
        if activation is None or schedule is None:
            raise ValueError("a server's zone on the cluster needs its activation and schedule")
        zone = next(iter(zones.values())) if zones else options.pool
        pools = {m.adapter.asset_id: options.pool for m in fleet}
        size = max(-(-len(pools) // self.partitions), 1)
        specs = split_fleet(pools, min(size, self.max_partition_assets))
        leases = self.leases_factory()
        leases.ensure([s.id for s in specs])
        specs_by_id = {s.id: s for s in specs}
        ratings = {m.adapter.asset_id: max(m.limits.max_mw, -m.limits.min_mw) for m in fleet}

        def utc_at(t: float) -> datetime:
            return clock.utc() + timedelta(seconds=t - clock.now())

        coordinator = Coordinator(specs, ratings, {options.pool: activation}, schedule, utc_at)
        devices = DeviceField.of({m.adapter.asset_id: m.adapter for m in fleet})  # type: ignore[misc]

        def report(p: str, t: float, target: float, measured: float, available: float) -> float:
            coordinator.report(p, PartitionReport(t, target, measured, available))
            views[p].last_target_mw = round(target, 6)
            return coordinator.share_mw(p, t)

        server = FieldServer(devices.exchange, report)
        host, port = await server.start(self.host or "127.0.0.1")
        speed = float(getattr(clock, "speed", 1.0))  # `ServerClock`: simulated s per real s
        now = clock.now()
        epoch = time.time() - now / speed
        offset = clock.utc().timestamp() - now - epoch
        until = clock.now() + options.duration_s
        by_asset = member_specs(fleet)
        views = {s.id: PartitionView(s.id, len(s.assets)) for s in specs}
        run_id = uuid.uuid4().hex[:8]  # this run's actors: never another server's or day's
        actors = {
            s.id: EnginePartitionActor.options(  # type: ignore[attr-defined]
                name=f"vpp-serve-{s.id}-{run_id}",
                scheduling_strategy=placement,
            ).remote(s.id, self.leases_factory)
            for s, placement in zip(specs, spread_over_nodes(len(specs)), strict=True)
        }

        def plan(spec: PartitionSpec, followed: Schedule) -> EnginePartitionPlan:
            return EnginePartitionPlan(
                spec,
                epoch,
                offset,
                speed,
                tuple(by_asset[a] for a in spec.assets),
                partition_schedule(followed, spec),
                tick_s=options.tick_s,
                seed=options.seed,
                response_s=options.response_s,
                ttl_s=TTL_S,
            )

        def push(new: Schedule) -> None:
            coordinator.schedule = new
            for actor in actors.values():
                actor.set_schedule.remote(new)

        pool = ClusterPool(self.address, schedule, views, push, options.tick_s)

        def start(pid: str) -> Any:
            run = actors[pid].run.remote(plan(specs_by_id[pid], pool.schedule), host, port, until)
            if pool.pushed_allocation is not None:  # a run again: the strategy in force
                actors[pid].set_allocation.remote(*pool.pushed_allocation)
            return run

        runs = {pid: start(pid) for pid in actors}
        self._running.update({f"{pid}-{run_id}": actor for pid, actor in actors.items()})
        if on_pool is not None:
            on_pool(pool)
        try:
            await self._watch(pool, coordinator, leases, actors, runs, start, clock, until)
        finally:
            for actor in actors.values():
                with contextlib.suppress(Exception):
                    actor.stop.remote()
            done = await asyncio.to_thread(
                lambda: ray.wait(list(runs.values()), num_returns=len(runs), timeout=10)[0]
            )
            results = []
            for pid, ref in runs.items():
                try:
                    results.append(ray.get(ref) if ref in done else {"partition": pid})
                except ray.exceptions.RayError as exc:
                    results.append({"partition": pid, "error": type(exc).__name__})
            for pid, actor in actors.items():
                self._running.pop(f"{pid}-{run_id}", None)
                with contextlib.suppress(Exception):
                    ray.kill(actor)
            await server.close()
            leases.engine.dispose()
        return {"zone": zone, "partitions": results, "field_requests": server.requests}

    async def _watch(
        self,
        pool: ClusterPool,
        coordinator: Coordinator,
        leases: PartitionLeases,
        actors: dict[str, Any],
        runs: dict[str, Any],
        start: Any,
        clock: DispatchClock,
        until: float,
    ) -> None:
        """Every tick until `until`: the partitions' boards and status into `pool`, the
        leases looked at (a lost partition run again), the observers told."""
        tick = self.tick_of(pool)
        t = clock.now()
        while t < until:
            t = min(until, t + tick)
            await clock.sleep_until(t)
            now = clock.now()
            await self._views(pool, actors)
            self._allocation(pool, actors)
            if now < until - 2 * tick:  # at the end the owners release their leases
                self._leases(pool, coordinator, leases, runs, start, now)
            target = coordinator.pool_target_mw(next(iter(coordinator.activation)), now)
            for observer in list(pool.observers):
                observer(now, target)

    @staticmethod
    def _allocation(pool: ClusterPool, actors: dict[str, Any]) -> None:
        """The pool's allocation strategy as its flag chooses it now (`pool.allocator`, a
        `ChosenAllocation` set by the day), sent to every partition when it changes."""
        chosen = pool.allocator
        if chosen is None:
            return
        name = chosen.read()
        if pool.pushed_allocation is None or pool.pushed_allocation[0] != name:
            pool.pushed_allocation = (name, dict(chosen.costs))
            for actor in actors.values():
                actor.set_allocation.remote(*pool.pushed_allocation)

    @staticmethod
    def tick_of(pool: ClusterPool) -> float:
        """The server's tick [s] (the pools' own)."""
        return pool.config.tick_s

    async def _views(self, pool: ClusterPool, actors: dict[str, Any]) -> None:
        refs = {pid: actor.view.remote() for pid, actor in actors.items()}
        for pid, ref in refs.items():
            try:
                answer = asyncio.wrap_future(ref.future())
                status, board = await asyncio.wait_for(answer, VIEW_TIMEOUT_S)
            except (TimeoutError, ray.exceptions.RayError):
                continue  # a partition away: its assets' entries age and stop counting
            view = pool.partitions[pid]
            view.node, view.owner, view.token = status["node"], status["owner"], status["token"]
            view.ticks, view.missed = status["ticks"], status["missed"]
            view.allocation = status["allocation"]
            measured = status["measured_mw"]
            view.last_measured_mw = None if measured is None else round(measured, 6)
            pool.merge(board, partition=pid)

    def _leases(
        self,
        pool: ClusterPool,
        coordinator: Coordinator,
        leases: PartitionLeases,
        runs: dict[str, Any],
        start: Any,
        now: float,
    ) -> None:
        """A lapsed lease (token > 0: it had an owner) is a lost partition: the coordinator
        carries its share; once its run has ended (its actor crashed and is restarted by
        Ray, or the run gave up the lease) it is run again."""
        utc = datetime.now(UTC)  # the leases are on the machine's clock
        for lease in leases.all():
            pid = lease.partition
            if pid not in runs or lease.token == 0 or lease.held_at(utc):
                continue
            view = pool.partitions[pid]
            if not coordinator.is_lost(pid):
                view.lost_at.append(round(now, 3))
                coordinator.lost(pid, now)
            ready, _ = ray.wait([runs[pid]], timeout=0)
            if ready:
                runs[pid] = start(pid)
                view.run_again()


__all__ = ["EnginePartitionActor", "RayCluster"]


def spread_over_nodes(count: int) -> list[NodeAffinitySchedulingStrategy | str]:
    """Where each of `count` partitions goes: the cluster's live nodes in turn, each a soft
    preference (Ray places the actor elsewhere if its node is gone, as on a restart after
    a node's loss). Ray's ``SPREAD`` is best effort only: on a two-node cluster it put both
    partitions of a zone on one node, where that node's loss takes the whole zone."""
    nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))
    if not nodes:
        return ["SPREAD"] * count
    return [NodeAffinitySchedulingStrategy(nodes[k % len(nodes)], soft=True) for k in range(count)]
