"""`vpp simulate --day`: one delivery day of the engine's whole loop, and its books."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import typer

from dispatch.simulation import FaultSpecError
from regulatory import Portfolio
from trading.api.jobs import FolderPrices
from trading.api.server import activation_prices, zones_of
from trading.cli.output import EXIT_INVALID_INPUT, console, print_json
from trading.cli.portfolio import load_or_exit
from trading.engine.activation import german_pattern
from trading.engine.loop import (
    DayConfig,
    EngineInputError,
    parse_day_faults,
    parse_flag_changes,
    real_imbalance,
    run_day,
)
from trading.samples import sample_portfolio_path

SHARED_DATA_ENV = "VPP_SHARED_DATA"
SUMMARY_KEYS = (
    "isps",
    "scheduled_mwh",
    "delivered_mwh",
    "metered_mwh",
    "position_mwh",
    "imbalance_mwh",
    "abs_imbalance_mwh",
    "imbalance_cost_eur",
    "revenue_by_market",
    "net_eur",
    "afrr",
    "schedule_versions",
    "faults",
)


VIRTUAL_TICK_S = 5.0
"""The dispatcher's default tick on the virtual clock [s]: the sample day in about two
minutes, every zone within 2 % of its schedule (docs/engine.md)."""
TICKS_PER_WALL_S = 48.0
"""On a scaled clock, at most this many ticks per wall-clock second by default: each zone's
pool and each asset's reads must keep up with the clock, or ticks are missed and assets
look lost."""


def default_tick(speed: float | None) -> float:
    """The dispatcher's tick [s] when none is given: `VIRTUAL_TICK_S` on the virtual clock,
    `speed / TICKS_PER_WALL_S` (at least 1 s) on a scaled one."""
    if speed is None:
        return VIRTUAL_TICK_S
    return max(1.0, speed / TICKS_PER_WALL_S)


def _fail(field: str, value: object, rule: str) -> NoReturn:
    typer.echo(f"error: {field}={value!r}: {rule}", err=True)
    raise typer.Exit(EXIT_INVALID_INPUT)


def _refuse(exc: EngineInputError) -> NoReturn:
    """An input the run refused; its message names the option, the value and the rule."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(EXIT_INVALID_INPUT)


def simulate_day(
    day_text: str,
    portfolio_file: Path | None,
    prices_dir: Path | None,
    speed: float | None,
    faults_text: str | None,
    seed: int,
    json_out: bool,
    tick: float | None = None,
    modbus: bool = False,
    hours: float | None = None,
    *,
    tso: str = "loopback",
    flags: list[str] | None = None,
    baseline: bool = True,
    rows: bool = False,
) -> None:
    """Run the day; with faults (and `baseline`), also the same day without the intraday
    correction (on a virtual clock; with `modbus` or an IEC 104 `tso` on the same scaled
    clock), so both imbalances are printed side by side. `tick` [s]: the dispatcher's tick
    (None: `default_tick(speed)`); `modbus`: the fleet as Modbus TCP simulators on loopback
    (needs `speed`); `hours`: deliver only the first hours of the day (whole quarter
    hours); `tso`: ``loopback`` or ``iec104`` (the aFRR activation from a simulated TSO over
    IEC 104); `flags`: ``POOL:FLAG=VALUE@TIME`` pool-flag changes during the day; `rows`:
    keep the settled rows per zone and ISP in the JSON."""
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        _fail("--day", day_text, "must be a date YYYY-MM-DD")
    try:
        faults = parse_day_faults(faults_text)
    except FaultSpecError as exc:
        _fail("--faults", faults_text, str(exc))
    try:
        changes = parse_flag_changes(flags)
    except EngineInputError as exc:
        _refuse(exc)
    late_flags = [c for c in changes if hours is not None and c.at_s >= hours * 3600]
    if late_flags:
        _fail(
            "--flag",
            late_flags[0].text,
            f"the change falls after the {hours:g} h delivered (--hours)",
        )
    if hours is not None and not (0 < hours <= 24 and float(hours * 4).is_integer()):
        _fail("--hours", hours, "must be whole quarter hours within the day (0.25 to 24)")
    late = [f for f in faults if hours is not None and f.at_s >= hours * 3600]
    if late:
        _fail(
            "--faults",
            faults_text,
            f"a fault at {late[0].at_s:g} s falls after the {hours:g} h delivered (--hours)",
        )
    if modbus and speed is None:
        _fail(
            "--speed",
            None,
            "is required with --modbus: Modbus devices answer in real time, so the day runs "
            "on a scaled clock (e.g. --speed 240), not the virtual one",
        )
    portfolio: Portfolio = load_or_exit(portfolio_file or sample_portfolio_path())
    folder = FolderPrices(prices_dir)
    if prices_dir is not None and not (prices_dir / "day_ahead.csv").is_file():
        _fail("--prices", str(prices_dir), "must be a folder holding day_ahead.csv")
    prices = folder.prices(zones_of(folder.folder), ())
    shared = os.environ.get(SHARED_DATA_ENV)
    base = Path(shared) if shared else Path(__file__).resolve().parents[2].parent / "shared/data"
    config = DayConfig(
        day=day,
        portfolio=portfolio,
        prices=prices,
        afrr_prices=activation_prices(folder),
        imbalance=real_imbalance(base if base.is_dir() else None),
        activation=german_pattern(base if base.is_dir() else None),
        speed=speed,
        faults=faults,
        seed=seed,
        tick_s=tick if tick is not None else default_tick(speed),
        modbus=modbus,
        hours=hours,
        tso=tso,
        flag_changes=changes,
    )
    try:
        report = run_day(config)
        if faults and baseline:
            config.correct = False
            if not (modbus or tso == "iec104"):  # sockets need real (scaled) time
                config.speed = None
            other = run_day(config)
            report["uncorrected"] = {key: other[key] for key in SUMMARY_KEYS}
            report["uncorrected"]["books"] = other["books"]
    except EngineInputError as exc:
        _refuse(exc)
    except ValueError as exc:
        _fail("--day", day_text, str(exc))
    if json_out:
        if rows:
            report["isp_rows"] = [
                {**row, "start": row["start"].isoformat()} for row in report["isp_rows"]
            ]
        else:
            report.pop("isp_rows", None)
        print_json(report)
        return
    show(report)


def show(report: dict[str, Any]) -> None:
    """A few lines: energy, imbalance, books, versions, and the uncorrected comparison."""
    out = console()
    out.print(
        f"{report['day']} {report['portfolio']}: {report['isps']} ISPs; scheduled "
        f"{report['scheduled_mwh']:.3f} MWh, delivered {report['delivered_mwh']:.3f} MWh "
        f"(device truth), metered {report['metered_mwh']:.3f} MWh",
        markup=False,
    )
    for zone, figures in report["per_zone"].items():
        out.print(
            f"  {zone}: |delivered - scheduled| {figures['abs_deviation_mwh']:.3f} MWh = "
            f"{figures['deviation_pct']:.2f} % of |scheduled|; ISPs metered "
            f"{figures['isps_metered']}",
            markup=False,
        )
    books = report["books"]
    out.print(
        f"imbalance {report['imbalance_mwh']:.3f} MWh (|.| {report['abs_imbalance_mwh']:.3f}), "
        f"cost {report['imbalance_cost_eur']:.2f} EUR; revenue {books['revenue_eur']:.2f} - "
        f"costs {books['costs_eur']:.2f} - imbalance {books['imbalance_cost_eur']:.2f} = net "
        f"{books['net_eur']:.2f} EUR",
        markup=False,
    )
    for version in report["schedule_versions"]:
        out.print(f"  schedule v{version['version']}: {version['reason']}", markup=False)
    if "uncorrected" in report:
        other = report["uncorrected"]
        out.print(
            f"without the intraday correction: |imbalance| {other['abs_imbalance_mwh']:.3f} "
            f"MWh, cost {other['imbalance_cost_eur']:.2f} EUR, net {other['net_eur']:.2f} EUR",
            markup=False,
        )
