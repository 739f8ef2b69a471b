"""Site meters whose members' reads are sometimes lost (one read in twenty unanswered).

Over Modbus on a busy host a read or two of a site's ten members go unanswered in a third
of the periods. The site watch skipped every such comparison, and a fake meter's lie, shown
by a probe that lasts about two seconds, often fell into a run of skipped comparisons: it
was named at its next probe, 10-30 s later, or never. Now a member whose read got no
answer counts where an obeying device's envelope pins it down (`AssetActor.held_mw`), and
the comparison goes on.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace

import pytest
import structlog
from lossy_links import LossyReads

from dispatch.clock import VirtualClock
from dispatch.kpi import CROSS_CHECK
from dispatch.simulation import (
    SimulationOptions,
    modbus_like_fleet,
    parse_faults,
    run_fleet,
)


@pytest.fixture(autouse=True)
def _quiet_events() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))


def _run(spec: str, seed: int, loss: float = 0.05) -> tuple[dict, list[LossyReads]]:
    """The Modbus benchmark's fleet (battery, PV, CHP in turn, ten per site meter), 150
    assets in process on a virtual clock, 45 s, `loss` of the reads unanswered."""
    options = SimulationOptions(assets=150, duration_s=45, faults=parse_faults(spec), seed=seed)

    async def main() -> tuple[dict, list[LossyReads]]:
        clock = VirtualClock(options.start)
        rng = random.Random(seed + 100)
        fleet = modbus_like_fleet(options, clock)
        links = [LossyReads(m.adapter, clock, loss, rng) for m in fleet]
        fleet = [replace(m, adapter=link) for m, link in zip(fleet, links, strict=True)]
        return await run_fleet(options, fleet, clock), links

    return asyncio.run(main())


def test_fake_meters_are_named_though_some_members_reads_are_lost() -> None:
    runs = [_run("fake_meter:0.3@15s", seed) for seed in (1, 2, 3)]
    assert all(sum(link.lost for link in links) > 200 for _, links in runs)  # 1 in 20
    faults = [f for report, _ in runs for f in report["faults"]]
    assert len(faults) == 135
    detected = [f for f in faults if f["detected_s"] is not None]
    late = [f for f in faults if f["detected_s"] is None or f["detected_s"] > 3.0]
    # Before members were counted by their envelope: 129 of 135 named, 33 later than 3 s
    # after their lie showed or never; then 134 and 15, a liar's probe falling across a
    # comparison skipped for a battery on its way, or two members' moves by one step that
    # the watch told apart only at the probe's end, or a liar whose read was lost counted
    # where its probe's return put it. Now 133 and 7 (seeds 1-8: 356 of 360 and 22,
    # against 352 and 53): lies hidden by the liar's own reads lost during its probe, liars
    # frozen in the middle of a probe, and liars whose probe came too late in the run.
    assert len(detected) >= 132
    assert len(late) <= 8
    assert all(f["evidence"].startswith(CROSS_CHECK) for f in detected)
    for report, _ in runs:
        assert CROSS_CHECK not in report["unfaulted_failures"].get("by_evidence", {})


def test_an_honest_fleet_with_lost_reads_keeps_its_members_and_its_target() -> None:
    report, _ = _run("", 2, loss=0.1)
    assert CROSS_CHECK not in report["unfaulted_failures"].get("by_evidence", {})
    assert report["truth"]["met"]
