"""`vpp devices probe HOST:PORT`: identity, SunSpec models and the register map a device gets.

Exit codes: 0 a map fits, 1 the device answered but no map fits (the reason is printed),
2 unreachable or bad input (address, option, a broken map file).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from dispatch.device import DeviceError, MapMismatchError
from dispatch.protocols.discovery import ProbeReport, probe_device
from dispatch.protocols.mapsources import ENV_VAR, discover
from dispatch.protocols.registermap import RegisterMapError
from trading.cli.lazy import MARKUP_MODE
from trading.cli.output import EXIT_INVALID_INPUT, EXIT_OK, print_json

EXIT_NO_MAP = 1
"""`vpp devices probe`: the device answered, but no register map fits it."""

MODBUS_TCP_PORT = 502

devices_app = typer.Typer(
    help="Look at field devices (Modbus TCP).", no_args_is_help=True, rich_markup_mode=MARKUP_MODE
)


def parse_address(text: str) -> tuple[str, int]:
    """'HOST:PORT', 'HOST' (port 502) or '[IPv6]:PORT' -> (host, port); ValueError if bad."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":") if rest else ""
        if rest and not rest.startswith(":"):
            raise ValueError(f"{text!r}: expected [IPv6]:PORT")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"{text!r}: no host")
    if not port_text:
        return host, MODBUS_TCP_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{text!r}: port must be a number in 1..65535")
    return host, int(port_text)


def _print_text(report: ProbeReport) -> None:
    data = report.as_dict()
    identity = data["identity"]
    typer.echo(f"device    {data['device']} unit {data['unit']}")
    typer.echo(f"vendor    {identity['vendor'] or '-'}")
    typer.echo(f"model     {identity['model'] or '-'}")
    typer.echo(f"serial    {identity['serial'] or '-'}")
    parsed = identity["firmware_parsed"] or "no version in it"
    typer.echo(f"firmware  {identity['firmware'] or '-'} (read as {parsed})")
    if data["sunspec"] is None:
        typer.echo("identity  Modbus Read Device Identification (FC43/14); no SunSpec marker")
    else:
        chain = ", ".join(f"{m['id']} (L={m['length']})" for m in data["sunspec"]["models"])
        typer.echo(f"sunspec   'SunS' at {data['sunspec']['base']}; models {chain}")
    if data["map"] is None:
        typer.echo(f"map       none fits: {data['no_map']}")
    else:
        chosen = data["map"]
        typer.echo(f"map       {chosen['id']} (firmware {chosen['firmware_range']})")
        typer.echo(f"from      {chosen['origin']}")


@devices_app.command("probe")
def probe_command(
    address: Annotated[str, typer.Argument(help="HOST:PORT of the Modbus TCP device")],
    unit: Annotated[
        int, typer.Option("--unit", min=0, max=255, help="Modbus unit id (slave id)")
    ] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
    maps: Annotated[
        list[Path] | None,
        typer.Option(
            "--maps",
            help=f"a directory of extra register maps (repeatable; also ${ENV_VAR})",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.05, help="deadline per request [s]")
    ] = 2.0,
) -> None:
    """Connect, print identity, SunSpec base and models, and the register map chosen."""
    try:
        host, port = parse_address(address)
    except ValueError as exc:
        typer.echo(f"error: address {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    try:
        candidates = discover(extra_dirs=maps or [])
    except RegisterMapError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    try:
        report = asyncio.run(probe_device(host, port, unit, timeout, candidates))
    except MapMismatchError as exc:  # answered, but no SunSpec and no FC43 identity
        typer.echo(f"error: {host}:{port} unit {unit}: {exc.reason}", err=True)
        raise typer.Exit(EXIT_NO_MAP) from None
    except DeviceError as exc:
        typer.echo(f"error: {host}:{port} unit {unit}: {exc.reason}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    if json_out:
        print_json(report.as_dict())
    else:
        _print_text(report)
    if report.register_map is None:
        if not json_out:
            typer.echo("no register map fits this device", err=True)
        raise typer.Exit(EXIT_NO_MAP)
    raise typer.Exit(EXIT_OK)
