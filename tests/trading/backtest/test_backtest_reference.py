"""The independent reference optimum (`reference_battery`, written against SciPy's HiGHS,
not the project's optimiser), checked by hand, and a real DE-LU month held against it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from reference_battery import ReferenceBattery, optimum
from reference_compare import (
    PRICES_2022_2023,
    SHARED_DATA,
    ZONE,
    as_reference,
    compare,
    quarter_hour_prices,
    ten_mw_battery,
)

from trading.optimiser.build import OptimiserOptions
from trading.optimiser.plan import optimise
from trading.prices.inputs import read_price_inputs

SMALL = ReferenceBattery(
    power_charge_mw=4.0,
    power_discharge_mw=4.0,
    soc_min_mwh=0.0,
    soc_max_mwh=0.9,
    soc_initial_mwh=0.0,
    efficiency_charge=0.9,
    efficiency_discharge=0.9,
    wear_eur_per_mwh=2.0,
)


def test_four_quarter_hours_give_the_hand_computed_optimum() -> None:
    # Buy 1 MWh in a cheap quarter hour (4 MW x 0.25 h, 0.9 MWh stored, the battery
    # full), sell the 0.81 MWh it gives back in a dear one: 81 - 10 EUR, wear 2 EUR/MWh
    # on 1.81 MWh of throughput.
    found = optimum([10.0, 10.0, 100.0, 100.0], SMALL, end_target_mwh=0.0)
    assert found.revenue_eur == pytest.approx(71.0, abs=1e-6)
    assert found.wear_eur == pytest.approx(3.62, abs=1e-6)
    assert found.net_eur == pytest.approx(67.38, abs=1e-6)
    assert found.soc_mwh.max() == pytest.approx(0.9, abs=1e-6)
    assert found.soc_mwh[-1] == pytest.approx(0.0, abs=1e-6)


def test_positions_in_whole_volume_steps_give_the_hand_computed_optimum() -> None:
    # Two half-hour products, 1 MW steps: buy 2 MW for half an hour (1 MWh, 0.9 MWh
    # stored, full); 0.81 MWh could come back, but only 1 MW x 0.5 h = 0.5 MWh can be
    # sold in whole steps: 50 - 10 EUR, wear 2 EUR/MWh on 1.5 MWh.
    found = optimum(
        [10.0, 10.0, 100.0, 100.0],
        SMALL,
        end_target_mwh=0.0,
        product_of_period=["a", "a", "b", "b"],
        volume_step_mw=1.0,
    )
    assert found.net_eur == pytest.approx(37.0, abs=1e-6)
    assert found.discharge_mw - found.charge_mw == pytest.approx(np.array([-2, -2, 1, 1]))
    # Continuous, the same products: the 67.38 EUR of the free quarter hours.
    loose = optimum(
        [10.0, 10.0, 100.0, 100.0],
        SMALL,
        end_target_mwh=0.0,
        product_of_period=["a"] * 2 + ["b"] * 2,
    )
    assert loose.net_eur == pytest.approx(67.38, abs=1e-6)


def test_a_value_for_stored_energy_keeps_it_and_a_target_forces_it() -> None:
    flat = [10.0, 10.0, 10.0, 10.0]
    # Nothing to earn in the day, but 30 EUR/MWh for what is stored at the end: fill up.
    kept = optimum(flat, SMALL, end_value_eur_per_mwh=30.0)
    assert kept.soc_mwh[-1] == pytest.approx(0.9, abs=1e-6)
    assert kept.net_eur == pytest.approx(-10.0 - 2.0, abs=1e-6)  # 1 MWh bought, its wear
    assert kept.objective_eur == pytest.approx(-12.0 + 27.0, abs=1e-6)
    # Worth less than it costs: keep nothing.
    assert optimum(flat, SMALL, end_value_eur_per_mwh=5.0).soc_mwh[-1] == pytest.approx(0.0)
    # A target to reach is paid for, and the cycle cap binds per day.
    full = optimum(flat, SMALL, end_target_mwh=0.45)
    assert full.net_eur == pytest.approx(-0.5 * 12.0, abs=1e-6)
    capped = optimum(
        [10.0, 100.0, 10.0, 100.0],
        ReferenceBattery(**{**SMALL.__dict__, "max_discharge_mwh_per_day": 0.5}),
        day_of_period=["d1", "d1", "d2", "d2"],
        end_target_mwh=0.0,
    )
    assert capped.discharge_mw[[1, 3]] * 0.25 == pytest.approx(np.array([0.5, 0.5]), abs=1e-6)


@pytest.mark.realdata
def test_a_real_month_nets_within_half_a_percent_of_the_independent_optimum() -> None:
    if not (SHARED_DATA / PRICES_2022_2023).exists():
        pytest.skip(f"{SHARED_DATA / PRICES_2022_2023} is not there (../shared/data)")
    found = compare(date(2023, 3, 1), date(2023, 3, 31))
    assert found.backtest_net_eur <= found.reference_net_eur + 1.0  # the reference bounds it
    assert found.shortfall < 0.005, found
    assert found.backtest_costs_eur == pytest.approx(found.backtest_wear_eur, abs=0.05)
    assert found.backtest_costs_eur == pytest.approx(found.reference_wear_eur, rel=0.02)
    assert found.soc_rises > 0, found
    assert found.soc_falls > 0, found
    # The two-day look-ahead's end-of-day rule, on the reference: never above the whole
    # month's optimum, and no worse than the one-day rule by more than a tenth of a percent.
    assert found.lookahead_reference_net_eur <= found.reference_net_eur + 1.0
    assert found.lookahead_reference_net_eur >= found.daily_reference_net_eur * 0.999


@pytest.mark.realdata
def test_a_real_quarter_with_a_two_day_look_ahead_nets_within_half_a_percent() -> None:
    # The year (DE-LU 2023, 0.46 % below with --horizon-days 2, docs/backtest.md) takes
    # about 90 s of CPU and minutes on a loaded machine, too long for the suite: its
    # second quarter instead, which holds the day the look-ahead once asked whole steps
    # for an exact full battery (2023-05-21, test_backtest_lookahead).
    if not (SHARED_DATA / PRICES_2022_2023).exists():
        pytest.skip(f"{SHARED_DATA / PRICES_2022_2023} is not there (../shared/data)")
    found = compare(date(2023, 4, 1), date(2023, 6, 30), horizon_days=2)
    assert found.backtest_net_eur <= found.reference_net_eur + 1.0
    assert found.shortfall < 0.005, found
    assert found.backtest_costs_eur == pytest.approx(found.backtest_wear_eur, abs=0.05)
    assert found.soc_rises > 0, found
    assert found.soc_falls > 0, found


@pytest.mark.realdata
def test_a_real_days_plan_is_just_below_the_independent_optimum_its_bound_on_it() -> None:
    path = SHARED_DATA / PRICES_2022_2023
    if not path.exists():
        pytest.skip(f"{path} is not there (../shared/data)")
    portfolio = ten_mw_battery()
    (battery,) = portfolio.assets
    ref = as_reference(battery)
    prices = read_price_inputs(path, None, None, {ZONE}, ("day_ahead",))
    for day in (date(2023, 3, 1), date(2023, 7, 2)):
        quarters = quarter_hour_prices(path, ZONE, day, day)
        value = 37.5  # any value for stored energy: both must treat it alike
        plan = optimise(
            portfolio,
            day,
            prices,
            options=OptimiserOptions(
                markets=("day_ahead",), soc_value_eur_per_mwh={battery.id: value}
            ),
        )
        found = optimum(
            quarters["price"].to_numpy(),
            ref,
            end_value_eur_per_mwh=value,
            product_of_period=list(quarters["hour"]),
        )
        if (quarters["price"] >= 0).all():  # nothing for a binary to decide: an LP
            assert plan.solver.bound_eur == pytest.approx(found.objective_eur, abs=0.01)
        assert plan.objective_eur <= found.objective_eur + 0.01
        assert plan.objective_eur >= found.objective_eur * 0.99
        assert plan.revenue_by_market["stored_energy"] == pytest.approx(
            value * (plan.end_state[battery.id]["soc_mwh"] - ref.soc_initial_mwh), abs=0.01
        )
