"""A day's prices are looked up by binary search (`PriceInputs.quarter_hourly`): every
quarter hour gets exactly what pandas' forward-filling reindex gives (an hourly price for
its four quarter hours, a finer series only where it has a point), and a quarter hour
left unpriced is named, on DST days, with gaps, missing values, and indexes of any
resolution, order and time zone."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.optimiser.inputs import Horizon, MissingPriceError, PriceInputs

DAYS = (date(2025, 3, 30), date(2025, 10, 26), date(2025, 6, 1))


def _pandas_reference(series: pd.Series, horizon: Horizon) -> np.ndarray:
    """What the look-up gave before: sort, drop repeats, reindex with ffill and a 45-minute
    reach for a series with at most one point an hour in the day, 0 otherwise."""
    series = series.set_axis(series.index.tz_convert("UTC")).sort_index()
    series = series[~series.index.duplicated(keep="first")]
    start, end = horizon.periods[0], horizon.periods[-1] + pd.Timedelta("15min")
    points = int(((series.index >= start) & (series.index < end)).sum())
    reach = pd.Timedelta("45min") if points <= horizon.n // 4 + 1 else pd.Timedelta(0)
    aligned = series.reindex(horizon.periods, method="ffill", tolerance=reach)
    return aligned.to_numpy(dtype=float)


def _lookup(series: pd.Series, day: date) -> np.ndarray | str:
    try:
        return PriceInputs(day_ahead={"Z": series}).quarter_hourly(
            "day_ahead", "Z", Horizon.of(day)
        )
    except MissingPriceError as exc:
        return str(exc)


@settings(max_examples=60, deadline=None)
@given(
    day=st.sampled_from(DAYS),
    freq=st.sampled_from(["1h", "15min", "30min", "4h"]),
    seed=st.integers(0, 10_000),
    drop=st.floats(0.0, 0.3),
    nan=st.floats(0.0, 0.2),
    shuffle=st.booleans(),
    unit=st.sampled_from(["ns", "us", "s"]),
    local=st.booleans(),
)
def test_the_lookup_prices_every_quarter_hour_as_pandas_reindex_did(
    day: date, freq: str, seed: int, drop: float, nan: float, shuffle: bool, unit: str, local: bool
) -> None:
    rng = np.random.default_rng(seed)
    horizon = Horizon.of(day)
    index = pd.date_range(
        horizon.periods[0] - pd.Timedelta("3h"), periods=40 * 4, freq=freq, tz="UTC"
    ).as_unit(unit)
    series = pd.Series(rng.normal(60.0, 30.0, len(index)).round(2), index=index)
    series = series[rng.random(len(series)) >= drop]  # gaps
    series[rng.random(len(series)) < nan] = np.nan  # missing values
    if len(series):
        series = pd.concat([series, series.iloc[::7] + 500.0])  # repeats: the first kept
    if shuffle:
        series = series.sample(frac=1.0, random_state=seed)
    if local:
        series.index = series.index.tz_convert("Europe/Berlin")
    expected = _pandas_reference(series, horizon)
    got = _lookup(series, day)
    if np.isnan(expected).any():
        first = horizon.periods[int(np.argmax(np.isnan(expected)))]
        assert isinstance(got, str)
        assert first.strftime("%Y-%m-%dT%H:%M:%SZ") in got
        assert f"{int(np.isnan(expected).sum())} of {horizon.n} quarter hours" in got
    else:
        assert not isinstance(got, str), got
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_an_hourly_price_reaches_its_four_quarter_hours_and_no_further(day: date) -> None:
    horizon = Horizon.of(day)
    hours = pd.date_range(horizon.periods[0], horizon.periods[-1], freq="1h", tz="UTC")
    series = pd.Series(np.arange(len(hours), dtype=float), index=hours)
    np.testing.assert_array_equal(_lookup(series, day), np.repeat(np.arange(len(hours)), 4))
    gap = series.drop(hours[5])  # the quarter hours of hour 5 are unpriced, not filled
    message = _lookup(gap, day)
    assert isinstance(message, str)
    assert hours[5].strftime("%Y-%m-%dT%H:%M:%SZ") in message
    assert f"4 of {horizon.n} quarter hours" in message
