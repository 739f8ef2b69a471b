"""Why was a fake meter named late? The timeline of every site whose liar was.

Runs the Modbus benchmark's fake-meter case (`--modbus`, real simulators on loopback,
real time) or the in-process fleet of `tests/dispatch/test_dispatch_site_lost_reads.py`
with a share of the reads unanswered (`--lossy SEED`, virtual clock, the same every run),
records what the site watches, the pool's probes and the actors did, and prints, for
each liar named later than 3 s after its lie showed (or never), its site's timeline from
a few seconds before that moment to its naming:

- ``probe``: a probing move started by the pool (asset, move [MW], partner, asked by a
  site watch or routine);
- ``lost``: a member's read that got no answer;
- ``cmp``: one site comparison: ``compared`` (residual [MW], unbalanced readings so far,
  readings in the window) or why it was skipped (``late`` member, ``unread`` member), with
  the members not read in time and what stood for them (``held``: counted by its envelope;
  ``none``: not pinned down);
- ``named``: a member named by the meter (observable since).

Times are seconds from the start of the run. It only watches (wrapping methods of the
dispatcher's classes for the run); the run is the one the benchmark makes.

Run: ``python benchmarks/fake_meter_timeline.py --modbus [--assets 100] [--spec ...]``
or ``python benchmarks/fake_meter_timeline.py --lossy 2 [--assets 150] [--loss 0.05]``
or ``python benchmarks/fake_meter_timeline.py --paced 7 [--assets 400]`` (in process, each
request as slow as over Modbus, the state of charge in 0.01 % steps: the Modbus run's
timing on a virtual clock, the same every run of a seed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import _no_shadowing  # noqa: F401 - first: benchmarks/dispatch.py would shadow the package
import structlog

from dispatch.actor import AssetActor
from dispatch.control.crosscheck import _explanations
from dispatch.kpi import KpiRecorder
from dispatch.pool import PoolController
from dispatch.sites import SiteWatch, _fresh

LATE_S = 3.0


class Recorder:
    """What happened, per site, in run time [s]."""

    def __init__(self) -> None:
        self.start: float | None = None
        self.events: dict[str, list[tuple[float, str]]] = {}
        self.site_of: dict[str, str] = {}
        self._held: dict[str, tuple[float, Any]] = {}
        self.ticks: dict[str, list[str]] = {}
        """Per asset, what each tick made of it (setpoint, in the pool, room each way,
        how long flat): printed for a liar never named, to tell why no probe reached it."""

    def rel(self, t: float) -> float:
        return t - (self.start or 0.0)

    def add(self, asset_or_site: str, t: float, text: str) -> None:
        site = self.site_of.get(asset_or_site, asset_or_site)
        self.events.setdefault(site, []).append((self.rel(t), text))

    def install(self) -> list[Callable[[], None]]:
        """Wrap the methods watched; returns the undo functions."""
        rec = self
        undo: list[Callable[[], None]] = []

        def wrap(cls: type, name: str, make: Callable[[Any], Any]) -> None:
            original = getattr(cls, name)
            setattr(cls, name, make(original))
            undo.append(lambda: setattr(cls, name, original))

        def started(original: Any) -> Any:
            def inner(self: KpiRecorder, t: float) -> None:
                rec.start = _START[0] = t
                original(self, t)

            return inner

        def held(original: Any) -> Any:
            def inner(self: AssetActor, t: float, *args: Any) -> Any:
                value = original(self, t, *args)
                rec._held[self.asset_id] = (t, value)
                return value

            return inner

        def missed(original: Any) -> Any:
            def inner(self: AssetActor, t: float, exc: Exception) -> None:
                rec.add(self.asset_id, t, f"lost   {self.asset_id} read unanswered")
                original(self, t, exc)

            return inner

        def failed(original: Any) -> Any:
            def inner(self: AssetActor, t: float, reason: str, since: float) -> None:
                rec.add(
                    self.asset_id,
                    t,
                    f"named  {self.asset_id} since {rec.rel(since):.2f}: {reason[:60]}",
                )
                original(self, t, reason, since)

            return inner

        def probes(original: Any) -> Any:
            def inner(self: PoolController, t: float, *args: Any, **kwargs: Any) -> Any:
                asked = self._asked.copy()
                before = self._probe_until.copy()
                flat = t - self._moved_t
                out = original(self, t, *args, **kwargs)
                setpoints, include, cap_lo, cap_hi = args[0], args[3], args[4], args[5]
                for i, actor in enumerate(self.actors):
                    rec.ticks.setdefault(actor.asset_id, []).append(
                        f"{rec.rel(t):7.2f} tick   setpoint {setpoints[i] * 1000:+.1f} kW "
                        f"(sent {out[i] * 1000:+.1f}), "
                        f"{'in pool' if include[i] else 'OUT'}, room up "
                        f"{(cap_hi[i] - setpoints[i]) * 1000:.1f} down "
                        f"{(setpoints[i] - cap_lo[i]) * 1000:.1f} kW, flat {flat[i]:.1f} s"
                        f"{', probing' if self._probe_until[i] > t else ''}"
                    )
                for i in (self._probe_until != before).nonzero()[0].tolist():
                    if self._probe_until[i] <= t:
                        continue
                    actor = self.actors[i]
                    partner = self.actors[int(self._partner[i])].asset_id
                    why = "asked" if asked[i] else "routine"
                    rec.add(
                        actor.asset_id,
                        t,
                        f"probe  {actor.asset_id} {self._probe[i] * 1000:+.1f} kW with "
                        f"{partner} ({why}) until {rec.rel(self._probe_until[i]):.2f}",
                    )
                return out

            return inner

        def check(original: Any) -> Any:
            async def inner(self: SiteWatch, t: float) -> None:
                site = self.meter.asset_id
                for actor in self.members:
                    rec.site_of[actor.asset_id] = site
                await original(self, t)
                now = self.clock.now()
                odd = []
                for actor in self.members:
                    if actor.untrusted:
                        continue
                    fresh = _fresh(actor, now, self.max_age_s)
                    late = actor.read_t is None or actor.read_t < t
                    if fresh and not late:
                        continue
                    at, value = rec._held.get(actor.asset_id, (None, None))
                    stood = "none" if at is None or at < t or value is None else "held"
                    odd.append(f"{actor.asset_id}:{'lost' if not fresh else 'late'}/{stood}")
                last = self._readings[-1] if self._readings else None
                if last is not None and last[0] == t:
                    what = (
                        f"compared residual {last[1] * 1000:+.1f} kW, "
                        f"unbalanced {self._unbalanced}, window {len(self._readings)}"
                        f"{', pending ' + _why(self) if self._pending else ''}"
                    )
                elif self._unseen is not None and self._unseen[0] >= t:
                    what = "skipped (unread member)"
                else:
                    what = "skipped (late member or silent meter)"
                rec.add(site, t, f"cmp    {what} {' '.join(odd)}".rstrip())

            return inner

        wrap(KpiRecorder, "started", started)
        wrap(AssetActor, "held_mw", held)
        wrap(AssetActor, "_missed_read", missed)
        wrap(AssetActor, "cross_check_failed", failed)
        wrap(PoolController, "_add_probes", probes)
        wrap(SiteWatch, "check", check)
        return undo


def _why(watch: SiteWatch) -> str:
    """The sets that explain a pending window (within the tolerance; within twice it) and
    the members' moves over it [kW]."""
    readings = list(watch._readings)
    members = set(readings[0][2]).intersection(*(r[2] for r in readings[1:]))
    series = {a: [r[2][a] for r in readings] for a in members}
    fitting, nearly = _explanations(
        [r[1] for r in readings],
        series,
        0.5 * watch.threshold_mw,
        6,
        2,
        watch.min_move_mw,
    )
    moves = {a: 1000 * (max(v) - min(v)) for a, v in series.items()}
    moved = ", ".join(f"{a[-5:]} {m:.1f}" for a, m in sorted(moves.items()) if m > 1.0)
    short = [tuple(a[-5:] for a in group) for group in fitting]
    loose = [tuple(a[-5:] for a in group) for group in nearly]
    times = ",".join(f"{r[0] - (_START[0] or 0.0):.1f}" for r in readings)
    return f"[fit {short} near {loose}; moved {moved}; at {times}]"


_START: list[float | None] = [None]


def _lossy_run(
    assets: int, spec: str, seed: int, loss: float, paced: bool = False
) -> dict[str, Any]:
    """The lost-read test's fleet (`tests/dispatch/test_dispatch_site_lost_reads.py`);
    `paced`: nothing lost, every request as slow as over Modbus and the state of charge in
    0.01 % steps (`lossy_links.ModbusPaced`)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "dispatch"))
    from lossy_links import LossyReads, ModbusPaced

    from dispatch.clock import VirtualClock
    from dispatch.simulation import (
        SimulationOptions,
        modbus_like_fleet,
        parse_faults,
        run_fleet,
    )

    options = SimulationOptions(
        assets=assets, duration_s=60 if paced else 45, faults=parse_faults(spec), seed=seed
    )

    async def main() -> dict[str, Any]:
        clock = VirtualClock(options.start)
        rng = random.Random(seed + 100)
        fleet = modbus_like_fleet(options, clock)
        if paced:
            fleet = [replace(m, adapter=ModbusPaced(m.adapter, clock, rng)) for m in fleet]
        else:
            fleet = [replace(m, adapter=LossyReads(m.adapter, clock, loss, rng)) for m in fleet]
        return await run_fleet(options, fleet, clock)

    return asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--modbus", action="store_true", help="Modbus simulators, real time")
    mode.add_argument("--lossy", type=int, metavar="SEED", help="in process, reads lost")
    mode.add_argument(
        "--paced", type=int, metavar="SEED", help="in process, Modbus-like timing and SoC steps"
    )
    parser.add_argument("--assets", type=int, default=None, help="100 (Modbus) or 150")
    parser.add_argument("--spec", default=None, help="faults (fake_meter:0.3@20s / @15s)")
    parser.add_argument("--loss", type=float, default=0.05, help="share of reads lost")
    parser.add_argument("--before", type=float, default=4.0, help="s shown before the lie")
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    rec = Recorder()
    undo = rec.install()
    try:
        if args.modbus:
            from dispatch.modbus_fleet import run_modbus_simulation
            from dispatch.simulation import SimulationOptions, parse_faults

            spec = "fake_meter:0.3@20s" if args.spec is None else args.spec
            options = SimulationOptions(
                assets=args.assets or 100, duration_s=60, faults=parse_faults(spec)
            )
            report = run_modbus_simulation(options)
        elif args.paced is not None:
            spec = "fake_meter:0.3@20s" if args.spec is None else args.spec
            report = _lossy_run(args.assets or 400, spec, args.paced, 0.0, paced=True)
        else:
            spec = "fake_meter:0.3@15s" if args.spec is None else args.spec
            report = _lossy_run(args.assets or 150, spec, args.lossy, args.loss)
    finally:
        for step in undo:
            step()
    faults = report["faults"]
    named = [f for f in faults if f["detected_s"] is not None]
    late = [f for f in faults if f["detected_s"] is None or f["detected_s"] > LATE_S]
    honest = report["unfaulted_failures"].get("by_evidence", {})
    print(
        json.dumps(
            {
                "spec": spec,
                "injected": len(faults),
                "named": len(named),
                "late_or_never": len(late),
                "worst_s": max((f["detected_s"] for f in named), default=None),
                "worst_by_kind_s": {
                    kind: max(
                        (
                            f["detected_s"]
                            for f in named
                            if f["asset"].split("-")[-2].startswith(kind)
                        ),
                        default=None,
                    )
                    for kind in ("bat", "pv", "chp")
                },
                "honest_failures": honest,
                "ack_p50_ms": report["latency"]["setpoint_to_ack"]["p50_ms"],
            }
        )
    )
    for fault in late:
        asset = fault["asset"]
        seen = fault["observable_at_s"]
        found = None if fault["detected_s"] is None else seen + fault["detected_s"]
        site = rec.site_of.get(asset, asset)
        print(f"\n== {asset} ({site}): lie showed {seen} s, named {found} s")
        if seen is None:  # never observable: what each tick made of it after the fault
            injected = fault["injected_at_s"]
            for line in rec.ticks.get(asset, []):
                if float(line.split()[0]) >= injected - 1.0:
                    print(f"  {line}")
            for at, text in sorted(rec.events.get(site, []), key=lambda e: e[0]):
                if at >= injected - 1.0 and asset in text and text.startswith("probe"):
                    print(f"  {at:7.2f} {text}")
            continue
        end = (found if found is not None else seen + 15.0) + 0.6
        lines = [(float(line.split()[0]), line[8:]) for line in rec.ticks.get(asset, [])]
        lines = [(at, f"{text} ({asset[-5:]})") for at, text in lines]
        for member in (a for a, s in rec.site_of.items() if s == site and a != asset):
            before = None
            for line in rec.ticks.get(member, []):
                at, setpoint = float(line.split()[0]), float(line.split()[6].rstrip("),"))
                if before is not None and abs(setpoint - before) > 5.0:
                    lines.append((at, f"{line[8:]} ({member[-5:]} moved)"))
                before = setpoint
        for at, text in sorted(rec.events.get(site, []) + lines, key=lambda e: e[0]):
            if seen - args.before <= at <= end:
                print(f"  {at:7.2f} {text}")
    # Honest devices named: their site's timeline before it.
    faulted = {f["asset"] for f in faults}
    for site, events in rec.events.items():
        for at, text in events:
            if not text.startswith("named"):
                continue
            asset = text.split()[1]
            if asset in faulted:
                continue
            print(f"\n== HONEST {asset} ({site}) named at {at:.2f} s")
            for when, line in sorted(events, key=lambda e: e[0]):
                if at - 2 * args.before <= when <= at + 0.6:
                    print(f"  {when:7.2f} {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
