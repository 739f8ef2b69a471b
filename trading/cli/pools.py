"""`vpp pools flags list|set`: feature flags per dispatcher pool, on a running server.

Acts through the API (`trading.cli.api_client`): any key of the tenant lists, an admin
key sets (with a reason, audited). The server's engine obeys a change at its pools' next
tick. A pool is a bidding zone of the tenant's stored portfolios.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from trading.cli.api_client import KeyOption, UrlOption, call
from trading.cli.lazy import MARKUP_MODE
from trading.cli.output import print_json

pools_app = typer.Typer(
    help="Dispatcher pools of a running server (vpp serve).",
    no_args_is_help=True,
    rich_markup_mode=MARKUP_MODE,
)
flags_app = typer.Typer(
    help="Feature flags per pool: list them, or set one (admin key).",
    no_args_is_help=True,
    rich_markup_mode=MARKUP_MODE,
)
pools_app.add_typer(flags_app, name="flags")

JsonOption = Annotated[bool, typer.Option("--json", help="print the API's JSON answer")]


@flags_app.command("list")
def list_flags(
    pool: Annotated[
        str | None, typer.Option("--pool", help="one pool only (a bidding zone)")
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Every flag of every pool: value in force, default, who set it, when and why."""
    path = "/v1/pools/flags" if pool is None else f"/v1/pools/{quote(pool, safe='')}/flags"
    listing = call("GET", path, url, key)
    if as_json:
        print_json(listing)
        return
    typer.echo("pool\tflag\tvalue\tdefault\tupdated_at\tupdated_by\treason")
    for item in listing["items"]:
        typer.echo(
            "\t".join(
                str(item[name] if item[name] is not None else "-")
                for name in ("pool", "flag", "value", "default", "updated_at", "updated_by")
            )
            + f"\t{item['reason'] or '-'}"
        )


@flags_app.command("set")
def set_flag(
    pool: Annotated[str, typer.Argument(help="the pool: a bidding zone, e.g. DE_LU")],
    flag: Annotated[
        str, typer.Argument(help="afrr_activation, virtual_trader or allocation_strategy")
    ],
    value: Annotated[str, typer.Argument(help="on or off; a strategy's name")],
    reason: Annotated[str, typer.Option("--reason", help="why (kept in the audit log)")],
    as_json: JsonOption = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Set one flag of one pool (admin key; audited with the old and new value)."""
    path = f"/v1/pools/{quote(pool, safe='')}/flags/{quote(flag, safe='')}"
    record = call("PUT", path, url, key, {"value": value, "reason": reason})
    if as_json:
        print_json(record)
        return
    typer.echo(
        f"pool {record['pool']}: {record['flag']} = {record['value']} "
        f"(set {record['updated_at']} by {record['updated_by'] or 'the operator'})"
    )
