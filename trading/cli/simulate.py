"""`vpp simulate`: the real-time dispatcher against simulated devices, and its KPIs."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer
from rich.table import Table

from dispatch.metrics_server import METRICS_PORT_ENV, MetricsPortError, metrics_endpoint
from dispatch.simulation import FaultSpecError, SimulationOptions, parse_faults, run_simulation
from trading.cli.output import EXIT_INVALID_INPUT, console, print_json

FAULT_HELP = (
    "KIND:AMOUNT@TIMEs,... e.g. trip:0.3@20s,ack_no_exec:1@0s; kinds: trip, silence "
    "(alias outage), ack_no_exec, partial, slow_ramp, stuck, fake_meter, firmware, "
    "firmware_inplace; AMOUNT a share (0.3), a percentage (100%) or a count (5), optionally "
    "of one kind of asset (firmware:15/chp@20s); TIME from 0"
)


def simulate_command(
    assets: Annotated[int, typer.Option("--assets", min=1, help="simulated assets")] = 20,
    modbus: Annotated[
        bool,
        typer.Option(
            "--modbus",
            help="devices are Modbus TCP servers on loopback; with --day: the portfolio's "
            "assets as plant-scale simulators driven through the Modbus client (needs --speed)",
        ),
    ] = False,
    duration: Annotated[
        float, typer.Option("--duration", min=1.0, help="simulated seconds")
    ] = 60.0,
    speed: Annotated[
        float | None,
        typer.Option(
            "--speed",
            min=0.01,
            help="in process: simulated seconds per real one (default: as fast as it "
            "computes); Modbus devices run in real time",
        ),
    ] = None,
    faults: Annotated[
        str | None,
        typer.Option(
            "--faults",
            help=FAULT_HELP,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="random seed of fleet, signal, faults")] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="print every event as a JSON line on stderr")
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            envvar=METRICS_PORT_ENV,
            help="serve Prometheus /metrics on 127.0.0.1:PORT while dispatching (0: any "
            "free port; the URL is printed on stderr)",
        ),
    ] = None,
    day: Annotated[
        str | None,
        typer.Option(
            "--day",
            help="run the whole loop for this delivery day (YYYY-MM-DD): virtual trader, "
            "exchange, schedule builder, dispatcher, metering and settlement "
            "(trading.engine; docs/engine.md)",
        ),
    ] = None,
    portfolio: Annotated[
        Path | None,
        typer.Option("--portfolio", help="with --day: portfolio file (default: the sample)"),
    ] = None,
    tick: Annotated[
        float | None,
        typer.Option(
            "--tick",
            min=0.1,
            max=60.0,
            help="with --day: the dispatcher's tick [s] (default: 5 s on the virtual clock, "
            "speed / 48 and at least 1 s on a scaled one); a scaled clock the machine cannot "
            "keep up with misses ticks and reads, and assets then look lost",
        ),
    ] = None,
    hours: Annotated[
        float | None,
        typer.Option(
            "--hours",
            help="with --day: deliver only the first HOURS of the day (whole quarter hours; "
            "a short run): the report and the imbalance cover those ISPs, revenue and "
            "planned costs stay the whole day's",
        ),
    ] = None,
    tso: Annotated[
        str,
        typer.Option(
            "--tso",
            help="with --day: where the aFRR activation comes from: loopback (in process, "
            "the default) or iec104 (a simulated TSO over IEC 60870-5-104 to each pool's "
            "station; needs --speed and the extra vpp-engine[iec104])",
        ),
    ] = "loopback",
    flag: Annotated[
        list[str] | None,
        typer.Option(
            "--flag",
            help="with --day: set a pool flag during the day, POOL:FLAG=VALUE@TIME (TIME in "
            "seconds or hours of the day), e.g. NL:afrr_activation=off@1h; repeatable",
        ),
    ] = None,
    baseline: Annotated[
        bool,
        typer.Option(
            "--baseline/--no-baseline",
            help="with --day and --faults: also run the day without the intraday correction "
            "and print both imbalances (default: on)",
        ),
    ] = True,
    rows: Annotated[
        bool,
        typer.Option(
            "--rows",
            help="with --day --json: include the settled rows per zone and ISP (isp_rows)",
        ),
    ] = False,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            help="with --day: folder of day_ahead.csv, intraday.csv, afrr.csv (default: "
            "the sample prices)",
        ),
    ] = None,
    partitions: Annotated[
        int | None,
        typer.Option(
            "--partitions",
            min=1,
            help="with --cluster: split the fleet into this many partitions, each a Ray "
            "actor holding a lease (docs/scale.md)",
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="run the partitions on Ray: 'local' (a two-node cluster on this machine) "
            "or a cluster's ADDRESS; needs the extra vpp-engine[cluster]",
        ),
    ] = None,
    kill_node: Annotated[
        str | None,
        typer.Option(
            "--kill-node",
            help="with --cluster local: remove the worker node at this second (60s)",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="with --cluster: database URL of the partition leases"),
    ] = None,
) -> None:
    """Dispatch a simulated fleet following its schedule and an aFRR signal; print KPIs.
    With --day: run the engine's whole loop for one delivery day."""
    if day is not None:
        configure_events(verbose)
        from trading.cli.simulate_day import simulate_day

        simulate_day(
            day,
            portfolio,
            prices,
            speed,
            faults,
            seed,
            json_out,
            tick,
            modbus,
            hours,
            tso=tso,
            flags=flag,
            baseline=baseline,
            rows=rows,
        )
        return
    if tso != "loopback" or flag or rows or not baseline:
        typer.echo("error: --tso, --flag, --rows and --no-baseline go with --day", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    if cluster is not None or partitions is not None or kill_node is not None:
        if faults:
            typer.echo(
                f"error: --faults {faults!r}: not with --cluster (a partitioned run injects "
                "no device faults; its fault is --kill-node)",
                err=True,
            )
            raise typer.Exit(EXIT_INVALID_INPUT)
        run_partitioned(
            assets, partitions, cluster, kill_node, duration, seed, db, json_out, metrics_port
        )
        return
    if hours is not None:
        typer.echo(f"error: --hours={hours:g}: goes with --day", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    if portfolio is not None or prices is not None:
        typer.echo("error: --portfolio and --prices go with --day", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    try:
        specs = parse_faults(faults)
    except FaultSpecError as exc:
        typer.echo(f"error: --faults: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    if modbus and speed not in (None, 1.0):
        typer.echo("error: --speed: Modbus devices run in real time; leave --speed out", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    configure_events(verbose)
    options = SimulationOptions(assets=assets, duration_s=duration, faults=specs, seed=seed)
    try:
        with metrics_endpoint(metrics_port):
            if modbus:
                from dispatch.modbus_fleet import run_modbus_simulation

                report = run_modbus_simulation(options)
            else:
                report = run_simulation(options, speed=speed)
    except MetricsPortError as exc:  # raised only when the endpoint starts
        typer.echo(f"error: --metrics-port: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    if json_out:
        print_json(report)
        return
    show_report(report)


def run_partitioned(
    assets: int,
    partitions: int | None,
    cluster: str | None,
    kill_node: str | None,
    duration: float,
    seed: int,
    db: str | None,
    json_out: bool,
    metrics_port: int | None = None,
) -> None:
    """`vpp simulate --partitions P --cluster local|ADDRESS [--kill-node AT]`; with
    --metrics-port, one /metrics for every partition (partition and node labels)."""
    if cluster is None or partitions is None:
        typer.echo("error: --partitions and --cluster go together", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    kill_at = None
    if kill_node is not None:
        text = kill_node.removesuffix("s")
        try:
            kill_at = float(text)
        except ValueError:
            kill_at = -1.0
        if not 0 < kill_at < duration:
            typer.echo(
                f"error: --kill-node: {kill_node!r} must be a second within the run "
                f"(0 < AT < {duration:g}), e.g. 60s",
                err=True,
            )
            raise typer.Exit(EXIT_INVALID_INPUT)
        if cluster != "local":
            typer.echo("error: --kill-node: only with --cluster local", err=True)
            raise typer.Exit(EXIT_INVALID_INPUT)
    if partitions > assets:
        typer.echo(f"error: --partitions: {partitions} is more than --assets {assets}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    from trading.cli.cluster import simulate_on_cluster

    configure_events(False)
    report = simulate_on_cluster(
        assets, partitions, cluster, kill_at, duration, seed, db, metrics_port
    )
    if json_out:
        print_json(report)
        return
    out = console()
    for owner in report["owners"]:
        out.print(str(owner), markup=False)
    out.print(f"losses: {report['losses']}", markup=False)
    out.print(f"truth: {report['truth']}", markup=False)
    out.print(f"double_commands: {report['double_commands']}", markup=False)


def configure_events(verbose: bool) -> None:
    """Events as JSON lines on stderr (every one with `verbose`, else errors only), so that
    one incident can be followed by its dispatch id, asset, product and protocol."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.DEBUG if verbose else logging.ERROR
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def show_report(report: dict[str, Any]) -> None:
    """The KPIs as a few lines (both views, latencies) and a table of faults per kind."""
    out = console()
    ticks, tracking, truth = report["ticks"], report["tracking"], report.get("truth")
    out.print(
        f"{report['assets']} assets, {report['duration_s']:g} s: "
        f"{ticks['count']} ticks, compute p50 {ticks['p50_ms']:.2f} ms, p99 "
        f"{ticks['p99_ms']:.2f} ms, max {ticks['max_ms']:.2f} ms, {ticks['missed']} missed",
        markup=False,
    )
    for name, label in (
        ("setpoint_to_ack", "setpoint to acknowledgement"),
        ("setpoint_to_execution", "setpoint to execution"),
        ("telemetry_age", "age of the telemetry a tick used"),
    ):
        entry = report["latency"][name]
        text = (
            f"p50 {entry['p50_ms']:.0f} ms, p99 {entry['p99_ms']:.0f} ms, max "
            f"{entry['max_ms']:.0f} ms ({entry['count']})"
            if entry["count"]
            else "none"
        )
        out.print(f"{label}: {text}", markup=False)
    out.print(
        f"tracking (what the controller measured): RMS {tracking['rms_mw']:.3f} MW, max "
        f"{tracking['max_abs_mw']:.3f} MW, {tracking['isp_deviation_pct']:.2f} % of scheduled "
        f"energy per 15-min period; unknown assets at the end {tracking['unknown_assets']['last']}"
        f" (max {tracking['unknown_assets']['max']})",
        markup=False,
    )
    if truth is not None:
        verdict = "within" if truth["met"] else "OUT OF"
        out.print(
            f"truth (what the fleet physically did): RMS {truth['rms_mw']:.3f} MW, max "
            f"{truth['max_abs_mw']:.3f} MW, {truth['isp_deviation_pct']:.2f} % per 15-min "
            f"period: {verdict} tolerance {truth['tolerance_mw']:.3f} MW",
            markup=False,
        )
    out.print(
        f"{report['commands_per_s']:.1f} commands/s; retries granted "
        f"{report['retries']['granted']}, denied {report['retries']['denied']}; asset states "
        f"at the end: {report['states']}",
        markup=False,
    )
    if not report["faults"]:
        return
    table = Table(title="Injected faults: detection from when each became observable [s]")
    for column in ("kind", "injected", "detected", "detected after p50 / max", "evidence"):
        table.add_column(column)
    for kind, summary in report["fault_summary"].items():
        evidence = sorted(
            {
                f["evidence"].split(":")[0]
                for f in report["faults"]
                if f["kind"] == kind and f["evidence"]
            }
        )
        table.add_row(
            kind,
            str(summary["injected"]),
            str(summary["detected"]),
            "never"
            if summary["max_detected_s"] is None
            else f"{summary['p50_detected_s']:.2f} / {summary['max_detected_s']:.2f}",
            ", ".join(evidence),
        )
    out.print(table)
    for recovery in report["recovery"]:
        out.print(
            f"fault at {recovery['injected_at_s']:g} s: {recovery['why']}",
            markup=False,
        )
