"""The partitions as Ray actors: a partitioned simulated run on a Ray cluster.

Needs the optional extra ``vpp-engine[cluster]`` (Ray); nothing else in the engine imports
this module. The layout on the cluster:

- the **fields** (`DeviceField`, the simulated devices of one partition each: they must
  outlive any controller) and the **coordinator** (`Coordinator`: the pool's activation
  split by partition, their telemetry summed) are actors pinned to the head node (custom
  resource ``vpp_head``);
- each **partition** is a named actor (``vpp-partition-<id>``, `max_restarts=-1`) placed
  with the ``SPREAD`` strategy over the nodes that offer ``vpp_slot``; it runs
  `dispatch.cluster.owner.run_owner`: lease, today's pool controller and asset actors,
  fenced writes, renewals.
- the **driver** (this process) watches the leases every tick: a lease that lapsed is a
  lost partition. It tells the coordinator (which carries the partition's share on the
  others of its pool) and asks the partition's actor, restarted by Ray on a live node, to
  run again: it acquires the lease with the next token and takes up the devices' state.

`cluster="local"` starts a two-node cluster on this machine (`ray.cluster_utils.Cluster`:
a head and one worker, each a raylet of its own); `kill_node_at_s` removes the worker node
mid-run, killing the partition actors on it. Any other value is the address of a running
Ray cluster (``ray start --head`` or `vpp cluster up`), where nothing is killed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from dispatch.activation import SimulatedTsoSignal
from dispatch.cluster.coordinator import Coordinator, PartitionReport
from dispatch.cluster.field import DeviceField, Write
from dispatch.cluster.leases import PartitionLeases
from dispatch.cluster.owner import PartitionPlan, full_schedule, run_owner
from dispatch.cluster.partitions import PartitionSpec, split_count
from dispatch.cluster.renewer import RenewerProcess
from dispatch.inproc import limits_of
from dispatch.simulation import SimulationOptions, physics_fleet

POOL = "DE_LU/50Hertz"
HEAD = "vpp_head"
SLOT = "vpp_slot"
NAMESPACE = "vpp"
LeasesFactory = Callable[[], PartitionLeases]
"""Opens the lease table in the calling process (a module-level function: Ray ships it
by reference to every node)."""


@ray.remote(num_cpus=0)
class FieldActor:
    """The devices (`DeviceField`) as an actor."""

    def __init__(self, options: SimulationOptions, epoch: float, assets: list[str]) -> None:
        self.field = DeviceField(options, epoch, assets)

    def exchange(self, writes: list[Write], reads: list[str]) -> Any:
        return self.field.exchange(writes, reads)

    def truth_mw(self) -> float:
        return self.field.truth_mw()

    def fencing(self) -> dict[str, int]:
        return self.field.fencing()


@ray.remote(num_cpus=0)
class CoordinatorActor:
    """The `Coordinator` as an actor."""

    def __init__(
        self, specs: list[PartitionSpec], options: SimulationOptions, epoch: float
    ) -> None:
        ratings = {}
        for asset, physics, _, _ in physics_fleet(options.assets, options.seed):
            limits = limits_of(physics, options.response_s)
            ratings[asset] = max(limits.max_mw, -limits.min_mw)
        band = options.activation_share * sum(ratings.values())
        self.coordinator = Coordinator(
            specs,
            ratings,
            {POOL: SimulatedTsoSignal(band, band, seed=options.seed)},
            full_schedule(options, epoch),
            lambda t: datetime.fromtimestamp(epoch + t, UTC),
        )
        self.rated_mw = sum(ratings.values())

    def report(
        self, partition: str, t: float, target: float, measured: float, available: float
    ) -> float:
        self.coordinator.report(partition, PartitionReport(t, target, measured, available))
        return self.coordinator.share_mw(partition, t)

    def lost(self, partition: str, t: float) -> None:
        self.coordinator.lost(partition, t)

    def pool_target_mw(self, t: float) -> float:
        return self.coordinator.pool_target_mw(POOL, t)

    def rated(self) -> float:
        return self.rated_mw


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)
class PartitionActor:
    """One partition (see the module docstring); async, so `node_id` answers while it
    runs. Ray restarts a crashed actor (`max_restarts=-1`); a node that is gone takes Ray
    many seconds of health checks to declare dead, so the driver does not wait for that:
    once the lease lapsed it starts a standby actor on a live node, which takes the lease
    over with the next token."""

    def __init__(self, partition: str, leases: LeasesFactory) -> None:
        self.partition = partition
        self.factory = leases
        self.leases = leases()
        self.node = ray.get_runtime_context().get_node_id()
        self.incarnation = f"{self.node[:8]}-{os.getpid()}"
        self.renewer = self._warm_renewer(2.0)

    def _warm_renewer(self, ttl_s: float) -> RenewerProcess:
        """A lease renewer started now, so that a run (a standby's takeover above all)
        does not wait seconds for its process to import the engine."""
        renewer = RenewerProcess(self.factory, ttl_s)
        renewer.start()
        return renewer

    async def node_id(self) -> str:
        return self.node

    async def metrics_text(self) -> tuple[str, str]:
        """(node, this process's Prometheus text): see `dispatch.cluster.metrics`."""
        return process_metrics(self.node)

    async def run(self, plan: PartitionPlan, field: Any, coord: Any, until_s: float) -> Any:
        async def exchange(writes: list[Write], reads: list[str]) -> Any:
            return await field.exchange.remote(writes, reads)

        async def report(p: str, t: float, tg: float, m: float, av: float) -> float:
            return await coord.report.remote(p, t, tg, m, av)

        configure_quiet()
        owner = f"{plan.spec.id}@{self.incarnation}"
        renewer = self.renewer
        try:
            return await run_owner(
                plan,
                owner,
                self.leases,
                exchange,
                report,
                until_s,
                node=self.node,
                leases_factory=self.factory,
                renewer=renewer,  # renewals in a process the owner's pauses do not hold up
            )
        finally:  # warm again for a next run, once this one no longer needs the CPU
            self.renewer = self._warm_renewer(plan.ttl_s)


def configure_quiet() -> None:
    """Events at error level only (a partition's debug events would flood the driver)."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


WORKER_NICENESS = 0
"""How much nicer than its raylet a Ray worker process runs. Ray's default (15) is for
background batch work; here the workers are the partitions' control loops and the
devices, and at 15 they lost the CPU to anything else on the machine (`docs/scale.md`)."""


def start_local_cluster(nodes: int, partitions: int) -> Any:
    """A Ray cluster of `nodes` raylets on this machine: the head offers ``vpp_head`` and
    every node ``partitions`` partition slots (so a lone survivor can host them all). Its
    workers run at the caller's priority (`WORKER_NICENESS`), not Ray's background one."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 2,
            "resources": {HEAD: 1, SLOT: partitions},
            "include_dashboard": False,
            "_system_config": {"worker_niceness": WORKER_NICENESS},
        },
    )
    for _ in range(nodes - 1):
        cluster.add_node(num_cpus=2, resources={SLOT: partitions})
    cluster.wait_for_nodes()
    return cluster


def run_on_ray(
    options: SimulationOptions,
    partitions: int,
    leases_factory: LeasesFactory,
    *,
    address: str = "local",
    kill_node_at_s: float | None = None,
    ttl_s: float = 2.0,
    warmup_s: float = 3.0,
    metrics_port: int | None = None,
) -> dict[str, Any]:
    """Run `options` split into `partitions` on Ray (see the module docstring); the report:
    per partition and owner tick p50/p99, missed ticks, fenced writes; losses with their
    detection and recovery times; the pool's truth from the devices; `double_commands`
    and refusals counted by the devices; lease traffic. `metrics_port`: serve every
    partition's dispatch series, with partition and node labels, on one ``/metrics``
    (`dispatch.cluster.metrics`) while it runs."""
    cluster = None
    if address == "local":
        cluster = start_local_cluster(2, partitions)
        address = cluster.address
    elif kill_node_at_s is not None:
        raise ValueError("kill_node_at_s: only a local cluster's node can be killed")
    ray.init(address=address, namespace=NAMESPACE, log_to_driver=False)
    leases = leases_factory()
    try:
        return _drive(
            options,
            partitions,
            leases,
            leases_factory,
            cluster,
            kill_node_at_s,
            ttl_s,
            warmup_s,
            metrics_port,
        )
    finally:
        ray.shutdown()
        if cluster is not None:
            cluster.shutdown()
        leases.engine.dispose()


def _drive(
    options: SimulationOptions,
    partitions: int,
    leases: PartitionLeases,
    leases_factory: LeasesFactory,
    cluster: Any,
    kill_node_at_s: float | None,
    ttl_s: float,
    warmup_s: float,
    metrics_port: int | None,
) -> dict[str, Any]:
    ids = [a for a, *_ in physics_fleet(options.assets, options.seed)]
    specs = split_count(dict.fromkeys(ids, POOL), partitions)
    leases.ensure([s.id for s in specs])
    actors = {
        s.id: PartitionActor.options(
            name=f"vpp-partition-{s.id}",
            resources={SLOT: 1},
            scheduling_strategy="SPREAD",
            get_if_exists=True,
        ).remote(s.id, leases_factory)
        for s in specs
    }
    placed = dict(zip(actors, ray.get([a.node_id.remote() for a in actors.values()]), strict=True))
    nodes = sorted({n["NodeID"] for n in ray.nodes() if n["Alive"]})
    standbys = {  # warm: on another node than the partition's, ready before t = 0
        pid: PartitionActor.options(
            name=f"vpp-standby-{pid}",
            resources={SLOT: 1},
            scheduling_strategy=NodeAffinitySchedulingStrategy(other, soft=False),
        ).remote(pid, leases_factory)
        for pid, node in placed.items()
        if (other := next((n for n in nodes if n != node), None)) is not None
    }
    standby_nodes = dict(
        zip(standbys, ray.get([a.node_id.remote() for a in standbys.values()]), strict=True)
    )
    head = {HEAD: 0.001}
    epoch = time.time() + warmup_s  # t = 0 once the field and the coordinator are up
    fields = {  # one per partition: the devices of one do not wait on another's
        s.id: FieldActor.options(resources=head).remote(options, epoch, list(s.assets))
        for s in specs
    }
    coord = CoordinatorActor.options(resources=head).remote(specs, options, epoch)
    rated = ray.get(coord.rated.remote())
    tolerance = 0.02 * rated
    until = options.duration_s
    plans = {s.id: PartitionPlan(s, options, epoch, ttl_s) for s in specs}

    def start(pid: str) -> Any:
        return actors[pid].run.remote(plans[pid], fields[pid], coord, until)

    runs: dict[str, list[Any]] = {pid: [start(pid)] for pid in actors}
    server = None
    if metrics_port is not None:
        server = _serve(metrics_port, lambda: list(actors.values()))
    generation = dict.fromkeys(actors, 0)
    killed_node = None
    if cluster is not None and kill_node_at_s is not None:
        head_id = cluster.head_node.node_id
        killed_node = next((n for n in cluster.list_all_nodes() if n.node_id != head_id), None)
    losses: dict[str, dict[str, Any]] = {}
    errors: list[tuple[float, float]] = []
    timeline: list[tuple[float, ...]] = []
    """Per truth sample: t [s], the pool's target [MW], each partition's devices' truth [MW]."""
    tick = options.tick_s
    t = max(0.0, time.time() - epoch)
    kill_done = False
    all_owned_s: float | None = None
    step = tick / 4  # leases are looked at four times a tick, the truth once
    steps = 0
    while t + step < until:
        t += step
        steps += 1
        delay = epoch + t - time.time()
        if delay > 0:
            time.sleep(delay)
        now = time.time() - epoch
        if killed_node is not None and not kill_done and now >= kill_node_at_s:
            cluster.remove_node(killed_node, allow_graceful=False)
            kill_done = True
            for pid, node in placed.items():
                if node == killed_node.node_id:
                    losses[pid] = {"partition": pid, "killed_s": round(now, 3)}
        utc = datetime.now(UTC)
        watching = now < until - 2 * tick  # at the end, owners release their leases
        seen = leases.all() if watching else []
        if all_owned_s is None and seen and all(x.held_at(utc) for x in seen):
            all_owned_s = now
        for lease in seen:
            pid = lease.partition
            if pid not in actors or lease.token == 0 or lease.held_at(utc):
                continue  # token 0: its first owner is still starting
            loss = losses.setdefault(pid, {"partition": pid, "killed_s": None})
            if "detected_s" not in loss:
                loss["detected_s"] = round(now, 3)
                if loss["killed_s"] is not None:
                    loss["detection_s"] = round(now - loss["killed_s"], 3)
                coord.lost.remote(pid, now)
            if _ended_alive(runs[pid][-1]):  # it lost the lease but lives: run it again
                runs[pid].append(start(pid))
            elif "standby_node" not in loss:  # its actor is unreachable: the standby
                if pid in standbys:
                    actors[pid] = standbys.pop(pid)
                    alive = standby_nodes[pid]
                else:  # none left (a second loss): a new one on a live node
                    alive = _live_node(leases, placed, utc, cluster)
                    generation[pid] += 1
                    actors[pid] = PartitionActor.options(
                        name=f"vpp-partition-{pid}-{generation[pid]}",
                        resources={SLOT: 1},
                        scheduling_strategy=NodeAffinitySchedulingStrategy(alive, soft=False),
                    ).remote(pid, leases_factory)
                runs[pid].append(start(pid))
                loss["standby_node"] = alive
                loss["standby_s"] = round(now, 3)
        if steps % 4:
            continue
        truths = ray.get([f.truth_mw.remote() for f in fields.values()])
        truth = sum(truths)
        target = ray.get(coord.pool_target_mw.remote(now))
        errors.append((now, truth - target))
        timeline.append((round(now, 3), round(target, 1), *(round(x, 1) for x in truths)))
    every = [ref for refs in runs.values() for ref in refs]
    done, _ = ray.wait(every, num_returns=len(every), timeout=30)
    owners = []
    for pid, refs in runs.items():
        for ref in refs:
            if ref not in done:
                owners.append({"partition": pid, "killed": True, "error": "no answer"})
                continue
            try:
                owners.append(ray.get(ref))
            except ray.exceptions.RayError as exc:
                owners.append({"partition": pid, "killed": True, "error": type(exc).__name__})
    if server is not None:
        server.close()
    for loss in losses.values():
        if loss.get("killed_s") is not None:
            loss.update(_back_within(errors, loss["killed_s"], tolerance, tick))
    counts = ray.get([f.fencing.remote() for f in fields.values()])
    fencing = {k: sum(c[k] for c in counts) for k in counts[0]}
    errs = np.array([e for tt, e in errors if tt >= 2 * tick]) if errors else np.zeros(1)
    return {
        "assets": options.assets,
        "partitions": len(specs),
        "cluster": "local" if cluster is not None else "address",
        "nodes": sorted(set(placed.values())),
        "placement": placed,
        "owners": owners,
        "losses": list(losses.values()),
        "truth": {
            "rms_mw": round(float(np.sqrt(np.mean(errs**2))), 4),
            "max_abs_mw": round(float(np.max(np.abs(errs))), 4),
            "tolerance_mw": round(tolerance, 4),
            "ticks_out_of_tolerance": int(np.sum(np.abs(errs) > tolerance)),
            "out_of_tolerance": [  # when [s of the run] and by how much [MW]
                [round(tt, 2), round(e, 1)]
                for tt, e in errors
                if tt >= 2 * tick and abs(e) > tolerance
            ],
        },
        "timeline_fields": ["t_s", "target_mw", *(f"truth_{pid}_mw" for pid in fields)],
        "timeline": timeline,
        "all_owned_s": None if all_owned_s is None else round(all_owned_s, 3),
        "truth_once_owned": _truth_since(errors, all_owned_s, tolerance, tick),
        "double_commands": fencing["double_commands"],
        "refused_commands": fencing["refused"],
        "commands_accepted": fencing["accepted"],
        "lease_statements": leases.statements + sum(o.get("lease_statements", 0) for o in owners),
    }


def _truth_since(
    errors: list[tuple[float, float]], since: float | None, tolerance: float, tick: float
) -> dict[str, Any] | None:
    """The truth's RMS error [MW] and ticks out of tolerance from two ticks after every
    partition first had an owner (`since` [s]; None: never): what the controllers did, not
    the devices left at their start-up state while the owners were still setting up."""
    if since is None:
        return None
    errs = np.array([e for t, e in errors if t >= since + 2 * tick])
    if errs.size == 0:
        return None
    return {
        "rms_mw": round(float(np.sqrt(np.mean(errs**2))), 4),
        "max_abs_mw": round(float(np.max(np.abs(errs))), 4),
        "ticks": int(errs.size),
        "ticks_out_of_tolerance": int(np.sum(np.abs(errs) > tolerance)),
    }


def process_metrics(node: str) -> tuple[str, str]:
    """(`node`, this process's Prometheus text): what a partition actor answers a scrape.
    Without the per-asset series (`ClusterCollector` leaves them out: writing them would
    cost the partition's loop a scrape's worth of formatting for nothing) and without the
    counters' ``_created`` samples."""
    from prometheus_client import REGISTRY, disable_created_metrics, generate_latest

    from dispatch.observability import series_on

    disable_created_metrics()
    found = series_on(REGISTRY)
    if found is None:
        return node, generate_latest(REGISTRY).decode()
    with found.fleet.without_me():
        return node, generate_latest(REGISTRY).decode()


def partition_metrics(actors: list[Any], timeout_s: float) -> list[tuple[str, str]]:
    """(node, Prometheus text) of each partition actor among `actors` (each with a
    `metrics_text` method) that answers within `timeout_s` real seconds; a lost one has
    nothing to say and is left out."""
    refs = [actor.metrics_text.remote() for actor in actors]
    if not refs:
        return []
    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout_s)
    texts = []
    for ref in ready:
        try:
            texts.append(ray.get(ref))
        except ray.exceptions.RayError:
            continue
    return texts


def _serve(port: int, partitions: Callable[[], list[Any]]) -> Any:
    """``/metrics`` on `port`: the live partitions' dispatch series with node labels."""
    from prometheus_client import CollectorRegistry

    from dispatch.cluster.metrics import ClusterCollector
    from dispatch.metrics_server import serve_metrics

    registry = CollectorRegistry(auto_describe=False)
    registry.register(ClusterCollector(lambda: partition_metrics(partitions(), 5.0)))
    server = serve_metrics(port, registry=registry)
    print(f"metrics: {server.url}", file=sys.stderr, flush=True)
    return server


def _ended_alive(ref: Any) -> bool:
    """True if the run `ref` returned (its actor lives); False while it runs or if its
    actor could not be reached."""
    ready, _ = ray.wait([ref], timeout=0)
    if not ready:
        return False
    try:
        ray.get(ref)
    except ray.exceptions.RayError:
        return False
    return True


def _back_within(
    errors: list[tuple[float, float]], killed_s: float, tolerance: float, tick: float
) -> dict[str, Any]:
    """After a kill at `killed_s` [s]: the ticks the pool's true error was out of
    tolerance, and when it was back for good (the end of the last such tick, from the kill;
    0 if it never left)."""
    out = [t for t, e in errors if t > killed_s and abs(e) > tolerance]
    return {
        "ticks_out_of_tolerance": len(out),
        "back_within_tolerance_s": round(max(out) + tick - killed_s, 3) if out else 0.0,
    }


def _live_node(leases: PartitionLeases, placed: dict[str, str], utc: datetime, cluster: Any) -> str:
    """A node that is alive by the leases: one hosting a partition whose lease is held
    (the head of a local cluster first)."""
    if cluster is not None:
        return str(cluster.head_node.node_id)
    held = {lease.partition for lease in leases.all() if lease.held_at(utc)}
    for pid, node in placed.items():
        if pid in held:
            return node
    return str(ray.get_runtime_context().get_node_id())


__all__ = ["WORKER_NICENESS", "run_on_ray", "start_local_cluster"]
