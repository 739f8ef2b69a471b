"""`vpp compliance export|verify`: the auditor's export of rules, changes and bid decisions.

`export` reads the database directly (as the operator, every tenant unless ``--tenant``)
and the installed market and regulatory plugins; `verify` needs only the folder.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from trading.cli.lazy import MARKUP_MODE
from trading.cli.output import EXIT_INVALID_INPUT

compliance_app = typer.Typer(
    help="The auditor's export of rules, changes and bid decisions; verify its hashes.",
    no_args_is_help=True,
    rich_markup_mode=MARKUP_MODE,
)

EXIT_TAMPERED = 1
"""`verify`: a file does not match the manifest."""

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="database URL; default $VPP_DB_URL or the user's SQLite file"),
]


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option}={text!r} is not a date YYYY-MM-DD") from None


@compliance_app.command("export")
def export_command(
    first: Annotated[
        str, typer.Option("--from", help="first day of the period, YYYY-MM-DD (00:00 UTC)")
    ],
    last: Annotated[
        str, typer.Option("--to", help="last day of the period, YYYY-MM-DD (whole, UTC)")
    ],
    out: Annotated[Path, typer.Option("--out", help="folder to write; new or empty")],
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="one tenant only; default every tenant")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write every rule record with its provenance, every change of the period with its
    author (and approver where recorded), and every bid decision of the period with its
    plugin and rule ids, as CSV and JSON, with manifest.json holding each file's SHA-256."""
    from markets.registry import default_registry as market_registry
    from regulatory.registry import default_registry as regulatory_registry
    from trading.compliance.export import ExportError, export, period_of, sha256_of
    from trading.store import InvalidInputError, Repository, upgrade

    try:
        since, until = period_of(_day("--from", first), _day("--to", last))
        upgrade(db)
        repository = Repository.from_url(db)
        try:
            summary = export(
                repository,
                market_registry(),
                regulatory_registry(),
                since,
                until,
                out,
                tenant_id=tenant,
            )
        finally:
            repository.close()
    except (ExportError, InvalidInputError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    for name, count in summary.rows.items():
        typer.echo(f"{name}: {count} rows")
    typer.echo(f"wrote {summary.folder} (manifest {summary.manifest.name})")
    typer.echo(f"manifest sha256 {sha256_of(summary.manifest)} (keep it apart from the folder)")


@compliance_app.command("verify")
def verify_command(
    folder: Annotated[Path, typer.Argument(help="an export folder (holds manifest.json)")],
) -> None:
    """Check every file of an export against its manifest; exit 1 naming each file that
    changed, is missing or is not listed. The manifest's own SHA-256 is printed, to compare
    with the one `export` printed (a manifest rewritten with the files is caught so)."""
    from trading.compliance.export import MANIFEST, sha256_of, verify

    if not folder.is_dir():
        typer.echo(f"error: {folder} is not a folder", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    failures = verify(folder)
    if failures:
        for failure in failures:
            typer.echo(f"FAILED {failure}", err=True)
        raise typer.Exit(EXIT_TAMPERED)
    typer.echo(f"verified: every file of {folder} matches its manifest")
    typer.echo(f"manifest sha256 {sha256_of(folder / MANIFEST)}: compare with the one kept")
