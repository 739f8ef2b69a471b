"""Random assets' plans obey their kind's rules (`docs/plan-rules.md`), read off the schedule.

Each case draws one asset within the data model's limits and prices with negative
stretches, runs `plan.optimise` (the whole path, rounding included) and re-derives the
rules from the asset data and the schedule's injection alone, as the plan checker does:
here on DAY, a Tuesday without a clock change, whose quarter hour t starts at local
00:00 + 15 t minutes, so windows map to quarter hours by arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from optimiser_factories import (
    DAY,
    battery,
    chp,
    day_ahead,
    ev_fleet,
    flexible_load,
    heat_pump,
    periods,
    portfolio,
)

from regulatory import Portfolio, read_portfolio
from regulatory.assets import CHP, PV, AssetBase, Battery, EVFleet, FlexibleLoad, HeatPump
from regulatory.windows import DailyWindow
from trading.cli.optimise import load_prices
from trading.optimiser.build import OptimiserOptions
from trading.optimiser.inputs import Horizon, Profiles
from trading.optimiser.plan import optimise
from trading.optimiser.profiles import proxy_profiles
from trading.optimiser.solver import SolverOptions
from trading.samples import SAMPLE_PRICE_DAY, sample_portfolio_path, sample_prices_dir

N = 96
DT = 0.25
TOL = 1e-5
"""Slack on a value read from the schedule [MW or MWh]."""
WEEKDAY = DAY.isoweekday()
SAMPLE = date.fromisoformat(SAMPLE_PRICE_DAY)
OPTIONS = OptimiserOptions(markets=("day_ahead",), solver=SolverOptions(time_limit_s=10))
CASES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- windows on DAY, by arithmetic ---------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    quarters: np.ndarray
    starts_before: bool
    ends_after: bool
    hours_after: float
    duration_h: float


def occurrences_on_day(window: DailyWindow, weekday: int = WEEKDAY) -> list[Occurrence]:
    """The occurrences of `window` (yesterday's and today's) with quarter hours in a day of
    96 quarter hours that is an ISO `weekday`."""
    start = window.start_local.hour * 60 + window.start_local.minute
    length = round(window.duration_h * 60)
    found = []
    for offset, start_day in ((-1, weekday - 1 or 7), (0, weekday)):
        if start_day not in window.weekdays:
            continue
        first, end = start + offset * 1440, start + offset * 1440 + length
        minutes = np.arange(N) * 15
        inside = np.flatnonzero((minutes >= first) & (minutes < end))
        if len(inside):
            after = max(0, end - 1440) / 60
            found.append(Occurrence(inside, first < 0, end > 1440, after, window.duration_h))
    return found


def mask_of(windows: tuple[DailyWindow, ...], weekday: int = WEEKDAY) -> np.ndarray:
    """1 inside one of `windows`, 1 everywhere without windows, else 0."""
    if not windows:
        return np.ones(N)
    mask = np.zeros(N)
    for window in windows:
        for occurrence in occurrences_on_day(window, weekday):
            mask[occurrence.quarters] = 1.0
    return mask


def due_share(occurrence: Occurrence, energy: float) -> float:
    crosses = occurrence.starts_before or occurrence.ends_after
    return energy * len(occurrence.quarters) * DT / occurrence.duration_h if crosses else energy


# --- the rules ------------------------------------------------------------------------------


def check_every_asset(asset: AssetBase, x: np.ndarray, weekday: int = WEEKDAY) -> None:
    """G2 availability, G3 ramp."""
    avail = mask_of(asset.availability, weekday)
    assert np.abs(x[avail == 0]).max(initial=0.0) <= TOL, "runs while unavailable (G2)"
    step = np.diff(x)
    if asset.ramp_up_mw_per_min is not None:
        assert step.max() <= 15 * asset.ramp_up_mw_per_min + TOL, "ramps up too fast (G3)"
    if asset.ramp_down_mw_per_min is not None:
        assert -step.min() <= 15 * asset.ramp_down_mw_per_min + TOL, "ramps down too fast (G3)"


def runs(on: np.ndarray) -> list[tuple[int, int, bool]]:
    """Maximal intervals (first, length, on) of a 0/1 sequence."""
    found, first = [], 0
    for t in range(1, len(on) + 1):
        if t == len(on) or on[t] != on[first]:
            found.append((first, t - first, bool(on[first])))
            first = t
    return found


def check_unit(power: np.ndarray, low: float, high: float, up_h: float, down_h: float) -> None:
    """C1/L1/H1: off or within [low, high]; C2, C3 from an initial off state of unknown
    length (the plan's default): runs last their minimum up time, rests after a run their
    minimum down time, unless the day ends first."""
    on = power > 1e-6
    assert (power[on] >= low - TOL).all(), f"runs below its minimum {low} MW (L1, H1)"
    assert (power <= high + TOL).all(), "runs above its maximum"
    assert (power >= -TOL).all()
    for first, length, running in runs(on):
        if first + length == N:
            continue
        if running:
            assert length * DT >= up_h - 1e-9, f"a run from {first} lasts {length} (C2)"
        elif first > 0:
            assert length * DT >= down_h - 1e-9, f"a rest from {first} lasts {length} (C3)"


def check_requirements(
    asset: FlexibleLoad | HeatPump, power: np.ndarray, weekday: int = WEEKDAY
) -> None:
    """L3: each occurrence's quarter hours inside the day draw its due."""
    for req in asset.energy_requirements:
        for occurrence in occurrences_on_day(req, weekday):
            drawn = power[occurrence.quarters].sum() * DT
            assert drawn >= due_share(occurrence, req.energy_mwh) - TOL, f"{req.label()} (L3)"


def check_heat(pump: HeatPump, power: np.ndarray, weekday: int = WEEKDAY) -> None:
    """H3: the storage meets the demand within its bounds and ends where it began."""
    demand = np.zeros(N)
    for window in pump.heat_demand:
        demand += window.heat_mw_th * mask_of((window,), weekday)
    initial = pump.thermal_storage_initial_mwh_th
    initial = pump.thermal_storage_mwh_th / 2 if initial is None else initial
    heat = initial + np.cumsum((pump.cop * power - demand) * DT)
    assert heat.min() >= -TOL, f"heat demand unmet by {-heat.min():.4f} MWh_th (H3)"
    assert heat.max() <= pump.thermal_storage_mwh_th + TOL, "heat storage overfull (H3)"
    assert heat[-1] >= initial - TOL, "ends with less heat than it began with (H3)"


def check_fleet(fleet: EVFleet, x: np.ndarray, weekday: int = WEEKDAY) -> None:
    """E1-E3 from the injection alone."""
    avail = mask_of(fleet.availability, weekday)
    charge, discharge = np.maximum(-x, 0.0), np.maximum(x, 0.0)
    assert (charge <= fleet.charge_power_max_mw * avail + TOL).all(), "E1 charge"
    assert (discharge <= fleet.discharge_power_max_mw * avail + TOL).all(), "E1 discharge"
    stored = (charge * fleet.efficiency_charge - discharge / fleet.efficiency_discharge) * DT
    sessions = [
        (occurrence, req.energy_mwh)
        for req in fleet.energy_requirements
        for occurrence in occurrences_on_day(req, weekday)
    ]
    owed = sum(due_share(o, r) for o, r in sessions if o.starts_before)
    arrivals = np.zeros(N)
    for occurrence, energy in sessions:
        if not occurrence.starts_before:
            arrivals[occurrence.quarters[0]] += energy
    energy = fleet.energy_mwh - owed + np.cumsum(stored - arrivals)
    before = np.r_[fleet.energy_mwh - owed, energy[:-1]]
    assert energy.min() >= -TOL, f"holds {energy.min():.4f} MWh (E2)"
    assert energy.max() <= fleet.energy_mwh + TOL, "holds more than its batteries (E2)"
    assert (before >= arrivals - TOL)[arrivals > 0].all(), "arrivals find too little (E2)"
    for occurrence, requirement in sessions:
        due = owed if occurrence.starts_before else requirement
        if occurrence.ends_after:
            hours = occurrence.hours_after
            due -= fleet.charge_power_max_mw * fleet.efficiency_charge * hours
        assert stored[occurrence.quarters].sum() >= due - TOL, "session short (E3)"


def plan_of(pf: Portfolio, prices: list[float], profiles: Profiles | None = None) -> np.ndarray:
    """The schedule's injection of the portfolio's one asset [MW]."""
    plan = optimise(pf, DAY, day_ahead(prices), profiles=profiles, options=OPTIONS)
    return np.asarray(plan.schedule.injection_mw[pf.assets[0].id])


# --- drawing assets and prices --------------------------------------------------------------


@st.composite
def day_prices(draw: st.DrawFn) -> list[float]:
    """An hourly shape with jitter and up to two negative stretches [EUR/MWh]."""
    hourly = draw(st.lists(st.integers(-20, 250), min_size=24, max_size=24))
    prices = np.repeat(np.array(hourly, dtype=float), 4)
    prices += np.array(draw(st.lists(st.integers(-10, 10), min_size=N, max_size=N)))
    for _ in range(draw(st.integers(0, 2))):
        start, length = draw(st.integers(0, N - 1)), draw(st.integers(1, 24))
        prices[start : start + length] = -draw(st.integers(1, 300))
    return [float(p) for p in prices]


def clock(quarter: int) -> str:
    quarter %= N
    return f"{quarter // 4:02d}:{quarter % 4 * 15:02d}"


@st.composite
def windows(draw: st.DrawFn, min_quarters: int = 4, max_quarters: int = N) -> dict[str, Any]:
    """A daily window on quarter hours, on some weekdays (often today or yesterday)."""
    start = draw(st.integers(0, N - 1))
    length = draw(st.integers(min_quarters, max_quarters))
    today, yesterday = {WEEKDAY}, {WEEKDAY - 1 or 7}
    days = draw(
        st.sampled_from([set(range(1, 8)), today | yesterday, today, yesterday])
        | st.sets(st.integers(1, 7), min_size=1)
    )
    return {
        "start_local": clock(start),
        "end_local": clock(start + length),
        "weekdays": sorted(days),
        "_hours": length * DT,
    }


def share(draw: st.DrawFn, low: float, high: float) -> float:
    return round(draw(st.floats(low, high)), 3)


def ramp(draw: st.DrawFn, reach_mw: float, floor_mw: float) -> float | None:
    """A ramp rate [MW/min] reaching `reach_mw` in one to three quarter hours and a step of
    `floor_mw` (a minimum power) in one, or none."""
    if draw(st.booleans()):
        return None
    rate = reach_mw / 15 / draw(st.sampled_from([1.2, 2.0, 3.0]))
    return round(max(rate, 1.05 * floor_mw / 15), 4)


@st.composite
def loads(draw: st.DrawFn) -> dict[str, Any]:
    high = share(draw, 0.5, 5.0)
    low = round(high * draw(st.sampled_from([0.0, 0.2, 0.5])), 3)
    data = flexible_load(
        consumption_max_mw=high,
        consumption_min_mw=low,
        min_up_time_h=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
        min_down_time_h=draw(st.sampled_from([0.0, 0.5, 1.0])),
        shift_cost_eur_per_mwh=draw(st.sampled_from([0.0, 5.0, 20.0])),
    )
    if draw(st.booleans()):
        data["baseline_mw"] = round(high * draw(st.floats(0.0, 1.0)), 3)
    if draw(st.booleans()):
        window = draw(windows())
        hours = window.pop("_hours")
        window["energy_mwh"] = round(high * hours * draw(st.floats(0.1, 0.6)), 3)
        data["energy_requirements"] = [window]
    elif draw(st.booleans()):
        window = draw(windows())
        window.pop("_hours")
        data["availability"] = [window]
    rate = ramp(draw, high, low)
    data["ramp_up_mw_per_min"] = data["ramp_down_mw_per_min"] = rate
    return data


@st.composite
def heat_pumps(draw: st.DrawFn) -> dict[str, Any]:
    high = share(draw, 0.5, 4.0)
    floor = draw(st.sampled_from([0.0, 0.2, 0.4]))
    cop = share(draw, 2.0, 5.0)
    heat_max = cop * high
    storage = round(heat_max * draw(st.sampled_from([0.0, 0.5, 2.0])), 2)
    data = heat_pump(
        power_max_mw=high,
        power_min_mw=round(high * floor, 3),
        cop=cop,
        thermal_storage_mwh_th=storage,
        min_up_time_h=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
        min_down_time_h=draw(st.sampled_from([0.0, 0.5, 1.0])),
    )
    if draw(st.booleans()):
        # at least the minimum's heat all day, so that even without storage it can run on
        base = heat_max * share(draw, floor + 0.05, 0.5)
        peak = draw(windows(8, 24))
        peak.pop("_hours")
        peak["heat_mw_th"] = round(heat_max * draw(st.floats(0.01, 0.3)), 3)
        data["heat_demand"] = [
            {"start_local": "00:00", "end_local": "00:00", "heat_mw_th": round(base, 3)},
            peak,
        ]
        if storage and draw(st.booleans()):
            data["thermal_storage_initial_mwh_th"] = round(storage * draw(st.floats(0, 1)), 3)
        if storage:  # without storage the pump follows the demand's steps as they come
            rate = ramp(draw, high, high * floor)
            data["ramp_up_mw_per_min"] = data["ramp_down_mw_per_min"] = rate
    else:
        window = draw(windows())
        hours = window.pop("_hours")
        window["energy_mwh"] = round(high * hours * draw(st.floats(0.1, 0.6)), 3)
        data["energy_requirements"] = [window]
    return data


@st.composite
def fleets(draw: st.DrawFn) -> dict[str, Any]:
    power = share(draw, 0.5, 4.0)
    eta = share(draw, 0.85, 1.0)
    window = draw(windows(24, 56))
    hours = window.pop("_hours")
    energy = round(power * draw(st.floats(2.0, 6.0)), 3)
    need = min(energy, power * eta * hours) * draw(st.floats(0.2, 0.7))
    data = ev_fleet(
        charge_power_max_mw=power,
        discharge_power_max_mw=round(power * draw(st.sampled_from([0.0, 0.3, 1.0])), 3),
        energy_mwh=energy,
        efficiency_charge=eta,
        efficiency_discharge=share(draw, 0.85, 1.0),
        energy_requirements=[{**window, "energy_mwh": round(need, 3)}],
    )
    if draw(st.booleans()):
        data["availability"] = [{k: v for k, v in window.items() if k != "energy_mwh"}]
    rate = ramp(draw, power, 0.0)
    data["ramp_up_mw_per_min"] = data["ramp_down_mw_per_min"] = rate
    return data


# --- properties -----------------------------------------------------------------------------


@CASES
@given(data=loads(), prices=day_prices())
def test_random_flexible_loads_keep_their_rules(data, prices):
    """G2, G3, L1-L3: off or within its range, runs and rests of their minimum length,
    every requirement occurrence (crossing midnight or not) drawn, never an injection."""
    pf = portfolio(data)
    load = pf.assets[0]
    assert isinstance(load, FlexibleLoad)
    x = plan_of(pf, prices)
    check_every_asset(load, x)
    p = -x
    check_unit(
        p,
        load.consumption_min_mw,
        load.consumption_max_mw,
        load.min_up_time_h,
        load.min_down_time_h,
    )
    check_requirements(load, p)


@CASES
@given(data=heat_pumps(), prices=day_prices())
def test_random_heat_pumps_keep_their_rules(data, prices):
    """G3, H1-H3: off or within its range, minimum times, the heat demand met from power
    and storage within its bounds (or the electric requirements drawn)."""
    pf = portfolio(data)
    pump = pf.assets[0]
    assert isinstance(pump, HeatPump)
    x = plan_of(pf, prices)
    check_every_asset(pump, x)
    p = -x
    check_unit(p, pump.power_min_mw, pump.power_max_mw, pump.min_up_time_h, pump.min_down_time_h)
    if pump.heat_demand:
        check_heat(pump, p)
    else:
        check_requirements(pump, p)


@CASES
@given(data=fleets(), prices=day_prices())
def test_random_ev_fleets_keep_their_rules(data, prices):
    """G2, G3, E1-E3: charging and V2G within their limits while plugged in, the stored
    energy within the batteries, arriving vehicles finding what they used, sessions
    getting their due."""
    pf = portfolio(data)
    fleet = pf.assets[0]
    assert isinstance(fleet, EVFleet)
    x = plan_of(pf, prices)
    check_every_asset(fleet, x)
    check_fleet(fleet, x)
    if fleet.discharge_power_max_mw == 0:
        assert x.max() <= TOL, "injects without V2G"


def solar(rated_mw: float) -> Profiles:
    """A clear-sky-like day: 0 at night, up to `rated_mw` at noon, for asset ``pv-1``."""
    hours = np.arange(N) * DT
    shape = np.clip(np.sin((hours - 6) / 14 * np.pi), 0, None)
    return Profiles({"pv-1": pd.Series(rated_mw * shape, index=periods())})


@CASES
@given(
    kind=st.sampled_from(["battery", "chp", "pv"]),
    rate=st.floats(0.07, 0.13),
    prices=day_prices(),
)
def test_ramp_limits_hold_for_storage_and_generation(kind, rate, prices):
    """G3 for the kinds besides consumers: a 1 MW battery, a 1-2 MW CHP (the rate lets it
    start and stop within a quarter hour) and a 2 MW curtailable PV plant; 15 x rate is
    1.05-1.95 MW a quarter hour, less than each one's range."""
    rate = round(rate, 4)
    ramps = {"ramp_up_mw_per_min": rate, "ramp_down_mw_per_min": rate}
    profiles = None
    if kind == "battery":
        data = battery(power_charge_mw=1.0, power_discharge_mw=1.0, energy_mwh=2.0, **ramps)
        data["power_charge_mw"] = data["power_discharge_mw"] = 1.0
    elif kind == "chp":
        data = chp(**ramps)
    else:
        data = {
            "kind": "pv",
            "id": "pv-1",
            "site": "s1",
            "commissioning_date": "2021-07-01",
            "rated_power_mw": 2.0,
            **ramps,
        }
        profiles = solar(2.0)
    pf = portfolio(data)
    asset = pf.assets[0]
    assert isinstance(asset, Battery | CHP | PV)
    check_every_asset(asset, plan_of(pf, prices, profiles))


def check_consumer(asset: AssetBase, x: np.ndarray, weekday: int) -> None:
    """Every rule of a flexible load, heat pump or EV fleet, from its injection."""
    check_every_asset(asset, x, weekday)
    if isinstance(asset, EVFleet):
        check_fleet(asset, x, weekday)
        return
    assert isinstance(asset, FlexibleLoad | HeatPump)
    low, high = (
        (asset.consumption_min_mw, asset.consumption_max_mw)
        if isinstance(asset, FlexibleLoad)
        else (asset.power_min_mw, asset.power_max_mw)
    )
    check_unit(-x, low, high, asset.min_up_time_h, asset.min_down_time_h)
    if isinstance(asset, HeatPump) and asset.heat_demand:
        check_heat(asset, -x, weekday)
    else:
        check_requirements(asset, -x, weekday)


@pytest.mark.parametrize("markets", [("day_ahead",), ("day_ahead", "afrr_capacity", "intraday")])
def test_the_sample_consumers_keep_their_rules_on_the_sample_day(markets):
    """The sample portfolio on 2026-06-13 (a Saturday of 96 quarter hours), the whole
    `optimise` path: ev-fr-lyon-vans, which once sold 12.78 MWh it never held, keeps its
    stored energy within its 4.2 MWh and stores what Friday's session still owes; the
    heat pumps meet their heat demand from power and storage, at least their minimum
    whenever running; the loads keep their minimum times and daily energy."""
    pf = read_portfolio(sample_portfolio_path())
    folder = sample_prices_dir()
    zones = {s.bidding_zone for s in pf.sites}
    prices = load_prices(
        folder / "day_ahead.csv", folder / "intraday.csv", folder / "afrr.csv", zones
    )
    profiles = proxy_profiles(pf, Horizon.of(SAMPLE))
    options = OptimiserOptions(markets=markets, solver=SolverOptions(time_limit_s=30))
    plan = optimise(pf, SAMPLE, prices, profiles=profiles, options=options)
    consumers = [a for a in pf.assets if isinstance(a, FlexibleLoad | HeatPump | EVFleet)]
    assert len(consumers) == 8, "3 heat pumps, 3 loads, 2 fleets"
    for asset in consumers:
        x = np.asarray(plan.schedule.injection_mw[asset.id])
        assert len(x) == N
        check_consumer(asset, x, SAMPLE.isoweekday())
    # Friday's 19:00-06:00 session owes 3.1 x 6 / 11 MWh at midnight: the vans hold the rest
    vans = np.asarray(plan.schedule.injection_mw["ev-fr-lyon-vans"])
    held = 4.2 - 3.1 * 6 / 11
    sold = vans[vans > 0].sum() * DT
    bought = -vans[vans < 0].sum() * DT
    assert sold / 0.92 <= held + bought * 0.92 + TOL, "sells energy it never held"
    morning = vans[: 6 * 4]  # until the vans leave at 06:00
    stored = (np.maximum(-morning, 0) * 0.92 - np.maximum(morning, 0) / 0.92).sum() * DT
    assert stored >= 4.2 - held - TOL, "the vans leave on Saturday morning short"
