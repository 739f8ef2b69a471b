"""Backtest tables written as CSV: the same bytes pandas writes, whatever the columns hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading.backtest.csv_out import write_csv

QUARTERS = pd.date_range("2024-10-26T22:00Z", periods=200, freq="15min")


@pytest.mark.parametrize(
    "times",
    [
        QUARTERS,  # whole-second UTC: formatted by numpy
        QUARTERS.as_unit("us"),
        QUARTERS.insert(3, pd.NaT),  # a missing time: pandas writes it
        QUARTERS + pd.Timedelta("1ms"),  # a fraction of a second: pandas writes it
        QUARTERS.tz_convert("Europe/Berlin"),  # across the DST change, local offsets
        QUARTERS.tz_localize(None),  # naive
    ],
    ids=["utc", "utc-us", "nat", "sub-second", "berlin", "naive"],
)
def test_a_table_is_written_byte_for_byte_as_pandas_writes_it(
    times: pd.DatetimeIndex, tmp_path: Path
) -> None:
    n = len(times)
    frame = pd.DataFrame(
        {
            "timestamp_utc": times,
            "asset": np.where(np.arange(n) % 2 == 0, "bat-de-essen-01", "pv-de-nrw-01"),
            "mw": np.linspace(-10.0, 10.0, n) / 3.0,
        }
    )
    expected, written = tmp_path / "pandas.csv", tmp_path / "ours.csv"
    frame.to_csv(expected, index=False)
    write_csv(frame, written)
    assert written.read_bytes() == expected.read_bytes()
    assert "+00:00" in written.read_text() or str(times.tz) != "UTC"


def test_the_frame_written_is_left_as_it_was(tmp_path: Path) -> None:
    frame = pd.DataFrame({"timestamp_utc": QUARTERS, "mw": 1.0})
    write_csv(frame, tmp_path / "t.csv")
    assert isinstance(frame["timestamp_utc"].dtype, pd.DatetimeTZDtype)


@pytest.mark.parametrize("names", [["timestamp_utc", "timestamp_utc"], [0, "mw"]])
def test_repeated_or_numbered_columns_are_written_as_pandas_writes_them(
    names: list[object], tmp_path: Path
) -> None:
    frame = pd.DataFrame([[t, t + pd.Timedelta("1h")] for t in QUARTERS[:4]], columns=names)
    expected, written = tmp_path / "pandas.csv", tmp_path / "ours.csv"
    frame.to_csv(expected, index=False)
    write_csv(frame, written)
    assert written.read_bytes() == expected.read_bytes()
