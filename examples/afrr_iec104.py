"""aFRR over IEC 60870-5-104: a simulated pool as the controlled station, a TSO's steps.

Needs the extra: ``pip install 'vpp-engine[iec104]'`` (c104, GPL-3.0).

Simulated TSO (default): a 10-asset in-process fleet (device truth known) that sold
``--band`` MW of aFRR up and down, its station on ``--port``, and a simulated TSO (c104
client) playing ``--steps`` on a clock ``--speed`` times real time; prints, as JSON, when
each step was reached, how far the measured power the TSO read back was from the devices'
truth, and the link's events::

    python examples/afrr_iec104.py --steps "2@5s,-2@205s,6@405s,drop@605s" --speed 25

Replaying real German aFRR activations (``--replay``): per quarter hour of the SMARD
week in ../shared/data (CC BY 4.0), the net activated energy over the procured capacity
(up if more up than down was activated) becomes that quarter hour's setpoint, as a share of
``--band``; a coarse pattern (one setpoint per quarter hour, where the TSO's changes every
4 s) derived from the real data::

    python examples/afrr_iec104.py --first-quarter 40 --quarters 4 \\
        --replay ../shared/data/afrr_de_smard_2022-01-01_2022-01-08_15min.csv

Against a real TSO test station (``--serve``): the same pool on the real clock, listening
on ``--host``/``--port`` for the TSO's client for ``--duration`` seconds; the TSO sends its
setpoints to IOA 100 of common address 1 (see `dispatch.protocols.iec104.points`)::

    python examples/afrr_iec104.py --serve --host 0.0.0.0 --port 2404 --duration 3600
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import sys
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pandas as pd
import structlog

from dispatch.clock import DispatchClock, RealClock, ScaledClock
from dispatch.pool import PoolController
from dispatch.protocols.iec104.station import TsoStation
from dispatch.protocols.iec104.steps import Step, parse_steps
from dispatch.protocols.iec104.tso import SimulatedTso
from dispatch.schedule import Schedule
from dispatch.simulation import START, SimulationOptions, inproc_fleet, run_fleet, schedule_of
from regulatory.assets.base import BalancingProduct


def _with_band(base: Schedule, zone: str, band_mw: float) -> Schedule:
    data = base.model_dump(exclude={"schedule_id"})
    band = (band_mw,) * len(base.index)
    data["capacity_sold_mw"] = {
        zone: {BalancingProduct.AFRR_POS: band, BalancingProduct.AFRR_NEG: band}
    }
    return Schedule.model_validate(data)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    clock: DispatchClock = RealClock() if args.serve else ScaledClock(START, args.speed)
    steps = (
        replay_steps(args.replay, args.first_quarter, args.quarters, args.band)
        if args.replay
        else parse_steps(args.steps)
    )
    duration = args.duration if args.serve else steps[-1].at_s + 250.0
    options = SimulationOptions(assets=10, duration_s=duration, site_size=0, seed=3)
    fleet = inproc_fleet(options, clock)
    schedule = _with_band(schedule_of(fleet, clock.utc(), duration), args.zone, args.band)
    station = TsoStation(clock, args.zone, host=args.host, port=args.port)
    ticks: list[tuple[float, float, float]] = []

    def on_pool(pool: PoolController) -> None:
        if not args.probe:
            pool.config = replace(pool.config, probe_after_s=math.inf)
        station.attach(pool)

        def sample(t: float, target: float) -> None:
            truth = sum(m.device.physical_power_mw() for m in fleet)
            ticks.append((t, truth, target))

        pool.observers.append(sample)

    with station:
        fleet_run = run_fleet(
            options, fleet, clock, activation=station, schedule=schedule, on_pool=on_pool
        )
        if args.serve:
            report = await fleet_run
            return {"events": station.events, "dispatch": report}
        tso = SimulatedTso(clock, steps, host=args.host, port=args.port)

        async def tso_run() -> None:
            await clock.sleep_until(3.0)
            await tso.run()

        report, _ = await asyncio.gather(fleet_run, tso_run())
    return _summary(args, steps, tso, station, ticks, report)


def replay_steps(path: str, first: int, quarters: int, band_mw: float) -> list[Step]:
    """One step per quarter hour of the SMARD file (see the module docstring), 5 s after
    each quarter hour starts, and a drop after the last."""
    frame = pd.read_csv(path).iloc[first : first + quarters]
    if len(frame) < quarters:
        raise SystemExit(f"--first-quarter {first} --quarters {quarters}: {path} is shorter")
    steps = []
    for k, row in enumerate(frame.itertuples()):
        net_mw = (row.activated_volume_pos_mwh - row.activated_volume_neg_mwh) / 0.25
        procured = row.procured_capacity_pos_mw if net_mw >= 0 else row.procured_capacity_neg_mw
        if not procured > 0:  # NaN: not published for that quarter hour
            raise SystemExit(f"{path} row {first + k}: no procured capacity published")
        share = max(-1.0, min(1.0, net_mw / procured))
        steps.append(Step(5.0 + 900.0 * k, round(share * band_mw, 3)))
    steps.append(Step(5.0 + 900.0 * quarters, None))
    return steps


def _summary(
    args: argparse.Namespace,
    steps: list[Any],
    tso: SimulatedTso,
    station: TsoStation,
    ticks: list[tuple[float, float, float]],
    report: dict[str, Any],
) -> dict[str, Any]:
    start = tso.record.sent[0][0] - steps[0].at_s
    planned = ticks[0][2]
    tolerance = 0.02 * args.band
    reached = []
    for k, step in enumerate(steps):
        begin = start + step.at_s
        end = start + steps[k + 1].at_s if k + 1 < len(steps) else ticks[-1][0]
        wanted = 0.0 if step.setpoint_mw is None else step.setpoint_mw
        wanted = planned + min(args.band, max(-args.band, wanted))
        errors = [abs(truth - wanted) for t, truth, _ in ticks if begin <= t < end]
        window = [t for t, _, _ in ticks if begin <= t < end]
        at = None  # first tick from which the 5-tick mean error stays within 2 % of the
        for i, t in enumerate(window):  # band for 30 s (later changes are the next step's)
            mean = sum(errors[max(0, i - 4) : i + 1]) / min(i + 1, 5)
            if mean > tolerance:
                at = None
            elif at is None:
                at = t
            elif t - at >= 30.0:
                break
        reached.append(
            {
                "step": k,
                "setpoint_mw": step.setpoint_mw,
                "reached_after_s": None if at is None else round(at - begin, 1),
            }
        )
    times = [t for t, _, _ in ticks]
    errors = []
    worst = (0.0, 0.0)
    for reading in tso.readings(station.points.measured):
        if not reading.value.good or reading.value.time_tag is None:
            continue
        tag = (reading.value.time_tag - START).total_seconds()
        j = min(range(len(times)), key=lambda i: abs(times[i] - tag))
        if j > 0 and abs(times[j] - tag) < 0.002:
            error = min(abs(reading.value.value - ticks[i][1]) for i in (j - 1, j))
            errors.append(error)
            worst = max(worst, (error, times[j]))
    errors.sort()
    return {
        "band_mw": args.band,
        "steps": reached,
        "measured_vs_truth_mw": {
            "readings": len(errors),
            "p50": round(errors[len(errors) // 2], 4) if errors else None,
            "max": round(errors[-1], 4) if errors else None,
            "max_share_of_band": round(errors[-1] / args.band, 4) if errors else None,
            "max_at_utc": str(START + timedelta(seconds=worst[1])),
        },
        "setpoints_sent": len(tso.record.sent),
        "confirmed_on_the_wire": len(tso.record.confirmations),
        "c104_said_false": sum(1 for _, _, ok in tso.record.sent if not ok),
        "events": station.events,
        "missed_ticks": report["ticks"]["missed"],
    }


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="2@5s,-2@205s,6@405s,drop@605s")
    parser.add_argument("--replay", help="SMARD aFRR CSV: replay its quarter hours")
    parser.add_argument("--first-quarter", type=int, default=0, help="--replay: first row")
    parser.add_argument("--quarters", type=int, default=4, help="--replay: how many")
    parser.add_argument("--band", type=float, default=2.0, help="aFRR band sold [MW]")
    parser.add_argument("--zone", default="DE_LU")
    parser.add_argument("--speed", type=float, default=25.0, help="simulated s per real s")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2404)
    parser.add_argument("--probe", action="store_true", help="let the pool probe its assets")
    parser.add_argument("--serve", action="store_true", help="wait for a real TSO's client")
    parser.add_argument("--duration", type=float, default=3600.0, help="--serve: run [s]")
    return parser.parse_args()


if __name__ == "__main__":
    # The dispatcher's events go to stderr (link events and warnings only), the report to stdout.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    print(json.dumps(asyncio.run(main(_args())), indent=2, default=str))
