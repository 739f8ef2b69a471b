"""Fencing: a partition whose lease was taken keeps running (as after a network split) and
none of its commands reaches a device; a lost owner is detected and taken over. In
process, on a virtual clock, with a real lease table (SQLite)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from cluster_db import leases_on, migrated_url

from dispatch.clock import VirtualClock
from dispatch.cluster.leases import PartitionLeases
from dispatch.cluster.local import LocalCluster, build, run_local
from dispatch.simulation import START, SimulationOptions


@pytest.fixture
def leases(tmp_path) -> PartitionLeases:
    for url in migrated_url("sqlite", tmp_path):
        store = leases_on(url)
        yield store
        store.engine.dispose()


def _split_brain(leases: PartitionLeases, *, enforce: bool) -> tuple[LocalCluster, dict[str, Any]]:
    """Owner A runs the one partition; at 10 s B takes its lease over and runs it too,
    while A, unaware (it does not stop on a failed renewal), keeps commanding."""

    async def main() -> tuple[LocalCluster, dict[str, Any]]:
        clock = VirtualClock(START)
        cluster = build(
            SimulationOptions(assets=20, duration_s=30),
            1,
            leases,
            clock,
            stop_on_loss=False,
            failover=False,
        )
        for guard in cluster.guards():
            guard.enforce = enforce
        spec = cluster.specs[0]
        first = cluster.start_owner(spec, "node-a", 30.0)
        assert first is not None
        await clock.sleep_until(10.0)
        second = cluster.take_over(spec, "node-b", 30.0)
        assert second is not None
        await cluster.monitor(30.0)
        await asyncio.gather(*(r.task for r in cluster.runs), return_exceptions=True)
        for run in cluster.runs:
            run.keeper.cancel()
        return cluster, cluster.report()

    return asyncio.run(main())


def test_a_partition_whose_lease_was_taken_reaches_no_device(leases: PartitionLeases) -> None:
    cluster, report = _split_brain(leases, enforce=True)
    a, b = report["owners"]
    assert (a["owner"], a["token"], b["owner"], b["token"]) == ("node-a", 1, "node-b", 2)
    assert a["lost_lease_at_s"] is not None  # A's renewal failed, and it ran on regardless
    assert a["ticks"] >= 25
    assert a["fenced_writes"] > 0  # it kept trying to command
    assert report["refused_commands"] == a["fenced_writes"]
    assert report["double_commands"] == 0
    for guard in cluster.guards():  # the device side: once B commanded, only B did
        owners = [owner for _, _, owner in guard.owners]
        assert "node-b" in owners
        assert "node-a" not in owners[owners.index("node-b") :]


def test_without_fencing_the_split_brain_reaches_the_devices(leases: PartitionLeases) -> None:
    _, report = _split_brain(leases, enforce=False)
    assert report["refused_commands"] == 0
    assert report["double_commands"] > 0  # what the fence prevents


def test_a_killed_owner_is_detected_taken_over_and_the_pool_stays_in_tolerance(
    leases: PartitionLeases,
) -> None:
    async def main() -> dict[str, Any]:
        clock = VirtualClock(START)
        cluster = build(SimulationOptions(assets=200, duration_s=40), 4, leases, clock, ttl_s=2.0)
        return await run_local(cluster, kill_at_s=15.0)

    report = asyncio.run(main())
    (loss,) = report["losses"]
    assert loss["partition"] == "DE_LU-50Hertz.0"
    assert 0 < loss["detection_s"] <= 3.0  # TTL 2 s, seen at the next tick
    assert loss["new_owner"] == "standby-DE_LU-50Hertz.0-1"
    assert loss["back_within_tolerance_s"] is not None
    assert loss["back_within_tolerance_s"] <= 10.0
    assert report["truth"]["ticks_out_of_tolerance"] == 0
    assert report["double_commands"] == 0
    standby = [o for o in report["owners"] if o["owner"].startswith("standby")]
    assert [o["token"] for o in standby] == [2]
    assert all(o["missed_ticks"] == 0 for o in report["owners"])
