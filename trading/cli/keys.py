"""`vpp keys create|list|revoke|rotate`: the API keys of a tenant, on the database directly.

These act as the engine itself (the operator at the database), for any tenant; the admin
routes under ``/v1/admin/keys`` do the same for an admin key's own tenant. A running
server notices a key revoked here within a second (its key cache forgets keys after 1 s);
its writes refuse the key at once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from trading.cli.lazy import MARKUP_MODE
from trading.cli.output import EXIT_INVALID_INPUT
from trading.store import InvalidInputError, NotFoundError, Repository, Role, upgrade

keys_app = typer.Typer(
    help="API keys of the trading API.", no_args_is_help=True, rich_markup_mode=MARKUP_MODE
)

ROLES = ", ".join(r.value for r in Role)

_RELATIVE = re.compile(r"^\+?(?P<count>\d+)(?P<unit>[mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="database URL; default $VPP_DB_URL or the user's SQLite file"),
]
TenantOption = Annotated[str, typer.Option("--tenant", help="tenant id")]
ExpiresOption = Annotated[
    str | None,
    typer.Option(
        "--expires",
        help="when the key stops working: an ISO 8601 instant with its offset "
        "(2027-01-01T00:00Z) or a time from now (90d, 12h, 30m, 2w); default never",
    ),
]


def parse_expiry(text: str | None, now: datetime | None = None) -> datetime | None:
    """The instant `text` names (see ``--expires``); `typer.BadParameter` if it names none."""
    if text is None:
        return None
    now = now or datetime.now(UTC)
    relative = _RELATIVE.fullmatch(text.strip())
    if relative is not None:
        count = int(relative["count"])
        if count == 0:
            raise typer.BadParameter(f"--expires={text!r}: must lie in the future")
        return now + timedelta(**{_UNITS[relative["unit"]]: count})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise typer.BadParameter(
            f"--expires={text!r}: give an ISO 8601 instant with its offset "
            "(2027-01-01T00:00Z) or a time from now such as 90d, 12h, 30m"
        )
    return moment.astimezone(UTC)


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(EXIT_INVALID_INPUT)


def _show_key(plaintext: str, key_id: str, tenant: str, role: str, expires: datetime | None):
    until = f", expires {expires.isoformat()}" if expires is not None else ""
    typer.echo(
        f"created key {key_id} for tenant {tenant!r}, role {role}{until}; "
        "store it now, it is not shown again:",
        err=True,
    )
    typer.echo(plaintext)


@keys_app.command("create")
def create_key(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant id; created if new")],
    role: Annotated[str, typer.Option("--role", help=f"one of {ROLES}")],
    name: Annotated[str, typer.Option("--name", help="what the key is for")] = "cli",
    expires: ExpiresOption = None,
    db: DbOption = None,
) -> None:
    """Print a new API key once: it is stored hashed and cannot be shown again."""
    if role not in {r.value for r in Role}:
        typer.echo(f"error: --role={role!r} is not a role; use one of {ROLES}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    expires_at = parse_expiry(expires)
    try:
        upgrade(db)
        repository = Repository.from_url(db)
        try:
            if repository.get_tenant(tenant) is None:
                repository.create_tenant(tenant, tenant)
            key = repository.create_api_key(tenant, Role(role), name, expires_at=expires_at)
        finally:
            repository.close()
    except InvalidInputError as exc:
        raise _fail(exc) from None
    _show_key(key.plaintext, key.record.id, tenant, role, key.record.expires_at)


@keys_app.command("list")
def list_keys(tenant: TenantOption, db: DbOption = None) -> None:
    """The tenant's keys, one a line: id, role, state, name, created, expires (never secrets)."""
    upgrade(db)
    repository = Repository.from_url(db)
    try:
        records = repository.list_api_keys(tenant)
    finally:
        repository.close()
    now = datetime.now(UTC)
    typer.echo("id\trole\tstate\tname\tcreated_at\texpires_at")
    for key in records:
        state = (
            "revoked" if key.revoked_at is not None else "expired" if key.expired(now) else "active"
        )
        expires = key.expires_at.isoformat() if key.expires_at is not None else "-"
        typer.echo(
            f"{key.id}\t{key.role.value}\t{state}\t{key.name}\t"
            f"{key.created_at.isoformat()}\t{expires}"
        )


@keys_app.command("revoke")
def revoke_key(
    tenant: TenantOption,
    key_id: Annotated[str, typer.Argument(help="the key's id (kxxxxxxxxxxxxxxxx)")],
    db: DbOption = None,
) -> None:
    """Revoke a key: writes refuse it at once, a running server's reads within 1 s."""
    upgrade(db)
    repository = Repository.from_url(db)
    try:
        record = repository.revoke_api_key(tenant, key_id)
    except (InvalidInputError, NotFoundError) as exc:
        raise _fail(exc) from None
    finally:
        repository.close()
    assert record.revoked_at is not None
    typer.echo(f"revoked key {record.id} of tenant {tenant!r} at {record.revoked_at.isoformat()}")


@keys_app.command("rotate")
def rotate_key(
    tenant: TenantOption,
    key_id: Annotated[str, typer.Argument(help="the key to replace")],
    expires: ExpiresOption = None,
    grace: Annotated[
        float,
        typer.Option(
            "--grace", min=0, help="seconds the old key keeps working [s]; 0: revoked at once"
        ),
    ] = 0.0,
    db: DbOption = None,
) -> None:
    """Print a successor of a key (same role and name) once; the old key stops working."""
    expires_at = parse_expiry(expires)
    upgrade(db)
    repository = Repository.from_url(db)
    try:
        key = repository.rotate_api_key(tenant, key_id, expires_at=expires_at, grace_s=grace)
    except (InvalidInputError, NotFoundError) as exc:
        raise _fail(exc) from None
    finally:
        repository.close()
    _show_key(key.plaintext, key.record.id, tenant, key.record.role.value, key.record.expires_at)
