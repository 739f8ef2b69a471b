"""`vpp serve`: the traders' API with the simulated exchange, on one database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trading.api.server import DEFAULT_INTERVAL_S, serve


def serve_command(
    db: Annotated[
        str | None,
        typer.Option("--db", help="database URL; default $VPP_DB_URL or the user's SQLite file"),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port")] = 8000,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            help="folder of day_ahead.csv, intraday.csv, afrr.csv (default: the sample prices)",
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option("--clearing-interval", min=0.1, help="seconds between clearings")
    ] = DEFAULT_INTERVAL_S,
) -> None:
    """Upgrade the database, then serve the API; bids clear at their gate on the prices."""
    if prices is not None and not prices.is_dir():
        typer.echo(f"error: --prices {prices}: no such folder", err=True)
        raise typer.Exit(2)
    serve(db, host, port, prices, interval_s=interval)
