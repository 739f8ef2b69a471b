"""trading.prices.resample: hourly <-> 15-minute price series, DST days included."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA
from hypothesis import given
from hypothesis import strategies as st

from trading.prices import read_day_ahead_prices, to_hours, to_quarter_hours

BERLIN = "Europe/Berlin"
QUARTER_REAL = "day_ahead_prices_15min_de_lu_2025-10_2026-08.csv"


def _hourly(start: str, hours: int, values: list[float] | None = None) -> pd.Series:
    index = pd.date_range(start, periods=hours, freq="h", name="timestamp_utc")
    data = np.arange(hours, dtype="float64") if values is None else values
    return pd.Series(data, index=index, name="price_eur_mwh")


def _per_local_day(series: pd.Series) -> dict[date, int]:
    return series.groupby(series.index.tz_convert(BERLIN).date).size().to_dict()


@pytest.mark.parametrize(
    ("day_start_utc", "hours", "quarters"),
    [("2026-03-28T23:00Z", 23, 92), ("2025-10-25T22:00Z", 25, 100), ("2026-01-14T23:00Z", 24, 96)],
)
def test_each_quarter_hour_takes_its_hours_price_on_dst_days(
    day_start_utc, hours, quarters
) -> None:
    hourly = _hourly(day_start_utc, hours)
    quarter = to_quarter_hours(hourly)
    assert len(quarter) == quarters
    assert set(_per_local_day(quarter).values()) == {quarters}  # one whole delivery day
    assert quarter.name == "price_eur_mwh"
    assert quarter.index.name == "timestamp_utc"
    assert str(quarter.index.tz) == "UTC"
    assert (np.diff(quarter.index.asi8) == np.diff(quarter.index.asi8)[0]).all()
    assert quarter.iloc[4:8].tolist() == [1.0] * 4
    assert quarter.index[4] == hourly.index[1]


def test_to_hours_is_the_mean_of_the_four_quarter_hours() -> None:
    index = pd.date_range("2026-03-29T00:00Z", periods=8, freq="15min")
    series = pd.Series([1.0, 2.0, 3.0, 6.0, -10.0, 10.0, np.nan, 0.0], index=index, name="p")
    hourly = to_hours(series)
    assert hourly.index.tolist() == [
        pd.Timestamp("2026-03-29T00:00Z"),
        pd.Timestamp("2026-03-29T01:00Z"),
    ]
    assert hourly.iloc[0] == 3.0
    assert np.isnan(hourly.iloc[1])  # a missing quarter hour leaves the hour missing
    assert hourly.name == "p"


@given(
    start_hour=st.integers(min_value=0, max_value=24 * 600),
    values=st.lists(
        st.floats(min_value=-500, max_value=4000, allow_nan=False), min_size=1, max_size=200
    ),
)
def test_hourly_to_quarter_hours_and_back_is_the_identity(start_hour, values) -> None:
    # Starts from 2025-03-01 over ~600 days: windows cross spring and autumn DST changes.
    start = pd.Timestamp("2025-03-01T00:00Z") + pd.Timedelta(hours=start_hour)
    hourly = _hourly(str(start), len(values), values)
    quarter = to_quarter_hours(hourly)
    assert len(quarter) == 4 * len(values)
    pd.testing.assert_series_equal(to_hours(quarter), hourly, check_freq=False)


def test_to_hours_refuses_a_partial_hour_and_names_it() -> None:
    quarter = to_quarter_hours(_hourly("2026-03-28T23:00Z", 23))
    partial = quarter.drop(quarter.index[6])  # 00:30Z of the hour starting 00:00Z
    with pytest.raises(ValueError, match=r"hour starting 2026-03-29T00:00:00Z") as caught:
        to_hours(partial)
    message = str(caught.value)
    assert "(2026-03-29 01:00 CET local): it has 3 of its 4 quarter hours" in message
    assert "lacking 00:30Z" in message
    with pytest.raises(ValueError, match=r"hour starting 2026-03-29T21:00:00Z"):
        to_hours(quarter.iloc[:-1])  # the last hour of the series, cut short


def test_naive_unsorted_and_off_grid_indexes_are_refused() -> None:
    hourly = _hourly("2026-01-01T00:00Z", 3)
    quarter = to_quarter_hours(hourly)
    for function, series in ((to_quarter_hours, hourly), (to_hours, quarter)):
        with pytest.raises(ValueError, match=r"refuses a naive index"):
            function(series.tz_localize(None))
        with pytest.raises(ValueError, match=r"not sorted"):
            function(series.iloc[::-1])
        with pytest.raises(ValueError, match=r"appears twice"):
            function(pd.concat([series, series.iloc[:1]]).sort_index())
    with pytest.raises(ValueError, match=r"2026-01-01T00:15:00Z .* not the start of a full hour"):
        to_quarter_hours(quarter)
    shifted = quarter.copy()
    shifted.index = shifted.index + pd.Timedelta(minutes=5)
    with pytest.raises(ValueError, match=r"00:05:00Z .* not on the quarter-hour grid"):
        to_hours(shifted)
    with pytest.raises(ValueError, match=r"how='first' is not supported"):
        to_hours(quarter, how="first")


def test_other_time_zones_are_converted_to_utc() -> None:
    hourly = _hourly("2026-01-01T00:00Z", 2)
    local = hourly.tz_convert(BERLIN)
    pd.testing.assert_series_equal(to_quarter_hours(local), to_quarter_hours(hourly))


@pytest.mark.realdata
def test_real_quarter_hour_de_lu_prices_resample_to_hours_with_dst_days() -> None:
    frame = read_day_ahead_prices(SHARED_DATA / QUARTER_REAL, zone="DE_LU")
    quarter = frame["price_eur_mwh"]
    hourly = to_hours(quarter)
    assert len(hourly) == len(quarter) // 4 == 7848
    per_day = _per_local_day(hourly)
    assert per_day[date(2025, 10, 26)] == 25
    assert per_day[date(2026, 3, 29)] == 23
    assert set(per_day.values()) == {23, 24, 25}
    first_hour = quarter.loc["2025-09-30T22:00Z":"2025-09-30T22:45Z"]
    assert hourly.iloc[0] == pytest.approx(first_hour.mean())
    assert np.allclose(hourly.to_numpy(), quarter.to_numpy().reshape(-1, 4).mean(axis=1))
    back = to_quarter_hours(hourly)
    assert back.index.equals(quarter.index)
