"""A day whose pool runs on a cluster re-plans around the assets its partitions lost.

In process the day reads each asset actor's state; on a cluster the server holds no asset
actors, only the partitions' boards merged into its `ClusterPool`. An asset a partition
found unavailable or quarantined is lost for the day's plan as it is in process: once, and
not while the partitions are behind their clock (a late read says nothing of the device).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from engine_setup import ESSEN, folder_config, seeded_repository

from dispatch.board import BoardEntry
from dispatch.clock import ScaledClock
from dispatch.cluster.serve_zone import ClusterPool, PartitionView
from dispatch.schedule import Schedule
from trading.engine.live_books import delivery_day
from trading.engine.live_day import LiveDay, _Zone, dispatcher_states
from trading.engine.metering import IspMeter

TENANT = "acme"
START = datetime(2026, 6, 14, 17, 5, tzinfo=UTC)
BATTERY, PV = "bat-de-essen", "pv-de-essen-roof"


def cluster_pool(views: dict[str, PartitionView]) -> ClusterPool:
    quarter = START.replace(minute=0)
    schedule = Schedule(
        portfolio_id=ESSEN[1],
        plan_id="plan",
        created_at=quarter,
        start=quarter,
        end=quarter + timedelta(minutes=15),
        index=(quarter,),
        injection_mw={BATTERY: (0.0,), PV: (0.0,)},
    )
    return ClusterPool("127.0.0.1:6379", schedule, views, lambda _s: None)


def test_a_cluster_pool_tells_the_states_its_partitions_posted_once_they_ran_a_while() -> None:
    views = {"p1": PartitionView("p1", 1, ticks=5), "p2": PartitionView("p2", 1)}
    pool = cluster_pool(views)
    assert dispatcher_states(pool) == []  # nothing posted: nothing judged
    pool.merge({BATTERY: BoardEntry(BATTERY, None, "available", True)}, partition="p1")
    unread = BoardEntry(PV, None, "unavailable", False, last_read_failed=True)
    pool.merge({PV: unread}, partition="p2")
    # p2's run has not ticked yet: its first reads say nothing of the device
    assert dispatcher_states(pool) == [(BATTERY, "available")]
    views["p2"].ticks = 3
    assert sorted(dispatcher_states(pool)) == [(BATTERY, "available"), (PV, "unavailable")]


def test_the_day_takes_an_asset_a_partition_lost_as_lost_once(tmp_path: Path) -> None:
    repository = seeded_repository(tmp_path / "engine.sqlite3", TENANT)
    record = repository.get_portfolio(TENANT, ESSEN[1])
    assert record is not None
    live = LiveDay(
        repository,
        TENANT,
        record.portfolio(),
        delivery_day(START),
        folder_config(),
        ScaledClock(START, 1.0),
    )
    views = {"p1": PartitionView("p1", 1, ticks=5), "p2": PartitionView("p2", 1, ticks=5)}
    pool = cluster_pool(views)
    meter = IspMeter(np.array([0.0, 900.0]))
    live.zones = {"DE_LU": _Zone("DE_LU", [], {}, {}, meter, meter, np.array([]), pool=pool)}  # type: ignore[arg-type]
    pool.merge({BATTERY: BoardEntry(BATTERY, None, "available", True)}, partition="p1")
    assert live._losses(START) == []

    views["p2"].missed = 1  # a partition behind its clock: its unanswered reads say nothing
    lost = BoardEntry(PV, None, "unavailable", False, last_read_failed=True)
    pool.merge({PV: lost}, partition="p2")
    assert live._losses(START) == []
    assert live.lost == {}

    later = START + timedelta(seconds=30)
    assert live._losses(later) == [PV]  # the next round, caught up: lost, and re-planned for
    assert live.lost == {PV: later}
    assert live._losses(later + timedelta(seconds=30)) == []  # once


def test_a_partition_run_again_does_not_hide_that_it_fell_behind() -> None:
    views = {"p1": PartitionView("p1", 1, ticks=40, missed=3)}
    pool = cluster_pool(views)
    before = pool.kpi.missed
    views["p1"].run_again()  # its new run counts from 0
    assert views["p1"].missed == 0
    assert pool.kpi.missed == before == 3
