"""`vpp keys create`: make an API key for a tenant (the tenant too, if it is new)."""

from __future__ import annotations

from typing import Annotated

import typer

from trading.cli.output import EXIT_INVALID_INPUT
from trading.store import InvalidInputError, Repository, Role, upgrade

keys_app = typer.Typer(help="API keys of the trading API.", no_args_is_help=True)

ROLES = ", ".join(r.value for r in Role)


@keys_app.command("create")
def create_key(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant id; created if new")],
    role: Annotated[str, typer.Option("--role", help=f"one of {ROLES}")],
    name: Annotated[str, typer.Option("--name", help="what the key is for")] = "cli",
    db: Annotated[
        str | None,
        typer.Option("--db", help="database URL; default $VPP_DB_URL or the user's SQLite file"),
    ] = None,
) -> None:
    """Print a new API key once: it is stored hashed and cannot be shown again."""
    if role not in {r.value for r in Role}:
        typer.echo(f"error: --role={role!r} is not a role; use one of {ROLES}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    try:
        upgrade(db)
        repository = Repository.from_url(db)
        try:
            if repository.get_tenant(tenant) is None:
                repository.create_tenant(tenant, tenant)
            key = repository.create_api_key(tenant, Role(role), name)
        finally:
            repository.close()
    except InvalidInputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    typer.echo(
        f"created key {key.record.id} for tenant {tenant!r}, role {role}; "
        "store it now, it is not shown again:",
        err=True,
    )
    typer.echo(key.plaintext)
