"""`vpp demo`: the main job on the embedded defaults.

It loads the sample portfolio and shows each asset's regulatory treatment, how the same
physical asset is treated in different countries, what each country's markets offer for the
next delivery day (and which assets may take part), and bids checked against the market
rules. Later parts (optimiser, dispatcher) add their steps here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from regulatory import Portfolio
from regulatory.assets import AssetBase
from trading.cli.demo_dispatch import show_dispatch
from trading.cli.demo_markets import show_markets
from trading.cli.optimise import availability, load_prices, show_plan
from trading.cli.output import console, parse_day
from trading.cli.portfolio import (
    balancing_summary,
    charging_summary,
    load_or_exit,
    out_of_service_line,
    support_summary,
    treatment_table,
    treatments_or_exit,
)
from trading.optimiser.build import OptimiserOptions
from trading.optimiser.inputs import Horizon
from trading.optimiser.plan import Plan, optimise
from trading.optimiser.solver import SolverOptions
from trading.samples import SAMPLE_PRICE_DAY, sample_portfolio_path, sample_prices_dir


def demo(
    on: Annotated[
        str | None, typer.Option("--on", help="day to show, YYYY-MM-DD (default today, UTC)")
    ] = None,
) -> None:
    """Run the demo on the sample portfolio: each asset's treatment, and twins compared."""
    day = parse_day(on)
    path = sample_portfolio_path()
    portfolio = load_or_exit(path)
    out = console()
    countries = sorted({s.country for s in portfolio.sites})
    out.print(
        f"vpp demo: portfolio {portfolio.id!r} from {path}\n"
        f"{len(portfolio.assets)} assets on {len(portfolio.sites)} sites in "
        f"{', '.join(countries)}; regulatory treatment on {day}",
        markup=False,
    )
    rows = treatments_or_exit(portfolio, day)
    out.print(treatment_table(rows, title="Assets and their treatment"))
    say_out_of_service(out, portfolio, day)
    for twins in physical_twins(portfolio):
        out.print(twin_table(portfolio, twins, day))
    show_markets(out, portfolio, {asset.id: treatment for asset, _, treatment in rows}, day)
    plan = show_optimisation(out, portfolio)
    show_dispatch(out, portfolio, plan)


def say_out_of_service(out: Console, portfolio: Portfolio, day: date) -> None:
    """Print which sample assets are not in service on `day` and why, if any."""
    line = out_of_service_line(portfolio, day)
    if line:
        out.print(line, markup=False)


def physical_twins(portfolio: Portfolio) -> list[list[AssetBase]]:
    """Groups of assets with identical physics placed in more than one country."""
    groups: dict[str, list[AssetBase]] = defaultdict(list)
    for asset in portfolio.assets:
        signature = asset.model_dump_json(exclude={"id", "name", "site"})
        groups[signature].append(asset)
    return [
        group for group in groups.values() if len({portfolio.site_of(a).country for a in group}) > 1
    ]


def twin_table(portfolio: Portfolio, twins: list[AssetBase], day: date) -> Table:
    """The same physical asset side by side in each country it sits in."""
    first = twins[0]
    table = Table(
        title=f"Same {first.kind}, different countries: {', '.join(a.id for a in twins)}",
        title_justify="left",
    )
    table.add_column("")
    treatments = [portfolio.treatment(a, day) for a in twins]
    for asset, treatment in zip(twins, treatments, strict=True):
        table.add_column(f"{asset.id} ({treatment.country})", overflow="fold")
    rows = {
        "rule set": [
            f"{t.country} {t.rule_set_version} (from {t.rule_set_valid_from})" for t in treatments
        ],
        "balancing (MW)": [balancing_summary(t) for t in treatments],
        "pooling": [
            ", ".join(sorted({f"{b.pooling.value}={b.pool_key}" for b in t.balancing})) or "-"
            for t in treatments
        ],
        "charges on withdrawal": [
            "; ".join(f"{c.name}: {'exempt' if c.exempt else c.reason}" for c in t.charges) or "-"
            for t in treatments
        ],
        "charging EUR/MWh": [
            charging_summary(a, t) for a, t in zip(twins, treatments, strict=True)
        ],
        "support": [support_summary(t) for t in treatments],
        "uncertain facts": [str(len(t.uncertain)) for t in treatments],
    }
    for label, cells in rows.items():
        table.add_row(label, *cells)
    return table


def show_optimisation(out: Console, portfolio: Portfolio) -> Plan:
    """Co-optimise a day of the sample prices: day-ahead, aFRR and FCR capacity, then
    intraday."""
    folder = sample_prices_dir()
    day = date.fromisoformat(SAMPLE_PRICE_DAY)
    zones = {s.bidding_zone for s in portfolio.sites}
    prices = load_prices(
        folder / "day_ahead.csv", folder / "intraday.csv", folder / "afrr.csv", zones
    )
    out.print(f"\nOptimising delivery {day} on the project's generated sample prices ({folder}):")
    say_out_of_service(out, portfolio, day)
    in_service = portfolio.in_service(day)
    profiles, note = availability(in_service, Horizon.of(day), None)
    plan = optimise(
        in_service,
        day,
        prices,
        profiles=profiles,
        options=OptimiserOptions(
            markets=("day_ahead", "afrr_capacity", "fcr_capacity", "intraday"),
            solver=SolverOptions(time_limit_s=60),
        ),
    )
    show_plan(plan, portfolio, note)
    return plan
