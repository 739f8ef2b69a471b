"""`vpp portfolio ...`: validate, show and describe portfolio files."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from regulatory import Portfolio, ProblemsError, read_portfolio
from regulatory.assets import AssetBase, Battery, EVFleet
from regulatory.assets.base import out_of_service_cause
from regulatory.schema import portfolio_json_schema_text
from regulatory.site import Site
from regulatory.treatment import Treatment
from trading.cli.lazy import MARKUP_MODE
from trading.cli.output import EXIT_INVALID_INPUT, console, parse_day, print_json

portfolio_app = typer.Typer(
    help="Validate and inspect portfolio files.", no_args_is_help=True, rich_markup_mode=MARKUP_MODE
)

FileArg = Annotated[Path, typer.Argument(help="portfolio file (.yaml, .yml or .json)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]
OnOpt = Annotated[
    str | None,
    typer.Option("--on", help="day the treatment applies to, YYYY-MM-DD (default today, UTC)"),
]


def load_or_exit(path: Path, as_json: bool = False) -> Portfolio:
    """Load a portfolio; on any problem print all of them and exit with code 2."""
    try:
        return read_portfolio(path)
    except FileNotFoundError:
        _fail([f"{path}: no such file"], as_json, [])
    except IsADirectoryError:
        _fail([f"{path}: is a directory, not a portfolio file"], as_json, [])
    except UnicodeDecodeError as exc:
        _fail([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"], as_json, [])
    except ProblemsError as exc:
        _fail(
            [str(p) for p in exc.problems],
            as_json,
            [p.as_dict() for p in exc.problems],
            header=f"{path}: {len(exc.problems)} problem(s)",
        )


def _fail(
    lines: list[str], as_json: bool, items: list[dict[str, Any]], header: str | None = None
) -> NoReturn:
    """Print the problems (as JSON `items`, or `lines` when empty) and exit with code 2."""
    if as_json:
        print_json({"valid": False, "problems": items or [{"message": m} for m in lines]})
    else:
        out = console()
        if header:
            out.print(header, markup=False)
        for line in lines:
            out.print(f"  {line}" if header else line, markup=False)
    raise typer.Exit(EXIT_INVALID_INPUT)


@portfolio_app.command("validate")
def validate(path: FileArg, as_json: JsonOpt = False) -> None:
    """Check a portfolio file; list every problem at once (exit 2) or confirm it (exit 0)."""
    portfolio = load_or_exit(path, as_json)
    countries = sorted({s.country for s in portfolio.sites})
    if as_json:
        print_json(
            {
                "valid": True,
                "portfolio": portfolio.id,
                "sites": len(portfolio.sites),
                "assets": len(portfolio.assets),
                "countries": countries,
                "problems": [],
            }
        )
        return
    console().print(
        f"{path}: valid portfolio {portfolio.id!r}: {len(portfolio.assets)} assets on "
        f"{len(portfolio.sites)} sites in {', '.join(countries)}",
        markup=False,
    )


@portfolio_app.command("show")
def show(path: FileArg, as_json: JsonOpt = False, on: OnOpt = None) -> None:
    """List each asset with its kind, site, ratings and the treatment in force on `--on`."""
    day = parse_day(on)
    portfolio = load_or_exit(path, as_json)
    rows = treatments_or_exit(portfolio, day, as_json)
    if as_json:
        print_json(portfolio_report(portfolio, rows, day))
        return
    out = console()
    out.print(treatment_table(rows, title=f"{portfolio.id}: treatments on {day}"))
    note = out_of_service_line(portfolio, day)
    if note:
        out.print(note, markup=False)


def out_of_service_line(portfolio: Portfolio, day: date) -> str | None:
    """One sentence naming the assets out of service on `day` and why; None if there are none."""
    assets = [a for a in portfolio.assets if not a.in_service(day)]
    if not assets:
        return None
    named = ", ".join(f"{a.id} ({service_cause(a, day)})" for a in assets)
    return f"Not in service on {day} (not traded or dispatched that day): {named}"


def service_cause(asset: AssetBase, day: date) -> str | None:
    """``commissioned 2027-02-01`` / ``decommissioned 2026-01-01`` when `asset` is out of
    service on `day`; None when it is in service."""
    return out_of_service_cause(day, asset.commissioning_date, asset.decommissioning_date)


def treatments_or_exit(
    portfolio: Portfolio, day: date, as_json: bool = False
) -> list[tuple[AssetBase, Site, Treatment]]:
    """Every asset's treatment on `day`; exit 2 naming the country with no rules then."""
    try:
        return portfolio.treatments(day)
    except LookupError as exc:  # NoRuleSetError, UnknownCountryError
        _fail([f"--on {day}: {exc}"], as_json, [])


@portfolio_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of portfolio files."""
    typer.echo(portfolio_json_schema_text(), nl=False)


def ratings(asset: AssetBase) -> dict[str, float]:
    """Headline physical figures of an asset [MW, MWh]; negative injection = withdrawal."""
    low, high = asset.injection_bounds_mw()
    figures = {"injection_min_mw": low, "injection_max_mw": high}
    if isinstance(asset, Battery | EVFleet):
        figures["energy_mwh"] = asset.energy_mwh
    return figures


def portfolio_report(
    portfolio: Portfolio, rows: list[tuple[AssetBase, Site, Treatment]], day: date
) -> dict[str, Any]:
    """JSON-ready report: every asset with its service dates, site, ratings and treatment
    on `day`, and the assets out of service that day (id -> why)."""
    return {
        "portfolio": portfolio.id,
        "tenant": portfolio.tenant,
        "on": day.isoformat(),
        "out_of_service": portfolio.out_of_service(day),
        "assets": [
            {
                "id": asset.id,
                "kind": asset.kind,
                **service_report(asset, day),
                "site": site.model_dump(mode="json", exclude_none=True),
                "ratings": ratings(asset),
                "treatment": treatment.model_dump(mode="json"),
            }
            for asset, site, treatment in rows
        ],
    }


def service_report(asset: AssetBase, day: date) -> dict[str, Any]:
    """The asset's service dates and whether it is in service on `day`, as JSON fields."""
    end = asset.decommissioning_date
    return {
        "commissioning_date": asset.commissioning_date.isoformat(),
        "decommissioning_date": end.isoformat() if end is not None else None,
        "in_service": asset.in_service(day),
        "service_note": asset.service_note(day),
    }


def treatment_table(rows: list[tuple[AssetBase, Site, Treatment]], title: str) -> Table:
    """A table with one asset per row and its treatment in short; an asset out of service
    on the treatment's day is marked with the date that rules it out."""
    table = Table(title=title, title_justify="left")
    table.add_column("asset", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("site (zone, control area)", overflow="fold")
    table.add_column("MW min..max", no_wrap=True)
    table.add_column("rules", no_wrap=True)
    table.add_column("balancing MW", overflow="fold")
    table.add_column("support at negative prices", overflow="fold")
    table.add_column("charging EUR/MWh", overflow="fold")
    table.add_column("DR baseline", overflow="fold")
    table.add_column("uncertain", justify="right")
    for asset, site, treatment in rows:
        low, high = asset.injection_bounds_mw()
        table.add_row(
            _asset_cell(asset, treatment.on),
            asset.kind,
            f"{site.id} ({site.bidding_zone}, {site.control_area})",
            f"{low:g}..{high:g}",
            f"{treatment.country} {treatment.rule_set_version}",
            balancing_summary(treatment),
            support_summary(treatment),
            charging_summary(asset, treatment),
            treatment.baseline_method or "-",
            str(len(treatment.uncertain)),
        )
    return table


def _asset_cell(asset: AssetBase, day: date) -> str:
    """The asset id, marked when the asset is out of service on `day`."""
    cause = service_cause(asset, day)
    return asset.id if cause is None else f"{asset.id}\nnot in service:\n{cause}"


def balancing_summary(treatment: Treatment) -> str:
    """``fcr 5, afrr_pos 10`` and, grouped by reason, the products the asset may not offer."""
    parts = [
        f"{item.product.value} {item.prequalified_mw:g}" + (" (pool)" if item.pool_only else "")
        for item in treatment.balancing
        if item.eligible
    ]
    refused: dict[str, list[str]] = {}
    for item in treatment.balancing:
        if not item.eligible:
            refused.setdefault(item.reason, []).append(item.product.value)
    parts += [f"{', '.join(products)} no: {reason}" for reason, products in refused.items()]
    return "; ".join(parts) or "-"


def support_summary(treatment: Treatment) -> str:
    """Short text of the support rule at negative prices."""
    if treatment.support is None:
        return treatment.support_note or "-"
    rule = treatment.support.negative_prices
    if rule.kind == "consecutive_hours":
        text = f"lost after {rule.hours:g} h < 0"
    else:
        text = {
            "not_affected": "paid anyway",
            "every_period": "lost each period < 0",
            "non_positive_period": "lost each period <= 0",
        }[rule.kind]
    return f"{treatment.support.scheme}: {text}"


def charging_summary(asset: AssetBase, treatment: Treatment) -> str:
    """Per-MWh charges on withdrawal, with exemptions and unknown site tariffs marked."""
    if not asset.withdraws_energy:
        return "-"
    exempt = [c.name.split(" (")[0] for c in treatment.charges if c.exempt]
    unknown = [
        c
        for c in treatment.charges
        if not c.exempt and c.eur_per_mwh is None and c.unit == "EUR/MWh"
    ]
    text = f"{treatment.charging_cost_eur_per_mwh:g}"
    if exempt:
        text += f" ({len(exempt)} exempt)"
    if unknown:
        text += f" + {len(unknown)} unknown"
    return text
