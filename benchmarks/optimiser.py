"""How fast the optimiser builds and solves, and how it compares with a direct HiGHS model.

Run: ``python benchmarks/optimiser.py [--sizes 1,10,100,400] [--repeats 3] [--no-direct]``.

Two tables, medians over ``--repeats`` runs:

1. Mixed portfolios (`trading.optimiser.synthetic.synthetic_portfolio`: all seven kinds
   on sites in five countries, deterministic from ``--seed``), one delivery day of 96
   quarter hours co-optimised over day-ahead, intraday and aFRR capacity on the project's
   sample prices (2026-06-13) at the default 0.5 % gap: build s, solve s, total s (the
   whole `optimise` call: both market passes, rounding, bid derivation and validation),
   variables, constraints, gap, HiGHS calls.
2. Battery-only day-ahead arbitrage, exact (gap 0), on a real German 15-minute day with
   long negative-price hours (2026-06-14 from ../shared/data if present, else the sample
   day): the optimiser's model (build + solve) and its whole `optimise` call, against the
   same problem written straight against highspy (`benchmarks/direct_highspy.py`), with
   the objectives compared and the ratio of times.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import _no_shadowing  # noqa: F401 - first: benchmarks/dispatch.py shadows the package
import numpy as np
import pandas as pd
from direct_highspy import Fleet, solve_direct  # type: ignore[import-not-found]

from regulatory import Portfolio
from regulatory.assets import Battery
from trading.cli.optimise import load_prices
from trading.optimiser.build import OptimiserOptions, build_model
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.optimiser.plan import optimise
from trading.optimiser.profiles import proxy_profiles
from trading.optimiser.solver import SolverOptions, solve
from trading.optimiser.synthetic import battery_portfolio, synthetic_portfolio
from trading.prices import read_day_ahead_prices
from trading.samples import SAMPLE_PRICE_DAY, sample_prices_dir

SHARED_15MIN = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "day_ahead_prices_15min_de_lu_2025-10_2026-08.csv"
)
REAL_DAY = date(2026, 6, 14)
"""A Sunday with 45 non-positive quarter hours in DE-LU."""


def _median(runs: list[float]) -> float:
    return statistics.median(runs)


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def mixed_table(sizes: list[int], repeats: int, seed: int) -> None:
    """Table 1: mixed portfolios over day-ahead, intraday and aFRR capacity."""
    day = date.fromisoformat(SAMPLE_PRICE_DAY)
    folder = sample_prices_dir()
    markets = ("day_ahead", "intraday", "afrr_capacity")
    print(f"Mixed portfolios, {day}, {', '.join(markets)}, gap 0.5 %, median of {repeats}")
    print(
        f"{'assets':>6} {'sites':>5} {'build s':>8} {'solve s':>8} {'total s':>8} "
        f"{'variables':>9} {'constraints':>11} {'integers':>8} {'gap':>8} {'calls':>5} "
        f"{'objective EUR':>14}"
    )
    for size in sizes:
        portfolio = synthetic_portfolio(size, seed)
        zones = {s.bidding_zone for s in portfolio.sites}
        prices = load_prices(
            folder / "day_ahead.csv", folder / "intraday.csv", folder / "afrr.csv", zones
        )
        profiles = proxy_profiles(portfolio, Horizon.of(day))
        options = OptimiserOptions(markets=markets, solver=SolverOptions(time_limit_s=120))
        totals, builds, solves = [], [], []
        plan = None
        for _ in range(repeats):
            total, plan = _timed(
                lambda p=portfolio, pr=prices, pf=profiles, o=options: optimise(
                    p, day, pr, profiles=pf, options=o
                )
            )
            totals.append(total)
            builds.append(plan.solver.build_s)  # type: ignore[attr-defined]
            solves.append(plan.solver.solve_s)  # type: ignore[attr-defined]
        report = plan.solver  # type: ignore[attr-defined]
        print(
            f"{size:>6} {len(portfolio.sites):>5} {_median(builds):>8.2f} {_median(solves):>8.2f} "
            f"{_median(totals):>8.2f} {report.variables:>9} {report.constraints:>11} "
            f"{report.integer_variables:>8} {_gap(report.gap):>8} {report.parts:>5} "
            f"{plan.objective_eur:>14,.0f}"  # type: ignore[attr-defined]
        )


def _gap(gap: float | None) -> str:
    return "-" if gap is None else f"{gap * 100:.3f}%"


def battery_prices() -> tuple[date, PriceInputs, np.ndarray, str]:
    """The real 15-minute day if ../shared is there, else the sample day (DE-LU)."""
    if SHARED_15MIN.exists():
        frame = read_day_ahead_prices(SHARED_15MIN, zone="DE_LU")
        day, source = REAL_DAY, f"real DE-LU {REAL_DAY} (../shared)"
    else:
        frame = read_day_ahead_prices(sample_prices_dir() / "day_ahead.csv", zone="DE_LU")
        day, source = date.fromisoformat(SAMPLE_PRICE_DAY), f"sample DE-LU {SAMPLE_PRICE_DAY}"
    series = frame["price_eur_mwh"].astype(float)
    horizon = Horizon.of(day)
    prices = PriceInputs(day_ahead={"DE_LU": series})
    quarter = prices.quarter_hourly("day_ahead", "DE_LU", horizon)
    return day, prices, quarter, source


def _fleet(portfolio: Portfolio, charging_cost: dict[str, float]) -> Fleet:
    batteries = [a for a in portfolio.assets if isinstance(a, Battery)]

    def column(values: list[float]) -> np.ndarray:
        return np.array(values, dtype=float)

    return Fleet(
        p_charge=column([b.power_charge_mw for b in batteries]),
        p_discharge=column([b.power_discharge_mw for b in batteries]),
        soc_min=column([b.soc_bounds_mwh()[0] for b in batteries]),
        soc_max=column([b.soc_bounds_mwh()[1] for b in batteries]),
        soc_initial=column([b.soc_initial_mwh or 0.0 for b in batteries]),
        eta_charge=column([b.efficiency_charge for b in batteries]),
        eta_discharge=column([b.efficiency_discharge for b in batteries]),
        wear=column([b.degradation_cost_eur_per_mwh for b in batteries]),
        charging_cost=column([charging_cost[b.id] for b in batteries]),
    )


def battery_table(sizes: list[int], repeats: int, seed: int, direct: bool) -> None:
    """Table 2: exact battery arbitrage, ours against a direct highspy model."""
    day, prices, quarter, source = battery_prices()
    negative = int((quarter <= 0).sum())
    print()
    print(
        f"Battery-only day-ahead arbitrage, exact (gap 0), {source}, "
        f"{negative} of {len(quarter)} quarter hours <= 0 EUR/MWh, median of {repeats}"
    )
    print(
        f"{'batteries':>9} {'model s':>8} {'optimise s':>10} {'calls':>5} {'direct s':>9} "
        f"{'(build':>7} {'solve)':>7} {'ratio':>6} {'objective EUR':>14} {'rel. diff':>9}"
    )
    options = OptimiserOptions(
        markets=("day_ahead",), solver=SolverOptions(mip_gap=0, time_limit_s=600)
    )
    for size in sizes:
        portfolio = battery_portfolio(size, seed)
        model_runs, optimise_runs = [], []
        objective = 0.0
        calls = 0
        charging_cost: dict[str, float] = {}
        for _ in range(repeats):
            started = time.perf_counter()
            built = build_model(portfolio, day, prices, options=options)
            for block in built.positions:
                built.model.set_integer(block.steps, False)
            solved = solve(built.model, options.solver, build_s=built.build_s)
            model_runs.append(time.perf_counter() - started)
            objective = solved.report.objective_eur or 0.0
            calls = solved.report.parts
            charging_cost = {
                aid: t.charging_cost_eur_per_mwh for aid, t in built.treatments.items()
            }
            total, _ = _timed(lambda p=portfolio: optimise(p, day, prices, options=options))
            optimise_runs.append(total)
        line = f"{size:>9} {_median(model_runs):>8.2f} {_median(optimise_runs):>10.2f} {calls:>5} "
        if direct:
            result = solve_direct(_fleet(portfolio, charging_cost), quarter)
            direct_s = result.build_s + result.solve_s
            diff = abs(result.objective - objective) / max(1.0, abs(result.objective))
            suffix = "" if result.status == "Optimal" else f" direct: {result.status}"
            line += (
                f"{direct_s:>9.2f} {result.build_s:>7.2f} {result.solve_s:>7.2f} "
                f"{direct_s / _median(model_runs):>6.1f} {objective:>14,.2f} {diff:>9.1e}{suffix}"
            )
        else:
            line += f"{'-':>9} {'-':>7} {'-':>7} {'-':>6} {objective:>14,.2f} {'-':>9}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100,400", help="portfolio sizes, comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size (median reported)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic portfolios")
    parser.add_argument("--no-direct", action="store_true", help="skip the direct highspy model")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    pd.set_option("display.width", 120)
    mixed_table(sizes, args.repeats, args.seed)
    battery_table(sizes, args.repeats, args.seed, not args.no_direct)


if __name__ == "__main__":
    main()
