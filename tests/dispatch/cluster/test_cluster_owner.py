"""A partition's owner against the field of devices in real time, without Ray: reads and
writes in batches, each write fenced; an owner whose lease is taken stops commanding."""

from __future__ import annotations

import asyncio
import functools
import time
from datetime import UTC, datetime
from typing import Any

from cluster_db import leases_on, migrated_url

from dispatch.activation import SimulatedTsoSignal
from dispatch.cluster.coordinator import Coordinator, PartitionReport
from dispatch.cluster.field import DeviceField
from dispatch.cluster.leases import PartitionLeases
from dispatch.cluster.owner import PartitionPlan, full_schedule, run_owner
from dispatch.cluster.partitions import split_count
from dispatch.cluster.renewer import RenewerProcess
from dispatch.inproc import limits_of
from dispatch.simulation import SimulationOptions, physics_fleet

POOL = "DE_LU/50Hertz"


def _run(
    leases: PartitionLeases, steal_at_s: float | None, round_trip_s: float = 0.0
) -> tuple[list[Any], DeviceField]:
    """Two owners of 60 assets for 8 s; `round_trip_s`: the field's answer comes back this
    long after a batch leaves (half on the way there, half on the way back) [s]. Each
    owner's lease is renewed by a renewer process started (and ready) beforehand, as a
    partition actor keeps one: a thread of this process stalls with it (a collection
    descheduled on a busy machine held the GIL for 2.5 s and both leases lapsed)."""
    url = leases.engine.url.render_as_string(hide_password=False)
    renewers = [RenewerProcess(functools.partial(leases_on, url), 2.0) for _ in range(2)]
    for renewer in renewers:
        renewer.start()
    for renewer in renewers:
        asyncio.run(renewer.ready())
    options = SimulationOptions(assets=60, duration_s=8, site_size=0)
    epoch = time.time() + 0.5
    field = DeviceField(options, epoch)
    fleet = physics_fleet(options.assets, options.seed)
    specs = split_count(dict.fromkeys((a for a, *_ in fleet), POOL), 2)
    leases.ensure([s.id for s in specs])
    ratings = {a: max(limits_of(p, 3.0).max_mw, -limits_of(p, 3.0).min_mw) for a, p, *_ in fleet}
    band = 0.1 * sum(ratings.values())
    coordinator = Coordinator(
        specs,
        ratings,
        {POOL: SimulatedTsoSignal(band, band, seed=1)},
        full_schedule(options, epoch),
        lambda t: datetime.fromtimestamp(epoch + t, UTC),
    )

    async def exchange(writes: Any, reads: Any) -> Any:
        if round_trip_s <= 0:
            return field.exchange(writes, reads)
        await asyncio.sleep(round_trip_s / 2)
        answer = field.exchange(writes, reads)
        await asyncio.sleep(round_trip_s / 2)
        return answer

    async def report(pid: str, t: float, target: float, measured: float, avail: float) -> float:
        coordinator.report(pid, PartitionReport(t, target, measured, avail))
        return coordinator.share_mw(pid, t)

    async def steal() -> None:
        if steal_at_s is None:
            return
        await asyncio.sleep(max(0.0, epoch + steal_at_s - time.time()))
        seen = leases.get(specs[0].id)
        leases.take_over(specs[0].id, "operator", seen.token, datetime.now(UTC), 60)

    async def main() -> list[Any]:
        owners = [
            run_owner(
                PartitionPlan(s, options, epoch),
                f"o{k}",
                leases,
                exchange,
                report,
                8.0,
                renewer=renewers[k],
            )
            for k, s in enumerate(specs)
        ]
        results = await asyncio.gather(*owners, steal())
        return list(results[:-1])

    return asyncio.run(main()), field


def test_owners_dispatch_the_field_through_fenced_batches(tmp_path) -> None:
    for url in migrated_url("sqlite", tmp_path):
        leases = leases_on(url)
        results, field = _run(leases, None)
        after = leases.all()
        leases.engine.dispose()
    assert [r["token"] for r in results] == [1, 1]
    assert all(r["ticks"] >= 5 and r["field_batches"] > 0 for r in results)
    fencing = field.fencing()
    assert fencing["accepted"] > 0
    assert (fencing["refused"], fencing["double_commands"]) == (0, 0)
    assert all(lease.owner is None for lease in after)  # released at the end


def test_an_owner_whose_lease_is_taken_stops_commanding(tmp_path) -> None:
    for url in migrated_url("sqlite", tmp_path):
        leases = leases_on(url)
        results, field = _run(leases, steal_at_s=3.0)
        leases.engine.dispose()
    robbed = results[0]
    assert 3.0 <= robbed["lost_lease_at_s"] <= 3.0 + 2.0  # found at its next renewal
    assert robbed["ticks"] < results[1]["ticks"]  # it stopped; the other ran on
    guards = [d.fence for d in field.devices.values() if d.fence is not None]
    assert sum(g.double_commands for g in guards) == 0


def test_a_field_answering_within_the_deadline_loses_no_reading(tmp_path) -> None:
    """A field whose round trip (0.3 s) is within the actors' 0.5 s deadline: every read is
    answered in time. With batches sent one after the other, a call made while a batch was
    out waited for it, then for its own (0.35-0.65 s): about four reads in ten missed the
    deadline, their assets left the pool for missed reads and counted as 0 MW while
    injecting (at 20,000 assets, the pool's truth 1-2 GW off)."""
    for url in migrated_url("sqlite", tmp_path):
        leases = leases_on(url)
        results, _ = _run(leases, None, round_trip_s=0.3)
        leases.engine.dispose()
    assert [r["token"] for r in results] == [1, 1]
    # Up to two assets per owner may miss a read in a scheduling hiccup of a loaded machine
    # (a read then waits the departure, 0.05 s, and the round trip, 0.3 s: 0.15 s of slack);
    # with batches sent one after the other every asset of both owners left the pool for
    # missed reads at some point and about half were unknown at the end.
    assert [r["assets_out_for_missed_reads"] <= 2 for r in results] == [True, True], results
    assert [r["unknown_assets_at_end"] <= 2 for r in results] == [True, True], results


def test_the_first_tick_waits_for_the_first_contacts(tmp_path) -> None:
    """With a field 0.3 s away, the last actors' first contact (at 0.85 s of the first
    period; an identify and a read, a round trip each) was not back by the first tick at
    1 s: that tick counted about a fifth of the assets as nothing and drove the seen ones
    to cover them (at 20,000 assets the pool's truth 430-650 MW over its target at the
    partitions' first ticks: `docs/scale.md`). Now a first contact is one round trip and
    the first tick waits for the last of them."""
    for url in migrated_url("sqlite", tmp_path):
        leases = leases_on(url)
        results, _ = _run(leases, None, round_trip_s=0.3)
        leases.engine.dispose()
    unknown = results[0]["timeline_fields"].index("unknown")
    assert [r["timeline"][0][unknown] for r in results] == [0, 0], results
