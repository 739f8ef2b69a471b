"""`vpp tso simulate`: a simulated TSO that drives a pool's IEC 104 station from outside.

`vpp serve --tso iec104` makes each pool a controlled station that the TSO's client
connects to. This command is that client (a c104 controlling station, `SimulatedTso`):
it connects to one station, sends aFRR setpoints, either given steps (``MW@Ts,...``) or
the real German activation pattern of ../shared/data played on the band the station
reports (`trading.engine.activation.pattern_share_steps`), each re-sent every
``--repeat`` seconds, then drops the link, and prints what it read back: the setpoints
confirmed on the wire, the band sold, the setpoint in force and the pool's measured
power less its schedule at the end of each step.

Times are on the TSO's clock: real time, or ``--clock-start``/``--clock-speed`` to follow a
server run on a scaled clock. c104 is GPL-3.0, so this needs the optional extra
``vpp-engine[iec104]``; without it the command says so and exits 2.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from trading.cli.lazy import MARKUP_MODE
from trading.cli.output import EXIT_INVALID_INPUT, print_json

tso_app = typer.Typer(
    help="A simulated TSO for a pool's IEC 104 station (vpp serve --tso iec104).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=MARKUP_MODE,
)

EXIT_LINK_FAILED = 3
"""Exit code when the station cannot be reached or the link cannot be set up."""

PATTERN_DE = "de"
BAND_WAIT_S = 5.0
"""With --pattern: real seconds to wait after connecting for the band the station reports."""


def _fail(option: str, value: object, rule: str) -> None:
    typer.echo(f"error: {option}={value!r}: {rule}", err=True)
    raise typer.Exit(EXIT_INVALID_INPUT)


def _clock(clock_start: str | None, clock_speed: float) -> Any:
    """The TSO's clock: real time, or `clock_start` run `clock_speed` times as fast."""
    from dispatch.clock import RealClock, ScaledClock

    if clock_start is None:
        if clock_speed != 1.0:
            _fail("--clock-speed", clock_speed, "needs --clock-start")
        return RealClock()
    try:
        start = datetime.fromisoformat(clock_start.replace("Z", "+00:00"))
    except ValueError:
        start = None
    if start is None or start.utcoffset() is None:
        _fail(
            "--clock-start",
            clock_start,
            "must be an ISO 8601 instant with an offset (e.g. 2026-06-14T15:00:00Z)",
        )
    assert start is not None
    return ScaledClock(start.astimezone(UTC), clock_speed)


def _following(tso: Any, points: Any, origin: float) -> list[dict[str, Any]]:
    """Per step sent: the MW asked, and the last good read-back of the setpoint in force
    and of measured less scheduled power before the next step [MW]."""
    sent = tso.record.sent
    changes = [k for k, item in enumerate(sent) if k == 0 or item[1] != sent[k - 1][1]]
    rows = []
    for n, k in enumerate(changes):
        begin = sent[k][0]
        end = sent[changes[n + 1]][0] if n + 1 < len(changes) else float("inf")

        def last(ioa: int, begin: float = begin, end: float = end) -> tuple[float, float] | None:
            inside = [
                (r.received_t, float(r.value.value))
                for r in tso.readings(ioa)
                if begin <= r.received_t < end and not r.value.quality & 0x80
            ]
            return inside[-1] if inside else None

        in_force = last(points.setpoint_in_force)
        measured, scheduled = last(points.measured), last(points.scheduled)
        rows.append(
            {
                "at_s": round(begin - origin, 3),
                "asked_mw": sent[k][1],
                "in_force_mw": None if in_force is None else in_force[1],
                "measured_less_scheduled_mw": None
                if measured is None or scheduled is None
                else round(measured[1] - scheduled[1], 4),
                "read_at_s": None if measured is None else round(measured[0] - origin, 3),
            }
        )
    return rows


def _summary(tso: Any, points: Any, origin: float, source: str, start: datetime) -> dict[str, Any]:
    record = tso.record
    names = {
        "measured_mw": points.measured,
        "scheduled_mw": points.scheduled,
        "setpoint_in_force_mw": points.setpoint_in_force,
        "band_up_mw": points.band_up,
        "band_down_mw": points.band_down,
        "available_up_mw": points.available_up,
        "available_down_mw": points.available_down,
    }
    read_back = {}
    for name, ioa in names.items():
        values = tso.readings(ioa)
        good = [float(r.value.value) for r in values if not r.value.quality & 0x80]
        read_back[name] = {
            "received": len(values),
            "good": len(good),
            "last": good[-1] if good else None,
            "min": min(good) if good else None,
            "max": max(good) if good else None,
        }
    return {
        "start_utc": start.isoformat().replace("+00:00", "Z"),
        "setpoints": source,
        "sent": len(record.sent),
        "confirmed": sum(1 for *_x, negative in record.confirmations if not negative),
        "refused": sum(1 for *_x, negative in record.confirmations if negative),
        "frame_errors": list(record.frame_errors),
        "read_back": read_back,
        "steps": _following(tso, points, origin),
    }


@tso_app.command("simulate")
def simulate_command(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="the station's port")],
    host: Annotated[str, typer.Option("--host", help="the station's address")] = "127.0.0.1",
    steps: Annotated[
        str | None,
        typer.Option(
            "--steps",
            help="setpoints MW@Ts,... then drop@Ts (seconds from the TSO's start, + up), "
            "e.g. 1@5s,-1@305s,drop@605s",
        ),
    ] = None,
    pattern: Annotated[
        str | None,
        typer.Option(
            "--pattern",
            help="de: the real German aFRR activation of ../shared/data ($VPP_SHARED_DATA) by "
            "quarter hour of the German day, played as shares of the band the station "
            "reports; needs --duration",
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option("--duration", min=1.0, help="with --pattern: seconds to play, then drop"),
    ] = None,
    repeat: Annotated[
        float, typer.Option("--repeat", min=0.1, help="re-send the setpoint every S seconds")
    ] = 4.0,
    common_address: Annotated[
        int, typer.Option("--common-address", min=1, max=65534, help="the station's address")
    ] = 1,
    clock_start: Annotated[
        str | None,
        typer.Option(
            "--clock-start",
            help="follow a server on a scaled clock: the server's time NOW (its /healthz "
            "'now'), not the --clock-start it was started with",
        ),
    ] = None,
    clock_speed: Annotated[
        float,
        typer.Option("--clock-speed", min=0.001, help="with --clock-start: simulated s per real s"),
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Connect to a pool's IEC 104 station as its TSO, send aFRR setpoints, print what the
    station read back (module docstring)."""
    from dispatch.protocols.iec104.link import missing_extra
    from dispatch.protocols.iec104.steps import StepSpecError, parse_steps

    if (steps is None) == (pattern is None):
        _fail("--steps/--pattern", steps or pattern, "give exactly one of the two")
    clock = _clock(clock_start, clock_speed)
    start, origin = clock.utc(), clock.now()  # the steps count from here
    if steps is not None:
        if duration is not None:
            _fail("--duration", duration, "only with --pattern (--steps ends with drop@Ts)")
        try:
            plan = parse_steps(steps)
        except StepSpecError as exc:
            _fail("--steps", steps, str(exc))
        source = f"steps {steps}"
    else:
        plan, source = _pattern_steps(pattern, duration, start)
    why = missing_extra()
    if why is not None:
        _fail("vpp tso simulate", "iec104", why)
    try:
        address = socket.gethostbyname(host)  # c104 takes an IP address only
    except OSError as exc:
        _fail("--host", host, f"must be an IP address or a name that resolves ({exc})")

    from dispatch.protocols.iec104.link import play, standalone_tso
    from dispatch.protocols.iec104.points import PointsMap

    points = PointsMap(common_address=common_address)
    tso = standalone_tso(
        clock, plan, host=address, port=port, points=points, repeat_s=repeat,
        band_shares=pattern is not None,
    )  # fmt: skip
    error = asyncio.run(play(tso, origin, BAND_WAIT_S if pattern is not None else 0.0))
    if error is not None:
        typer.echo(f"error: the station at {host}:{port} cannot be reached: {error}", err=True)
        raise typer.Exit(EXIT_LINK_FAILED)
    summary = _summary(tso, points, origin, source, start)
    if as_json:
        print_json(summary)
        return
    typer.echo(
        f"{summary['sent']} setpoints sent to {host}:{port}, {summary['confirmed']} confirmed, "
        f"{summary['refused']} refused ({source})"
    )
    band = summary["read_back"]
    typer.echo(
        f"band sold: up {band['band_up_mw']['last']} MW, down {band['band_down_mw']['last']} MW"
    )
    for row in summary["steps"]:
        typer.echo(
            f"  t={row['at_s']:>8.1f} s  asked {row['asked_mw']:>8.3f} MW  in force "
            f"{row['in_force_mw']}  measured - scheduled {row['measured_less_scheduled_mw']}"
        )


def _pattern_steps(name: str | None, duration: float | None, start: datetime) -> tuple[Any, str]:
    """The named pattern's steps from `start` over `duration` [s], and how it is named."""
    from trading.engine.activation import NO_ACTIVATION, german_pattern, pattern_share_steps
    from trading.engine.service import shared_folder

    if name != PATTERN_DE:
        _fail("--pattern", name, f"must be {PATTERN_DE!r} (the German aFRR activation)")
    if duration is None:
        _fail("--duration", None, "is required with --pattern (seconds to play)")
    assert duration is not None
    folder = shared_folder()
    found = german_pattern(folder)
    if found is NO_ACTIVATION:
        _fail(
            "--pattern",
            name,
            f"needs the German aFRR file in ../shared/data or $VPP_SHARED_DATA ({found.source})",
        )
    return pattern_share_steps(found, start, duration), found.source
