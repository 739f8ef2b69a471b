"""Hand-computed plans of one asset on one delivery day (96 quarter hours of 0.25 h).

Every case is small enough to solve on paper; `mip_gap=0` makes the solver prove the
optimum, and a small wear cost or price slope breaks ties so the pattern is unique.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from optimiser_factories import (
    DAY,
    Capture,
    battery,
    chp,
    constant,
    day_ahead,
    portfolio,
)

from trading.optimiser.build import OptimiserOptions
from trading.optimiser.inputs import PriceInputs
from trading.optimiser.plan import optimise
from trading.optimiser.solver import SolverOptions

EXACT = SolverOptions(mip_gap=0)
DA_ONLY = OptimiserOptions(markets=("day_ahead",), solver=EXACT)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Capture:
    """Records (built, solved) as `optimise` writes its plan back."""
    import trading.optimiser.plan as plan_module

    capture = Capture()
    original = plan_module.write_back

    def spy(built: Any, solved: Any) -> Any:
        capture.built, capture.solved = built, solved
        return original(built, solved)

    monkeypatch.setattr(plan_module, "write_back", spy)
    return capture


def injection(plan, asset_id: str) -> np.ndarray:
    return plan.schedule.injection_frame()[asset_id].to_numpy()


def test_battery_buys_the_free_hour_and_sells_the_expensive_one() -> None:
    """1 MW / 1 MWh, lossless, empty, wear 1 EUR/MWh on charge and on discharge.

    Prices: 10 EUR/MWh except 0 in q8-q11 and 100 in q40-q43. Best: charge 1 MW in
    q8-q11 (1 MWh for free), discharge 1 MW in q40-q43 (1 MWh at 100), end empty again.
    Objective = 100 - 1 (wear on 1 MWh charged) - 1 (on 1 MWh discharged) = 98 EUR.
    Any trade at 10 both ways only adds wear, so nothing else is done.
    """
    prices = [10.0] * 96
    prices[8:12] = [0.0] * 4
    prices[40:44] = [100.0] * 4
    bat = battery(degradation_cost_eur_per_mwh=1.0)
    plan = optimise(portfolio(bat), DAY, day_ahead(prices), options=DA_ONLY)

    expected = np.zeros(96)
    expected[8:12] = -1.0
    expected[40:44] = 1.0
    assert plan.objective_eur == pytest.approx(98.0, abs=1e-6)
    np.testing.assert_allclose(injection(plan, "bat-1"), expected, atol=1e-6)
    assert plan.revenue_by_market["day_ahead"] == pytest.approx(100.0, abs=1e-6)
    sold = {p.product_id: p.mw for p in plan.positions if abs(p.mw) > 1e-9}
    assert len(sold) == 8, "one position per traded quarter hour, none elsewhere"


@pytest.mark.parametrize(
    ("start_cost", "objective", "on"),
    [
        # 2 MW in q40 at 200: (200-50)*2*0.25 = 75; q41-q43 at 1 MW min stable load and
        # price 45: 3*(45-50)*1*0.25 = -3.75; total 71.25 - 50 start = 21.25 EUR.
        (50.0, 21.25, [40, 41, 42, 43]),
        # 71.25 < 80: no run pays, the unit stays off.
        (80.0, 0.0, []),
    ],
)
def test_chp_min_up_time_makes_a_spike_run_last_an_hour(
    start_cost: float, objective: float, on: list[int]
) -> None:
    """2 MW CHP, 1 MW minimum stable load, fuel 50 EUR/MWh, minimum up time 1 h.

    Prices 40 before q40, 200 in q40, 45 after. The run must last 4 quarter hours; after
    the spike is cheaper than before it (45 > 40), so the run is q40-q43, at full power in
    the spike and at the minimum stable load for the other three.
    """
    prices = [40.0] * 40 + [200.0] + [45.0] * 55
    unit = chp(min_up_time_h=1.0, start_cost_eur=start_cost)
    plan = optimise(portfolio(unit), DAY, day_ahead(prices), options=DA_ONLY)

    expected = np.zeros(96)
    if on:
        expected[on] = [2.0, 1.0, 1.0, 1.0]
    assert plan.objective_eur == pytest.approx(objective, abs=1e-6)
    np.testing.assert_allclose(injection(plan, "chp-1"), expected, atol=1e-6)


def test_afrr_capacity_keeps_its_energy_reservoir(captured: Capture) -> None:
    """A 2 MW / 0.4 MWh battery prequalified for 2 MW aFRR+, capacity at 1000 EUR/MW/h.

    The DE aFRR rule keeps `energy_reservoir_h` (0.25 h unless the rule names another
    value) of stored energy per reserved MW: 0.4 MWh holds at most 1.6 MW, and capacity is
    sold in whole MW, so every 4-hour block sells exactly 1 MW and the state of charge
    never falls below 1 MW * reservoir over the block.
    """
    bat = battery(
        power_charge_mw=2.0,
        power_discharge_mw=2.0,
        energy_mwh=0.4,
        soc_initial_mwh=0.2,
        prequalifications=[{"product": "afrr_pos", "mw": 2.0}],
    )
    prices = PriceInputs(
        day_ahead={"DE_LU": constant(50.0)},
        afrr_capacity={("DE_LU", "pos"): constant(1000.0)},
    )
    options = OptimiserOptions(markets=("day_ahead", "afrr_capacity"), solver=EXACT)
    plan = optimise(portfolio(bat), DAY, prices, options=options)

    capacity = [p for p in plan.positions if p.market == "afrr_capacity"]
    assert len(capacity) == 6, "six 4-hour blocks on a 24-hour day"
    assert [p.mw for p in capacity] == [1.0] * 6
    built = captured.built
    reservoir_h = next(
        (
            b.energy_reservoir_h
            for b in built.treatments["bat-1"].balancing
            if b.product == "afrr_pos"
        ),
        None,
    )
    reservoir_h = 0.25 if reservoir_h is None else reservoir_h
    soc = captured(built.assets["bat-1"].soc)
    pool = built.pools[0]
    held = np.array([p.mw for p in capacity])[pool.block_of]
    assert (soc >= held * reservoir_h - 1e-6).all()
    # 6 blocks * 1 MW * 4 h * 1000 EUR/MW/h
    assert plan.revenue_by_market["afrr_capacity"] == pytest.approx(24_000.0)


def test_negative_prices_do_not_charge_and_discharge_at_once(captured: Capture) -> None:
    """At negative prices burning energy (charge and discharge together) would pay; the
    battery must not. Lossy battery, 4 h at -50, otherwise 30, a peak of 80 in q70-q73."""
    prices = [30.0] * 96
    prices[20:36] = [-50.0] * 16
    prices[70:74] = [80.0] * 4
    bat = battery(
        power_charge_mw=1.0,
        power_discharge_mw=1.0,
        energy_mwh=2.0,
        efficiency_charge=0.9,
        efficiency_discharge=0.9,
        soc_initial_mwh=1.0,
    )
    plan = optimise(portfolio(bat), DAY, day_ahead(prices), options=DA_ONLY)
    variables = captured.built.assets["bat-1"].variables
    charge, discharge = captured(variables["charge"]), captured(variables["discharge"])
    negative_mask = np.array(prices) <= 0
    assert (np.minimum(charge, discharge)[negative_mask] <= 1e-6).all()
    # selling in a negative quarter hour can pay here: alternating with charging burns
    # energy through the losses and makes room for more paid charging
    assert plan.objective_eur > 0


def test_no_simultaneous_charge_and_discharge_anywhere(captured: Capture) -> None:
    """The same lossy battery as above: not even the rounding re-solve may overlap."""
    prices = [30.0] * 96
    prices[20:36] = [-50.0] * 16
    prices[70:74] = [80.0] * 4
    bat = battery(
        energy_mwh=2.0, efficiency_charge=0.9, efficiency_discharge=0.9, soc_initial_mwh=1.0
    )
    optimise(portfolio(bat), DAY, day_ahead(prices), options=DA_ONLY)
    variables = captured.built.assets["bat-1"].variables
    charge, discharge = captured(variables["charge"]), captured(variables["discharge"])
    assert (np.minimum(charge, discharge) <= 1e-6).all()


def test_a_chp_running_at_midnight_runs_out_its_minimum_up_time_without_a_new_start() -> None:
    """2 MW CHP, 1 MW minimum stable load, fuel 50 EUR/MWh, minimum up time 2 h, start cost
    1000 EUR, started 30 minutes before midnight (ChpState on, 0.5 h).

    Prices 20 EUR/MWh all day: running loses money, so the unit stops as soon as it may,
    after the 1.5 h left of its minimum up time, at the minimum stable load: 6 quarter hours
    x 0.25 h x 1 MW x (20 - 50) = -45 EUR, and no start cost (it was already running).
    """
    from trading.optimiser.inputs import ChpState

    unit = chp(min_up_time_h=2.0, start_cost_eur=1000.0)
    options = DA_ONLY.model_copy(update={"chp_initial": {"chp-1": ChpState(on=True, hours=0.5)}})
    plan = optimise(portfolio(unit), DAY, day_ahead([20.0] * 96), options=options)
    expected = np.zeros(96)
    expected[:6] = 1.0
    np.testing.assert_allclose(injection(plan, "chp-1"), expected, atol=1e-6)
    assert plan.objective_eur == pytest.approx(-45.0, abs=1e-6)


def test_a_chp_that_just_stopped_rests_out_its_minimum_down_time() -> None:
    """The same unit with a minimum down time of 2 h, stopped 1 h before midnight, no start
    cost. Prices 200 EUR/MWh all day: it runs at full power as soon as it may, after the
    1 h of rest left: 4 quarter hours off, then 92 x 0.25 h x 2 MW x (200 - 50) EUR."""
    from trading.optimiser.inputs import ChpState

    unit = chp(min_down_time_h=2.0)
    options = DA_ONLY.model_copy(update={"chp_initial": {"chp-1": ChpState(on=False, hours=1.0)}})
    plan = optimise(portfolio(unit), DAY, day_ahead([200.0] * 96), options=options)
    expected = np.full(96, 2.0)
    expected[:4] = 0.0
    np.testing.assert_allclose(injection(plan, "chp-1"), expected, atol=1e-6)
    assert plan.objective_eur == pytest.approx(92 * 0.25 * 2.0 * 150.0, abs=1e-6)
