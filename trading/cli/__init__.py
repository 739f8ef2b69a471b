"""The `vpp` command line: one entry point, one sub-app per area."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import ClassVar

import typer

from trading.cli.lazy import MARKUP_MODE, LazyCommand, LazyGroup


class _VppGroup(LazyGroup):
    """The commands of `vpp`, in the order ``vpp --help`` lists them."""

    lazy_commands: ClassVar[dict[str, LazyCommand]] = {
        "optimise": LazyCommand(
            "trading.cli.optimise:optimise_command",
            "Co-optimise one delivery day; print bids, revenue by market and solver figures.",
        ),
        "demo": LazyCommand(
            "trading.cli.demo:demo",
            "Run the demo on the sample portfolio: each asset's treatment, and twins compared.",
        ),
        "serve": LazyCommand(
            "trading.cli.serve:serve_command",
            "Upgrade the database, then serve the API; bids clear at their gate on the prices.",
        ),
        "simulate": LazyCommand(
            "trading.cli.simulate:simulate_command",
            "Dispatch a simulated fleet following its schedule and an aFRR signal; print KPIs.",
        ),
        "backtest": LazyCommand(
            "trading.cli.backtest:backtest_command",
            "Optimise each day on a forecast, clear at the actual prices, settle, carry SoC.",
        ),
        "portfolio": LazyCommand(
            "trading.cli.portfolio:portfolio_app", "Validate and inspect portfolio files."
        ),
        "markets": LazyCommand(
            "trading.cli.markets:markets_app",
            "Market rule plugins: products, bid validation and conformance.",
        ),
        "keys": LazyCommand("trading.cli.keys:keys_app", "API keys of the trading API."),
        "limits": LazyCommand(
            "trading.cli.limits:limits_app", "Per-tenant risk limits of bid submission."
        ),
        "plan": LazyCommand(
            "trading.cli.plan:plan_app", "Check plans against the rules every plan obeys."
        ),
        "compliance": LazyCommand(
            "trading.cli.compliance:compliance_app",
            "The auditor's export of rules, changes and bid decisions; verify its hashes.",
        ),
        "cluster": LazyCommand(
            "trading.cli.cluster:cluster_app",
            "The dispatcher on a Ray cluster: start a local one, look at partitions and nodes; "
            "roll the partitions on a simulated day.",
        ),
        "devices": LazyCommand(
            "trading.cli.devices:devices_app", "Look at field devices (Modbus TCP)."
        ),
        "pools": LazyCommand(
            "trading.cli.pools:pools_app", "Dispatcher pools of a running server (vpp serve)."
        ),
        "dispatch": LazyCommand(
            "trading.cli.dispatch_assets:dispatch_app",
            "The dispatcher of a running server (vpp serve).",
        ),
        "tso": LazyCommand(
            "trading.cli.tso:tso_app",
            "A simulated TSO for a pool's IEC 104 station (vpp serve --tso iec104).",
        ),
        "desk": LazyCommand(
            "trading.cli.desk:desk_app",
            "The desk's view of a running server (vpp serve): positions, schedule, delivery, "
            "settlement.",
        ),
    }


app = typer.Typer(
    name="vpp",
    help="vpp-engine: trade and dispatch a multi-country virtual power plant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=MARKUP_MODE,
    cls=_VppGroup,
)


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
