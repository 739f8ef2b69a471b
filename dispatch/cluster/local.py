"""Partitions of one fleet in one process: each owned through its lease, fenced at the
devices, coordinated, and taken over when its owner is lost.

`LocalCluster` runs the simulated fleet of `dispatch.simulation` split into partitions
(`dispatch.cluster.partitions`) on one clock. Each partition is run by an owner: it
acquires the partition's lease (`dispatch.cluster.leases`), and every command its actors
write carries the lease's fence, so a device takes commands from the newest owner only
(`dispatch.devices.fencing`). The owner renews its lease every quarter of the TTL; once a
renewal fails it stops commanding (`stop_on_loss`), or, to show what fencing is for, keeps
running as a controller cut off by a network split would.

Every tick the cluster's monitor (the coordinator's side) looks at the leases: a lease not
held any more is a lost partition. The coordinator then carries its share on the other
partitions of its pool, and a standby owner acquires the lease (token + 1) and starts the
partition again from the devices' own state (first contact reads what each device holds).
The monitor also samples the truth: what every device physically injects against the
pool's target, whoever commands it.

Everything runs on the caller's clock: a `VirtualClock` in tests (the lease database is
real; its calls block the loop for their duration, which a virtual clock does not see).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from dispatch.activation import SimulatedTsoSignal
from dispatch.clock import DispatchClock
from dispatch.cluster.coordinator import Coordinator, PartitionActivation, PartitionReport
from dispatch.cluster.leases import Lease, LeaseLostError, PartitionLeases
from dispatch.cluster.partitions import PartitionSpec, partition_schedule, split_count
from dispatch.devices.fencing import Fence, FenceGuard, FenceHolder
from dispatch.pool import PoolController
from dispatch.simulation import (
    FleetMember,
    SimulationOptions,
    inproc_fleet,
    run_fleet,
    schedule_of,
)

SIM_POOL = "DE_LU/50Hertz"
"""The pool of the simulated fleet (one zone, one control area)."""
TOLERANCE_SHARE = 0.02
"""The pool's tolerance: this share of the fleet's rating [MW] (as `dispatch.kpi`)."""
BACK_TICKS = 3
"""Ticks in a row within tolerance that count as back."""


@dataclass
class OwnerRun:
    """One owner's controller of one partition."""

    spec: PartitionSpec
    owner: str
    lease: Lease
    holder: FenceHolder
    started_s: float
    task: asyncio.Task[dict[str, Any]] | None = None
    keeper: asyncio.Task[None] | None = None
    pool: PoolController | None = None
    lost_lease_at_s: float | None = None
    killed_at_s: float | None = None


@dataclass
class Loss:
    """A partition whose owner was killed at `killed_s` [s]."""

    partition: str
    killed_s: float
    detected_s: float | None = None
    taken_over_s: float | None = None
    new_owner: str | None = None
    back_s: float | None = None


@dataclass
class LocalCluster:
    """See the module docstring. `members` and `specs` from `build`."""

    options: SimulationOptions
    members: Sequence[FleetMember]
    specs: Sequence[PartitionSpec]
    leases: PartitionLeases
    clock: DispatchClock
    ttl_s: float = 2.0
    stop_on_loss: bool = True
    failover: bool = True
    runs: list[OwnerRun] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    errors_mw: list[tuple[float, float]] = field(default_factory=list)
    """(t, physical - target) of the whole pool at every monitor tick [s, MW]."""

    def __post_init__(self) -> None:
        self.by_id = {m.adapter.asset_id: m for m in self.members}
        self.rated_mw = sum(m.limits.max_mw for m in self.members)
        self.tolerance_mw = max(0.001, TOLERANCE_SHARE * self.rated_mw)
        self.schedule = schedule_of(self.members, self.clock.utc(), self.options.duration_s)
        band = self.options.activation_share * self.rated_mw
        self.signal = SimulatedTsoSignal(band, band, seed=self.options.seed)
        ratings = {m.adapter.asset_id: max(m.limits.max_mw, -m.limits.min_mw) for m in self.members}
        t0, utc0 = self.clock.now(), self.clock.utc()
        self.coordinator = Coordinator(
            self.specs,
            ratings,
            {spec.pool: self.signal for spec in self.specs},
            self.schedule,
            lambda t: utc0 + timedelta(seconds=t - t0),
        )
        self.leases.ensure([s.id for s in self.specs])
        self._generation = {s.id: 0 for s in self.specs}

    # --- owners --------------------------------------------------------------------------

    def start_owner(self, spec: PartitionSpec, owner: str, until_s: float) -> OwnerRun | None:
        """`owner` acquires `spec`'s lease and runs it until `until_s` [s]; None if the
        lease is held by another."""
        lease = self.leases.acquire(spec.id, owner, self.clock.utc(), self.ttl_s)
        if lease is None:
            return None
        return self._run(spec, owner, lease, until_s)

    def take_over(self, spec: PartitionSpec, owner: str, until_s: float) -> OwnerRun | None:
        """`owner` takes `spec`'s lease from whoever holds it (token + 1) and runs it."""
        seen = self.leases.get(spec.id)
        assert seen is not None
        lease = self.leases.take_over(spec.id, owner, seen.token, self.clock.utc(), self.ttl_s)
        if lease is None:
            return None
        return self._run(spec, owner, lease, until_s)

    def _run(self, spec: PartitionSpec, owner: str, lease: Lease, until_s: float) -> OwnerRun:
        now = self.clock.now()
        holder = FenceHolder(Fence(spec.id, lease.token, owner))
        run = OwnerRun(spec, owner, lease, holder, now)
        members = [self.by_id[a] for a in spec.assets]
        options = SimulationOptions(
            assets=len(members),
            duration_s=max(0.0, until_s - now),
            seed=self.options.seed,
            pool=spec.id,
            response_s=self.options.response_s,
            site_size=self.options.site_size,
            tick_s=self.options.tick_s,
        )

        def hook(pool: PoolController) -> None:
            run.pool = pool

            def report(t: float, target: float) -> None:
                available = sum(a.rating_mw for a in pool.actors if a.in_pool)
                self.coordinator.report(
                    spec.id, PartitionReport(t, target, pool.last_measured_mw, available)
                )

            pool.observers.append(report)

        run.task = asyncio.ensure_future(
            run_fleet(
                options,
                members,
                self.clock,
                activation=PartitionActivation(self.coordinator, spec.id),
                schedule=partition_schedule(self.schedule, spec),
                on_pool=hook,
                fence=holder,
            )
        )
        run.keeper = asyncio.ensure_future(self._keep(run, until_s))
        self.runs.append(run)
        return run

    async def _keep(self, run: OwnerRun, until_s: float) -> None:
        """Renew `run`'s lease every quarter of the TTL; on loss stop its controller (or, if
        `stop_on_loss` is off, let it run on unaware, as across a network split)."""
        every = self.ttl_s / 4
        t = self.clock.now()
        while t + every < until_s:
            t += every
            await self.clock.sleep_until(t)
            try:
                run.lease = self.leases.renew(run.lease, self.clock.utc(), self.ttl_s)
            except LeaseLostError:
                run.lost_lease_at_s = self.clock.now()
                if self.stop_on_loss and run.task is not None:
                    run.task.cancel()
                return

    def kill(self, run: OwnerRun) -> None:
        """The owner's process is gone: its controller and its lease renewals stop (its
        devices hold their last setpoints)."""
        run.killed_at_s = self.clock.now()
        for task in (run.task, run.keeper):
            if task is not None:
                task.cancel()
        self.losses.append(Loss(run.spec.id, run.killed_at_s))

    # --- the monitor ---------------------------------------------------------------------

    async def monitor(self, until_s: float) -> None:
        """Every tick: find lost partitions by their leases, fail them over, sample truth."""
        tick = self.options.tick_s
        t = self.clock.now()
        while t + tick < until_s:
            t += tick
            await self.clock.sleep_until(t)
            now, utc = self.clock.now(), self.clock.utc()
            for lease in self.leases.all():
                spec = next((s for s in self.specs if s.id == lease.partition), None)
                if spec is None or lease.held_at(utc) or self.coordinator.is_lost(spec.id):
                    continue
                self.coordinator.lost(spec.id, now)
                loss = next((x for x in self.losses if x.partition == spec.id), None)
                if loss is None:
                    loss = Loss(spec.id, now)
                    self.losses.append(loss)
                loss.detected_s = now
                if self.failover:
                    self._generation[spec.id] += 1
                    owner = f"standby-{spec.id}-{self._generation[spec.id]}"
                    if self.start_owner(spec, owner, until_s) is not None:
                        loss.taken_over_s, loss.new_owner = now, owner
            physical = sum(m.device.physical_power_mw() for m in self.members)
            target = sum(self.coordinator.pool_target_mw(p, now) for p in self._pools())
            self.errors_mw.append((now, physical - target))
            for loss in self.losses:
                if loss.back_s is None and loss.detected_s is not None:
                    recent = [e for tt, e in self.errors_mw[-BACK_TICKS:] if tt > loss.killed_s]
                    if len(recent) == BACK_TICKS and all(
                        abs(e) <= self.tolerance_mw for e in recent
                    ):
                        loss.back_s = now

    def _pools(self) -> list[str]:
        return sorted({s.pool for s in self.specs})

    # --- the device side -----------------------------------------------------------------

    def guards(self) -> list[FenceGuard]:
        """Every device's fencing memory (in-process devices)."""
        return [g for m in self.members if (g := getattr(m.device, "fence", None)) is not None]

    def report(self) -> dict[str, Any]:
        """Per partition and owner: tick p50/p99, missed ticks, fenced writes; the losses;
        the pool's truth; commands refused and double commands counted at the devices."""
        owners = []
        for run in self.runs:
            ticks = run.pool.kpi.tick_ms if run.pool is not None else []
            owners.append(
                {
                    "partition": run.spec.id,
                    "owner": run.owner,
                    "token": run.holder.current.token if run.holder.current else None,
                    "assets": len(run.spec.assets),
                    "started_s": round(run.started_s, 3),
                    "ticks": len(ticks),
                    "tick_p50_ms": _pct(ticks, 50),
                    "tick_p99_ms": _pct(ticks, 99),
                    "missed_ticks": run.pool.kpi.missed if run.pool is not None else 0,
                    "fenced_writes": sum(a.fenced for a in run.pool.actors) if run.pool else 0,
                    "lost_lease_at_s": run.lost_lease_at_s,
                    "killed_at_s": run.killed_at_s,
                }
            )
        errors = np.array([e for _, e in self.errors_mw]) if self.errors_mw else np.zeros(1)
        guards = self.guards()
        return {
            "assets": len(self.members),
            "partitions": len(self.specs),
            "owners": owners,
            "losses": [
                {
                    "partition": x.partition,
                    "killed_s": x.killed_s,
                    "detected_s": x.detected_s,
                    "detection_s": None if x.detected_s is None else x.detected_s - x.killed_s,
                    "new_owner": x.new_owner,
                    "back_within_tolerance_s": None
                    if x.back_s is None
                    else round(x.back_s - x.killed_s, 3),
                }
                for x in self.losses
            ],
            "truth": {
                "rms_mw": round(float(np.sqrt(np.mean(errors**2))), 4),
                "max_abs_mw": round(float(np.max(np.abs(errors))), 4),
                "tolerance_mw": round(self.tolerance_mw, 4),
                "ticks_out_of_tolerance": int(np.sum(np.abs(errors) > self.tolerance_mw)),
            },
            "refused_commands": sum(g.refused for g in guards),
            "double_commands": sum(g.double_commands for g in guards),
            "lease_statements": self.leases.statements,
        }


def _pct(values: Sequence[float], q: float) -> float | None:
    return None if not values else round(float(np.percentile(values, q)), 3)


def build(
    options: SimulationOptions,
    partitions: int,
    leases: PartitionLeases,
    clock: DispatchClock,
    **kwargs: Any,
) -> LocalCluster:
    """The in-process fleet of `options` on `clock`, split into about `partitions`."""
    members = inproc_fleet(options, clock)
    specs = split_count(dict.fromkeys((m.adapter.asset_id for m in members), SIM_POOL), partitions)
    return LocalCluster(options, members, specs, leases, clock, **kwargs)


async def run_local(
    cluster: LocalCluster, *, kill_at_s: float | None = None, kill: str | None = None
) -> dict[str, Any]:
    """Start an owner per partition, optionally kill the owner of partition `kill` (the
    first by default) at `kill_at_s` [s], run for the options' duration; the report."""
    start = cluster.clock.now()
    until = start + cluster.options.duration_s
    for spec in cluster.specs:
        cluster.start_owner(spec, f"owner-{spec.id}-0", until)

    async def killer() -> None:
        if kill_at_s is None:
            return
        await cluster.clock.sleep_until(start + kill_at_s)
        victim = kill or cluster.specs[0].id
        for run in list(cluster.runs):
            if run.spec.id == victim and run.killed_at_s is None:
                cluster.kill(run)

    await asyncio.gather(cluster.monitor(until), killer())
    pending = [r.task for r in cluster.runs if r.task is not None]
    pending += [r.keeper for r in cluster.runs if r.keeper is not None]
    await asyncio.gather(*pending, return_exceptions=True)
    return cluster.report()


__all__ = ["SIM_POOL", "LocalCluster", "Loss", "OwnerRun", "build", "run_local"]
