"""The demo's dispatch step: the optimised plan followed by simulated devices, one fault."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from rich.console import Console

from dispatch.clock import VirtualClock
from dispatch.portfolio_fleet import SIMULATED_KINDS, portfolio_fleet
from dispatch.simulation import FaultSpec, SimulationOptions, run_fleet
from regulatory import Portfolio
from trading.cli.simulate import show_report
from trading.optimiser.plan import Plan

DEMO_SECONDS = 300.0
FAULT_AT_S = 60.0


def dispatch_plan(portfolio: Portfolio, plan: Plan, start: datetime) -> dict[str, Any]:
    """Dispatch `plan` from `start` for `DEMO_SECONDS` with one battery going silent."""
    options = SimulationOptions(
        duration_s=DEMO_SECONDS,
        faults=[FaultSpec("silence", 1, FAULT_AT_S, "battery")],
        start=start,
        pool=portfolio.id,
    )

    async def run() -> dict[str, Any]:
        clock = VirtualClock(start)
        fleet = portfolio_fleet(portfolio, plan.schedule, clock, on=plan.day)
        # the plan's own schedule: command events name its schedule, plan and bid ids
        zones = {a.id: portfolio.site_of(a).bidding_zone for a in portfolio.assets}
        return await run_fleet(options, fleet, clock, schedule=plan.schedule, zones=zones)

    return asyncio.run(run())


def show_dispatch(out: Console, portfolio: Portfolio, plan: Plan) -> None:
    """Print the KPIs of dispatching the plan from noon (Europe/Berlin) of its day."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    noon = datetime.combine(plan.day, time(12, 0), ZoneInfo("Europe/Berlin")).astimezone(UTC)
    dispatched = [
        a for a in portfolio.assets if a.kind in SIMULATED_KINDS and a.in_service(plan.day)
    ]
    out.print(
        f"\nDispatching the plan for {DEMO_SECONDS / 60:g} simulated minutes from "
        f"{noon:%Y-%m-%d %H:%M} UTC: {len(dispatched)} batteries, PV, wind and CHP as "
        "simulated devices (loads held at plan, not simulated), an aFRR signal on top, "
        f"and one battery going silent at {FAULT_AT_S:g} s:",
        markup=False,
    )
    left_out = left_out_of_fleet(portfolio, plan.day)
    if left_out:
        out.print(f"Left out of the fleet: {left_out}", markup=False)
    show_report(dispatch_plan(portfolio, plan, noon))


def left_out_of_fleet(portfolio: Portfolio, day: date) -> str:
    """The simulated kinds' assets out of service on `day`, with why, or '' if none."""
    notes = portfolio.out_of_service(day)
    return "; ".join(
        f"{a.id} ({notes[a.id]})"
        for a in portfolio.assets
        if a.kind in SIMULATED_KINDS and a.id in notes
    )
