"""The price book's look-up by binary search prices each quarter hour exactly as pandas'
forward fill with the 45-minute reach did: the last period at or before it, a NaN price
kept as NaN (unpriced), nothing before the first period or beyond the reach."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.exchange.price_book import PERIOD_REACH, _forward_filled

ORIGIN = pd.Timestamp("2025-03-29T20:00Z")


@settings(max_examples=200, deadline=None)
@given(
    starts=st.lists(st.integers(0, 4 * 60), min_size=0, max_size=40, unique=True),
    prices=st.lists(
        st.one_of(st.floats(-500, 4000, allow_nan=False), st.just(float("nan"))),
        min_size=40,
        max_size=40,
    ),
    first=st.integers(-8, 4 * 60),
    count=st.integers(1, 100),
)
def test_the_binary_search_prices_as_pandas_forward_fill(
    starts: list[int], prices: list[float], first: int, count: int
) -> None:
    index = pd.DatetimeIndex(
        sorted(ORIGIN + pd.Timedelta(minutes=5 * s) for s in starts), dtype="datetime64[ns, UTC]"
    )
    series = pd.Series(prices[: len(index)], index=index, dtype=float)
    quarters = pd.date_range(ORIGIN + pd.Timedelta(minutes=5 * first), periods=count, freq="15min")
    expected = series.reindex(quarters, method="ffill", tolerance=PERIOD_REACH).to_numpy(float)
    found = _forward_filled(index.as_unit("ns").asi8, series.to_numpy(float), quarters)
    np.testing.assert_array_equal(found, expected)


def test_an_hourly_price_covers_its_four_quarter_hours_and_no_more() -> None:
    index = pd.date_range("2025-06-01T00:00Z", periods=2, freq="1h")
    quarters = pd.date_range("2025-05-31T23:45Z", periods=10, freq="15min")
    found = _forward_filled(index.as_unit("ns").asi8, np.array([10.0, 20.0]), quarters)
    expected = [np.nan, 10, 10, 10, 10, 20, 20, 20, 20, np.nan]
    np.testing.assert_array_equal(found, expected)
