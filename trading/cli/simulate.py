"""`vpp simulate`: the real-time dispatcher against simulated devices, and its KPIs."""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

import structlog
import typer
from rich.table import Table

from dispatch.metrics_server import METRICS_PORT_ENV, metrics_endpoint
from dispatch.simulation import FaultSpecError, SimulationOptions, parse_faults, run_simulation
from trading.cli.output import EXIT_INVALID_INPUT, console, print_json

DRIFT = ("ack_no_exec", "partial", "slow_ramp")
"""Faults the dispatcher sees as state drift: measured power misses an acknowledged setpoint."""


def simulate_command(
    assets: Annotated[int, typer.Option("--assets", min=1, help="simulated assets")] = 20,
    modbus: Annotated[
        bool, typer.Option("--modbus", help="devices are Modbus TCP servers on loopback")
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
            help="KIND:AMOUNT@TIMEs,... e.g. outage:0.3@20s,ack_no_exec:1@10s "
            "(kinds: outage, silence, ack_no_exec, partial, slow_ramp, firmware)",
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
) -> None:
    """Dispatch a simulated fleet following its schedule and an aFRR signal; print KPIs."""
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
    with metrics_endpoint(metrics_port):
        if modbus:
            from dispatch.modbus_fleet import run_modbus_simulation

            report = run_modbus_simulation(options)
        else:
            report = run_simulation(options, speed=speed)
    if json_out:
        print_json(report)
        return
    show_report(report)


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
    """The KPIs as a few lines and a table of faults."""
    out = console()
    ticks, tracking = report["ticks"], report["tracking"]
    out.print(
        f"{report['assets']} assets, {report['duration_s']:g} s: "
        f"{ticks['count']} ticks, p50 {ticks['p50_ms']:.2f} ms, p99 {ticks['p99_ms']:.2f} ms, "
        f"max {ticks['max_ms']:.2f} ms, {ticks['missed']} missed",
        markup=False,
    )
    out.print(
        f"tracking: RMS {tracking['rms_mw']:.3f} MW (tolerance {tracking['tolerance_mw']:.3f} "
        f"MW), energy deviation {tracking['isp_deviation_pct']:.2f} % of scheduled per "
        f"15-min period; {report['commands_per_s']:.1f} commands/s; retries granted "
        f"{report['retries']['granted']}, denied {report['retries']['denied']}",
        markup=False,
    )
    out.print(f"asset states at the end: {report['states']}", markup=False)
    if not report["faults"]:
        return
    table = Table(title="Injected faults [s]: per fault kind and time")
    columns = ("kind", "at", "assets", "detected after p50/max", "pool back after p50/max")
    for column in (*columns, "detected after the missed deadline"):
        table.add_column(column)
    groups: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for fault in report["faults"]:
        groups.setdefault((fault["kind"], fault["injected_at_s"]), []).append(fault)
    for (kind, at), faults in groups.items():
        table.add_row(
            kind,
            f"{at:g}",
            str(len(faults)) if len(faults) > 1 else faults[0]["asset"],
            _p50_max([f["detected_s"] for f in faults]),
            _p50_max([f["recovered_s"] for f in faults]),
            _p50_max([f.get("after_deadline_s") for f in faults]) if kind in DRIFT else "",
        )
    out.print(table)
    summary = report.get("fault_summary")
    if summary:
        parts = []
        for name, label in (("detected_s", "detected"), ("recovered_s", "pool back")):
            entry = summary[name]
            text = (
                f"{label} p50 {entry['p50']:.2f} s, p95 {entry['p95']:.2f} s, "
                f"max {entry['max']:.2f} s"
                if "p50" in entry
                else f"{label}: none"
            )
            if entry["missing"]:
                text += f" ({entry['missing']} never)"
            parts.append(text)
        out.print("over all faults: " + "; ".join(parts), markup=False)


def _p50_max(values: list[float | None]) -> str:
    known = sorted(v for v in values if v is not None)
    if not known:
        return "never"
    text = f"{known[len(known) // 2]:.2f} / {known[-1]:.2f}"
    missing = len(values) - len(known)
    return text + (f" ({missing} never)" if missing else "")
