"""What the Pyomo path (`optimise(..., extend=fn)`) costs against the matrix path.

Run (from the repository root, on a quiet machine)::

    python benchmarks/pyomo_extend.py                      # 10, 100, 400 assets, median of 3
    python benchmarks/pyomo_extend.py --sizes 10 --repeats 1 --monolithic-limit 30

For each size, `synthetic_portfolio(n, seed=0)` (all seven kinds, five countries) on the
sample day 2026-06-13, day-ahead only, `SolverOptions()` defaults (0.5 % gap), proxy PV
and wind profiles. Printed per size, medians of ``--repeats``:

- *matrix*: the whole `optimise(...)` call, and its build and solve seconds;
- *pyomo*: the same call with an extension that adds one constraint per battery (a
  minimum state of charge at 18:00 local): build (model, Pyomo export, the extension,
  compiling it back) and solve seconds, and the export and compile-back alone;
- *monolithic*: the exported, extended model solved whole by Pyomo's appsi HiGHS
  interface with the same gap and ``--monolithic-limit`` seconds, whole volume steps
  and all, as an analyst would solve it without the engine (objective and status;
  no plan or bids come out of it).

The machine's load average is printed with the figures: timings taken while other jobs
run are not comparable with a quiet machine's.
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


def run(n: int, repeats: int, monolithic_limit: float) -> None:
    pf = synthetic_portfolio(n, 0)
    zones = {s.bidding_zone for s in pf.sites}
    folder = sample_prices_dir()
    prices = load_prices(folder / "day_ahead.csv", None, None, zones, ("day_ahead",))
    profiles = proxy_profiles(pf, Horizon.of(DAY))
    options = OptimiserOptions(markets=("day_ahead",), solver=SolverOptions(time_limit_s=300))
    figures: dict[str, list[float]] = {
        k: []
        for k in (
            "matrix",
            "m_build",
            "m_solve",
            "pyomo",
            "p_build",
            "p_solve",
            "export",
            "mono_solve",
        )
    }
    objective = {}
    optimise(pf, DAY, prices, profiles=profiles, options=options, extend=min_soc_at_six)  # warm
    for _ in range(repeats):
        started = time.perf_counter()
        plan = optimise(pf, DAY, prices, profiles=profiles, options=options)
        figures["matrix"].append(time.perf_counter() - started)
        figures["m_build"].append(plan.solver.build_s)
        figures["m_solve"].append(plan.solver.solve_s)
        objective["matrix"] = plan.objective_eur

        # the extension's own share of the build: export + extension + compile back
        built = build_model(
            pf, DAY, prices, profiles=profiles, options=options, registry=default_registry()
        )
        started = time.perf_counter()
        extended = apply_extension(built, min_soc_at_six)
        figures["export"].append(time.perf_counter() - started)

        started = time.perf_counter()
        plan = optimise(pf, DAY, prices, profiles=profiles, options=options, extend=min_soc_at_six)
        total = time.perf_counter() - started
        figures["pyomo"].append(total)
        figures["p_solve"].append(plan.solver.solve_s)
        figures["p_build"].append(total - plan.solver.solve_s)
        objective["pyomo"] = plan.objective_eur

        # the same extended model solved whole by appsi HiGHS (integers as built)
        solver = Highs()
        solver.config.mip_gap = options.solver.mip_gap
        solver.config.time_limit = monolithic_limit
        solver.config.load_solution = False
        started = time.perf_counter()
        result = solver.solve(extended.model)
        figures["mono_solve"].append(time.perf_counter() - started)
        objective["mono"] = result.best_feasible_objective
        objective["mono_status"] = str(result.termination_condition).split(".")[-1]
    m = {k: median(v) for k, v in figures.items()}
    print(
        f"{n:>4} assets | matrix {m['matrix']:7.2f} s (build {m['m_build']:5.2f}, solve "
        f"{m['m_solve']:6.2f}) | pyomo {m['pyomo']:7.2f} s (build {m['p_build']:6.2f} of which "
        f"export+extension+compile {m['export']:6.2f}, solve {m['p_solve']:6.2f}) | "
        f"monolithic appsi solve {m['mono_solve']:7.2f} s ({objective['mono_status']}, "
        f"objective {objective['mono']}) | plan objectives: matrix {objective['matrix']:.2f}, "
        f"pyomo {objective['pyomo']:.2f} EUR",
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
