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
    run_backtest,
)
from trading.backtest.actuals import (
    ActualsError,
    FileActuals,
    TurbineLibrary,
    WeatherActuals,
    read_weather,
)
from trading.backtest.forecast_output import RenewableOutputs, output_forecast_named
from trading.backtest.result import FORMATS, ParquetUnavailableError, check_format
from trading.backtest.rule_eras import rule_era_notes, rules_cover
from trading.cli.optimise import extension_errors, extension_or_exit, load_prices, only_zones
from trading.cli.output import EXIT_INVALID_INPUT, console, parse_day, print_json
from trading.cli.portfolio import load_or_exit
from trading.optimiser.build import MARKET_CHOICES
from trading.prices.imbalance_files import read_imbalance_series


def backtest_command(
    portfolio_file: Annotated[Path, typer.Option("--portfolio", help="portfolio file")],
    prices_file: Annotated[
        Path,
        typer.Option(
            "--prices",
            help="day-ahead prices, 15 or 60 min: long CSV, ENTSO-E or SMARD export "
            "(recognised from the header)",
        ),
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
        typer.Option(
            "--imbalance-prices",
            help="imbalance prices: long CSV or ENTSO-E export (else a named proxy)",
        ),
    ] = None,
    forecast: Annotated[
        str,
        typer.Option(
            "--forecast",
            help="perfect, naive (same day last week) or seasonal (mean of the 4 previous "
            "same weekdays)",
        ),
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
    report: Annotated[
        Path | None,
        typer.Option("--report", help="write one HTML file with the summary and every figure"),
    ] = None,
    end_of_day: Annotated[
        str,
        typer.Option(
            "--end-of-day",
            help="what a battery keeps overnight: forecast (stored MWh valued at what it "
            "saves the next day), fixed (valued at --stored-value), target (end at its "
            "configured soc_initial_mwh)",
        ),
    ] = "forecast",
    stored_value: Annotated[
        float | None,
        typer.Option("--stored-value", help="--end-of-day fixed: EUR per MWh stored"),
    ] = None,
    horizon_days: Annotated[
        int,
        typer.Option(
            "--horizon-days",
            help="batteries: plan D..D+N-1 to set where D ends, commit D (1: D alone)",
        ),
    ] = 1,
    gaps: Annotated[
        str,
        typer.Option(
            "--gaps",
            help="a gap in the prices: fail (before the first day, naming every gap), "
            "interpolate, previous-day or skip-day",
        ),
    ] = "fail",
    weather_file: Annotated[
        Path | None,
        typer.Option(
            "--weather",
            help="weather year (CSV like ../shared/data/weather_dwd_2015_15min.csv): PV and "
            "wind settled on output modelled from it, planned on --output-forecast",
        ),
    ] = None,
    turbine_curves: Annotated[
        Path | None,
        typer.Option(
            "--turbine-curves",
            help="wind turbine power curves (default: wind_turbine_power_curves.csv beside "
            "--weather)",
        ),
    ] = None,
    turbine_types: Annotated[
        Path | None,
        typer.Option(
            "--turbine-types",
            help="wind turbine types (default: wind_turbine_types.csv beside --weather)",
        ),
    ] = None,
    actual_output: Annotated[
        Path | None,
        typer.Option(
            "--actual-output",
            help="measured PV/wind output instead of --weather (CSV: timestamp_utc, asset_id, "
            "available_mw)",
        ),
    ] = None,
    output_forecast: Annotated[
        str,
        typer.Option(
            "--output-forecast", help="PV/wind output forecast: noisy, persistence or perfect"
        ),
    ] = "noisy",
    forecast_seed: Annotated[
        int, typer.Option("--forecast-seed", help="seed of the noisy output forecast")
    ] = 0,
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
    if fmt not in FORMATS:
        _fail(f"--format={fmt!r} is not csv or parquet")
    try:
        check_format(fmt)
    except ParquetUnavailableError as exc:
        _fail(f"--format={fmt}: {exc}")
    try:
        config = BacktestConfig(
            parse_day(start),
            parse_day(end),
            chosen,
            forecast,
            time_limit_s=time_limit,
            **end_of_day_fields(end_of_day, stored_value),
            horizon_days=horizon_days,
            gaps=gaps,
        )
    except ValueError as exc:
        _fail(f"error: {exc}")
    portfolio = load_or_exit(portfolio_file)
    if zones_option:
        portfolio = only_zones(portfolio, {z.strip() for z in zones_option.split(",")})
    zones = {s.bidding_zone for s in portfolio.sites}
    countries = {s.country for s in portfolio.sites}
    uncovered = rules_cover(countries, config.start, config.end)
    if uncovered is not None:
        _fail(f"error: {uncovered}")
    input_notes: list[str] = []
    prices = load_prices(prices_file, intraday_file, balancing_file, zones, chosen, input_notes)
    input_notes += rule_era_notes(countries, chosen, config.start, config.end)
    imbalance = ImbalancePrices()
    if imbalance_file is not None:
        try:
            imbalance = ImbalancePrices(
                real={z: read_imbalance_series(imbalance_file, z) for z in zones}
            )
        except (OSError, ValueError, KeyError) as exc:
            _fail(f"--imbalance-prices {imbalance_file}: {exc}")
    renewables = load_renewables(
        weather_file, turbine_curves, turbine_types, actual_output, output_forecast, forecast_seed
    )
    extend = extension_or_exit(extend_spec)
    try:
        result = run_backtest(
            portfolio,
            prices,
            config,
            imbalance=imbalance,
            progress=not json_out,
            notes=input_notes,
            renewables=renewables,
            extend=extend,
        )
    except (BacktestError, ActualsError) as exc:
        _fail(f"error: {exc}")
    except extension_errors(extend_spec) as exc:
        _fail(f"error: {exc}")
    files: list[str] = []
    if out is not None:
        files += [str(p) for p in result.write(out, fmt)]  # type: ignore[arg-type]
        files += [str(p) for p in _figures(result, out)]
    if report is not None:
        from trading.backtest.html_report import write_html_report

        try:
            files.append(str(write_html_report(result, report)))
        except OSError as exc:
            _fail(f"--report {report}: {exc}")
    summary = result.summary() | {"files": files}
    if json_out:
        print_json(summary)
        return
    show_summary(summary)


def load_renewables(
    weather: Path | None,
    curves: Path | None,
    types: Path | None,
    actual: Path | None,
    forecast: str,
    seed: int,
) -> RenewableOutputs | None:
    """PV and wind actual output (from `weather` or the `actual` file) with the named output
    forecast; None when neither file is given. Exit 2 naming a bad file or option."""
    if weather is None and actual is None:
        return None
    if weather is not None and actual is not None:
        _fail("--weather and --actual-output: give one source of actual PV/wind output")
    try:
        model = output_forecast_named(forecast, seed)
        if actual is not None:
            return RenewableOutputs(FileActuals.read(actual), model)
        assert weather is not None
        curves = curves or weather.parent / "wind_turbine_power_curves.csv"
        types = types or weather.parent / "wind_turbine_types.csv"
        library = TurbineLibrary.read(curves, types) if curves.exists() and types.exists() else None
        return RenewableOutputs(WeatherActuals(read_weather(weather), library), model)
    except FileNotFoundError as exc:
        _fail(f"{exc.filename}: no such file")
    except ValueError as exc:
        _fail(f"error: {exc}")
    return None  # pragma: no cover - _fail exits


def _figures(result: Any, out: Path) -> list[Path]:
    from trading.backtest.report import write_figures

    return write_figures(result, out)


END_OF_DAY = ("forecast", "fixed", "target")


def end_of_day_fields(choice: str, stored_value: float | None) -> dict[str, Any]:
    """`BacktestConfig` fields of ``--end-of-day`` and ``--stored-value``; ValueError
    naming the option, the value and the rule."""
    if choice not in END_OF_DAY:
        raise ValueError(f"--end-of-day={choice!r}: choose from {', '.join(END_OF_DAY)}")
    if choice == "fixed":
        if stored_value is None:
            raise ValueError("--end-of-day=fixed needs --stored-value (EUR per MWh stored)")
        return {"end_soc": "value", "soc_value_eur_per_mwh": stored_value}
    if stored_value is not None:
        raise ValueError(
            f"--stored-value={stored_value:g} is only used with --end-of-day=fixed, not {choice!r}"
        )
    return {"end_soc": "value" if choice == "forecast" else "target"}


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
    if summary.get("costs_by_kind"):
        costs = ", ".join(f"{k} {v:,.2f}" for k, v in summary["costs_by_kind"].items())
        out.print(f"costs by kind [EUR]: {costs}", markup=False)
    if summary.get("rejected_bids"):
        out.print(
            f"rejected: {summary['rejected_bids']} products (rejected table: the reasons)",
            markup=False,
        )
    if summary["cycles"]:
        cycles = ", ".join(f"{a} {c:.1f}" for a, c in summary["cycles"].items())
        out.print(f"battery cycles: {cycles}", markup=False)
    for note in summary["notes"]:
        out.print(f"note: {note}", markup=False)
    for path in summary["files"]:
        out.print(f"wrote {path}", markup=False)
