"""The engine's embedded fleet: one simulated device per dispatchable asset, per zone.

Batteries, PV plants, wind farms and CHPs of the portfolio become in-process physics devices
(`dispatch.inproc.InProcessDevice`) with their own data (battery power, energy, initial
state of charge, efficiencies; CHP maximum and minimum stable output). A PV plant's or
wind farm's available power follows the availability profile the plan was made on
(per quarter hour, read at the clock's UTC time): the fleet's weather is the forecast's,
a perfect-forecast assumption named in the run's notes; a forecast replaced during the
day is the weather from then on. Loads (flexible loads, heat pumps,
EV fleets) are not simulated, so the engine's simulation trades and dispatches the
simulated kinds only (`simulated_part`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dispatch.clock import DispatchClock
from dispatch.devices.physics import Battery, Chp, Pv
from dispatch.inproc import InProcessDevice, limits_of
from dispatch.portfolio_fleet import battery_physics, chp_physics
from dispatch.schedule import Schedule
from dispatch.simulation import FleetMember
from regulatory import Portfolio
from regulatory.assets.generation import CHP, PV, Wind
from regulatory.assets.storage import Battery as BatteryAsset

SIMULATED_KINDS = ("battery", "pv", "wind", "chp")


def simulated_part(portfolio: Portfolio) -> tuple[Portfolio, list[str]]:
    """The portfolio with only its simulated kinds, and the ids of the assets left out."""
    kept = tuple(a for a in portfolio.assets if a.kind in SIMULATED_KINDS)
    left = [a.id for a in portfolio.assets if a.kind not in SIMULATED_KINDS]
    sites = {a.site for a in kept}
    part = portfolio.model_copy(
        update={"assets": kept, "sites": tuple(s for s in portfolio.sites if s.id in sites)}
    )
    return part, left


def fleet_by_zone(
    portfolio: Portfolio,
    schedule: Schedule,
    available_mw: Mapping[str, Sequence[float]],
    clock: DispatchClock,
    *,
    response_s: float = 3.0,
) -> dict[str, list[FleetMember]]:
    """Simulated devices of `portfolio`'s assets in `schedule`, grouped by bidding zone.

    `available_mw`: pv/wind asset -> available power per quarter hour of the schedule."""
    index = pd.DatetimeIndex(schedule.index)
    start = clock.utc()
    first = max(0, int(index.searchsorted(pd.Timestamp(start), side="right")) - 1)
    zones: dict[str, list[FleetMember]] = {}
    for asset in portfolio.assets:
        if asset.id not in schedule.injection_mw:
            continue
        planned = np.asarray(schedule.injection_mw[asset.id], dtype=float)
        at_start = float(planned[first])
        energy: float | None = None
        physics: Battery | Pv | Chp
        if isinstance(asset, BatteryAsset):
            energy = asset.energy_mwh
            physics = battery_physics(asset, at_start)
        elif isinstance(asset, PV | Wind):
            rated = asset.rated_power_mw
            share = _availability(available_mw, asset.id, rated, index, clock)
            # inverters ramp through their range in about ten seconds
            physics = Pv(rated, profile=share, ramp_mw_per_s=rated / 10)
            physics.target_mw = max(0.0, at_start)
            physics.power_mw = min(physics.available_mw, physics.target_mw)
        elif isinstance(asset, CHP):
            physics = chp_physics(asset, at_start)
        else:
            continue
        device = InProcessDevice(asset.id, physics, clock, asset.kind)
        plan = _plan(planned, first)
        member = FleetMember(
            device, limits_of(physics, response_s), asset.kind, energy, plan, device
        )
        zones.setdefault(portfolio.site_of(asset).bidding_zone, []).append(member)
    return zones


def _availability(
    profiles: Mapping[str, Sequence[float]],
    asset_id: str,
    rated: float,
    index: pd.DatetimeIndex,
    clock: DispatchClock,
) -> Callable[[float], float]:
    """Available share of `rated` at the clock's UTC time (the device's own time unused),
    from `profiles[asset_id]` as it is at each call: a forecast replaced in `profiles`
    (`LiveDay.update_forecast`) is the simulated weather from then on."""
    if asset_id not in profiles:
        return lambda _t: 1.0
    first = index[0].to_pydatetime()
    seen: list[Any] = [None, np.zeros(0)]  # the profile last read, and its shares

    def share(_t: float) -> float:
        profile = profiles.get(asset_id)
        if profile is not seen[0]:
            seen[0] = profile
            seen[1] = np.clip(np.asarray(profile, dtype=float) / rated, 0.0, 1.0)
        shares = seen[1]
        q = int((clock.utc() - first).total_seconds() // 900)
        return float(shares[q]) if 0 <= q < len(shares) else 0.0

    return share


def _plan(planned: np.ndarray, first: int) -> Callable[[int], float]:
    def plan(k: int) -> float:
        q = first + k
        return float(planned[q]) if 0 <= q < len(planned) else 0.0

    return plan
