"""A portfolio's dispatchable assets as simulated devices following a schedule.

`portfolio_fleet(portfolio, schedule, clock)` gives one in-process device per battery, PV
plant, wind farm and CHP of the portfolio that the schedule plans, with physics from the
asset's own data: a battery's charge and discharge power, energy, initial state of charge
and efficiencies; a PV plant's or wind farm's rated power (available power held at
`available_share` of rated, or at the plan where the plan asks for more); a CHP's maximum
and minimum stable output. Loads (flexible loads, heat pumps, EV fleets) are not simulated:
their planned consumption is left out of the pool's target, which the caller should say.

Assets out of service on the day dispatched (before their commissioning date, from their
decommissioning date on; rule G1 of `docs/plan-rules.md`) get no device, whatever the
schedule holds; each one left out is logged as ``fleet.asset_out_of_service`` with the
reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from dispatch.clock import DispatchClock
from dispatch.devices.physics import Battery, Chp, Pv
from dispatch.inproc import InProcessDevice, limits_of
from dispatch.observability import event_log
from dispatch.schedule import Schedule
from dispatch.simulation import FleetMember
from regulatory.assets.base import AssetBase
from regulatory.assets.generation import CHP, PV, Wind
from regulatory.assets.storage import Battery as BatteryAsset
from regulatory.portfolio import Portfolio

SIMULATED_KINDS = ("battery", "pv", "wind", "chp")


def portfolio_fleet(
    portfolio: Portfolio,
    schedule: Schedule,
    clock: DispatchClock,
    *,
    response_s: float = 3.0,
    available_share: float = 0.8,
    on: date | None = None,
) -> list[FleetMember]:
    """The simulated devices of `portfolio`'s batteries, PV, wind and CHP in `schedule`
    that are in service on day `on` (default: the clock's UTC date at the start)."""
    start = clock.utc()
    in_service = _in_service(portfolio, on or start.date())
    members = []
    for asset in in_service:
        if asset.kind not in SIMULATED_KINDS or asset.id not in schedule.injection_mw:
            continue
        plan = _plan(schedule, asset.id, start)
        energy: float | None = None
        physics: Battery | Pv | Chp
        if isinstance(asset, BatteryAsset):
            energy = asset.energy_mwh
            physics = battery_physics(asset, plan(0))
        elif isinstance(asset, PV | Wind):
            rated = asset.rated_power_mw
            share = max(available_share, max(plan(0), plan(1)) / rated)
            physics = Pv(rated, profile=lambda _t, s=share: min(1.0, s), ramp_mw_per_s=rated)
            physics.power_mw = min(rated * share, max(0.0, plan(0)))
            physics.target_mw = physics.power_mw
        elif isinstance(asset, CHP):
            physics = chp_physics(asset, plan(0))
        else:  # another kind named "battery"/"pv"/... without the expected model
            continue
        device = InProcessDevice(asset.id, physics, clock, asset.kind)
        members.append(
            FleetMember(device, limits_of(physics, response_s), asset.kind, energy, plan, device)
        )
    return members


def battery_physics(asset: BatteryAsset, at_start_mw: float) -> Battery:
    """The simulated physics of a portfolio battery: its ratings and efficiencies, its
    configured initial state of charge (half full where none is given), through its range
    in two seconds, injecting `at_start_mw` [MW, + discharge] from the start."""
    energy = asset.energy_mwh
    initial = asset.soc_initial_mwh if asset.soc_initial_mwh is not None else energy / 2
    physics = Battery(
        asset.power_discharge_mw,
        -asset.power_charge_mw,
        energy,
        soc=initial / energy,
        eta_charge=asset.efficiency_charge,
        eta_discharge=asset.efficiency_discharge,
        ramp_mw_per_s=max(asset.power_discharge_mw, asset.power_charge_mw) / 2,
    )
    physics.power_mw = physics.target_mw = at_start_mw
    return physics


def chp_physics(asset: CHP, at_start_mw: float) -> Chp:
    """The simulated physics of a portfolio CHP: its maximum and minimum stable load,
    through its range in a minute, running at `at_start_mw` [MW] from the start (off at 0)."""
    physics = Chp(
        asset.power_max_mw, asset.power_min_stable_mw, ramp_mw_per_s=asset.power_max_mw / 60
    )
    physics.power_mw = physics.target_mw = max(0.0, at_start_mw)
    physics.on = physics.power_mw > 0
    return physics


def _in_service(portfolio: Portfolio, day: date) -> list[AssetBase]:
    """The assets of `portfolio` in service on `day`; logs each one left out and why."""
    log = event_log(pool=portfolio.id)
    for asset_id, reason in portfolio.out_of_service(day).items():
        log.warning("fleet.asset_out_of_service", asset=asset_id, reason=reason)
    return [asset for asset in portfolio.assets if asset.in_service(day)]


def _plan(schedule: Schedule, asset_id: str, start: datetime) -> Callable[[int], float]:
    """Planned injection [MW] in quarter hour `k` counted from the one holding `start`."""
    first = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)

    def planned(k: int) -> float:
        at = first + timedelta(minutes=15 * k)
        if not schedule.start <= at < schedule.end:
            return 0.0
        return schedule.planned_mw(asset_id, at)

    return planned
