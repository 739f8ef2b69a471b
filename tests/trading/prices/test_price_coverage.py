"""The coverage check before a run's first day: every gap named, and each gap policy
doing what it says (interpolate, previous day on the local clock, skip the day)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.optimiser.inputs import PriceInputs
from trading.prices.coverage import PriceGapError, check_coverage

DAYS = [date(2023, 3, 25) + timedelta(days=k) for k in range(4)]  # holds spring forward


def hourly(start: str = "2023-03-24", end: str = "2023-03-29") -> pd.Series:
    first = pd.Timestamp(start, tz="Europe/Berlin").tz_convert("UTC")
    last = pd.Timestamp(end, tz="Europe/Berlin").tz_convert("UTC")
    times = pd.date_range(first, last, freq="1h", inclusive="left")
    return pd.Series(np.arange(len(times), dtype=float), index=times)


def holed(series: pd.Series, nan_at: list[int], drop_at: list[int]) -> PriceInputs:
    series = series.copy()
    series.iloc[nan_at] = np.nan
    return PriceInputs(day_ahead={"NL": series.drop(series.index[drop_at])})


def test_fail_names_every_gap_in_utc_and_local_time_before_anything_runs() -> None:
    prices = holed(hourly(), nan_at=[40], drop_at=[70, 71])
    with pytest.raises(PriceGapError) as caught:
        check_coverage(prices, DAYS, ["day_ahead"], "fail")
    message = str(caught.value)
    assert "2 gap(s)" in message
    assert "day_ahead NL: 2023-03-25T15:00Z to 2023-03-25T16:00Z" in message
    assert "local 2023-03-25 16:00 CET" in message
    assert "2023-03-26T21:00Z to 2023-03-26T23:00Z (local 2023-03-26 23:00 CEST" in message


def test_interpolate_fills_linearly_and_says_how_many_quarter_hours() -> None:
    series = hourly()
    prices = holed(series, nan_at=[40], drop_at=[70])
    filled, report = check_coverage(prices, DAYS, ["day_ahead"], "interpolate")
    result = filled.day_ahead["NL"]
    assert result[series.index[40]] == pytest.approx(40.0)
    assert result[series.index[70]] == pytest.approx(70.0)
    assert report.filled_quarter_hours == 8
    assert "policy interpolate" in report.note()
    assert report.day_note(date(2023, 3, 25)).startswith("interpolate: day_ahead NL")
    assert report.day_note(date(2023, 3, 28)) == ""


def test_previous_day_follows_the_local_clock_across_the_dst_change() -> None:
    series = hourly()
    hole = pd.Timestamp("2023-03-27T05:00Z")  # 07:00 CEST, the day after spring forward
    prices = holed(series, nan_at=[int(series.index.get_loc(hole))], drop_at=[])
    filled, _ = check_coverage(prices, DAYS, ["day_ahead"], "previous-day")
    source = pd.Timestamp("2023-03-26T05:00Z")  # 07:00 CEST the day before
    assert filled.day_ahead["NL"][hole] == series[source]


def test_skip_day_fills_nothing_and_lists_the_days() -> None:
    prices = holed(hourly(), nan_at=[40], drop_at=[])
    same, report = check_coverage(prices, DAYS, ["day_ahead"], "skip-day")
    assert report.skip_days == {date(2023, 3, 25)}
    assert same.day_ahead["NL"].isna().sum() == 1


def test_missing_forecast_history_is_named_not_the_delivery_day() -> None:
    prices = PriceInputs(day_ahead={"NL": hourly("2023-03-25", "2023-03-29")})
    with pytest.raises(PriceGapError, match=r"(?s)forecast history.*naive forecast reads 7 day"):
        check_coverage(prices, DAYS, ["day_ahead"], "fail", history_days=7, forecast_name="naive")
    with pytest.raises(PriceGapError, match=r"nothing to interpolate between"):
        check_coverage(
            prices, DAYS, ["day_ahead"], "interpolate", history_days=7, forecast_name="naive"
        )


def test_an_unknown_policy_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="fail, interpolate, previous-day, skip-day"):
        check_coverage(PriceInputs(), DAYS, ["day_ahead"], "guess")


@settings(max_examples=40, deadline=None)
@given(
    holes=st.lists(st.integers(min_value=30, max_value=100), min_size=1, max_size=12, unique=True),
    policy=st.sampled_from(["interpolate", "previous-day"]),
)
def test_a_filled_run_has_no_gap_left_and_keeps_every_real_price(
    holes: list[int], policy: str
) -> None:
    series = hourly()
    prices = holed(series, nan_at=holes[: len(holes) // 2], drop_at=holes[len(holes) // 2 :])
    filled, report = check_coverage(prices, DAYS, ["day_ahead"], policy)
    check_coverage(filled, DAYS, ["day_ahead"], "fail")  # no gap left
    kept = prices.day_ahead["NL"].dropna()
    assert filled.day_ahead["NL"][kept.index].to_numpy() == pytest.approx(kept.to_numpy())
    assert report.filled_quarter_hours == 4 * len(holes)
