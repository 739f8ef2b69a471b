"""What the Pyomo path (`optimise(..., extend=fn)`) costs against the matrix path.

Run (from the repository root, on a quiet machine)::

    python benchmarks/pyomo_extend.py                      # 10, 100, 400 assets, median of 3
    python benchmarks/pyomo_extend.py --sizes 10 --repeats 1 --monolithic-limit 30

For each size, `synthetic_portfolio(n, seed=0)` (all seven kinds, five countries) on the
sample day 2026-06-13, day-ahead only, `SolverOptions()` defaults (0.5 % gap), proxy PV
and wind profiles. Printed per size, medians of ``--repeats``:

- *matrix*: the whole `optimise(...)` call, its build (`build_model`, timed alone) and
  the rest (solve, write-back, bids);
- *pyomo*: the same call with an extension that adds one constraint per battery (a
  minimum state of charge at 18:00 local): build (`build_model`, Pyomo export, the
  extension, compiling it back; timed alone) and the rest;
- *monolithic*: the exported, extended model solved whole by Pyomo's appsi HiGHS
  interface with the same gap and ``--monolithic-limit`` seconds, whole volume steps
  and all, as an analyst would solve it without the engine (objective and status;
  no plan or bids come out of it).

Wall and CPU seconds are printed (CPU: all threads of the process); the machine's load
average is printed with them: wall times taken while other jobs run are not comparable
with a quiet machine's, CPU times less so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date

import _no_shadowing  # noqa: F401 - first: benchmarks/dispatch.py shadows the package
import pyomo.environ as pyo
from pyomo.contrib.appsi.solvers import Highs

from markets.registry import default_registry
from trading.cli.optimise import load_prices
from trading.optimiser.build import OptimiserOptions, build_model
from trading.optimiser.extension import ExtensionView, apply_extension
from trading.optimiser.inputs import Horizon
from trading.optimiser.plan import optimise
from trading.optimiser.profiles import proxy_profiles
from trading.optimiser.solver import SolverOptions
from trading.optimiser.synthetic import synthetic_portfolio
from trading.samples import sample_prices_dir

DAY = date(2026, 6, 13)


def min_soc_at_six(model: pyo.ConcreteModel, view: ExtensionView) -> None:
    """Each battery holds a fifth of its energy at 18:00 local."""
    q = view.at_local("18:00") - 1
    model.min_soc_1800 = pyo.Constraint(
        view.batteries, rule=lambda m, b: view.soc(b)[q] >= 0.2 * view.energy_mwh(b)
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Clock:
    """Wall and CPU seconds of a stretch of code (CPU: all threads of this process, which
    says more than wall time on a machine other jobs share)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def run(n: int, repeats: int, monolithic_limit: float) -> None:
    pf = synthetic_portfolio(n, 0)
    zones = {s.bidding_zone for s in pf.sites}
    folder = sample_prices_dir()
    prices = load_prices(folder / "day_ahead.csv", None, None, zones, ("day_ahead",))
    profiles = proxy_profiles(pf, Horizon.of(DAY))
    options = OptimiserOptions(markets=("day_ahead",), solver=SolverOptions(time_limit_s=300))
    registry = default_registry()
    found: dict[str, list[float]] = {}

    def note(key: str, clock: Clock) -> None:
        found.setdefault(f"{key} wall", []).append(clock.wall)
        found.setdefault(f"{key} cpu", []).append(clock.cpu)

    objective: dict[str, object] = {}
    optimise(pf, DAY, prices, profiles=profiles, options=options, extend=min_soc_at_six)  # warm
    for _ in range(repeats):
        with Clock() as build:
            build_model(pf, DAY, prices, profiles=profiles, options=options, registry=registry)
        note("matrix build", build)
        with Clock() as whole:
            plan = optimise(pf, DAY, prices, profiles=profiles, options=options)
        note("matrix total", whole)
        objective["matrix"] = plan.objective_eur

        with Clock() as build:
            built = build_model(
                pf, DAY, prices, profiles=profiles, options=options, registry=registry
            )
            extended = apply_extension(built, min_soc_at_six)
        note("pyomo build", build)
        with Clock() as whole:
            plan = optimise(
                pf, DAY, prices, profiles=profiles, options=options, extend=min_soc_at_six
            )
        note("pyomo total", whole)
        objective["pyomo"] = plan.objective_eur

        # the same extended model solved whole by appsi HiGHS (integers as built)
        solver = Highs()
        solver.config.mip_gap = options.solver.mip_gap
        solver.config.time_limit = monolithic_limit
        solver.config.load_solution = False
        with Clock() as mono:
            result = solver.solve(extended.model)
        note("appsi", mono)
        objective["mono"] = result.best_feasible_objective
        objective["mono_status"] = str(result.termination_condition).split(".")[-1]
    m = {k: median(v) for k, v in found.items()}
    for kind in ("wall", "cpu"):
        mb, mt = m[f"matrix build {kind}"], m[f"matrix total {kind}"]
        pb, pt = m[f"pyomo build {kind}"], m[f"pyomo total {kind}"]
        print(
            f"{n:>4} assets, {kind:>4} s | matrix: build {mb:7.2f}, solve {mt - mb:7.2f}, "
            f"total {mt:7.2f} | pyomo: build {pb:7.2f}, solve {pt - pb:7.2f}, total {pt:7.2f} "
            f"| monolithic appsi solve {m[f'appsi {kind}']:7.2f}",
            flush=True,
        )
    print(
        f"{n:>4} assets, objectives [EUR]: matrix {objective['matrix']:.2f}, pyomo "
        f"{objective['pyomo']:.2f}, monolithic appsi {objective['mono']} "
        f"({objective['mono_status']})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,400")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--monolithic-limit", type=float, default=120.0)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {DAY}, day-ahead")
    for n in (int(s) for s in args.sizes.split(",")):
        run(n, args.repeats, args.monolithic_limit)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
