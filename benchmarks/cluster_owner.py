"""What one partition's owner costs on the wall clock, without Ray: CPU seconds per second
of run, tick times, how many of its assets it could not see, and (``--profile``) where the
CPU goes.

The owner (`dispatch.cluster.owner.run_owner`) runs in this process on one partition of a
fleet of ``--assets`` cut into ``--partitions``; its devices (`DeviceField`) run in a
process of their own, reached through the partition's batched link as on Ray; the
coordinator and the lease (a fresh SQLite file) are in this process. The CPU is counted
from the first tick on (set-up excluded).

Run: ``python benchmarks/cluster_owner.py --assets 20000 --partitions 4 --duration 30
[--profile out.prof]`` (wrap it in ``flock /tmp/vpp-bench.lock`` on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any

import _no_shadowing  # noqa: F401 - first: benchmarks/dispatch.py shadows the package

from dispatch.activation import SimulatedTsoSignal
from dispatch.cluster.coordinator import Coordinator, PartitionReport
from dispatch.cluster.field import DeviceField, Write
from dispatch.cluster.owner import PartitionPlan, full_schedule, run_owner
from dispatch.cluster.partitions import split_count
from dispatch.inproc import limits_of
from dispatch.simulation import SimulationOptions, physics_fleet
from trading.cli.cluster import open_leases
from trading.store import upgrade

POOL = "DE_LU/50Hertz"
_FIELD: DeviceField | None = None


def _quiet() -> None:
    """Events at error level only (as a partition's actor logs)."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def _start_field(options: SimulationOptions, epoch: float, assets: list[str]) -> None:
    global _FIELD
    _quiet()
    _FIELD = DeviceField(options, epoch, assets)


def _exchange(writes: list[Write], reads: list[str]) -> Any:
    assert _FIELD is not None
    return _FIELD.exchange(writes, reads)


def _truth() -> float:
    assert _FIELD is not None
    return _FIELD.truth_mw()


def measure(
    assets: int, partitions: int, which: int, duration_s: float, profile: str | None
) -> dict[str, Any]:
    """Run partition `which` for `duration_s` [s]; the owner's report with CPU figures."""
    _quiet()
    options = SimulationOptions(assets=assets, duration_s=duration_s, site_size=0)
    fleet = physics_fleet(options.assets, options.seed)
    specs = split_count(dict.fromkeys((a for a, *_ in fleet), POOL), partitions)
    spec = specs[which]
    ratings = {a: max(limits_of(p, 3.0).max_mw, -limits_of(p, 3.0).min_mw) for a, p, *_ in fleet}
    band = options.activation_share * sum(ratings.values())
    db = f"sqlite:///{tempfile.mkdtemp(prefix='vpp-owner-')}/leases.sqlite3"
    upgrade(db)
    leases = open_leases(db)
    leases.ensure([s.id for s in specs])
    epoch = time.time() + 20.0  # the owner builds its schedule and members meanwhile
    coordinator = Coordinator(
        specs,
        ratings,
        {POOL: SimulatedTsoSignal(band, band, seed=options.seed)},
        full_schedule(options, epoch),
        lambda t: datetime.fromtimestamp(epoch + t, UTC),
    )
    pool = ProcessPoolExecutor(1, initializer=_start_field, initargs=(options, epoch, spec.assets))
    pool.submit(_truth).result()  # the field is up

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()

        async def exchange(writes: list[Write], reads: list[str]) -> Any:
            return await loop.run_in_executor(pool, _exchange, writes, reads)

        async def report(pid: str, t: float, target: float, measured: float, av: float) -> float:
            coordinator.report(pid, PartitionReport(t, target, measured, av))
            return coordinator.share_mw(pid, t)

        profiler = cProfile.Profile() if profile else None
        cpu: dict[str, float] = {}

        async def watch() -> None:
            await asyncio.sleep(max(0.0, epoch + options.tick_s - time.time()))
            cpu["start"], cpu["wall"] = time.process_time(), time.time()
            if profiler is not None:
                profiler.enable()
            await asyncio.sleep(max(0.0, epoch + duration_s - 1 - time.time()))
            if profiler is not None:
                profiler.disable()
            cpu["end"], cpu["wall_end"] = time.process_time(), time.time()

        owner, _ = await asyncio.gather(
            run_owner(
                PartitionPlan(spec, options, epoch), "bench", leases, exchange, report, duration_s
            ),
            watch(),
        )
        if profiler is not None:
            assert profile is not None
            profiler.dump_stats(profile)
        owner["cpu_s_per_s"] = round(
            (cpu["end"] - cpu["start"]) / (cpu["wall_end"] - cpu["wall"]), 3
        )
        return owner

    try:
        return asyncio.run(main())
    finally:
        pool.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=20000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--which", type=int, default=0, help="the partition to run")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--profile", default=None, help="write cProfile stats here")
    args = parser.parse_args()
    report = measure(args.assets, args.partitions, args.which, args.duration, args.profile)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
