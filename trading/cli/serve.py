"""`vpp serve`: the traders' API with the simulated exchange, on one database."""

from __future__ import annotations

import copy
import functools
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import structlog
import typer

from trading.api.server import DEFAULT_INTERVAL_S, serve
from trading.cli.output import EXIT_INVALID_INPUT
from trading.exchange.clock import Clock, ScaledClock

if TYPE_CHECKING:
    from dispatch.cluster.ray_serve import RayCluster
    from trading.engine.tso import TsoLink


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
        float, typer.Option("--clearing-interval", min=0.1, help="time between clearings [s]")
    ] = DEFAULT_INTERVAL_S,
    clock_start: Annotated[
        str | None,
        typer.Option(
            "--clock-start",
            help="simulated time: start the server's clock at this instant "
            "(ISO 8601 with offset, e.g. 2026-06-14T09:55:00Z) instead of now",
        ),
    ] = None,
    clock_speed: Annotated[
        float,
        typer.Option(
            "--clock-speed", min=0.001, help="with --clock-start: simulated seconds per real one"
        ),
    ] = 1.0,
    no_engine: Annotated[
        bool,
        typer.Option(
            "--no-engine",
            help="serve the API and the exchange only: no dispatch, metering or settlement",
        ),
    ] = False,
    engine_tick: Annotated[
        float,
        typer.Option(
            "--engine-tick",
            min=0.1,
            max=60.0,
            help="the engine's dispatcher tick [simulated s]; coarser for a fast --clock-speed",
        ),
    ] = 1.0,
    fleet_file: Annotated[
        Path | None,
        typer.Option(
            "--fleet",
            help="fleet file (YAML): the Modbus devices of one portfolio (asset id, host, "
            "port, unit id); its engine dispatches them instead of the embedded simulated "
            "fleet, delivered = measured (docs/engine.md, 'Running against real devices')",
        ),
    ] = None,
    tso: Annotated[
        str | None,
        typer.Option(
            "--tso",
            help="where the engine's aFRR activation comes from: loopback (the real German "
            "activation pattern on the band sold) or iec104 (each pool an IEC 104 station "
            "the TSO connects to; needs vpp-engine[iec104]); default $VPP_TSO or loopback",
        ),
    ] = None,
    tso_host: Annotated[
        str | None,
        typer.Option(
            "--tso-host", help="with --tso iec104: interface to listen on (default $VPP_TSO_HOST)"
        ),
    ] = None,
    tso_port: Annotated[
        int | None,
        typer.Option(
            "--tso-port",
            min=1,
            max=65535,
            help="with --tso iec104: port of the first pool's station; the next pools take "
            "the ports after it (default $VPP_TSO_PORT or 2404)",
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="join the Ray cluster at ADDRESS (ray start --head, vpp cluster up): the "
            "engine's pools run there as partitions, each owned through a lease in --db, "
            "which every node must reach (docs/scale.md); needs vpp-engine[cluster]",
        ),
    ] = None,
    partitions: Annotated[
        int,
        typer.Option(
            "--partitions", min=1, help="with --cluster: partitions per pool (bidding zone)"
        ),
    ] = 2,
) -> None:
    """Upgrade the database, then serve the API; bids clear at their gate on the prices.

    The engine runs beside it (unless --no-engine): every tenant's stored portfolio is an
    embedded simulated fleet that follows the schedule of its cleared positions, metered
    and settled per ISP on the server's clock (`docs/engine.md`)."""
    plain_tracebacks()
    if prices is not None and not prices.is_dir():
        typer.echo(f"error: --prices {prices}: no such folder", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    clock: Clock | None = None
    if clock_start is not None:
        try:
            start = datetime.fromisoformat(clock_start.replace("Z", "+00:00"))
        except ValueError:
            start = None
        if start is None or start.utcoffset() is None:
            typer.echo(
                f"error: --clock-start={clock_start!r} is not an ISO 8601 instant with an "
                "offset (e.g. 2026-06-14T09:55:00Z)",
                err=True,
            )
            raise typer.Exit(EXIT_INVALID_INPUT)
        clock = ScaledClock(start, clock_speed)
    elif clock_speed != 1.0:
        typer.echo("error: --clock-speed needs --clock-start", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    fleet = None
    if fleet_file is not None:
        if no_engine:
            typer.echo(
                "error: --fleet: the engine dispatches the fleet; not with --no-engine", err=True
            )
            raise typer.Exit(EXIT_INVALID_INPUT)
        from dispatch.fleet_file import FleetFileError, load_fleet

        try:
            fleet = load_fleet(fleet_file)
        except FleetFileError as exc:
            typer.echo(f"error: --fleet: {exc}", err=True)
            raise typer.Exit(EXIT_INVALID_INPUT) from None
    if cluster is not None:  # before the TSO's link is built (it may need an extra)
        _check_cluster(no_engine, fleet, tso not in (None, "loopback"))
    link = _tso_link(tso, tso_host, tso_port, no_engine)
    runner = None
    if cluster is not None:
        _check_cluster(no_engine, fleet, link is not None)  # $VPP_TSO too
        runner = _join_cluster(cluster, db, partitions)
    try:
        serve(
            db,
            host,
            port,
            prices,
            interval_s=interval,
            clock=clock,
            engine=not no_engine,
            clock_speed=clock_speed,
            engine_tick_s=engine_tick,
            fleet=fleet,
            tso=link,
            cluster=runner,
        )
    finally:
        if runner is not None:
            runner.close()


def _check_cluster(no_engine: bool, fleet: object, tso: bool) -> None:
    """Exit 2 naming the option if ``--cluster`` goes with one it does not support yet."""
    problem = None
    if no_engine:
        problem = "the engine's pools run on the cluster; not with --no-engine"
    elif fleet is not None:
        problem = "the partitions dispatch the embedded simulated fleet; not with --fleet"
    elif tso:
        problem = "the TSO's stations attach to in-process pools; not with --tso iec104"
    if problem is not None:
        typer.echo(f"error: --cluster: {problem}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)


def _join_cluster(address: str, db: str | None, partitions: int) -> RayCluster:
    """Upgrade the database (its lease table), join the Ray cluster at `address`; exits 2
    saying what to install if Ray is not."""
    try:
        from dispatch.cluster.ray_serve import RayCluster
    except ImportError:
        from trading.cli.cluster import NO_RAY

        typer.echo(NO_RAY, err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    from trading.cli.cluster import open_leases
    from trading.store import upgrade
    from trading.store.engine import database_url

    url = database_url(db).render_as_string(hide_password=False)
    upgrade(url)
    runner = RayCluster(address, functools.partial(open_leases, url), partitions=partitions)
    nodes = runner.connect()
    typer.echo(f"cluster {address}: {len(nodes)} node(s) alive", err=True)
    return runner


def _tso_link(
    kind: str | None, host: str | None, port: int | None, no_engine: bool
) -> TsoLink | None:
    """The TSO's link from the options, else the settings (`VppSettings`: ``VPP_TSO``,
    ``VPP_TSO_HOST``, ``VPP_TSO_PORT``); exits naming the option and the rule on a bad one."""
    from trading.engine.tso import TSO_KINDS, load_tso_link
    from trading.settings import VppSettings

    try:
        settings = VppSettings.from_environ()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    kind = kind if kind is not None else settings.tso
    if kind not in TSO_KINDS:
        typer.echo(f"error: --tso={kind!r} must be one of {', '.join(TSO_KINDS)}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    if kind != "loopback" and no_engine:
        typer.echo(
            f"error: --tso {kind}: the engine's pools take the TSO's setpoints; not "
            "with --no-engine",
            err=True,
        )
        raise typer.Exit(EXIT_INVALID_INPUT)
    try:
        return load_tso_link(
            kind,
            host if host is not None else settings.tso_host,
            port if port is not None else settings.tso_port,
        )
    except ValueError as exc:
        typer.echo(f"error: --tso: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None


def plain_tracebacks() -> None:
    """The server's events keep structlog's console format, but an exception's traceback is
    written as Python prints it, not laid out by rich: rendering one rich traceback of a
    failed submission took 3-6 s at load 14, holding the interpreter lock, and so stalled
    every request the server was answering.

    The renderer is a copy of structlog's own (its colours, its columns): structlog's default
    instance is shared by the whole process and outlives `structlog.reset_defaults()`."""
    processors = list(structlog.get_config()["processors"])
    renderer = processors[-1]
    if isinstance(renderer, structlog.dev.ConsoleRenderer):
        plain = copy.copy(renderer)
        plain.exception_formatter = structlog.dev.plain_traceback
        structlog.configure(processors=[*processors[:-1], plain])
