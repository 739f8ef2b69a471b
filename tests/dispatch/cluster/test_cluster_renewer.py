"""A partition lease renewed by a process of its own: a pause of the owner's process that
holds the GIL (as a garbage collection does) lapses a lease renewed by one of its threads,
not one renewed by the renewer process; the renewer lets go of an owner that stopped
beating or died, and reports a lease another owner took."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import time
from datetime import UTC, datetime, timedelta

import pytest
from cluster_db import BACKENDS, leases_on, migrated_url

from dispatch.cluster.field import WallClock
from dispatch.cluster.leases import PartitionLeases
from dispatch.cluster.owner import LeaseKeeper
from dispatch.cluster.renewer import RenewerProcess, relax_durability

TTL_S = 1.0


def _hold_the_gil(seconds: float) -> None:
    """Block this process's every Python thread for `seconds`, as a long garbage
    collection does: a C call made through `ctypes.PyDLL` keeps the GIL."""
    ctypes.PyDLL(None).usleep(int(seconds * 1e6))


def _lease_table(tmp_path) -> tuple[str, PartitionLeases]:
    url = next(migrated_url("sqlite", tmp_path))
    leases = leases_on(url)
    leases.ensure(["p0"])
    return url, leases


def _held_by(leases: PartitionLeases, owner: str) -> bool:
    lease = leases.get("p0")
    assert lease is not None
    return lease.owner == owner and lease.held_at(datetime.now(UTC))


def test_a_gil_holding_pause_lapses_a_thread_renewed_lease(tmp_path) -> None:
    """The cause of the leases lapsing together at 20,000 assets (`docs/scale.md`): the
    renewal thread cannot run while the owner's process holds the GIL past the TTL."""
    _, leases = _lease_table(tmp_path)

    async def main() -> LeaseKeeper:
        lease = leases.acquire("p0", "a", datetime.now(UTC), TTL_S)
        assert lease is not None
        keeper = LeaseKeeper(leases, lease, TTL_S, WallClock(time.time()))
        lost = asyncio.Event()
        keeper.start(asyncio.get_running_loop(), lost.set)
        await asyncio.sleep(0.6)  # renewing
        _hold_the_gil(2 * TTL_S)
        await asyncio.wait_for(lost.wait(), 2.0)
        keeper.stop()
        return keeper

    keeper = asyncio.run(main())
    assert keeper.lost_at is not None
    assert not _held_by(leases, "a")


def test_a_process_renewed_lease_outlives_the_same_pause(tmp_path) -> None:
    url, leases = _lease_table(tmp_path)

    async def main() -> tuple[RenewerProcess, bool, int]:
        renewer = RenewerProcess(functools.partial(leases_on, url), TTL_S)
        renewer.start()
        await renewer.ready()
        lease = leases.acquire("p0", "a", datetime.now(UTC), TTL_S)
        assert lease is not None
        lost = asyncio.Event()
        renewer.hand(lease, asyncio.get_running_loop(), lost.set)
        beating = asyncio.ensure_future(renewer.beating())
        await asyncio.sleep(0.6)
        _hold_the_gil(2 * TTL_S)
        held_after_pause = _held_by(leases, "a")
        await asyncio.sleep(0.6)
        beating.cancel()
        renewed = len(renewer.latencies_s)
        assert not lost.is_set()
        renewer.stop()
        return renewer, held_after_pause, renewed

    renewer, held_after_pause, renewed = asyncio.run(main())
    assert held_after_pause
    assert renewer.lost_at_posix is None
    assert renewed >= 6  # every quarter TTL through the pause, not only after it
    assert renewer.lease is not None
    assert renewer.lease.token == 1


def test_the_renewer_lets_go_of_an_owner_whose_loop_stopped(tmp_path) -> None:
    url, leases = _lease_table(tmp_path)

    async def main() -> tuple[RenewerProcess, float, float]:
        renewer = RenewerProcess(functools.partial(leases_on, url), TTL_S, max_stall_s=1.0)
        renewer.start()
        await renewer.ready()
        lease = leases.acquire("p0", "a", datetime.now(UTC), TTL_S)
        assert lease is not None
        lost = asyncio.Event()
        handed = time.time()
        renewer.hand(lease, asyncio.get_running_loop(), lost.set)  # and never a beat
        await asyncio.wait_for(lost.wait(), 5.0)
        renewer.stop()
        return renewer, handed, time.time()

    renewer, handed, _ = asyncio.run(main())
    assert renewer.lost_at_posix is not None
    assert 1.0 <= renewer.lost_at_posix - handed <= 1.0 + TTL_S  # its stall bound
    assert "stalled" in (renewer.lost_reason or "")
    time.sleep(TTL_S)
    assert not _held_by(leases, "a")


def test_the_lease_runs_out_within_a_ttl_once_its_owner_is_gone(tmp_path) -> None:
    url, leases = _lease_table(tmp_path)

    async def main() -> tuple[RenewerProcess, float]:
        renewer = RenewerProcess(functools.partial(leases_on, url), TTL_S)
        renewer.start()
        await renewer.ready()
        lease = leases.acquire("p0", "a", datetime.now(UTC), TTL_S)
        assert lease is not None
        renewer.hand(lease, asyncio.get_running_loop(), lambda: None)
        renewer.beat()
        await asyncio.sleep(0.6)
        gone = time.time()
        renewer.abandon()  # as if the owner's process died: its pipe closes
        return renewer, gone

    renewer, gone = asyncio.run(main())
    assert renewer._process is not None
    assert renewer._process.wait(timeout=5) == 0
    lease = leases.get("p0")
    assert lease is not None
    assert lease.expires_at is not None
    assert lease.expires_at <= datetime.fromtimestamp(gone, UTC) + timedelta(seconds=TTL_S)


def test_a_lease_taken_by_another_owner_is_reported_lost(tmp_path) -> None:
    url, leases = _lease_table(tmp_path)

    async def main() -> RenewerProcess:
        renewer = RenewerProcess(functools.partial(leases_on, url), TTL_S)
        renewer.start()
        await renewer.ready()
        lease = leases.acquire("p0", "a", datetime.now(UTC), TTL_S)
        assert lease is not None
        lost = asyncio.Event()
        renewer.hand(lease, asyncio.get_running_loop(), lost.set)
        beating = asyncio.ensure_future(renewer.beating())
        await asyncio.sleep(0.3)
        assert leases.take_over("p0", "b", lease.token, datetime.now(UTC), 60) is not None
        await asyncio.wait_for(lost.wait(), 3 * TTL_S)
        beating.cancel()
        renewer.stop()
        return renewer

    renewer = asyncio.run(main())
    assert renewer.lost_at_posix is not None
    assert "lost the lease" in (renewer.lost_reason or "")
    assert _held_by(leases, "b")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_renewer_s_commits_do_not_wait_for_the_disk(tmp_path, backend: str) -> None:
    """Renewals only (a lost one ends the lease sooner: safe); the owner's own connection,
    which changes tokens, stays durable."""
    for url in migrated_url(backend, tmp_path):
        owner, renewer = leases_on(url), leases_on(url)
        relax_durability(renewer.engine)
        setting = "PRAGMA synchronous" if backend == "sqlite" else "SHOW synchronous_commit"
        with owner.engine.connect() as c:
            durable = c.exec_driver_sql(setting).scalar()
        with renewer.engine.connect() as c:
            relaxed = c.exec_driver_sql(setting).scalar()
        with renewer.engine.connect() as c:  # and on the next checkout too
            again = c.exec_driver_sql(setting).scalar()
        owner.engine.dispose()
        renewer.engine.dispose()
        if backend == "sqlite":
            assert (durable, relaxed, again) == (2, 1, 1)  # FULL, NORMAL
        else:
            assert (durable, relaxed, again) == ("on", "off", "off")
