"""Capture the first pass's aFRR pools of a benchmark run, then solve them alone, timed.

The backtest benchmark's slowest part is the first pass's aFRR pool: one part of about
3,400 columns and 330 integers a day, finished by `trading.optimiser.solver._finish_open`.
Solver changes are measured on these pools before a whole run:

``python benchmarks/afrr_pools.py capture --days 30 pools.pkl`` runs the benchmark
(`benchmarks/backtest.py`, chained days from 2024-06-14) and stores every `_finish_open`
call that holds a part of at least `POOL_INTEGERS` integer columns (its arguments, as
pickled numpy arrays); ``python benchmarks/afrr_pools.py solve pools.pkl`` solves them
again one after another with the code as it is now and prints, per pool, the CPU seconds
(`time.process_time`, all threads: steadier than wall time on a shared machine), the
status, objective and bound [EUR], the LP bound less the objective and the part's share
of the gap [EUR], and the total. ``--share-scale F`` multiplies each pool's share of the
gap (and the options' gap) by F, as a larger share of the plan's gap for the relaxation
would (`trading.optimiser.plan.RELAXED_GAP_SHARE`).

The pickles hold the code's own objects: capture again after a change to the model.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import _no_shadowing  # noqa: F401 - first: benchmarks/dispatch.py shadows the package

from trading.optimiser import solver

POOL_INTEGERS = 200
"""Integer columns from which an open part counts as a pool (the aFRR pool has 330)."""


def capture(days: int, start: str, target: Path) -> int:
    """Run the benchmark over `days` days from `start`, storing the pools' solver calls."""
    import backtest  # type: ignore[import-not-found]  # benchmarks/backtest.py

    calls: list[dict[str, Any]] = []
    finish_open = solver._finish_open

    def recording(
        pieces: Any,
        relaxed: Any,
        open_parts: list[int],
        allowance: dict[int, float],
        options: Any,
        started: float,
    ) -> Any:
        integer = pieces.reduced.integer
        pools = [k for k in open_parts if int(integer[pieces.parts[k].cols].sum()) >= POOL_INTEGERS]
        if pools:
            calls.append(
                {
                    "pieces": pieces,
                    "relaxed": relaxed,
                    "open_parts": open_parts,
                    "allowance": allowance,
                    "options": options,
                    "pools": pools,
                }
            )
        return finish_open(pieces, relaxed, open_parts, allowance, options, started)

    solver._finish_open = recording  # type: ignore[assignment]
    out = Path(os.environ.get("TMPDIR", "/tmp")) / "vpp-afrr-pools-run"
    code = backtest.main(["--days", str(days), "--start", start, "--out", str(out)])
    with target.open("wb") as f:
        pickle.dump(calls, f)
    print(f"{len(calls)} calls with a pool stored in {target} (benchmark exit {code})")
    return 0


def solve(source: Path, scale: float) -> int:
    """Solve the stored calls one after another; print each pool's figures and the total."""
    with source.open("rb") as f:
        calls = pickle.load(f)
    total = 0.0
    print("call cpu_s status objective bound lp_less_objective share")
    for i, call in enumerate(calls):
        allowance = {k: v * scale for k, v in call["allowance"].items()}
        options = call["options"].model_copy(update={"mip_gap": call["options"].mip_gap * scale})
        cpu = time.process_time()
        found = solver._finish_open(
            call["pieces"],
            call["relaxed"],
            call["open_parts"],
            allowance,
            options,
            time.perf_counter(),
        )
        cpu = time.process_time() - cpu
        total += cpu
        for k in call["pools"]:
            got, lp = found[k], call["relaxed"][k].objective
            print(
                f"{i} {cpu:.3f} {got.status} {got.objective:.2f} {got.bound:.2f} "
                f"{lp - got.objective:.2f} {allowance[k]:.2f}"
            )
    load = os.getloadavg()
    print(f"total {total:.2f} s CPU for {len(calls)} calls; load average {load[0]:.1f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("capture", help="run the benchmark and store the pools")
    run.add_argument("--days", type=int, default=30)
    run.add_argument("--start", default="2024-06-14")
    run.add_argument("target", type=Path)
    again = sub.add_parser("solve", help="solve stored pools one after another")
    again.add_argument("source", type=Path)
    again.add_argument("--share-scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.command == "capture":
        return capture(args.days, args.start, args.target)
    return solve(args.source, args.share_scale)


if __name__ == "__main__":
    sys.exit(main())
