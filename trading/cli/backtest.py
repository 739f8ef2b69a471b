"""`vpp backtest`: a portfolio day by day over historical prices; tables, figures, summary."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer
from rich.table import Table

from trading.backtest import (
    BacktestConfig,
    BacktestError,
    ImbalancePrices,
    read_imbalance_prices,
    run_backtest,
)
from trading.cli.optimise import extension_errors, extension_or_exit, load_prices, only_zones
from trading.cli.output import EXIT_INVALID_INPUT, console, parse_day, print_json
from trading.cli.portfolio import load_or_exit
from trading.optimiser.build import MARKET_CHOICES


def backtest_command(
    portfolio_file: Annotated[Path, typer.Option("--portfolio", help="portfolio file")],
    prices_file: Annotated[
        Path, typer.Option("--prices", help="day-ahead prices (long CSV, 15 or 60 min)")
    ],
    start: Annotated[str, typer.Option("--start", help="first delivery day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="last delivery day, YYYY-MM-DD")],
    markets: Annotated[
        str, typer.Option("--markets", help=f"comma-separated, of {', '.join(MARKET_CHOICES)}")
    ] = "day_ahead",
    intraday_file: Annotated[
        Path | None, typer.Option("--intraday-prices", help="intraday prices (long CSV)")
    ] = None,
    balancing_file: Annotated[
        Path | None, typer.Option("--balancing-prices", help="aFRR/FCR capacity prices (CSV)")
    ] = None,
    imbalance_file: Annotated[
        Path | None,
        typer.Option("--imbalance-prices", help="imbalance prices (CSV; else a named proxy)"),
    ] = None,
    forecast: Annotated[
        str, typer.Option("--forecast", help="perfect, or naive (same day last week)")
    ] = "perfect",
    out: Annotated[Path | None, typer.Option("--out", help="folder for tables and figures")] = None,
    fmt: Annotated[str, typer.Option("--format", help="tables as csv or parquet")] = "csv",
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=1.0, help="solver time limit per day [s]")
    ] = 60.0,
    zones_option: Annotated[
        str | None,
        typer.Option("--zones", help="only sites in these bidding zones (comma-separated)"),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    extend_spec: Annotated[
        str | None,
        typer.Option(
            "--extend", help="an extension in Pyomo applied to every day, module:function"
        ),
    ] = None,
) -> None:
    """Optimise each day on a forecast, clear at the actual prices, settle, carry SoC."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    chosen = tuple(m.strip() for m in markets.split(",") if m.strip())
    if fmt not in ("csv", "parquet"):
        _fail(f"--format={fmt!r} is not csv or parquet")
    try:
        config = BacktestConfig(
            parse_day(start), parse_day(end), chosen, forecast, time_limit_s=time_limit
        )
    except ValueError as exc:
        _fail(f"error: {exc}")
    portfolio = load_or_exit(portfolio_file)
    if zones_option:
        portfolio = only_zones(portfolio, {z.strip() for z in zones_option.split(",")})
    zones = {s.bidding_zone for s in portfolio.sites}
    prices = load_prices(prices_file, intraday_file, balancing_file, zones, chosen)
    imbalance = ImbalancePrices()
    if imbalance_file is not None:
        try:
            imbalance = ImbalancePrices(
                real={z: read_imbalance_prices(imbalance_file, z) for z in zones}
            )
        except (OSError, ValueError, KeyError) as exc:
            _fail(f"--imbalance-prices {imbalance_file}: {exc}")
    extend = extension_or_exit(extend_spec)
    try:
        result = run_backtest(
            portfolio, prices, config, imbalance=imbalance, progress=not json_out, extend=extend
        )
    except BacktestError as exc:
        _fail(f"error: {exc}")
    except extension_errors(extend_spec) as exc:
        _fail(f"error: {exc}")
    files: list[str] = []
    if out is not None:
        files += [str(p) for p in result.write(out, fmt)]  # type: ignore[arg-type]
        files += [str(p) for p in _figures(result, out)]
    summary = result.summary() | {"files": files}
    if json_out:
        print_json(summary)
        return
    show_summary(summary)


def _figures(result: Any, out: Path) -> list[Path]:
    from trading.backtest.report import write_figures

    return write_figures(result, out)


def _fail(message: str) -> None:
    console(stderr=True).print(message, markup=False)
    raise typer.Exit(EXIT_INVALID_INPUT)


def show_summary(summary: dict[str, Any]) -> None:
    """The headline figures and the files written."""
    out = console()
    out.print(
        f"{summary['days']} days: revenue {summary['total_revenue_eur']:,.2f} EUR, "
        f"imbalance cost {summary['imbalance_cost_eur']:,.2f} EUR, costs "
        f"{summary['costs_eur']:,.2f} EUR, net {summary['net_eur']:,.2f} EUR; "
        f"solver {summary['solver_time_s']:.1f} s",
        markup=False,
    )
    table = Table(title="Revenue by market [EUR]")
    table.add_column("market")
    table.add_column("revenue", justify="right")
    for market, revenue in summary["revenue_by_market"].items():
        table.add_row(market, f"{revenue:,.2f}")
    out.print(table)
    if summary["cycles"]:
        cycles = ", ".join(f"{a} {c:.1f}" for a, c in summary["cycles"].items())
        out.print(f"battery cycles: {cycles}", markup=False)
    for note in summary["notes"]:
        out.print(f"note: {note}", markup=False)
    for path in summary["files"]:
        out.print(f"wrote {path}", markup=False)
