"""`vpp cluster roll`: a rolling restart of the partitioned fleet on a running simulated
day, in process, with every ISP metered.

The fleet of `vpp simulate` runs split into partitions (`dispatch.cluster.local`), each
owned through its lease in a real database (a fresh SQLite file by default), on a virtual
clock from a quarter-hour boundary: a few hours or a whole day in seconds to minutes. The
roll (`dispatch.cluster.roll`) restarts the nodes one at a time at quarter-hour
boundaries, each partition handed over with its lease. Every tick of whichever owner runs
a partition meters each of its assets per ISP (`trading.engine.metering.meter_tick`):
the measured meter (fresh readings of the owner's board only; a missing one leaves a
gap) and the devices' truth. An ISP is metered when every asset's measured and true
meters cover all of it.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import numpy as np
import typer

from dispatch.clock import DispatchClock, ScaledClock, VirtualClock
from dispatch.cluster.leases import PartitionLeases
from dispatch.cluster.local import build
from dispatch.cluster.partitions import PartitionSpec
from dispatch.cluster.roll import RollError, RollingRestart, run_roll
from dispatch.pool import PoolController
from dispatch.simulation import FleetMember, SimulationOptions
from trading.cli.output import EXIT_INVALID_INPUT, console, print_json
from trading.engine.metering import IspMeter, meter_tick
from trading.store import upgrade

DAY = datetime(2026, 6, 13, tzinfo=UTC)
"""The simulated day's first instant (the simulation's usual day)."""
LEAD_TICKS = 2
"""The fleet starts this many ticks before the first ISP: its owners have read every
device and ticked once when the ISP begins."""
SCALED_TTL_S = 3.0
"""On a scaled clock, a lease lives at least this many real seconds."""
SCALED_SLACK_S = 2.0
"""On a scaled clock, real seconds more of lead: building the fleet and the lease rows
passes simulated time before the owners start."""


@dataclass
class RollRun:
    """What one roll run does (see the module docstring)."""

    assets: int = 40
    partitions: int = 2
    hours: float = 24.0
    tick_s: float = 5.0
    roll_from_s: float = 0.0
    """The roll begins at the first quarter-hour boundary at or after this second of the
    day (0: at the day's first instant)."""
    give_back: bool = True
    resume: bool = True
    enforce: bool = True
    """Devices refuse commands with an older token (False: they take them and count them
    as double commands; a roll that stops its old owners has none either way)."""
    seed: int = 1
    ttl_s: float | None = None
    """Lease time to live [simulated s], renewed every quarter of it (each renewal a
    database commit: on a virtual clock the lease traffic, not the dispatch, sets the
    pace). None: 30 s, and on a scaled clock at least `SCALED_TTL_S` real seconds (the
    owners renew on the event loop, which a loaded machine delays)."""
    speed: float | None = None
    """None: a virtual clock (as fast as it computes; the handover's own cost unseen);
    else simulated seconds per real one (a `ScaledClock`: set-up, lease commits and the
    new owner's start take real time, and ticks missed for it are counted)."""
    hand_over: bool = True
    """False: each old owner is killed instead and its partition failed over once its
    lease lapses (a restart without a handover, for comparison)."""


class IspMetering:
    """Per asset, a measured and a true `IspMeter` over the day's ISPs, fed by every
    owner's ticks (the meters outlive the owners).

    A partition's samples more than the pool's `max_reading_age_s` apart (2.5 ticks: no
    owner ticked it for longer than a reading stays fresh) end its meters' segments: the
    gap is not metered, not interpolated. One missed tick is within that age."""

    def __init__(self, assets: list[str], edges: np.ndarray) -> None:
        self.edges = edges
        self.measured = {a: IspMeter(edges) for a in assets}
        self.truth = {a: IspMeter(edges) for a in assets}
        self._last: dict[str, float] = {}
        self.gaps: list[tuple[str, float, float]] = []
        """(partition, from, to) [s] of each gap no owner metered."""

    def tick(
        self, spec: PartitionSpec, pool: PoolController, members: list[FleetMember], t: float
    ) -> None:
        """Meter the partition's assets at its owner's tick at `t` [s]."""
        last = self._last.get(spec.id)
        if last is not None and t - last > pool.config.max_reading_age_s:
            self.gaps.append((spec.id, last, t))
            for asset in spec.assets:
                self.measured[asset].sample(last, None)
                self.truth[asset].sample(last, None)
        self._last[spec.id] = t
        meter_tick(pool, members, self.measured, self.truth, t)

    def report(self) -> dict[str, Any]:
        """ISPs, those metered whole for every asset, the unmetered ones (index and the
        assets missing), and the energy [MWh] measured and delivered."""
        complete = np.ones(len(self.edges) - 1, dtype=bool)
        missing: dict[int, list[str]] = {}
        for meters in (self.measured, self.truth):
            for asset, meter in meters.items():
                whole = meter.complete()
                complete &= whole
                for k in np.flatnonzero(~whole):
                    missing.setdefault(int(k), []).append(asset)
        return {
            "isps": len(complete),
            "isps_metered": int(complete.sum()),
            "unmetered": [
                {"isp": k, "assets": sorted(set(v))[:10], "count": len(set(v))}
                for k, v in sorted(missing.items())
            ],
            "gaps": [
                {"partition": p, "from_s": round(a, 3), "to_s": round(b, 3)}
                for p, a, b in self.gaps
            ],
            "metered_mwh": round(float(sum(m.energy_mwh.sum() for m in self.measured.values())), 6),
            "delivered_mwh": round(float(sum(m.energy_mwh.sum() for m in self.truth.values())), 6),
        }


def run_rolling_day(run: RollRun, leases: PartitionLeases) -> dict[str, Any]:
    """Run the partitioned fleet over `run.hours` of the day and roll it; the report:
    the cluster's (owners, losses, truth, fencing), the roll's (handovers, restarts,
    missed ticks per partition) and the metering's."""
    lead = LEAD_TICKS * run.tick_s
    if run.speed is not None:  # the real seconds of building the cluster pass as well
        lead += SCALED_SLACK_S * run.speed
    isps = round(run.hours * 4)
    duration = lead + isps * 900.0 + run.tick_s  # the last tick falls on the last boundary
    options = SimulationOptions(
        assets=run.assets,
        duration_s=duration,
        seed=run.seed,
        site_size=0,
        tick_s=run.tick_s,
        pool="roll",
    )

    async def main() -> dict[str, Any]:
        first = DAY - timedelta(seconds=lead)
        clock: DispatchClock = (
            VirtualClock(first) if run.speed is None else ScaledClock(first, run.speed)
        )
        ttl = run.ttl_s
        if ttl is None:
            ttl = 30.0 if run.speed is None else max(30.0, SCALED_TTL_S * run.speed)
        cluster = build(options, run.partitions, leases, clock, ttl_s=ttl)
        for guard in cluster.guards():
            guard.enforce = run.enforce
        metering = IspMetering(
            [m.adapter.asset_id for m in cluster.members], lead + np.arange(isps + 1) * 900.0
        )
        roll = RollingRestart(
            cluster,
            give_back=run.give_back,
            resume=run.resume,
            hand_over=run.hand_over,
            on_tick=metering.tick,
        )
        report = await run_roll(roll, roll_from_s=lead + run.roll_from_s)
        report["metering"] = metering.report()
        return report

    report = asyncio.run(main())
    handovers = report["roll"]["handovers"]
    missed = [h["missed_ticks"] for h in handovers]
    report["summary"] = {
        "day": DAY.date().isoformat(),
        "isps": report["metering"]["isps"],
        "isps_metered": report["metering"]["isps_metered"],
        "handovers": len(handovers),
        "missed_ticks_at_handovers": missed,
        "missed_ticks": sum(p["missed_ticks"] for p in report["roll"]["partitions"].values()),
        "losses": len(report["losses"]),
        "double_commands": report["double_commands"],
        "refused_commands": report["refused_commands"],
    }
    return report


def roll_command(
    assets: Annotated[int, typer.Option("--assets", min=1, help="simulated assets")] = 40,
    partitions: Annotated[
        int, typer.Option("--partitions", min=1, help="partitions (one home node each)")
    ] = 2,
    hours: Annotated[
        float,
        typer.Option("--hours", min=0.5, max=24.0, help="hours of the simulated day to run"),
    ] = 24.0,
    tick: Annotated[
        float, typer.Option("--tick", min=0.5, max=60.0, help="the dispatcher's tick, in seconds")
    ] = 5.0,
    roll_at: Annotated[
        str,
        typer.Option(
            "--roll-at",
            help="start rolling at the first quarter-hour boundary at or after this time "
            "of the day (e.g. 30s, 45m, 6h)",
        ),
    ] = "0s",
    give_back: Annotated[
        bool,
        typer.Option(
            "--give-back/--leave",
            help="a restarted node takes its partitions back (or leaves them with the standby)",
        ),
    ] = True,
    cold: Annotated[
        bool,
        typer.Option(
            "--cold",
            help="new owners start cold (the first schedule, no PI correction) instead of "
            "from the old owner's schedule version and correction",
        ),
    ] = False,
    handover: Annotated[
        bool,
        typer.Option(
            "--handover/--kill",
            help="hand each partition over with its lease, or (for comparison) kill its "
            "owner and let the monitor fail it over once the lease lapses",
        ),
    ] = True,
    speed: Annotated[
        float | None,
        typer.Option(
            "--speed",
            min=1.0,
            help="simulated seconds per real one (default: a virtual clock, as fast as it "
            "computes, which does not see what a handover itself costs)",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="random seed of fleet and signal")] = 1,
    db: Annotated[
        str | None,
        typer.Option("--db", help="database URL of the leases (default: a fresh SQLite file)"),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Roll the partitioned fleet on a running simulated day, in process: each node
    restarted in turn at quarter-hour boundaries, its partitions handed over with their
    leases; report every ISP metered, ticks missed per handover and double commands."""
    if partitions > assets:
        typer.echo(
            f"error: --partitions={partitions}: more than --assets {assets} (a partition "
            "holds at least one asset)",
            err=True,
        )
        raise typer.Exit(EXIT_INVALID_INPUT)
    roll_from = parse_time_of_day(roll_at, hours)
    from trading.cli.simulate import configure_events

    configure_events(False)
    if 900.0 % tick > 1e-9 and tick - 900.0 % tick > 1e-9:
        typer.echo(
            f"error: --tick={tick:g}: must divide a quarter hour (900 s) so that every ISP "
            "boundary is a tick",
            err=True,
        )
        raise typer.Exit(EXIT_INVALID_INPUT)
    if db is None:
        db = f"sqlite:///{tempfile.mkdtemp(prefix='vpp-roll-')}/leases.sqlite3"
    upgrade(db)
    from trading.cli.cluster import open_leases

    leases = open_leases(db)
    run = RollRun(
        assets=assets,
        partitions=partitions,
        hours=hours,
        tick_s=tick,
        roll_from_s=roll_from,
        give_back=give_back,
        resume=not cold,
        hand_over=handover,
        speed=speed,
        seed=seed,
    )
    try:
        report = run_rolling_day(run, leases)
    except RollError as exc:
        typer.echo(f"error: roll: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        leases.engine.dispose()
    if json_out:
        print_json(report)
        return
    show(report)


def parse_time_of_day(text: str, hours: float) -> float:
    """`text` (``30s``, ``45m``, ``6h`` or plain seconds) as seconds of the day; exits 2
    naming the option if it is not a time within the run."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    scale = units.get(text[-1:], 1.0)
    number = text[:-1] if text[-1:] in units else text
    try:
        seconds = float(number) * scale
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < hours * 3600:
        typer.echo(
            f"error: --roll-at={text!r}: must be a time within the run (0 <= AT < "
            f"{hours:g}h), e.g. 30s, 45m or 6h",
            err=True,
        )
        raise typer.Exit(EXIT_INVALID_INPUT)
    return seconds


def show(report: dict[str, Any]) -> None:
    """A few lines: ISPs metered, each handover, missed ticks, fencing."""
    out = console()
    s = report["summary"]
    out.print(
        f"{s['day']}: {s['isps_metered']} of {s['isps']} ISPs metered; {s['handovers']} "
        f"handovers, missed ticks at each {s['missed_ticks_at_handovers']}, {s['missed_ticks']} "
        f"missed in all; losses {s['losses']}; double commands {s['double_commands']}, "
        f"refused {s['refused_commands']}",
        markup=False,
    )
    for h in report["roll"]["handovers"]:
        out.print(
            f"  {h['boundary']} {h['partition']}: {h['from_owner']} (token {h['from_token']})"
            f" -> {h['to_owner']} (token {h['to_token']}), {h['reason']}; tick gap "
            f"{h['tick_gap_s']} s, missed {h['missed_ticks']}",
            markup=False,
        )
    truth = report["truth"]
    out.print(
        f"truth: RMS {truth['rms_mw']} MW, max {truth['max_abs_mw']} MW, tolerance "
        f"{truth['tolerance_mw']} MW, {truth['ticks_out_of_tolerance']} ticks out",
        markup=False,
    )


__all__ = ["IspMetering", "RollRun", "parse_time_of_day", "roll_command", "run_rolling_day"]
