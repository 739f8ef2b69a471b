"""How fast `trading.optimiser.plan.optimise` plans, and how close to the optimum.

Run (from the repository root, on a quiet machine)::

    python benchmarks/optimiser.py                      # everything, median of 3 runs
    python benchmarks/optimiser.py --sizes 1,10 --repeats 1 --mixed-sizes 20   # quick

Every time is of the public path: the whole `optimise(...)` call (build, the relaxation
with its proven bound, the plan with whole 0.1 MW positions, bids), median of
``--repeats``.

1. **Exact battery fleets** (`battery_portfolio(n, seed)`, ``--sizes``): day-ahead only on
   the real DE-LU day 2026-04-08 (15-minute prices from ../shared/data; the sample day
   if that is missing), ``SolverOptions(mip_gap=0)``, once with the fleet's wear costs
   and once with wear 0 on every battery. Against three yardsticks written straight
   against highspy in `benchmarks/direct_highspy.py` (no code shared with the optimiser):

   - *reference*: each battery alone as an exact MILP (a binary on every quarter hour,
     continuous positions). The exact optimum without whole steps: the plan's proven
     bound must match it to 1e-6 (OK/FAIL); the plan's gap is what whole steps cost.
   - *LP*: the same problems with the binaries relaxed, all batteries in one HiGHS call
     (the cheapest bound there is).
   - *whole-step reference* (1 and 10 batteries): each battery alone with its own net
     injection on whole 0.1 MW steps, exact, ``--step-time-limit`` s per battery (it often
     stops there: its status says so). For one battery it is the very problem the plan
     solves; for several, the plan's steps are the zone's (the batteries share them), so
     the plan may beat it.

2. **Mixed portfolios** (`synthetic_portfolio(n, seed)`, ``--mixed-sizes``): the sample
   day with day-ahead, aFRR and FCR capacity and intraday, proxy PV and wind profiles, at
   each of ``--mixed-gaps`` [%], time limit 120 s (``--mixed-time-limit``): total, build
   and solve s, objective, bound, gap and status (of the intraday pass, which holds the
   first pass's positions), variables, integer variables and HiGHS calls. A call that
   raises `InfeasibleError` is printed as FAILED with its first line.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import _no_shadowing  # noqa: F401 - first: benchmarks/dispatch.py shadows the package
import numpy as np
from direct_highspy import (  # type: ignore[import-not-found]
    DirectResult,
    EachResult,
    Fleet,
    solve_direct,
    solve_each,
)

from regulatory import Portfolio
from regulatory.assets import Battery
from trading.cli.optimise import load_prices
from trading.optimiser.build import OptimiserOptions
from trading.optimiser.diagnose import InfeasibleError
from trading.optimiser.inputs import Horizon, PriceInputs, Profiles
from trading.optimiser.plan import Plan, optimise
from trading.optimiser.profiles import proxy_profiles
from trading.optimiser.solver import SolverOptions
from trading.optimiser.synthetic import battery_portfolio, synthetic_portfolio
from trading.prices import read_day_ahead_prices
from trading.samples import SAMPLE_PRICE_DAY, sample_prices_dir

SHARED_15MIN = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "day_ahead_prices_15min_de_lu_2025-10_2026-08.csv"
)
REAL_DAY = date(2026, 4, 8)
"""A Wednesday in DE-LU: 21 negative quarter hours around midday (down to -40 EUR/MWh),
morning and evening peaks (up to 201 EUR/MWh at 20:00)."""

ZONE = "DE_LU"
EXACT_TIME_LIMIT_S = 600.0
"""Time limit of the exact runs, optimiser and reference alike: far above what they take."""
MATCH_TOLERANCE = 1e-6
"""Largest |bound - reference| / |reference| counted as a match."""
STEP_MW = 0.1
"""Day-ahead volume step in DE-LU [MW]."""
WHOLE_STEP_SIZES = (1, 10)
"""Fleet sizes that also get the whole-step reference."""
MIXED_MARKETS = ("day_ahead", "afrr_capacity", "fcr_capacity", "intraday")
MIXED_TIME_LIMIT_S = 120.0
"""Default time limit of a whole mixed `optimise` call [s]."""

T = TypeVar("T")


# --- helpers ------------------------------------------------------------------------------


def _median_timed(action: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Median wall time [s] of `repeats` calls of `action`, and the last call's result."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _percent(gap: float | None, digits: int = 4) -> str:
    return "-" if gap is None else f"{gap * 100:.{digits}f}%"


def _eur(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _ints(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def _floats(text: str) -> list[float]:
    return [float(s) for s in text.split(",") if s.strip()]


def print_machine() -> None:
    """Cores, date and versions, so that figures can be compared across runs."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print(
        f"Machine: {os.cpu_count()} cores ({usable} usable), {platform.machine()}, "
        f"Python {platform.python_version()}, highspy {version('highspy')}; "
        f"run {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )


# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayPrices:
    """One delivery day's day-ahead prices: as the optimiser takes them and per quarter hour."""

    day: date
    inputs: PriceInputs
    quarter: np.ndarray
    source: str


def day_ahead_prices() -> DayPrices:
    """The real 15-minute DE-LU day if ../shared is there, else the sample day (with a note)."""
    if SHARED_15MIN.exists():
        frame = read_day_ahead_prices(SHARED_15MIN, zone=ZONE)
        day, source = REAL_DAY, f"real DE-LU {REAL_DAY} ({SHARED_15MIN.name})"
    else:
        print(f"Note: {SHARED_15MIN} not found; using the sample day {SAMPLE_PRICE_DAY} instead")
        frame = read_day_ahead_prices(sample_prices_dir() / "day_ahead.csv", zone=ZONE)
        day, source = date.fromisoformat(SAMPLE_PRICE_DAY), f"sample DE-LU {SAMPLE_PRICE_DAY}"
    inputs = PriceInputs(day_ahead={ZONE: frame["price_eur_mwh"].astype(float)})
    quarter = np.asarray(inputs.quarter_hourly("day_ahead", ZONE, Horizon.of(day)), dtype=float)
    return DayPrices(day, inputs, quarter, source)


def without_wear(portfolio: Portfolio) -> Portfolio:
    """`portfolio` with every battery's wear cost set to 0 EUR/MWh."""
    assets = [
        a.model_copy(update={"degradation_cost_eur_per_mwh": 0.0}) if isinstance(a, Battery) else a
        for a in portfolio.assets
    ]
    return portfolio.model_copy(update={"assets": assets})


def fleet_of(portfolio: Portfolio, day: date) -> Fleet:
    """The portfolio's batteries as the direct model takes them, levies from the treatment.

    Raises ValueError for what the direct model leaves out (cycle limits, ramps,
    availability windows, a grid connection below the battery's power).
    """
    batteries = [a for a in portfolio.assets if isinstance(a, Battery)]
    sites = {s.id: s for s in portfolio.sites}
    for b in batteries:
        limited = b.max_cycles_per_day or b.ramp_up_mw_per_min or b.ramp_down_mw_per_min
        small_connection = sites[b.site].grid_connection_mw < max(
            b.power_charge_mw, b.power_discharge_mw
        )
        if limited or b.availability or small_connection:
            raise ValueError(f"{b.id}: the direct model does not cover its limits")

    def column(values: list[float]) -> np.ndarray:
        return np.array(values, dtype=float)

    def initial(b: Battery) -> float:
        low, high = b.soc_bounds_mwh()
        return (low + high) / 2 if b.soc_initial_mwh is None else b.soc_initial_mwh

    return Fleet(
        p_charge=column([b.power_charge_mw for b in batteries]),
        p_discharge=column([b.power_discharge_mw for b in batteries]),
        soc_min=column([b.soc_bounds_mwh()[0] for b in batteries]),
        soc_max=column([b.soc_bounds_mwh()[1] for b in batteries]),
        soc_initial=column([initial(b) for b in batteries]),
        eta_charge=column([b.efficiency_charge for b in batteries]),
        eta_discharge=column([b.efficiency_discharge for b in batteries]),
        wear=column([b.degradation_cost_eur_per_mwh for b in batteries]),
        charging_cost=column(
            [portfolio.treatment(b, day).charging_cost_eur_per_mwh for b in batteries]
        ),
    )


# --- table 1: exact battery fleets --------------------------------------------------------


@dataclass(frozen=True)
class ExactRun:
    """One fleet, one wear setting: the plan and its yardsticks."""

    batteries: int
    wear: str
    optimise_s: float
    plan: Plan
    reference: EachResult | None
    reference_s: float
    lp: DirectResult | None
    lp_s: float


def exact_run(
    portfolio: Portfolio, wear: str, prices: DayPrices, repeats: int, direct: bool
) -> ExactRun:
    """Time `optimise` (exact, day-ahead only) and, if `direct`, the reference and the LP."""
    options = OptimiserOptions(
        markets=("day_ahead",),
        solver=SolverOptions(mip_gap=0, time_limit_s=EXACT_TIME_LIMIT_S),
    )
    optimise_s, plan = _median_timed(
        lambda: optimise(portfolio, prices.day, prices.inputs, options=options), repeats
    )
    reference, reference_s, lp, lp_s = None, 0.0, None, 0.0
    if direct:
        fleet = fleet_of(portfolio, prices.day)
        reference_s, reference = _median_timed(
            lambda: solve_each(fleet, prices.quarter, EXACT_TIME_LIMIT_S), repeats
        )
        lp_s, lp = _median_timed(lambda: solve_direct(fleet, prices.quarter, relax=True), repeats)
    n = sum(isinstance(a, Battery) for a in portfolio.assets)
    return ExactRun(n, wear, optimise_s, plan, reference, reference_s, lp, lp_s)


EXACT_COLUMNS = (
    f"{'batteries':>9} {'wear':>5} {'optimise s':>10} {'plan EUR':>13} {'bound EUR':>13} "
    f"{'gap':>8} {'status':>16} {'reference EUR':>13} {'ref s':>7} {'|b-r|/r':>12} "
    f"{'LP EUR':>13} {'LP s':>6} {'opt/LP':>7} {'opt/ref':>7}"
)


def exact_line(run: ExactRun) -> str:
    """One row of the exact table."""
    report = run.plan.solver
    line = (
        f"{run.batteries:>9} {run.wear:>5} {run.optimise_s:>10.2f} "
        f"{_eur(report.objective_eur):>13} {_eur(report.bound_eur):>13} "
        f"{_percent(report.gap):>8} {report.status:>16} "
    )
    if run.reference is None or run.lp is None:
        return line + f"{'-':>13} {'-':>7} {'-':>12} {'-':>13} {'-':>6} {'-':>7} {'-':>7}"
    reference = run.reference.objective
    bound = report.bound_eur if report.bound_eur is not None else float("nan")
    mismatch = abs(bound - reference) / max(abs(reference), 1e-9)
    verdict = "OK" if mismatch <= MATCH_TOLERANCE and run.reference.all_optimal else "FAIL"
    line += (
        f"{_eur(reference):>13} {run.reference_s:>7.2f} {mismatch:>7.1e} {verdict:>4} "
        f"{_eur(run.lp.objective):>13} {run.lp_s:>6.2f} "
        f"{run.optimise_s / max(run.lp_s, 1e-9):>7.1f} "
        f"{run.optimise_s / max(run.reference_s, 1e-9):>7.2f}"
    )
    if not run.reference.all_optimal:
        line += f"  reference: {run.reference.status_text()}"
    return line


@dataclass(frozen=True)
class StepRun:
    """The whole-step reference of one fleet and wear setting, with the plan it checks."""

    batteries: int
    wear: str
    result: EachResult
    plan: Plan


def step_run(
    portfolio: Portfolio, wear: str, prices: DayPrices, limit_s: float, plan: Plan
) -> StepRun:
    """Each battery alone with its net injection on whole `STEP_MW` steps, exact."""
    fleet = fleet_of(portfolio, prices.day)
    result = solve_each(fleet, prices.quarter, limit_s, step_mw=STEP_MW)
    return StepRun(len(fleet), wear, result, plan)


STEP_COLUMNS = (
    f"{'batteries':>9} {'wear':>5} {'whole-step ref EUR':>18} {'its bound EUR':>13} "
    f"{'ref s':>7} {'plan EUR':>13} {'plan - ref EUR':>14} {'(plan-ref)/ref':>14}  status"
)


def step_line(run: StepRun) -> str:
    """One row of the whole-step reference table."""
    plan = run.plan.solver.objective_eur or 0.0
    reference = run.result.objective
    return (
        f"{run.batteries:>9} {run.wear:>5} {_eur(reference):>18} {_eur(run.result.bound):>13} "
        f"{run.result.seconds:>7.1f} {_eur(plan):>13} {plan - reference:>14,.2f} "
        f"{(plan - reference) / max(abs(reference), 1e-9):>14.2e}  "
        f"{run.result.status_text()}"
    )


def exact_table(
    sizes: list[int], repeats: int, seed: int, direct: bool, step_limit_s: float
) -> None:
    """Table 1 (and its whole-step reference) on the real day, exact."""
    prices = day_ahead_prices()
    negative = int((prices.quarter < 0).sum())
    print()
    print(
        f"Exact battery fleets: {prices.source}, day-ahead only, SolverOptions(mip_gap=0, "
        f"time_limit_s={EXACT_TIME_LIMIT_S:g}), {negative} of {len(prices.quarter)} quarter "
        f"hours < 0 EUR/MWh, times median of {repeats}"
    )
    print(EXACT_COLUMNS)
    steps: list[StepRun] = []
    for size in sizes:
        fleet = battery_portfolio(size, seed)
        for wear, portfolio in (("fleet", fleet), ("0", without_wear(fleet))):
            run = exact_run(portfolio, wear, prices, repeats, direct)
            print(exact_line(run), flush=True)
            if direct and size in WHOLE_STEP_SIZES:
                steps.append(step_run(portfolio, wear, prices, step_limit_s, run.plan))
    print(
        "plan/bound: optimise()'s plan with whole 0.1 MW positions and its proven bound; "
        "reference: each battery alone, exact MILP, continuous positions (= the bound); "
        "LP: binaries relaxed, one HiGHS call; opt/LP, opt/ref: ratios of times"
    )
    if steps:
        print()
        print(
            f"Whole-step reference: each battery alone, net injection on whole {STEP_MW:g} MW "
            f"steps, exact MILP, time limit {step_limit_s:g} s per battery"
        )
        print(STEP_COLUMNS)
        for run in steps:
            print(step_line(run))
        print(
            "1 battery: the same problem as the plan's whole-step stage: the plan is at most "
            "ref's bound (and at most ref where ref is Optimal). Several batteries: the plan's "
            "steps are the zone's, shared by its batteries, a looser rule than steps per "
            "battery, so the plan may beat ref. A status other than Optimal: ref stopped at "
            "the time limit (ref <= optimum <= its bound)."
        )


# --- table 2: mixed portfolios ------------------------------------------------------------


@dataclass(frozen=True)
class MixedRun:
    """Medians of `repeats` `optimise` calls [s] and the last plan, or why one failed."""

    total_s: float = 0.0
    build_s: float = 0.0
    solve_s: float = 0.0
    plan: Plan | None = None
    failure: str | None = None


def _mixed_run(
    portfolio: Portfolio,
    day: date,
    prices: PriceInputs,
    profiles: Profiles,
    options: OptimiserOptions,
    repeats: int,
) -> MixedRun:
    """`repeats` `optimise` calls; the first `InfeasibleError` ends them (as `failure`)."""
    totals, builds, solves = [], [], []
    plan = None
    for k in range(repeats):
        started = time.perf_counter()
        try:
            plan = optimise(portfolio, day, prices, profiles=profiles, options=options)
        except InfeasibleError as exc:
            seconds = time.perf_counter() - started
            reason = str(exc).splitlines()[0]
            return MixedRun(failure=f"FAILED (run {k + 1}, after {seconds:.1f} s): {reason}")
        totals.append(time.perf_counter() - started)
        builds.append(plan.solver.build_s)
        solves.append(plan.solver.solve_s)
    median = statistics.median
    return MixedRun(median(totals), median(builds), median(solves), plan)


def _mixed_line(size: int, sites: int, gap: float, run: MixedRun) -> str:
    """One row of the mixed table."""
    line = f"{size:>6} {sites:>5} {_percent(gap, 2):>7} "
    if run.plan is None:
        return line + (run.failure or "")
    r = run.plan.solver
    return line + (
        f"{run.total_s:>8.2f} {run.build_s:>8.2f} {run.solve_s:>8.2f} "
        f"{_eur(r.objective_eur):>13} {_eur(r.bound_eur):>13} {_percent(r.gap):>8} "
        f"{r.status:>16} {r.variables:>9} {r.integer_variables:>8} {r.parts:>5}"
    )


def mixed_table(
    sizes: list[int], gaps: list[float], repeats: int, seed: int, time_limit_s: float
) -> None:
    """Table 2: mixed portfolios on the sample day over the four markets."""
    day = date.fromisoformat(SAMPLE_PRICE_DAY)
    folder = sample_prices_dir()
    print()
    print(
        f"Mixed portfolios: sample day {day}, {', '.join(MIXED_MARKETS)}, proxy PV/wind "
        f"profiles, time limit {time_limit_s:g} s, times median of {repeats}"
    )
    print(
        f"{'assets':>6} {'sites':>5} {'target':>7} {'total s':>8} {'build s':>8} "
        f"{'solve s':>8} {'plan EUR':>13} {'bound EUR':>13} {'gap':>8} {'status':>16} "
        f"{'variables':>9} {'integers':>8} {'calls':>5}"
    )
    for size in sizes:
        portfolio = synthetic_portfolio(size, seed)
        zones = {s.bidding_zone for s in portfolio.sites}
        prices = load_prices(
            folder / "day_ahead.csv",
            folder / "intraday.csv",
            folder / "afrr.csv",
            zones,
            MIXED_MARKETS,
        )
        profiles = proxy_profiles(portfolio, Horizon.of(day))
        for gap in gaps:
            options = OptimiserOptions(
                markets=MIXED_MARKETS,
                solver=SolverOptions(mip_gap=gap, time_limit_s=time_limit_s),
            )
            run = _mixed_run(portfolio, day, prices, profiles, options, repeats)
            print(_mixed_line(size, len(portfolio.sites), gap, run), flush=True)
    print(
        "bound, gap, status, variables: the intraday pass's (it holds the day-ahead and "
        "capacity positions of the first pass); build, solve s and calls: both passes"
    )


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100,400", help="battery fleet sizes")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (median)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic portfolios")
    parser.add_argument("--no-direct", action="store_true", help="skip the highspy yardsticks")
    parser.add_argument("--no-mixed", action="store_true", help="skip the mixed portfolios")
    parser.add_argument("--mixed-sizes", default="100,400", help="mixed portfolio sizes")
    parser.add_argument("--mixed-gaps", default="0.5,0.1", help="MIP gaps of the mixed runs [%%]")
    parser.add_argument(
        "--step-time-limit",
        type=float,
        default=20.0,
        help="time limit per battery of the whole-step reference [s]",
    )
    parser.add_argument(
        "--mixed-time-limit",
        type=float,
        default=MIXED_TIME_LIMIT_S,
        help="time limit of a whole mixed optimise() call [s]",
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    print_machine()
    exact_table(
        _ints(args.sizes), args.repeats, args.seed, not args.no_direct, args.step_time_limit
    )
    if not args.no_mixed:
        gaps = [g / 100 for g in _floats(args.mixed_gaps)]
        mixed_table(_ints(args.mixed_sizes), gaps, args.repeats, args.seed, args.mixed_time_limit)


if __name__ == "__main__":
    main()
