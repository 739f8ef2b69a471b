"""`vpp limits list|set|clear`: a tenant's risk limits, on the database directly.

The operator acts as the engine itself (audited without a key); an admin key does the
same for its own tenant under ``/v1/admin/limits``. A running server applies a change
within a second (it reads each tenant's limits at most once a second).
"""

from __future__ import annotations

from typing import Annotated

import typer

from trading.cli.lazy import MARKUP_MODE
from trading.cli.output import EXIT_INVALID_INPUT
from trading.store import Actor, InvalidInputError, NotFoundError, Repository, upgrade
from trading.store.vocabulary import RiskLimitKind

limits_app = typer.Typer(
    help="Per-tenant risk limits of bid submission.",
    no_args_is_help=True,
    rich_markup_mode=MARKUP_MODE,
)

KINDS = ", ".join(k.value for k in RiskLimitKind)
UNITS = {
    RiskLimitKind.MAX_BID_MW: "MW",
    RiskLimitKind.MAX_NET_POSITION_MW: "MW",
    RiskLimitKind.MAX_NOTIONAL_EUR_PER_DAY: "EUR",
}

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="database URL; default $VPP_DB_URL or the user's SQLite file"),
]
TenantOption = Annotated[str, typer.Option("--tenant", help="tenant id")]


def _kind(text: str) -> RiskLimitKind:
    try:
        return RiskLimitKind(text)
    except ValueError:
        typer.echo(f"error: kind={text!r} is not a limit; use one of {KINDS}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None


@limits_app.command("list")
def list_limits(tenant: TenantOption, db: DbOption = None) -> None:
    """The tenant's limits, one a line: kind, value, unit, updated_at, updated_by."""
    upgrade(db)
    repository = Repository.from_url(db)
    try:
        records = repository.list_risk_limits(tenant)
    finally:
        repository.close()
    typer.echo("kind\tvalue\tunit\tupdated_at\tupdated_by")
    for limit in records:
        by = limit.updated_by or "engine"
        typer.echo(
            f"{limit.kind.value}\t{limit.value:g}\t{UNITS[limit.kind]}\t"
            f"{limit.updated_at.isoformat()}\t{by}"
        )


@limits_app.command("set")
def set_limit(
    tenant: TenantOption,
    kind: Annotated[str, typer.Argument(help=f"one of {KINDS}")],
    value: Annotated[float, typer.Argument(help="the limit, in the unit its kind names (MW, EUR)")],
    db: DbOption = None,
) -> None:
    """Set one limit of the tenant (audited with the old and new value)."""
    wanted = _kind(kind)
    upgrade(db)
    repository = Repository.from_url(db)
    try:
        record = repository.set_risk_limit(Actor.system(tenant), wanted, value)
    except (InvalidInputError, NotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    finally:
        repository.close()
    typer.echo(f"tenant {tenant!r}: {record.kind.value} = {record.value:g} {UNITS[record.kind]}")


@limits_app.command("clear")
def clear_limit(
    tenant: TenantOption,
    kind: Annotated[str, typer.Argument(help=f"one of {KINDS}")],
    db: DbOption = None,
) -> None:
    """Remove one limit of the tenant (audited); exit 2 if it had none."""
    wanted = _kind(kind)
    upgrade(db)
    repository = Repository.from_url(db)
    try:
        removed = repository.clear_risk_limit(Actor.system(tenant), wanted)
    finally:
        repository.close()
    if not removed:
        typer.echo(f"error: tenant {tenant!r} has no {wanted.value} limit", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    typer.echo(f"tenant {tenant!r}: {wanted.value} removed")
