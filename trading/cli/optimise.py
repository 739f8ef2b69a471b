"""`vpp optimise`: one delivery day of a portfolio, co-optimised over the chosen markets."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from regulatory import Portfolio
from trading.cli.output import EXIT_INVALID_INPUT, console, parse_day, print_json
from trading.cli.portfolio import load_or_exit
from trading.optimiser.build import MARKET_CHOICES, InputError, OptimiserOptions
from trading.optimiser.diagnose import InfeasibleError
from trading.optimiser.inputs import (
    Horizon,
    MissingPriceError,
    MissingProfileError,
    PriceInputs,
    Profiles,
)
from trading.optimiser.plan import NoPlanInTimeError, Plan, optimise
from trading.optimiser.plan_json import plan_record
from trading.optimiser.profiles import ProfileFileError, proxy_profiles, read_profiles
from trading.optimiser.solver import SolverOptions
from trading.prices import PriceDataError
from trading.prices.coverage import PriceGapError, check_coverage
from trading.prices.inputs import read_price_inputs

EXIT_INFEASIBLE = 3
"""`vpp optimise`: the inputs admit no plan (the diagnosis is printed)."""
EXIT_NO_PLAN_IN_TIME = 4
"""`vpp optimise`: no plan was found within the time limit (none was proven impossible)."""

NEEDS = {
    "day_ahead": "--prices (day-ahead prices, long CSV: timestamp_utc, zone, price_eur_mwh)",
    "intraday": "--intraday-prices (long CSV like --prices)",
    "afrr_capacity": "--balancing-prices (aFRR capacity prices per direction)",
    "fcr_capacity": "--balancing-prices with a fcr_capacity_price_eur_mw column "
    "(FCR capacity, EUR/MW per 4-hour block)",
}


def _fail(message: str, code: int = EXIT_INVALID_INPUT) -> NoReturn:
    console(stderr=True).print(message)
    raise typer.Exit(code)


def load_prices(
    day_ahead: Path | None,
    intraday: Path | None,
    balancing: Path | None,
    zones: set[str],
    markets: tuple[str, ...] = (),
    notes: list[str] | None = None,
) -> PriceInputs:
    """Read the price files given (`read_price_inputs`, any layout it recognises); exit 2
    naming a bad file. `notes` receives what was read how."""
    try:
        return read_price_inputs(day_ahead, intraday, balancing, zones, markets, notes)
    except PriceDataError as exc:
        _fail(str(exc))
    except FileNotFoundError as exc:
        _fail(f"{exc.filename}: no such file")


def optimise_command(
    portfolio_file: Annotated[Path, typer.Option("--portfolio", help="portfolio file")],
    day: Annotated[str, typer.Option("--day", help="delivery day, YYYY-MM-DD")],
    prices_file: Annotated[
        Path | None,
        typer.Option(
            "--prices", help="day-ahead prices: long CSV, ENTSO-E or SMARD export (by header)"
        ),
    ] = None,
    balancing_file: Annotated[
        Path | None,
        typer.Option("--balancing-prices", help="aFRR capacity and energy prices (CSV)"),
    ] = None,
    intraday_file: Annotated[
        Path | None, typer.Option("--intraday-prices", help="intraday prices (long CSV)")
    ] = None,
    markets: Annotated[
        str, typer.Option("--markets", help=f"comma-separated, of {','.join(MARKET_CHOICES)}")
    ] = "day_ahead",
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, help="solver time limit [s]")
    ] = 60.0,
    gap: Annotated[float, typer.Option("--gap", min=0.0, max=1.0, help="relative MIP gap")] = 0.005,
    zones_option: Annotated[
        str | None,
        typer.Option("--zones", help="only sites in these bidding zones (comma-separated)"),
    ] = None,
    profiles_file: Annotated[
        Path | None,
        typer.Option(
            "--profiles",
            help="pv/wind available power forecast (CSV: timestamp_utc, asset_id, available_mw)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    gaps: Annotated[
        str,
        typer.Option(
            "--gaps",
            help="a gap in the day's prices: fail (naming every gap), interpolate or previous-day",
        ),
    ] = "fail",
    extend_spec: Annotated[
        str | None,
        typer.Option(
            "--extend",
            help="an extension in Pyomo, module:function or file.py:function "
            "(trading.optimiser.extension)",
        ),
    ] = None,
) -> None:
    """Co-optimise one delivery day; print bids, revenue by market and solver figures."""
    delivery = parse_day(day)
    chosen = tuple(m.strip() for m in markets.split(",") if m.strip())
    unknown = [m for m in chosen if m not in MARKET_CHOICES]
    if unknown or not chosen:
        _fail(f"--markets={markets!r}: choose from {', '.join(MARKET_CHOICES)}")
    files = {
        "day_ahead": prices_file,
        "intraday": intraday_file,
        "afrr_capacity": balancing_file,
        "fcr_capacity": balancing_file,
    }
    missing = [m for m in chosen if files.get(m) is None]
    if missing:
        _fail("; ".join(f"--markets {m} needs {NEEDS[m]}" for m in missing))
    portfolio = load_or_exit(portfolio_file, as_json)
    if zones_option:
        portfolio = only_zones(portfolio, {z.strip() for z in zones_option.split(",")})
    zones = {s.bidding_zone for s in portfolio.sites}
    prices = load_prices(prices_file, intraday_file, balancing_file, zones, chosen)
    prices, gap_note = fill_gaps(prices, delivery, chosen, gaps)
    options = OptimiserOptions(
        markets=chosen, solver=SolverOptions(time_limit_s=time_limit, mip_gap=gap)
    )
    profiles, note = availability(portfolio, Horizon.of(delivery), profiles_file)
    extend = extension_or_exit(extend_spec)
    try:
        plan = optimise(
            portfolio, delivery, prices, profiles=profiles, options=options, extend=extend
        )
    except (MissingPriceError, MissingProfileError, InputError) as exc:
        _fail(str(exc))
    except InfeasibleError as exc:
        _fail(str(exc), EXIT_INFEASIBLE)
    except NoPlanInTimeError as exc:
        _fail(str(exc), EXIT_NO_PLAN_IN_TIME)
    except extension_errors(extend_spec) as exc:
        _fail(str(exc))
    notes = [n for n in (note, gap_note) if n]
    if as_json:
        print_json(plan_record(plan, notes))
        return
    show_plan(plan, portfolio, "; ".join(notes) or None)


def fill_gaps(
    prices: PriceInputs, delivery: date, markets: tuple[str, ...], policy: str
) -> tuple[PriceInputs, str | None]:
    """The day's prices with gaps handled by `policy` (`check_coverage`), and a note saying
    what was filled (None where the day was complete); exit 2 naming every gap otherwise."""
    if policy not in ("fail", "interpolate", "previous-day"):
        _fail(f"--gaps={policy!r}: choose fail, interpolate or previous-day (one day cannot skip)")
    try:
        filled, report = check_coverage(prices, [delivery], markets, policy)
    except PriceGapError as exc:
        _fail(f"error: {exc}")
    return filled, (report.note() if report.gaps else None)


def extension_errors(spec: str | None) -> tuple[type[Exception], ...]:
    """What an extension may raise (nothing to catch without one: pyomo stays unloaded)."""
    if spec is None:
        return ()
    from trading.optimiser.extension import ExtensionError

    return (ExtensionError,)


def extension_or_exit(spec: str | None) -> Any:
    """The extension `--extend` names (None without one); exit 2 naming what is wrong.
    Errors the extension raises while it runs are reported the same way."""
    if spec is None:
        return None
    from trading.optimiser.extension import ExtensionError, load_extension

    try:
        extension = load_extension(spec)
    except ExtensionError as exc:
        _fail(str(exc))

    def guarded(model: Any, view: Any) -> None:
        try:
            extension(model, view)
        except ExtensionError:
            raise
        except Exception as exc:  # the analyst's code: report it, do not crash
            raise ExtensionError(f"--extend={spec}: {type(exc).__name__}: {exc}") from exc

    return guarded


def availability(
    portfolio: Portfolio, horizon: Horizon, path: Path | None
) -> tuple[Profiles, str | None]:
    """pv/wind profiles from the forecast file where it has them, the proxy elsewhere, and
    a note naming the assets on the proxy (None if there are none)."""
    proxy = proxy_profiles(portfolio, horizon)
    forecast = Profiles()
    if path is not None:
        try:
            forecast = read_profiles(path)
        except FileNotFoundError:
            _fail(f"--profiles {path}: no such file")
        except ProfileFileError as exc:
            _fail(str(exc))
    on_proxy = sorted(set(proxy.available_mw) - set(forecast.available_mw))
    merged = Profiles(
        {**proxy.available_mw, **forecast.available_mw},
        sources={**proxy.sources, **dict.fromkeys(forecast.available_mw, "forecast")},
    )
    if not on_proxy:
        return merged, None
    return merged, (
        "pv/wind availability is a clear-sky / constant proxy (no forecast given) for "
        + ", ".join(on_proxy)
    )


def only_zones(portfolio: Portfolio, zones: set[str]) -> Portfolio:
    """The part of `portfolio` whose sites are in `zones`; exit 2 if that is nothing."""
    sites = tuple(s for s in portfolio.sites if s.bidding_zone in zones)
    if not sites:
        known = ", ".join(sorted({s.bidding_zone for s in portfolio.sites}))
        _fail(
            f"--zones={','.join(sorted(zones))}: no site of {portfolio.id} there (zones: {known})"
        )
    ids = {s.id for s in sites}
    assets = tuple(a for a in portfolio.assets if a.site in ids)
    return portfolio.model_copy(update={"sites": sites, "assets": assets})


def show_plan(plan: Plan, portfolio: Portfolio, note: str | None = None) -> None:
    """Print the plan: revenue by market, costs by kind, bids per market, solver figures."""
    out = console()
    out.print(
        f"plan {plan.plan_id} for {portfolio.id}, delivery {plan.day}: expected net "
        f"{plan.objective_eur:,.2f} EUR = revenue {plan.revenue_eur:,.2f} - costs "
        f"{plan.costs_eur:,.2f}"
    )
    if note:
        out.print(f"note: {note}")
    for line in plan.notes:
        out.print(f"note: {line}")
    out.print(accounts_table(plan))
    bids = Table(
        title=f"{len(plan.bids)} bids, each valid under its market's rules", title_justify="left"
    )
    for column in ("market", "bids", "sold MW (sum)", "bought MW (sum)", "first product"):
        bids.add_column(column)
    groups: dict[str, list[Any]] = {}
    for bid in plan.bids:
        groups.setdefault(bid.product_id.split(":")[1], []).append(bid)  # type: ignore[union-attr]
    for market, items in groups.items():
        volumes = [getattr(b, "volume_mw", None) or getattr(b, "capacity_mw", 0.0) for b in items]
        bids.add_row(
            market,
            str(len(items)),
            f"{sum(v for v in volumes if v > 0):,.1f}",
            f"{-sum(v for v in volumes if v < 0):,.1f}",
            items[0].product_id,  # type: ignore[union-attr]
        )
    out.print(bids)
    if plan.residual_mwh:
        missed = ", ".join(f"{z} {mwh:+.3f} MWh" for z, mwh in plan.residual_mwh.items())
        out.print(f"residual below one volume step, planned as imbalance: {missed}")
    s = plan.solver
    out.print(
        f"solver: {s.status}, gap {_gap(s.gap)} of the plan with whole-step bids against a "
        f"proven bound of {_eur(s.bound_eur)} EUR; {s.variables} variables "
        f"({s.integer_variables} integer), {s.constraints} constraints, build {s.build_s:.2f} s, "
        f"solve {s.solve_s:.2f} s: {s.parts} independent parts, {s.highs_calls} HiGHS call(s)"
    )


def accounts_table(plan: Plan) -> Table:
    """Revenue by market and costs by kind, adding up to the plan's net [EUR]."""
    table = Table(title="Expected revenue and costs [EUR]", title_justify="left")
    table.add_column("")
    table.add_column("EUR", justify="right")
    for market, eur in plan.revenue_by_market.items():
        table.add_row(f"revenue: {market}", f"{eur:,.2f}")
    for kind, eur in plan.costs_by_kind.items():
        table.add_row(f"cost: {kind}", f"-{eur:,.2f}")
    table.add_row("net", f"{plan.objective_eur:,.2f}", style="bold")
    return table


def _gap(gap: float | None) -> str:
    return "unknown" if gap is None else f"{gap:.4%}"


def _eur(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.2f}"
