"""The `vpp` command line: one entry point, one sub-app per area."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import typer

from trading.cli.backtest import backtest_command
from trading.cli.demo import demo
from trading.cli.devices import devices_app
from trading.cli.keys import keys_app
from trading.cli.limits import limits_app
from trading.cli.markets import markets_app
from trading.cli.optimise import optimise_command
from trading.cli.plan import plan_app
from trading.cli.portfolio import portfolio_app
from trading.cli.serve import serve_command
from trading.cli.simulate import simulate_command

app = typer.Typer(
    name="vpp",
    help="vpp-engine: trade and dispatch a multi-country virtual power plant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(portfolio_app, name="portfolio")
app.add_typer(markets_app, name="markets")
app.add_typer(keys_app, name="keys")
app.add_typer(limits_app, name="limits")
app.add_typer(plan_app, name="plan")
app.add_typer(devices_app, name="devices")
app.command("optimise")(optimise_command)
app.command("demo")(demo)
app.command("serve")(serve_command)
app.command("simulate")(simulate_command)
app.command("backtest")(backtest_command)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(version("vpp-engine"))
        except PackageNotFoundError:
            typer.echo("vpp-engine (not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """vpp-engine command line."""


def main() -> None:
    """Console-script entry point."""
    app()
