"""Hand-computed answers of each asset kind's block, rule by rule (`docs/plan-rules.md`).

One asset on one delivery day (DAY, a Tuesday of 96 quarter hours: quarter hour q starts
at local 00:00 + q x 15 min). Consumers sit on an NL site, where the treatment charges no
levies or fees, so an objective is prices times energy alone; the model is solved with
continuous positions (as `plan.optimise` solves it first) and `mip_gap=0`, so it is the
optimum the docstring computes.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import numpy as np
import pytest
from optimiser_factories import (
    DAY,
    build,
    chp,
    constant,
    day_ahead,
    ev_fleet,
    flexible_load,
    heat_pump,
    nl_site,
    portfolio,
)

from regulatory import Portfolio
from trading.optimiser import accounts
from trading.optimiser.build import BuiltModel, OptimiserOptions
from trading.optimiser.inputs import ChpState, InitialStateError, PriceInputs
from trading.optimiser.solver import Solved, SolverOptions, solve

EXACT = SolverOptions(mip_gap=0)
DT = 0.25
TOL = 1e-6


def q(hhmm: str) -> int:
    """The quarter hour of DAY that starts at local time `hhmm`."""
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return hours * 4 + minutes // 15


def prices_nl(values: Any, day: date = DAY) -> PriceInputs:
    return day_ahead(values, day, zone="NL")


def on_nl(*assets: dict[str, Any]) -> Portfolio:
    return portfolio(*assets, sites=[nl_site()])


def solve_day(
    pf: Portfolio, prices: PriceInputs, day: date = DAY, **options: Any
) -> tuple[BuiltModel, Solved]:
    """The optimum of `pf`'s model on `day`, positions continuous."""
    built = build(
        pf,
        day,
        prices,
        options=OptimiserOptions(markets=prices_markets(prices), solver=EXACT, **options),
    )
    for block in built.positions:
        built.model.set_integer(block.steps, False)
    solved = solve(built.model, EXACT)
    assert solved.report.status == "optimal", solved.report.status
    for aid, treatment in built.treatments.items():
        if built.portfolio.site_of(next(a for a in pf.assets if a.id == aid)).country == "NL":
            assert treatment.charging_cost_eur_per_mwh == 0, "NL consumers pay no levies here"
    return built, solved


def prices_markets(prices: PriceInputs) -> tuple[str, ...]:
    markets = ["day_ahead"]
    if prices.afrr_capacity:
        markets.append("afrr_capacity")
    return tuple(markets)


def injection(built: BuiltModel, solved: Solved, asset_id: str) -> np.ndarray:
    return built.assets[asset_id].injection.evaluate(solved.values)


def state(built: BuiltModel, solved: Solved, asset_id: str, key: str) -> np.ndarray:
    return built.assets[asset_id].states[key].evaluate(solved.values)


def objective(solved: Solved) -> float:
    assert solved.report.objective_eur is not None
    return solved.report.objective_eur


def prices_with(base: float, **spans: float) -> list[float]:
    """`base` everywhere, `value` on the quarter hours of each span '_HHMM_HHMM=value'
    (an end of 0000 is midnight at the end of the day)."""
    values = [base] * 96
    for span, value in spans.items():
        start, end = span.strip("_").split("_")
        first, last = q(f"{start[:2]}:{start[2:]}"), q(f"{end[:2]}:{end[2:]}") or 96
        values[first:last] = [value] * (last - first)
    return values


def running_or_off(consumed: np.ndarray, low: float, high: float) -> bool:
    """Every quarter hour either off (0) or between `low` and `high` [MW]."""
    off = np.abs(consumed) <= TOL
    on = (consumed >= low - TOL) & (consumed <= high + TOL)
    return bool((off | on).all())


# --- flexible load ----------------------------------------------------------------------


def test_a_load_runs_at_least_its_minimum_or_not_at_all():
    """L1. A 1-2 MW load needs 0.1 MWh in the day; 50 EUR/MWh, 20 in 02:30-02:45.

    Without a minimum it would draw 0.4 MW in that quarter hour. Running means at least
    1 MW, so it runs 1 MW there: 0.25 MWh x 20 = 5 EUR, more energy than needed but the
    cheapest way to get it."""
    load = flexible_load(
        consumption_min_mw=1.0,
        energy_requirements=[{"start_local": "00:00", "end_local": "00:00", "energy_mwh": 0.1}],
    )
    built, solved = solve_day(on_nl(load), prices_nl(prices_with(50.0, _0230_0245=20.0)))
    consumed = -injection(built, solved, "load-1")
    expected = np.zeros(96)
    expected[q("02:30")] = 1.0
    np.testing.assert_allclose(consumed, expected, atol=TOL)
    assert objective(solved) == pytest.approx(-5.0, abs=TOL)
    assert running_or_off(consumed, 1.0, 2.0)


@pytest.mark.parametrize(
    ("min_up_h", "min_down_h", "profile", "value"),
    [
        # free: 2 MW in both negative quarter hours, 2 x 2 x 0.25 x 200 = 200 EUR
        (0.0, 0.0, [2.0, 0.0, 0.0, 2.0], 200.0),
        # a run lasts 1 h: 10:00-11:00, the two quarter hours between at the 1 MW
        # minimum: 200 - 2 x 1 x 0.25 x 100 = 150 EUR
        (1.0, 0.0, [2.0, 1.0, 1.0, 2.0], 150.0),
        # a rest lasts 1 h: two runs 30 minutes apart are not allowed, one run is: 150
        (0.0, 1.0, [2.0, 1.0, 1.0, 2.0], 150.0),
    ],
)
def test_a_load_keeps_its_minimum_up_and_down_times(min_up_h, min_down_h, profile, value):
    """L2. A 1-2 MW load, no requirement; 100 EUR/MWh, -200 in 10:00-10:15 and 10:45-11:00."""
    load = flexible_load(consumption_min_mw=1.0, min_up_time_h=min_up_h, min_down_time_h=min_down_h)
    prices = prices_with(100.0, _1000_1015=-200.0, _1045_1100=-200.0)
    built, solved = solve_day(on_nl(load), prices_nl(prices))
    expected = np.zeros(96)
    expected[q("10:00") : q("11:00")] = profile
    np.testing.assert_allclose(-injection(built, solved, "load-1"), expected, atol=TOL)
    assert objective(solved) == pytest.approx(value, abs=TOL)


@pytest.mark.parametrize(
    ("initial", "profile", "value"),
    [
        # running for 15 minutes: 45 more at least, at 1 MW, 2 MW in the cheap quarter
        # hour: -2 x 0.25 x 100 + 2 x 0.25 x 200 = 50 EUR
        (ChpState(on=True, hours=0.25), [1.0, 2.0, 1.0], 50.0),
        # off for 30 minutes: 30 more at rest, the cheap quarter hour is out of reach
        (ChpState(on=False, hours=0.5), [0.0, 0.0, 0.0], 0.0),
    ],
)
def test_a_load_running_or_resting_at_midnight_finishes_its_minimum(initial, profile, value):
    """L2 with `unit_initial`. A 1-2 MW load, minimum up and down times 1 h; 100 EUR/MWh,
    -200 in 00:15-00:30."""
    load = flexible_load(consumption_min_mw=1.0, min_up_time_h=1.0, min_down_time_h=1.0)
    built, solved = solve_day(
        on_nl(load),
        prices_nl(prices_with(100.0, _0015_0030=-200.0)),
        unit_initial={"load-1": initial},
    )
    consumed = -injection(built, solved, "load-1")
    np.testing.assert_allclose(consumed[:3], profile, atol=TOL)
    np.testing.assert_allclose(consumed[3:], 0.0, atol=TOL)
    assert objective(solved) == pytest.approx(value, abs=TOL)


def test_a_requirement_window_across_midnight_counts_on_both_days():
    """L3. 0-2 MW load, 8 MWh within 22:00-06:00 every day; 50 EUR/MWh, 10 in 03:00-04:00
    and 23:00-24:00.

    Monday's session has 6 of its 8 h in the day: 6 MWh due by 06:00, 2 of them at 10
    (03:00-04:00 at 2 MW) and 4 at 50. Tuesday's has 2 h in the day: 2 MWh due by
    midnight, drawn at 10 in 23:00-24:00. -(2 x 10 + 4 x 50 + 2 x 10) = -240 EUR.
    """
    window = {"start_local": "22:00", "end_local": "06:00", "energy_mwh": 8.0}
    load = flexible_load(energy_requirements=[window])
    prices = prices_with(50.0, _0300_0400=10.0, _2300_0000=10.0)
    built, solved = solve_day(on_nl(load), prices_nl(prices))
    consumed = -injection(built, solved, "load-1")
    assert consumed[: q("06:00")].sum() * DT == pytest.approx(6.0, abs=TOL)
    np.testing.assert_allclose(consumed[q("03:00") : q("04:00")], 2.0, atol=TOL)
    np.testing.assert_allclose(consumed[q("06:00") : q("23:00")], 0.0, atol=TOL)
    np.testing.assert_allclose(consumed[q("23:00") :], 2.0, atol=TOL)
    assert objective(solved) == pytest.approx(-240.0, abs=TOL)


def test_a_daily_requirement_is_met_on_the_day_the_clocks_go_forward():
    """L3 on 2027-03-28 (92 quarter hours): 40 MWh within 00:00-00:00 is one occurrence
    inside the day and due in full: 40 x 50 = 2000 EUR."""
    day = date(2027, 3, 28)
    window = {"start_local": "00:00", "end_local": "00:00", "energy_mwh": 40.0}
    load = flexible_load(energy_requirements=[window])
    built, solved = solve_day(on_nl(load), prices_nl(constant(50.0, day).to_numpy(), day), day)
    assert -injection(built, solved, "load-1").sum() * DT == pytest.approx(40.0, abs=TOL)
    assert objective(solved) == pytest.approx(-2000.0, abs=TOL)


@pytest.mark.parametrize("baseline_mw", [1.0, None])
@pytest.mark.parametrize(("shift_cost", "moved_mwh"), [(10.0, 1.0), (60.0, 0.0)])
def test_shift_cost_is_charged_on_energy_moved_from_the_baseline(
    baseline_mw, shift_cost, moved_mwh
):
    """Shift cost. 0-2 MW load, 24 MWh within 00:00-00:00, baseline 1 MW (given, or the
    requirement spread evenly: 24 MWh / 24 h); 50 EUR/MWh, 0 in 10:00-11:00.

    At 10 EUR/MWh shifted, moving 1 MWh into the free hour (2 MW there, 1 MW above the
    baseline, and 1 MWh less elsewhere) saves 50 and costs 10 x (1 + 1) / 2 = 10:
    -(22 x 50 + 10) = -1110 EUR, shift cost 10. At 60 it does not pay: -24 x 50 = -1200.
    """
    window = {"start_local": "00:00", "end_local": "00:00", "energy_mwh": 24.0}
    load = flexible_load(
        energy_requirements=[window], shift_cost_eur_per_mwh=shift_cost, baseline_mw=baseline_mw
    )
    built, solved = solve_day(on_nl(load), prices_nl(prices_with(50.0, _1000_1100=0.0)))
    consumed = -injection(built, solved, "load-1")
    expected_shift = shift_cost * moved_mwh
    shift = built.assets["load-1"].costs.get(accounts.SHIFT)
    assert shift is not None
    assert float(shift.evaluate(solved.values)[0]) == pytest.approx(expected_shift, abs=1e-5)
    assert consumed[q("10:00") : q("11:00")].sum() * DT == pytest.approx(1.0 + moved_mwh)
    expected = -((24.0 - (1.0 + moved_mwh)) * 50.0 + expected_shift)
    assert objective(solved) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize(
    ("availability", "blocks"),
    [
        (None, 6),
        # 06:00-22:00: the blocks 08-12, 12-16 and 16-20 lie inside; the others do not
        ([{"start_local": "06:00", "end_local": "22:00"}], 3),
    ],
)
def test_a_load_holds_upward_reserve_only_while_running_and_available(availability, blocks):
    """G2 and G4 (hi = -on x minimum). A 1-3 MW DE load prequalified for 2 MW aFRR+, aFRR+
    capacity at 1000 EUR/MW/h, energy at 50 EUR/MWh plus the DE levies L per MWh drawn.

    To offer 2 MW less consumption it must run at 3 MW (its 1 MW minimum plus the band)
    through every block it sells: 2 MW x 4 h x 1000 per block; 3 MW x 4 h x (50 + L)
    energy per block. Where it is unavailable it holds nothing and draws nothing; between
    blocks sold it is off (nothing is required).
    """
    load = flexible_load(
        consumption_max_mw=3.0,
        consumption_min_mw=1.0,
        prequalifications=[{"product": "afrr_pos", "mw": 2.0}],
    )
    if availability:
        load["availability"] = availability
    prices = PriceInputs(
        day_ahead={"DE_LU": constant(50.0)}, afrr_capacity={("DE_LU", "pos"): constant(1000.0)}
    )
    built, solved = solve_day(portfolio(load), prices)
    levies = built.treatments["load-1"].charging_cost_eur_per_mwh
    band = solved(built.reserves[("load-1", "afrr_pos")])
    consumed = -injection(built, solved, "load-1")
    assert band.sum() * DT == pytest.approx(blocks * 4 * 2.0, abs=1e-5)
    assert (consumed - band >= 1.0 - TOL)[band > TOL].all(), "band beyond the running range"
    if availability:
        outside = np.r_[0 : q("06:00"), q("22:00") : 96]
        np.testing.assert_allclose(consumed[outside], 0.0, atol=TOL)
        np.testing.assert_allclose(band[outside], 0.0, atol=TOL)
    expected = blocks * (2.0 * 4 * 1000.0 - 3.0 * 4 * (50.0 + levies))
    assert objective(solved) == pytest.approx(expected, rel=1e-9, abs=1e-5)


@pytest.mark.parametrize(
    ("ramp", "profile", "value"),
    [
        # no limit: 2 MW in all four negative quarter hours, 4 x 2 x 0.25 x 100 = 200 EUR
        (None, [2.0, 2.0, 2.0, 2.0], 200.0),
        # 0.05 MW/min = 0.75 MW a quarter hour each way; ramping outside the hour costs
        # 300 EUR/MWh against 100 gained, so it ramps up and down inside it:
        # (0.75 + 1.5 + 1.5 + 0.75) x 0.25 x 100 = 112.5 EUR
        (0.05, [0.75, 1.5, 1.5, 0.75], 112.5),
    ],
)
def test_ramp_limits_bind_where_prices_would_make_a_step(ramp, profile, value):
    """G3. 0-2 MW load, no requirement; 300 EUR/MWh, -100 in 10:00-11:00."""
    load = flexible_load(ramp_up_mw_per_min=ramp, ramp_down_mw_per_min=ramp)
    built, solved = solve_day(on_nl(load), prices_nl(prices_with(300.0, _1000_1100=-100.0)))
    expected = np.zeros(96)
    expected[q("10:00") : q("11:00")] = profile
    consumed = -injection(built, solved, "load-1")
    np.testing.assert_allclose(consumed, expected, atol=TOL)
    assert objective(solved) == pytest.approx(value, abs=TOL)
    if ramp is not None:
        assert np.abs(np.diff(consumed)).max() <= 15 * ramp + TOL


# --- heat pump ---------------------------------------------------------------------------


def heat_from(consumed: np.ndarray, demand: np.ndarray, cop: float, initial: float) -> np.ndarray:
    """Stored heat at the end of each quarter hour, from consumption and demand [MWh_th]."""
    return initial + np.cumsum((cop * consumed - demand) * DT)


def test_a_heat_pump_meets_its_heat_demand_from_power_and_storage():
    """H1 and H3. 0.5-2 MW heat pump, COP 4, 4 MWh_th storage holding 2; 1 MW_th all day;
    10 EUR/MWh until 06:00, 50 after.

    1 MW_th is 0.25 MW of electricity, below the 0.5 MW minimum: the pump cycles through
    its storage. Cheap heat costs 2.5 EUR/MWh_th, dear heat 12.5: it fills the storage by
    06:00 (6 MWh_th used and 2 more stored: 8 MWh_th, 2 MWh at 10) and ends the day at the
    2 MWh_th it started with (18 MWh_th used, 2 from storage: 16 MWh_th, 4 MWh at 50).
    -(2 x 10 + 4 x 50) = -220 EUR.
    """
    pump = heat_pump(
        thermal_storage_initial_mwh_th=2.0,
        heat_demand=[{"start_local": "00:00", "end_local": "00:00", "heat_mw_th": 1.0}],
    )
    built, solved = solve_day(on_nl(pump), prices_nl(prices_with(10.0, _0600_0000=50.0)))
    consumed = -injection(built, solved, "hp-1")
    heat = heat_from(consumed, np.ones(96), 4.0, 2.0)
    assert running_or_off(consumed, 0.5, 2.0), "runs below its minimum while on"
    assert heat.min() >= -TOL
    assert heat.max() <= 4.0 + TOL
    assert heat[q("06:00") - 1] == pytest.approx(4.0, abs=TOL)
    assert heat[-1] >= 2.0 - TOL
    np.testing.assert_allclose(state(built, solved, "hp-1", "heat_mwh_th"), heat, atol=1e-6)
    assert objective(solved) == pytest.approx(-220.0, abs=1e-5)


def test_a_heat_pump_without_storage_follows_its_heat_demand():
    """H3 with no storage: cop x p = q in every quarter hour. 0.5-2 MW, COP 4; 4 MW_th in
    06:00-10:00 and 2 MW_th in 18:00-20:00, nothing else: 1 MW then 0.5 MW; 4 + 1 = 5 MWh
    at 30 EUR/MWh = -150 EUR."""
    pump = heat_pump(
        thermal_storage_mwh_th=0.0,
        heat_demand=[
            {"start_local": "06:00", "end_local": "10:00", "heat_mw_th": 4.0},
            {"start_local": "18:00", "end_local": "20:00", "heat_mw_th": 2.0},
        ],
    )
    built, solved = solve_day(on_nl(pump), prices_nl(constant(30.0).to_numpy()))
    expected = np.zeros(96)
    expected[q("06:00") : q("10:00")] = 1.0
    expected[q("18:00") : q("20:00")] = 0.5
    np.testing.assert_allclose(-injection(built, solved, "hp-1"), expected, atol=TOL)
    np.testing.assert_allclose(state(built, solved, "hp-1", "on"), expected > 0, atol=TOL)
    assert objective(solved) == pytest.approx(-150.0, abs=1e-5)


@pytest.mark.parametrize(("min_up_h", "value"), [(0.0, -2.5), (2.0, -176.25)])
def test_a_heat_pump_keeps_its_minimum_up_time(min_up_h, value):
    """H2. 0.5-2 MW, COP 4, 4 MWh_th storage starting empty, 1 MW_th wanted in 12:00-13:00
    only; 10 EUR/MWh in 11:00-11:15, 200 elsewhere.

    Free to stop, it makes the 1 MWh_th in the cheap quarter hour at 1 MW and stores it:
    -0.25 x 10 = -2.5 EUR. With a 2 h minimum up time a run is 8 quarter hours at 0.5 MW
    at least (0.5 MWh_th each, 4 in all: what the storage holds plus the 1 used), the cheap
    one among them: -(0.125 x 10 + 7 x 0.125 x 200) = -176.25 EUR.
    """
    pump = heat_pump(
        thermal_storage_initial_mwh_th=0.0,
        min_up_time_h=min_up_h,
        heat_demand=[{"start_local": "12:00", "end_local": "13:00", "heat_mw_th": 1.0}],
    )
    built, solved = solve_day(on_nl(pump), prices_nl(prices_with(200.0, _1100_1115=10.0)))
    consumed = -injection(built, solved, "hp-1")
    on = consumed > TOL
    assert running_or_off(consumed, 0.5, 2.0)
    for start in np.flatnonzero(on & ~np.r_[False, on[:-1]]):
        run = int(np.argmax(~on[start:])) if (~on[start:]).any() else 96 - start
        assert run * DT >= min_up_h or start + run == 96, f"run from {start} lasts {run}"
    demand = np.zeros(96)
    demand[q("12:00") : q("13:00")] = 1.0
    heat = heat_from(consumed, demand, 4.0, 0.0)
    assert heat.min() >= -TOL
    assert heat.max() <= 4.0 + TOL
    assert objective(solved) == pytest.approx(value, abs=1e-5)


# --- EV fleet ----------------------------------------------------------------------------

OVERNIGHT = {"start_local": "18:00", "end_local": "06:00", "energy_mwh": 3.0}
"""The vans plug in at 18:00 and leave at 06:00 needing 3 MWh more than they came with."""
PLUGGED_IN = [{"start_local": "18:00", "end_local": "06:00"}]
EV_PRICES = prices_with(50.0, _0000_0200=200.0, _0200_0600=20.0, _1800_2000=300.0, _2000_0000=30.0)
"""200 EUR/MWh until 02:00, 20 until 06:00, 300 in 18:00-20:00, 30 until midnight."""


def stored_energy(injected: np.ndarray, initial: float, arrivals: dict[int, float]) -> np.ndarray:
    """e at the end of each quarter hour of a lossless fleet, from its injection and the
    energy its arriving vehicles used [MWh]."""
    drops = np.zeros(len(injected))
    for quarter, energy in arrivals.items():
        drops[quarter] = energy
    return initial + np.cumsum(-injected * DT - drops)


def test_a_v2g_fleet_never_discharges_more_than_it_holds_and_meets_its_sessions():
    """E1-E3. Lossless, 2 MW each way, 4 MWh; 3 MWh needed per 18:00-06:00 session, every
    day; plugged in 18:00-06:00. EV_PRICES.

    Monday's session has 6 of its 12 h in the day: 1.5 MWh owed, so it starts holding
    4 - 1.5 = 2.5 MWh and must be full at 06:00. It sells all 2.5 MWh at 200 before 02:00
    and buys 4 MWh at 20 before 06:00: 500 - 80 = 420. The vehicles come back at 18:00
    having used 3 MWh (4 -> 1), the 1 MWh left is sold at 300: 300. Tonight's session
    needs nothing before midnight (its 6 h after can charge 12 MWh). 720 EUR.
    """
    fleet = ev_fleet(
        discharge_power_max_mw=2.0, energy_requirements=[OVERNIGHT], availability=PLUGGED_IN
    )
    built, solved = solve_day(on_nl(fleet), prices_nl(EV_PRICES))
    injected = injection(built, solved, "ev-1")
    energy = stored_energy(injected, 2.5, {q("18:00"): 3.0})
    assert energy.min() >= -TOL, "discharges energy it does not hold"
    assert energy.max() <= 4.0 + TOL
    assert energy[q("06:00") - 1] == pytest.approx(4.0, abs=TOL), "leaves at 06:00 full"
    assert energy[q("18:00") - 1] >= 3.0 - TOL, "holds what arriving vehicles used"
    np.testing.assert_allclose(state(built, solved, "ev-1", "e_mwh"), energy, atol=1e-6)
    # net of what it sells and buys back at the same price (lossless: it may churn)
    assert injected[: q("06:00")].sum() * DT == pytest.approx(2.5 - 4.0, abs=TOL)
    assert injected[q("18:00") :].sum() * DT == pytest.approx(1.0, abs=TOL)
    assert energy[-1] == pytest.approx(0.0, abs=TOL)
    np.testing.assert_allclose(injected[q("06:00") : q("18:00")], 0.0, atol=TOL)
    assert objective(solved) == pytest.approx(720.0, abs=1e-5)


def test_a_fleet_without_v2g_never_injects_and_reports_what_it_still_owes():
    """E1. The same fleet without V2G at 1000 EUR/MWh before 02:00: it never injects. It
    stores the 1.5 MWh owed at 20: -30 EUR. Tonight's 3 MWh are still owed at midnight."""
    fleet = ev_fleet(energy_requirements=[OVERNIGHT], availability=PLUGGED_IN)
    prices = prices_with(50.0, _0000_0200=1000.0, _0200_0600=20.0, _1800_0000=300.0)
    built, solved = solve_day(on_nl(fleet), prices_nl(prices))
    injected = injection(built, solved, "ev-1")
    assert injected.max() <= TOL
    assert objective(solved) == pytest.approx(-30.0, abs=1e-5)
    owed = built.assets["ev-1"].owed_at_end
    assert owed is not None
    assert owed.evaluate(solved.values)[0] == pytest.approx(3.0, abs=TOL)


def test_a_fleet_starts_from_the_energy_and_debt_it_is_given():
    """E2, E3 with `initial_soc_mwh` 3.5 and `ev_owed_mwh` 0.5: 0.5 MWh to store by 06:00,
    at 20: -10 EUR; it then holds 4 MWh."""
    fleet = ev_fleet(energy_requirements=[OVERNIGHT], availability=PLUGGED_IN)
    built, solved = solve_day(
        on_nl(fleet),
        prices_nl(EV_PRICES),
        initial_soc_mwh={"ev-1": 3.5},
        ev_owed_mwh={"ev-1": 0.5},
    )
    assert objective(solved) == pytest.approx(-10.0, abs=1e-5)
    assert state(built, solved, "ev-1", "e_mwh")[q("06:00") - 1] == pytest.approx(4.0)


def test_arriving_vehicles_need_the_energy_they_used_while_away():
    """E2. Only Tuesday's session (18:00-06:00), plugged in all day, holding 1 MWh at the
    start: the vehicles that arrive at 18:00 used 3 MWh, so the fleet must hold 3 MWh
    before then. It charges 2 MWh at 10 in 10:00-11:00: -20 EUR."""
    fleet = ev_fleet(energy_requirements=[{**OVERNIGHT, "weekdays": [2]}])
    built, solved = solve_day(
        on_nl(fleet),
        prices_nl(prices_with(50.0, _1000_1100=10.0)),
        initial_soc_mwh={"ev-1": 1.0},
    )
    energy = state(built, solved, "ev-1", "e_mwh")
    assert energy[q("18:00") - 1] == pytest.approx(3.0, abs=TOL)
    assert energy[q("18:00")] == pytest.approx(0.0, abs=TOL)
    assert objective(solved) == pytest.approx(-20.0, abs=1e-5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"initial_soc_mwh": {"ev-1": 5.0}},
            "asset ev-1: initial_soc_mwh=5 is outside [0, 4]",
        ),
        # more than the 3 MWh requirement may be owed after V2G, but not more than the
        # session's six hours after midnight can charge at 2 MW
        ({"ev_owed_mwh": {"ev-1": 12.5}}, "asset ev-1: ev_owed_mwh=12.5 is outside [0, 12]"),
        (
            {"initial_heat_mwh_th": {"hp-1": 4.5}},
            "asset hp-1: initial_heat_mwh_th=4.5 is outside [0, 4]",
        ),
    ],
)
def test_an_initial_state_outside_the_assets_range_is_refused_by_name(options, message):
    fleet = ev_fleet(energy_requirements=[OVERNIGHT])
    pump = heat_pump(heat_demand=[{"start_local": "00:00", "end_local": "00:00", "heat_mw_th": 1}])
    with pytest.raises(InitialStateError, match=re.escape(message)):
        solve_day(on_nl(fleet, pump), prices_nl(EV_PRICES), **options)


# --- CHP and initial unit states ---------------------------------------------------------


def test_a_unit_stopped_after_its_initial_run_rests_its_full_minimum_down_time():
    """C3 after the run in progress at midnight. 1-2 MW CHP, fuel 50 EUR/MWh, minimum up
    time 0.5 h and down time 1 h, running for 15 minutes at midnight; 200 EUR/MWh, -500 in
    00:15-00:30.

    Stopping for the negative quarter hour means resting until 01:15, three quarter hours
    of 2 x 0.25 x 150 = 75 EUR lost (225); running through it at 1 MW loses
    0.25 x 550 = 137.5. So it runs: 95 x 75 - 137.5 = 6987.5 EUR.
    """
    unit = chp(min_up_time_h=0.5, min_down_time_h=1.0)
    built, solved = solve_day(
        portfolio(unit),
        day_ahead(prices_with(200.0, _0015_0030=-500.0)),
        unit_initial={"chp-1": ChpState(on=True, hours=0.25)},
    )
    expected = np.full(96, 2.0)
    expected[1] = 1.0
    np.testing.assert_allclose(injection(built, solved, "chp-1"), expected, atol=TOL)
    assert objective(solved) == pytest.approx(6987.5, abs=1e-5)


def test_chp_initial_is_an_alias_of_unit_initial_and_unit_initial_wins():
    """The deprecated `chp_initial` still sets a CHP's state; where both name the unit,
    `unit_initial` counts. Off for 0 h with a 2 h minimum down time: no run before 02:00."""
    unit = chp(min_down_time_h=2.0)
    prices = day_ahead([200.0] * 96)
    resting = ChpState(on=False, hours=0.0)
    cases = [
        {"chp_initial": {"chp-1": resting}},
        {"unit_initial": {"chp-1": resting}},
        {
            "chp_initial": {"chp-1": ChpState(on=True, hours=5.0)},
            "unit_initial": {"chp-1": resting},
        },
    ]
    for options in cases:
        built, solved = solve_day(portfolio(unit), prices, **options)
        np.testing.assert_allclose(injection(built, solved, "chp-1")[:8], 0.0, atol=TOL)
        assert objective(solved) == pytest.approx(88 * 0.25 * 2 * 150.0, abs=1e-5)


# --- states for the plan ----------------------------------------------------------------


def test_every_kind_exposes_its_states_per_quarter_hour():
    """`AssetTerms.states` holds what `docs/plan-format.md` names per kind, one row per
    quarter hour; `owed_at_end` is one row for an EV fleet and None for other kinds."""
    from optimiser_factories import battery

    pump = heat_pump(heat_demand=[{"start_local": "00:00", "end_local": "00:00", "heat_mw_th": 2}])
    pf = on_nl(
        battery(),
        chp(),
        flexible_load(consumption_min_mw=0.5),
        pump,
        ev_fleet(energy_requirements=[OVERNIGHT]),
        flexible_load(id="load-free"),
    )
    built = build(pf, DAY, prices_nl([50.0] * 96))
    keys = {aid: sorted(terms.states) for aid, terms in built.assets.items()}
    assert keys == {
        "bat-1": ["soc_mwh"],
        "chp-1": ["on"],
        "load-1": ["on"],
        "hp-1": ["heat_mwh_th", "on"],
        "ev-1": ["e_mwh"],
        "load-free": [],
    }
    for terms in built.assets.values():
        assert all(expr.n == 96 for expr in terms.states.values())
    assert built.assets["ev-1"].owed_at_end is not None
    assert built.assets["ev-1"].owed_at_end.n == 1
    assert all(t.owed_at_end is None for aid, t in built.assets.items() if aid != "ev-1")
    assert built.assets["bat-1"].soc is not None
