"""A one-year backtest of a 10-asset portfolio on day-ahead, intraday and aFRR capacity.

The portfolio is the sample portfolio's nine DE_LU assets (two batteries, two PV plants,
wind, a CHP, a heat pump, an EV fleet and a flexible load) plus its Rotterdam battery (NL).
Prices for both zones come from the project's deterministic generator
(`trading.prices.sample`: day-ahead, the documented intraday proxy and aFRR capacity),
because ../shared/data has no intraday prices and only one week of aFRR prices. The run
is a perfect-foresight `run_backtest` (the live optimiser and market rules, the simulated
exchange) over every day of the year; the figure that matters is the wall time.

Target on a 2-core machine: <= 5 minutes for the year.

Run: ``python benchmarks/backtest.py [--days N] [--start YYYY-MM-DD] [--forecast naive]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from datetime import date, timedelta

import _no_shadowing  # noqa: F401 - first: benchmarks/dispatch.py shadows the package
import structlog
import yaml

from regulatory.portfolio import Portfolio
from trading.backtest import BacktestConfig, run_backtest
from trading.optimiser.inputs import PriceInputs
from trading.prices.sample import generate_sample_prices
from trading.samples import sample_portfolio_path

TARGET_S = 300.0
ZONES = ("DE_LU", "NL")
EXTRA_ASSET = "bat-nl-rotterdam-01"


def ten_assets() -> Portfolio:
    """The sample portfolio's DE_LU assets and its Rotterdam battery."""
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    sites = {s["id"]: s for s in document["sites"]}
    keep = [
        a
        for a in document["assets"]
        if sites[a["site"]]["bidding_zone"] == "DE_LU" or a["id"] == EXTRA_ASSET
    ]
    document["assets"] = keep
    document["sites"] = [s for s in document["sites"] if s["id"] in {a["site"] for a in keep}]
    return Portfolio.model_validate(document)


def generated_prices(start: date, days: int) -> PriceInputs:
    """Day-ahead, intraday and aFRR capacity for `ZONES`, a week before `start` onwards."""
    sample = generate_sample_prices(start - timedelta(days=8), days + 9, zones=ZONES)
    prices = PriceInputs()
    for zone in ZONES:
        da = sample.day_ahead[sample.day_ahead["zone"] == zone]
        intraday = sample.intraday[sample.intraday["zone"] == zone]
        capacity = sample.afrr_capacity[sample.afrr_capacity["zone"] == zone]
        prices.day_ahead[zone] = da["price_eur_mwh"]
        prices.intraday[zone] = intraday["price_eur_mwh"]
        quarters = intraday.index  # capacity holds over its 4-hour block
        for direction in ("pos", "neg"):
            block = capacity[f"afrr_capacity_{direction}_eur_per_mw_h"]
            prices.afrr_capacity[(zone, direction)] = block.reindex(quarters, method="ffill")
    return prices


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--forecast", default="perfect", choices=("perfect", "naive"))
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    portfolio = ten_assets()
    print(f"cores: {os.cpu_count()}  python: {sys.version.split()[0]}")
    print(
        f"portfolio: {len(portfolio.assets)} assets "
        f"({', '.join(sorted({a.kind for a in portfolio.assets}))}) in {', '.join(ZONES)}"
    )
    started = time.perf_counter()
    prices = generated_prices(args.start, args.days)
    generated_s = time.perf_counter() - started
    config = BacktestConfig(
        args.start,
        args.start + timedelta(days=args.days - 1),
        markets=("day_ahead", "intraday", "afrr_capacity"),
        forecast=args.forecast,
    )
    started = time.perf_counter()
    result = run_backtest(portfolio, prices, config, progress=sys.stderr.isatty())
    wall = time.perf_counter() - started
    summary = result.summary()
    solve = result.days["build_s"] + result.days["solve_s"]
    print(f"prices generated in {generated_s:.1f} s")
    print(
        f"{summary['days']} days ({config.start} to {config.end}, forecast {args.forecast}) "
        f"in {wall:.1f} s wall = {wall / summary['days']:.2f} s/day; optimiser "
        f"{summary['solver_time_s']:.1f} s (per day p50 {solve.median():.2f} s, "
        f"p95 {solve.quantile(0.95):.2f} s, max {solve.max():.2f} s)"
    )
    print(
        f"revenue {summary['total_revenue_eur']:,.0f} EUR "
        + ", ".join(f"{m} {v:,.0f}" for m, v in summary["revenue_by_market"].items())
        + f"; imbalance {summary['imbalance_cost_eur']:,.0f} EUR; net {summary['net_eur']:,.0f}"
    )
    statuses = result.days["status"].value_counts().to_dict()
    print(f"solver statuses: {statuses}")
    met = wall <= TARGET_S * args.days / 365
    print(f"target <= {TARGET_S:.0f} s per year: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
