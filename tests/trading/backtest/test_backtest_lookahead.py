"""The multi-day horizon for storage: a plan of D and the days after it says where D
ends, the live optimiser ends D there, and only D is committed."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from backtest_runs import generated_prices
from hypothesis import given, settings
from hypothesis import strategies as st
from test_backtest_run import one_battery

from regulatory.assets.storage import Battery
from trading.backtest import BacktestConfig, PerfectForesight, run_backtest
from trading.backtest.lookahead import plan_ahead
from trading.backtest.run import replacement_value

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
