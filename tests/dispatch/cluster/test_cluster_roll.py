"""`vpp cluster roll`: a rolling restart on a running simulated day, in process, on a
virtual clock, with a real lease table (SQLite): every ISP metered, no missed tick beyond
one per handover, no asset commanded by two owners. And what a restart without a handover
costs, so that these checks can fail."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from cluster_db import leases_on, migrated_url
from typer.testing import CliRunner

from dispatch.clock import VirtualClock
from dispatch.cluster.leases import PartitionLeases
from dispatch.cluster.local import build
from dispatch.cluster.roll import RollingRestart
from dispatch.simulation import START, SimulationOptions
from trading.cli import app
from trading.cli.cluster_roll import RollRun, run_rolling_day

runner = CliRunner()


@pytest.fixture
def leases(tmp_path) -> PartitionLeases:
    for url in migrated_url("sqlite", tmp_path):
        store = leases_on(url)
        yield store
        store.engine.dispose()


def _roll(leases: PartitionLeases, **kwargs: Any) -> dict[str, Any]:
    """One hour (four ISPs) of 20 assets in two partitions, 5 s ticks; devices that do
    not enforce fencing, so a command of an old owner would count as a double command."""
    return run_rolling_day(
        RollRun(assets=20, partitions=2, hours=1, enforce=False, **kwargs), leases
    )


def test_every_partition_is_handed_over_and_back_with_every_isp_metered(
    leases: PartitionLeases,
) -> None:
    report = _roll(leases)
    handovers = report["roll"]["handovers"]
    # node-0 first: its partition to the standby on node-1 and back to the restarted
    # node-0, one handover per quarter-hour boundary; then node-1's
    assert [(h["partition"][-1], h["reason"], h["boundary"][11:16]) for h in handovers] == [
        ("0", "roll", "00:00"),
        ("0", "give_back", "00:15"),
        ("1", "roll", "00:30"),
        ("1", "give_back", "00:45"),
    ]
    assert [h["to_owner"].split("@")[1] for h in handovers] == [
        "node-1#0",
        "node-0#1",
        "node-0#1",
        "node-1#1",
    ]
    for first, second in (handovers[:2], handovers[2:]):
        assert (first["from_token"], first["to_token"], second["to_token"]) == (1, 2, 3)
    assert [n["node"] for n in report["roll"]["restarts"]] == ["node-0", "node-1"]
    metering = report["metering"]
    assert (metering["isps"], metering["isps_metered"], metering["gaps"]) == (4, 4, [])
    assert all(h["missed_ticks"] is not None and h["missed_ticks"] <= 1 for h in handovers)
    for partition in report["roll"]["partitions"].values():
        assert partition["missed_ticks"] <= partition["handovers"] == 2
        assert partition["ticks"] >= 4 * 180  # every 5 s tick of four ISPs, give or take one
    assert report["losses"] == []  # a handover never looks like a lost partition
    assert report["double_commands"] == 0
    assert report["refused_commands"] == 0
    assert all(o["fenced_writes"] == 0 for o in report["owners"])


def test_a_restart_without_handover_misses_ticks_and_leaves_isps_unmetered(
    leases: PartitionLeases,
) -> None:
    report = _roll(leases, hand_over=False)
    handovers = report["roll"]["handovers"]
    assert len(handovers) == 4
    # the standby starts only once the killed owner's lease (30 s) lapsed
    assert all(h["missed_ticks"] > 1 for h in handovers)
    assert len(report["losses"]) == 4
    metering = report["metering"]
    assert metering["isps_metered"] < metering["isps"] == 4
    assert len(metering["gaps"]) == 4


def test_the_roll_command_leaving_partitions_with_the_standby(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'leases.sqlite3'}"
    result = runner.invoke(
        app,
        [
            "cluster",
            "roll",
            "--assets",
            "20",
            "--partitions",
            "2",
            "--hours",
            "1",
            "--leave",
            "--db",
            url,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    summary = report["summary"]
    # node-0's partition moves to node-1; node-1 then hosts both, and both move to the
    # restarted node-0 (one per boundary): three handovers, everything on node-0 at the
    # end, partition 0 at token 3 (it moved twice), partition 1 at token 2
    assert summary["handovers"] == 3
    assert [(r["node"], r["incarnation"]) for r in report["roll"]["restarts"]] == [
        ("node-0", 1),
        ("node-1", 1),  # once, after both its partitions left
    ]
    assert [h["to_owner"].split("@")[1] for h in report["roll"]["handovers"]] == [
        "node-1#0",
        "node-0#1",
        "node-0#1",
    ]
    assert (summary["isps"], summary["isps_metered"]) == (4, 4)
    assert all(m <= 1 for m in summary["missed_ticks_at_handovers"])
    assert summary["missed_ticks"] <= summary["handovers"]
    assert (summary["losses"], summary["double_commands"], summary["refused_commands"]) == (0, 0, 0)
    status = runner.invoke(app, ["cluster", "status", "--db", url, "--json"])
    rows = {r["partition"][-1]: r for r in json.loads(status.stdout)["partitions"]}
    assert rows["0"]["owner"] is None  # released at the end of the run
    assert (rows["0"]["token"], rows["1"]["token"]) == (3, 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--roll-at", "soon"], "--roll-at='soon': must be a time within the run"),
        (["--roll-at", "2h", "--hours", "1"], "0 <= AT < 1h"),
        (["--tick", "7"], "--tick=7: must divide a quarter hour"),
        (["--partitions", "30", "--assets", "20"], "--partitions=30: more than --assets 20"),
    ],
)
def test_bad_roll_options_exit_2_naming_them(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["cluster", "roll", *args])
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.parametrize("resume", [True, False], ids=["resume", "cold"])
def test_the_new_owner_takes_over_the_schedule_version_and_the_last_readings(
    leases: PartitionLeases, resume: bool
) -> None:
    """At 10 min the owner's pool switches to schedule version 2 (as an engine does); the
    owner that takes over at 10:15 follows version 2 and starts from every asset's last
    reading (out of the pool until its own actor read it), where a cold start falls back
    to the version it was first given and knows nothing of the assets."""

    async def main() -> tuple[Any, dict[str, Any]]:
        clock = VirtualClock(START)
        options = SimulationOptions(assets=10, duration_s=1000.0, tick_s=5.0, site_size=0)
        cluster = build(options, 1, leases, clock, ttl_s=30.0)
        roll = RollingRestart(cluster, resume=resume)
        (spec,) = cluster.specs
        until = options.duration_s
        await roll.start(until)
        await clock.sleep_until(600.0)
        pool = roll.current[spec.id].pool
        assert pool is not None
        pool.schedule = pool.schedule.model_copy(update={"plan_id": "sim-10-v2"})
        seen: dict[str, Any] = {}

        async def hand_over() -> None:
            handover = await roll.hand_over_at(spec, "node-1", "roll", 900.0, until)
            seen["board"] = handover.new_run.pool.board.snapshot()  # before its first turns

        await asyncio.gather(cluster.monitor(until), hand_over())
        await asyncio.gather(*(r.task for r in cluster.runs), return_exceptions=True)
        for run in cluster.runs:
            if run.keeper is not None:
                run.keeper.cancel()
        return roll, seen["board"]

    roll, board = asyncio.run(main())
    (handover,) = roll.handovers
    assert (handover.from_token, handover.to_token) == (1, 2)
    assert handover.boundary_utc.strftime("%H:%M") == "10:15"
    new = handover.new_run.pool
    assert new is not None
    assert new.schedule.plan_id == ("sim-10-v2" if resume else "sim-10")
    if resume:
        assert sorted(board) == sorted(handover.new_run.spec.assets)
        assert not any(entry.in_pool for entry in board.values())
        assert all(entry.read_t is not None and entry.read_t <= 900.0 for entry in board.values())
    else:
        assert dict(board) == {}
    assert [h["missed_ticks"] for h in roll.report(1000.0)["handovers"]] == [0]
