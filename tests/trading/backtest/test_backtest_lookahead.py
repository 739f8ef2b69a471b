"""The multi-day horizon for storage: a plan of D and the days after it says where D
ends, the live optimiser ends D there, and only D is committed."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from backtest_runs import generated_prices
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_compare import PRICES_2022_2023, SHARED_DATA, ZONE, ten_mw_battery
from test_backtest_run import one_battery

from regulatory.assets.storage import Battery
from trading.backtest import BacktestConfig, PerfectForesight, run_backtest
from trading.backtest.lookahead import plan_ahead, reachable_floor
from trading.backtest.run import replacement_value
from trading.prices.inputs import read_price_inputs

BATTERY = one_battery().assets[0]
assert isinstance(BATTERY, Battery)
LOW, HIGH = BATTERY.soc_min_mwh, BATTERY.soc_max_mwh or BATTERY.energy_mwh
FLAT = np.full(96, 80.0)


def test_dear_tomorrow_makes_today_end_full_and_cheap_tomorrow_empty() -> None:
    dear = plan_ahead(BATTERY, 10.0, [FLAT, np.full(96, 400.0)], end_value_eur_per_mwh=0.0)
    cheap = plan_ahead(BATTERY, 10.0, [FLAT, np.full(96, 5.0)], end_value_eur_per_mwh=0.0)
    assert dear is not None
    assert cheap is not None
    assert dear.end_soc_mwh == HIGH or abs(dear.end_soc_mwh - HIGH) < 1e-6
    assert abs(cheap.end_soc_mwh - LOW) < 1e-6
    assert dear.shadow_price_eur_per_mwh > cheap.shadow_price_eur_per_mwh


def test_one_day_ahead_is_the_end_value() -> None:
    alone = plan_ahead(BATTERY, 10.0, [FLAT], end_value_eur_per_mwh=42.0)
    assert alone is not None
    assert alone.shadow_price_eur_per_mwh == 42.0


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(-100, 500), min_size=192, max_size=192),
    st.floats(0, 300),
    st.floats(0, 1),
)
def test_the_plan_ahead_keeps_the_soc_in_range(prices: list[float], value: float, start: float):
    soc = LOW + start * (HIGH - LOW)
    ahead = plan_ahead(BATTERY, soc, [np.array(prices[:96]), np.array(prices[96:])], value)
    assert ahead is not None
    assert LOW - 1e-6 <= ahead.end_soc_mwh <= HIGH + 1e-6


def test_a_two_day_horizon_ends_each_day_where_its_plan_ahead_does() -> None:
    start = date(2026, 6, 13)
    prices = generated_prices(start, 4)
    config = BacktestConfig(start, start + timedelta(days=2), horizon_days=2)
    result = run_backtest(one_battery(), prices, config)
    assert len(result.days) == 3
    assert "D..D+1" in " ".join(result.notes)
    local = result.soc["timestamp_utc"].dt.tz_convert("Europe/Berlin").dt.date
    ends = result.soc.groupby(local)["soc_mwh"].last()
    soc = BATTERY.soc_initial_mwh
    for day in config.days():
        day_prices = prices.day_ahead["DE_LU"]
        local_days = day_prices.index.tz_convert("Europe/Berlin").date
        days = [day_prices[local_days == day + timedelta(days=k)].to_numpy() for k in (0, 1)]
        end_value = replacement_value(
            BATTERY, one_battery(), prices, day + timedelta(days=1), PerfectForesight()
        )
        ahead = plan_ahead(BATTERY, soc, days, end_value)
        assert ahead is not None
        assert ends[day] >= ahead.end_soc_mwh - 0.05  # whole-step plans may end a bit above
        soc = float(ends[day])


def test_the_floor_keeps_one_volume_step_of_room_below_the_top() -> None:
    step = 0.1 * 1.0 * BATTERY.efficiency_charge  # 0.1 MW over an hourly product
    assert reachable_floor(BATTERY, HIGH, step) == HIGH - step
    assert reachable_floor(BATTERY, 7.5, step) == 7.5
    assert reachable_floor(BATTERY, LOW - 1.0, step) == LOW
    assert reachable_floor(BATTERY, HIGH, 0.0) == HIGH  # continuous positions: exact


@pytest.mark.realdata
def test_a_look_ahead_that_fills_the_battery_costs_no_more_than_the_one_day_rule() -> None:
    # DE-LU 2023-05-21: cheap all day, dear the next morning, so the two-day plan ends the
    # day at the top of the range, 19 MWh. The year's run began the day at 1.0674 MWh
    # (1 + 0.064 / 0.95); asked to end at exactly 19 MWh in whole 0.1 MW hourly steps
    # (0.095 MWh each when charging), its plan charged and discharged at once to land on
    # it and netted 272 EUR against the 481 EUR of the same day on the one-day value.
    path = SHARED_DATA / PRICES_2022_2023
    if not path.exists():
        pytest.skip(f"{path} is not there (../shared/data)")
    portfolio = ten_mw_battery()
    (battery,) = portfolio.assets
    empty = portfolio.model_copy(
        update={"assets": [battery.model_copy(update={"soc_initial_mwh": 1.0 + 0.064 / 0.95})]}
    )
    prices = read_price_inputs(path, None, None, {ZONE}, ("day_ahead",))
    day = date(2023, 5, 21)
    one_day, two_days = (
        run_backtest(empty, prices, BacktestConfig(day, day, horizon_days=h)) for h in (1, 2)
    )
    step = 0.1 * battery.efficiency_charge
    assert two_days.soc["soc_mwh"].iloc[-1] >= HIGH - step - 1e-6  # it did fill up
    assert float(two_days.days["net_eur"].sum()) >= float(one_day.days["net_eur"].sum()) - 1.0
    assert float(two_days.days["costs_eur"].sum()) <= float(one_day.days["costs_eur"].sum()) + 1.0
