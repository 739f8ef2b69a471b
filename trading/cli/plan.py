"""`vpp plan check`: every rule of docs/plan-rules.md against a plan's JSON.

Exit codes: 0 the plan obeys every rule; 1 violations were found (listed as a table, or as
JSON with ``--json``); 2 the portfolio or the plan cannot be read (the message names the
file, the field and the value).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from trading.cli.lazy import MARKUP_MODE
from trading.cli.output import EXIT_INVALID_INPUT, EXIT_OK, console, print_json
from trading.cli.portfolio import load_or_exit
from trading.optimiser.check import PlanFormatError, Violation, check_plan
from trading.optimiser.check.plan_input import load_plan_file

EXIT_VIOLATIONS = 1
"""`vpp plan check`: the plan breaks at least one rule."""

plan_app = typer.Typer(
    help="Check plans against the rules every plan obeys.",
    no_args_is_help=True,
    rich_markup_mode=MARKUP_MODE,
)

PortfolioOpt = Annotated[
    Path, typer.Option("--portfolio", help="portfolio file (.yaml, .yml or .json)")
]
PlanOpt = Annotated[Path, typer.Option("--plan", help="plan file, JSON of format vpp-plan/2")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]


@plan_app.command("check")
def check(portfolio: PortfolioOpt, plan: PlanOpt, as_json: JsonOpt = False) -> None:
    """Check a plan against every rule of docs/plan-rules.md (exit 1 if it breaks any).

    The rules are re-derived from the portfolio file and the plan's JSON alone; each
    violation is listed with its rule, asset or subject, quarter hour and amount.
    """
    folio = load_or_exit(portfolio, as_json)
    try:
        data = load_plan_file(plan)
        violations = check_plan(folio, data)
    except PlanFormatError as exc:
        _unreadable(exc if exc.file else exc.in_file(plan), as_json)
    plan_id = data.get("plan_id")
    if as_json:
        print_json(_report(plan_id, folio.id, violations))
    else:
        _print_table(plan_id, plan, violations)
    raise typer.Exit(EXIT_VIOLATIONS if violations else EXIT_OK)


def _unreadable(error: PlanFormatError, as_json: bool) -> NoReturn:
    """Name the file, field and value that cannot be read; exit 2."""
    if as_json:
        print_json({"valid": False, "error": error.as_dict()})
    else:
        console(stderr=True).print(str(error), markup=False)
    raise typer.Exit(EXIT_INVALID_INPUT)


def _report(plan_id: object, portfolio_id: str, violations: list[Violation]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for violation in violations:
        counts[violation.rule] = counts.get(violation.rule, 0) + 1
    return {
        "plan": plan_id,
        "portfolio": portfolio_id,
        "valid": not violations,
        "counts": counts,
        "violations": [v.as_dict() for v in violations],
    }


def _print_table(plan_id: object, path: Path, violations: list[Violation]) -> None:
    out = console()
    if not violations:
        out.print(f"{path}: plan {plan_id}: no violation of any rule", markup=False)
        return
    table = Table(title=f"{path}: plan {plan_id}: {len(violations)} violation(s)")
    table.title_justify = "left"
    table.add_column("rule", no_wrap=True)
    table.add_column("asset or subject", overflow="fold")
    table.add_column("quarter hour (UTC)", no_wrap=True)
    table.add_column("amount", justify="right", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for v in violations:
        when = v.quarter_hour or "day"
        if v.until:
            when = f"{when} .. {v.until}"
        table.add_row(v.rule, v.asset_or_subject, when, f"{v.amount:.6g} {v.unit}", v.detail)
    out.print(table)
