"""One year of a 10-asset portfolio on day-ahead, intraday and aFRR capacity, on real prices.

The portfolio is the sample portfolio's nine DE_LU assets (two batteries, two PV plants,
wind, a CHP, a heat pump, an EV fleet and a flexible load) plus its Rotterdam battery
moved to a German site of its own (the real German prices reach further than the Dutch
ones), each taken as in service from the first day (commissioning dates moved to
2020-01-01). The year starts on 2024-06-14, the first delivery day of the pan-European
intraday auctions (before it no rule set offers intraday products). Prices, read from
../shared/data (``VPP_SHARED_DATA``):

- day-ahead: **real** hourly DE_LU prices (``day_ahead_prices_hourly_2024_de_lu_be_fr_at``
  then ``day_ahead_prices_hourly_de_lu_2025_jan_sep``);
- imbalance: the named **proxy** around day-ahead (there is no real German series);
- intraday: **proxy**: the real day-ahead price plus the sample generator's intraday
  deviation (intraday - day-ahead of `trading.prices.sample`), as ../shared/data has no
  intraday prices;
- aFRR capacity: **proxy** from the sample generator (../shared/data holds one week).

The run is a perfect-foresight `run_backtest` (the live optimiser and market rules, the
simulated exchange) over every day; it writes every table (CSV) and figure and the HTML
report to ``--out``. Beside it, in the same process, a **reference**: the portfolio's three
batteries alone solved day by day straight against highspy (`direct_highspy.solve_each`,
no project code) on the same day-ahead prices: what HiGHS itself needs on this machine now,
so a loaded machine shows in both figures.

Target on a 2-core machine: <= 5 minutes for the year (goal: <= 2 minutes).

Run: ``python benchmarks/backtest.py [--days N] [--start 2024-06-14] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import _no_shadowing  # noqa: F401 - first: benchmarks/dispatch.py shadows the package
import numpy as np
import pandas as pd
import structlog
import yaml
from direct_highspy import Fleet, solve_each  # type: ignore[import-not-found]

from regulatory.assets.storage import Battery
from regulatory.portfolio import Portfolio
from trading.backtest import BacktestConfig, run_backtest
from trading.backtest.html_report import write_html_report
from trading.backtest.report import draw_figures, write_figures
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.prices.inputs import read_price_inputs
from trading.prices.sample import generate_sample_prices
from trading.samples import sample_portfolio_path

TARGET_S = 300.0
GOAL_S = 120.0
ZONES = ("DE_LU",)
EXTRA_ASSET = "bat-nl-rotterdam-01"
EXTRA_SITE = "de-duisburg"
MARKETS = ("day_ahead", "intraday", "afrr_capacity")
SHARED_DATA = Path(
    os.environ.get("VPP_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared/data")
)
DAY_AHEAD = (
    "day_ahead_prices_hourly_2024_de_lu_be_fr_at.csv",
    "day_ahead_prices_hourly_de_lu_2025_jan_sep.csv",
)


def ten_assets() -> Portfolio:
    """The sample portfolio's DE_LU assets and its Rotterdam battery on a German site of
    its own, all in service from 2020-01-01 (so any real year can be run)."""
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    sites = {s["id"]: s for s in document["sites"]}
    essen = sites["de-amp-essen"]
    document["sites"].append(
        {
            **{k: v for k, v in essen.items() if k != "name"},
            "id": EXTRA_SITE,
            "name": "Duisburg battery (the sample's Rotterdam battery, moved)",
            "metering_point": essen["metering_point"][:-2] + "42",
        }
    )
    sites[EXTRA_SITE] = document["sites"][-1]
    keep = [
        a
        for a in document["assets"]
        if sites[a["site"]]["bidding_zone"] == "DE_LU" or a["id"] == EXTRA_ASSET
    ]
    for asset in keep:
        if asset["id"] == EXTRA_ASSET:
            asset["site"] = EXTRA_SITE
        asset["commissioning_date"] = "2020-01-01"
        asset.pop("decommissioning_date", None)
    document["assets"] = keep
    document["sites"] = [s for s in document["sites"] if s["id"] in {a["site"] for a in keep}]
    return Portfolio.model_validate(document)


def real_prices(start: date, days: int) -> tuple[PriceInputs, list[str]]:
    """Real day-ahead for `ZONES`, the intraday and aFRR capacity proxies (see the module
    docstring), and one line per source saying which is which."""
    prices = PriceInputs()
    for zone in ZONES:
        parts = [
            read_price_inputs(SHARED_DATA / name, None, None, {zone}, ("day_ahead",)).day_ahead[
                zone
            ]
            for name in DAY_AHEAD
        ]
        joined = pd.concat(parts).sort_index()
        prices.day_ahead[zone] = joined[~joined.index.duplicated(keep="first")]
    sample = generate_sample_prices(start - timedelta(days=8), days + 9, zones=ZONES)
    for zone in ZONES:
        generated = sample.intraday[sample.intraday["zone"] == zone]["price_eur_mwh"]
        generated_da = sample.day_ahead[sample.day_ahead["zone"] == zone]["price_eur_mwh"]
        deviation = generated - generated_da.reindex(generated.index, method="ffill")
        real = prices.day_ahead[zone].reindex(deviation.index, method="ffill")
        prices.intraday[zone] = (real + deviation).dropna()
        capacity = sample.afrr_capacity[sample.afrr_capacity["zone"] == zone]
        for direction in ("pos", "neg"):
            block = capacity[f"afrr_capacity_{direction}_eur_per_mw_h"]
            prices.afrr_capacity[(zone, direction)] = block.reindex(generated.index, method="ffill")
    sources = [
        f"day-ahead: real ({' then '.join(DAY_AHEAD)}, {', '.join(ZONES)})",
        "imbalance: PROXY, the named dual price around day-ahead (no real German series)",
        "intraday: PROXY = real day-ahead + the sample generator's intraday deviation",
        "aFRR capacity: PROXY from the sample generator (trading.prices.sample)",
    ]
    return prices, sources


def reference_seconds(portfolio: Portfolio, prices: PriceInputs, days: list[date]) -> float:
    """Wall time of the batteries alone, day by day, straight against highspy [s]."""
    zone_of = {a.id: portfolio.site_of(a).bidding_zone for a in portfolio.assets}
    batteries = [a for a in portfolio.assets if isinstance(a, Battery)]
    started = time.perf_counter()
    for day in days:
        horizon = Horizon.of(day)
        for battery in batteries:
            low, high = battery.soc_bounds_mwh()
            fleet = Fleet(
                p_charge=np.array([battery.power_charge_mw]),
                p_discharge=np.array([battery.power_discharge_mw]),
                soc_min=np.array([low]),
                soc_max=np.array([high]),
                soc_initial=np.array([(low + high) / 2]),
                eta_charge=np.array([battery.efficiency_charge]),
                eta_discharge=np.array([battery.efficiency_discharge]),
                wear=np.array([battery.degradation_cost_eur_per_mwh]),
                charging_cost=np.array([0.0]),
            )
            quarter = prices.quarter_hourly("day_ahead", zone_of[battery.id], horizon)
            solve_each(fleet, quarter, 60.0)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 6, 14))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--out", type=Path, default=None, help="tables, figures, report")
    args = parser.parse_args(argv)
    if not all((SHARED_DATA / name).is_file() for name in DAY_AHEAD):
        print(f"real prices not found in {SHARED_DATA} (set VPP_SHARED_DATA)", file=sys.stderr)
        return 2
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    portfolio = ten_assets()
    out = args.out or Path(tempfile.mkdtemp(prefix="vpp-backtest-benchmark-"))
    load = os.getloadavg()
    print(f"cores: {os.cpu_count()}  load average: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(
        f"portfolio: {len(portfolio.assets)} assets "
        f"({', '.join(sorted({a.kind for a in portfolio.assets}))}) in {', '.join(ZONES)}"
    )
    started = time.perf_counter()
    prices, sources = real_prices(args.start, args.days)
    read_s = time.perf_counter() - started
    for line in sources:
        print(f"prices: {line}")
    config = BacktestConfig(args.start, args.start + timedelta(days=args.days - 1), markets=MARKETS)
    started, cpu = time.perf_counter(), time.process_time()
    result = run_backtest(portfolio, prices, config, progress=sys.stderr.isatty())
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    files = result.write(out)
    drawn = draw_figures(result)  # once, for the PNG files and the report
    files += write_figures(result, out, drawn=drawn)
    report = out / "report.html"
    files.append(write_html_report(result, report, title="Backtest benchmark", drawn=drawn))
    written_s = time.perf_counter() - started
    reference = reference_seconds(portfolio, prices, config.days())
    load = os.getloadavg()

    summary = result.summary()
    solve = result.days["build_s"] + result.days["solve_s"]
    n = summary["days"]
    print(
        f"prices read in {read_s:.1f} s; {len(files)} files written to {out} in {written_s:.1f} s"
    )
    print(
        f"{n} days ({config.start} to {config.end}, perfect foresight) in {wall:.1f} s wall "
        f"= {wall / n:.2f} s/day ({cpu:.1f} s of CPU, all threads); "
        f"optimiser {summary['solver_time_s']:.1f} s (per day p50 "
        f"{solve.median():.2f} s, p95 {solve.quantile(0.95):.2f} s, max {solve.max():.2f} s)"
    )
    print(
        f"reference: the 3 batteries alone, straight highspy, same days: {reference:.1f} s "
        f"(backtest / reference = {wall / reference:.1f})"
    )
    print(
        f"revenue {summary['total_revenue_eur']:,.0f} EUR "
        + ", ".join(f"{m} {v:,.0f}" for m, v in summary["revenue_by_market"].items())
        + f"; imbalance {summary['imbalance_cost_eur']:,.0f} EUR; costs "
        f"{summary['costs_eur']:,.0f}; net {summary['net_eur']:,.0f}; "
        f"rejected products {summary['rejected_bids']}"
    )
    print(f"solver statuses: {result.days['status'].value_counts().to_dict()}")
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    scale = args.days / 365
    total = wall + written_s
    met = total <= TARGET_S * scale
    print(
        f"year target <= {TARGET_S:.0f} s (goal {GOAL_S:.0f} s), run + files {total:.1f} s: "
        f"{'met' if met else 'NOT met'}{'' if total <= GOAL_S * scale else ', goal not met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
