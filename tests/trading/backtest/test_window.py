"""A day's window of the prices answers every look-up of that day exactly as the whole
series does: hourly and quarter-hourly series, DST days, unsorted input with repeated
timestamps, a series ending inside the day, and the simulated exchange's clearing."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.backtest.window import PriceWindows, window
from trading.optimiser.inputs import Horizon, MissingPriceError, PriceInputs

FIRST = date(2025, 3, 20)
LAST = date(2025, 11, 5)


def _series(freq: str, seed: int, start: str = "2025-03-01", end: str = "2025-11-30") -> pd.Series:
    index = pd.date_range(start, end, freq=freq, tz="UTC", inclusive="left")
    prices = np.random.default_rng(seed).normal(80.0, 40.0, len(index)).round(2)
    return pd.Series(prices, index=index)


def _prices(seed: int) -> PriceInputs:
    messy = _series("15min", seed + 1)
    messy = pd.concat([messy, messy.iloc[::97] + 1000.0]).sample(frac=1.0, random_state=seed)
    messy.index = messy.index.tz_convert("Europe/Berlin")  # local, unsorted, repeated
    return PriceInputs(
        day_ahead={"DE_LU": _series("1h", seed), "NL": messy},
        intraday={"DE_LU": _series("15min", seed + 2, end="2025-10-26 10:00")},
        afrr_capacity={("DE_LU", "pos"): _series("4h", seed + 3)},
    )


def _lookup(prices: PriceInputs, market: str, key: str | tuple[str, str], day: date):
    try:
        return prices.quarter_hourly(market, key, Horizon.of(day))
    except MissingPriceError as exc:
        return str(exc)


KEYS = (
    ("day_ahead", "DE_LU"),
    ("day_ahead", "NL"),
    ("intraday", "DE_LU"),
    ("afrr_capacity", ("DE_LU", "pos")),
)


@pytest.mark.parametrize(
    "day",
    [date(2025, 3, 30), date(2025, 10, 26), date(2025, 10, 27), date(2025, 6, 1), FIRST],
    ids=str,
)
def test_a_days_window_prices_the_day_as_the_whole_series(day: date) -> None:
    prices = _prices(0)
    windows = PriceWindows(prices)
    for market, key in KEYS:
        whole = _lookup(prices, market, key, day)
        cut = _lookup(windows.around(day), market, key, day)
        if isinstance(whole, str):
            assert cut == whole  # the same error, naming the same first missing period
        else:
            np.testing.assert_array_equal(cut, whole)


@settings(max_examples=25, deadline=None)
@given(offset=st.integers(0, (LAST - FIRST).days), seed=st.integers(0, 3))
def test_any_day_of_a_run_looks_up_the_same_prices(offset: int, seed: int) -> None:
    prices = _prices(seed)
    day = FIRST + timedelta(days=offset)
    cut = window(prices, day)
    for market, key in KEYS:
        whole = _lookup(prices, market, key, day)
        mine = _lookup(cut, market, key, day)
        if isinstance(whole, str):
            assert mine == whole
        else:
            np.testing.assert_array_equal(mine, whole)


def test_a_window_holds_only_the_day_and_a_day_either_side() -> None:
    prices = _prices(0)
    day = date(2025, 6, 1)
    cut = window(prices, day)
    index = cut.day_ahead["DE_LU"].index
    assert index.min() == pd.Timestamp("2025-05-30T22:00Z")
    assert index.max() == pd.Timestamp("2025-06-02T21:00Z")
    assert len(cut.day_ahead["DE_LU"]) < len(prices.day_ahead["DE_LU"]) / 50


def test_a_series_without_time_zone_is_passed_whole_and_still_refused() -> None:
    naive = pd.Series([50.0] * 48, index=pd.date_range("2025-06-01", periods=48, freq="1h"))
    cut = window(PriceInputs(day_ahead={"DE_LU": naive}), date(2025, 6, 1))
    assert cut.day_ahead["DE_LU"] is naive
    with pytest.raises(MissingPriceError, match="timezone-aware"):
        cut.quarter_hourly("day_ahead", "DE_LU", Horizon.of(date(2025, 6, 1)))
