"""`vpp dispatch assets`: the tenant's assets as the running server's dispatcher sees them.

Acts through the API (`GET /v1/dispatch/assets`, any key of the tenant): per asset its
pool, state, last measured power [MW, + injection], that reading's age [s of the engine's
clock] and whether it may still count as delivery.
"""

from __future__ import annotations

from typing import Annotated

import typer

from trading.cli.api_client import KeyOption, UrlOption, call
from trading.cli.lazy import MARKUP_MODE
from trading.cli.output import print_json

dispatch_app = typer.Typer(
    help="The dispatcher of a running server (vpp serve).",
    no_args_is_help=True,
    rich_markup_mode=MARKUP_MODE,
)


@dispatch_app.command("assets")
def assets(
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON answer")] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Per asset: pool, state, last measured MW and its age [s], fresh or stale."""
    found = call("GET", "/v1/dispatch/assets", url, key)
    if as_json:
        print_json(found)
        return
    if not found["running"]:
        typer.echo(f"the engine does not run for this tenant: {found['reason']}")
        return
    typer.echo("asset\tpool\tkind\tstate\tlast_mw\tage_s\tfresh")
    for item in found["assets"]:
        last = "-" if item["last_mw"] is None else f"{item['last_mw']:.3f}"
        age = "-" if item["age_s"] is None else f"{item['age_s']:.1f}"
        typer.echo(
            f"{item['asset_id']}\t{item['pool']}\t{item['kind']}\t{item['state']}\t"
            f"{last}\t{age}\t{'fresh' if item['fresh'] else 'stale'}"
        )
