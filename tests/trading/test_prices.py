"""trading.prices: readers of price files, the sample generator and the committed samples."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO_ROOT, SHARED_DATA

from trading.prices import (
    PriceDataError,
    SamplePrices,
    day_ahead_series,
    generate_sample_prices,
    read_balancing_prices,
    read_day_ahead_prices,
    read_intraday_prices,
    write_sample_prices,
)
from trading.prices.sample import COMMITTED_DAYS, COMMITTED_START, DEFAULT_SEED, main

SAMPLE_DIR = REPO_ROOT / "data" / "sample_prices"
BERLIN = "Europe/Berlin"

HOURLY_REAL = "day_ahead_prices_hourly_2022_2023.csv"
QUARTER_REAL = "day_ahead_prices_15min_de_lu_2025-10_2026-08.csv"
AFRR_REAL = "afrr_de_smard_2022-01-01_2022-01-08_15min.csv"

AFRR_HEADER = (
    "timestamp_utc,zone,activation_price_pos_eur_mwh,activation_price_neg_eur_mwh,"
    "capacity_price_pos_eur_mw,capacity_price_neg_eur_mw"
)


def _write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _per_local_day(frame: pd.DataFrame, zone: str) -> pd.Series:
    rows = frame[frame["zone"] == zone]
    return rows.groupby(rows.index.tz_convert(BERLIN).date).size()


def _quarters(start: str, count: int) -> list[str]:
    first = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return [
        (first + timedelta(minutes=15 * i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(count)
    ]


@pytest.fixture(scope="module")
def committed() -> SamplePrices:
    return generate_sample_prices(COMMITTED_START, COMMITTED_DAYS)


# --- long-layout readers on small files ------------------------------------------------------


def test_hourly_file_without_resolution_column_reads_into_a_tidy_utc_frame(tmp_path) -> None:
    path = _write(
        tmp_path,
        "timestamp_utc,zone,price_eur_mwh,quality,source\n"
        "2022-01-01T00:00:00Z,NL,50.5,ok,x\n"
        "2022-01-01T01:00:00+01:00,NL,,missing,x\n"  # = 00:00Z of DE_LU below; an offset
        "2022-01-01T01:00:00Z,NL,-3.25,ok,x\n"
        "2021-12-31T23:00:00Z,DE_LU,10,ok,x\n"
        "2022-01-01T00:00:00Z,DE_LU,11,ok,x\n"
        "2021-12-31T23:00:00Z,NL,40,ok,x\n",
    )
    with pytest.raises(PriceDataError, match=r"duplicate timestamp in zone NL: line 2 has"):
        read_day_ahead_prices(path)  # 01:00+01:00 is 00:00Z: offsets are instants
    path = _write(
        tmp_path,
        "timestamp_utc,zone,price_eur_mwh,quality,source\n"
        "2021-12-31T23:00:00Z,NL,40,ok,x\n"
        "2022-01-01T01:00:00+01:00,NL,,missing,x\n"
        "2022-01-01T01:00:00Z,NL,-3.25,ok,x\n"
        "2021-12-31T23:00:00Z,DE_LU,10,ok,x\n"
        "2022-01-01T00:00:00Z,DE_LU,11,ok,x\n",
    )
    frame = read_day_ahead_prices(path)
    assert list(frame.columns) == ["zone", "price_eur_mwh", "resolution_min"]
    assert frame.index.name == "timestamp_utc"
    assert str(frame.index.tz) == "UTC"
    assert frame.index.is_monotonic_increasing
    assert list(frame["zone"]) == ["DE_LU", "NL", "DE_LU", "NL", "NL"]  # time, then zone
    assert set(frame["resolution_min"]) == {60}
    nl = frame[frame["zone"] == "NL"]["price_eur_mwh"]
    assert np.isnan(nl.iloc[1])  # kept as NaN: quality says missing
    assert nl.iloc[2] == -3.25  # negative prices are prices
    assert nl.index[1] == pd.Timestamp("2022-01-01T00:00:00Z")


def test_fifteen_minute_file_with_resolution_and_zone_filter(tmp_path) -> None:
    rows = "".join(f"{t},DE_LU,15,{i}.5\n" for i, t in enumerate(_quarters("2026-03-28T23:00Z", 8)))
    path = _write(
        tmp_path,
        "timestamp_utc,zone,resolution_min,price_eur_mwh\n"
        + rows
        + "2026-03-28T23:00:00Z,FR,15,x\n",
    )
    frame = read_day_ahead_prices(path, zone="DE_LU")  # FR's bad row is not read
    assert len(frame) == 8
    assert set(frame["zone"]) == {"DE_LU"}
    assert frame["price_eur_mwh"].iloc[-1] == 7.5
    with pytest.raises(PriceDataError, match=r"no rows for this zone; the file has DE_LU, FR"):
        read_day_ahead_prices(path, zone="BE")


def test_resolution_is_inferred_per_zone_from_the_spacing(tmp_path) -> None:
    quarter = "".join(f"{t},DE_LU,1\n" for t in _quarters("2026-01-01T00:00Z", 4))
    hourly = "2026-01-01T00:00:00Z,FR,2\n2026-01-01T01:00:00Z,FR,3\n"
    path = _write(tmp_path, "timestamp_utc,zone,price_eur_mwh\n" + quarter + hourly)
    frame = read_intraday_prices(path)
    assert frame.groupby("zone")["resolution_min"].first().to_dict() == {"DE_LU": 15, "FR": 60}


HEADER = "timestamp_utc,zone,price_eur_mwh,quality\n"
OK = "2022-01-01T00:00:00Z,DE_LU,1.0,ok\n"


@pytest.mark.parametrize(
    ("text", "line", "column", "value", "problem"),
    [
        pytest.param(
            "timestamp_utc,zone,quality\n2022-01-01T00:00:00Z,DE_LU,ok\n",
            1,
            "price_eur_mwh",
            "timestamp_utc,zone,quality",
            "required column is missing",
            id="missing-column",
        ),
        pytest.param(
            HEADER + OK + "2022-01-01T01:00:00X,DE_LU,1.0,ok\n",
            3,
            "timestamp_utc",
            "2022-01-01T01:00:00X",
            "not an ISO 8601 timestamp",
            id="unparsable-timestamp",
        ),
        pytest.param(
            HEADER + OK + "2022-01-01T01:00:00,DE_LU,1.0,ok\n",
            3,
            "timestamp_utc",
            "2022-01-01T01:00:00",
            "naive timestamp",
            id="naive-timestamp",
        ),
        pytest.param(
            HEADER + OK + ",DE_LU,1.0,ok\n",
            3,
            "timestamp_utc",
            "",
            "empty timestamp",
            id="empty-timestamp",
        ),
        pytest.param(
            HEADER + OK + "2022-01-01T01:00:00Z,DE_LU,2,ok\n" + OK,
            4,
            "timestamp_utc",
            "2022-01-01T00:00:00Z",
            "duplicate timestamp in zone DE_LU: line 2 has it already",
            id="duplicate",
        ),
        pytest.param(
            HEADER + OK + "2022-01-01T01:00:00Z,DE_LU,2,ok\n2022-01-01T04:00:00Z,DE_LU,2,ok\n",
            4,
            "timestamp_utc",
            "2022-01-01T04:00:00Z",
            "gap in zone DE_LU: 2022-01-01T02:00:00Z is missing",
            id="gap",
        ),
        pytest.param(
            HEADER + OK + "2022-01-01T01:00:00Z,DE_LU,1.2.3,ok\n",
            3,
            "price_eur_mwh",
            "1.2.3",
            "not a finite number",
            id="non-numeric",
        ),
        pytest.param(
            HEADER + OK + "2022-01-01T01:00:00Z,DE_LU,inf,ok\n",
            3,
            "price_eur_mwh",
            "inf",
            "not a finite number",
            id="infinite",
        ),
        pytest.param(
            HEADER + OK + "2022-01-01T01:00:00Z,DE_LU,,ok\n",
            3,
            "price_eur_mwh",
            "",
            "its quality is 'ok', not 'missing'",
            id="empty-price-quality-ok",
        ),
        pytest.param(
            "timestamp_utc,zone,price_eur_mwh\n2022-01-01T00:00:00Z,DE_LU,\n"
            "2022-01-01T01:00:00Z,DE_LU,2\n",
            2,
            "price_eur_mwh",
            "",
            "no quality column",
            id="empty-price-no-quality",
        ),
        pytest.param(
            HEADER + OK + "2022-01-01T01:00:00Z,DE_LU,2,ok\n2022-01-01T02:20:00Z,DE_LU,2,ok\n",
            4,
            "timestamp_utc",
            "2022-01-01T02:20:00Z",
            "not on the 60-minute grid",
            id="off-grid",
        ),
        pytest.param(
            "timestamp_utc,zone,resolution_min,price_eur_mwh\n"
            "2022-01-01T00:00:00Z,DE_LU,60,1\n2022-01-01T01:00:00Z,DE_LU,7,1\n",
            3,
            "resolution_min",
            "7",
            "whole number of minutes that divides a day",
            id="bad-resolution",
        ),
        pytest.param(
            "timestamp_utc,zone,resolution_min,price_eur_mwh\n"
            "2022-01-01T00:00:00Z,DE_LU,60,1\n2022-01-01T00:15:00Z,DE_LU,15,1\n",
            3,
            "timestamp_utc",
            "2022-01-01T00:15:00Z",
            "only 15 min after line 2",
            id="overlap",
        ),
        pytest.param(
            HEADER + OK + "2022-01-01T01:00:00Z,,1.0,ok\n",
            3,
            "zone",
            "",
            "empty zone",
            id="empty-zone",
        ),
    ],
)
def test_every_error_names_file_line_column_and_value(
    tmp_path, text: str, line: int, column: str, value: str, problem: str
) -> None:
    path = _write(tmp_path, text, name="bad_prices.csv")
    with pytest.raises(PriceDataError) as caught:
        read_day_ahead_prices(path)
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.path, error.line, error.column, error.value) == (path, line, column, value)
    message = str(error)
    assert str(path) in message
    assert f"line {line}," in message
    assert f"column {column!r}" in message
    assert f"value {value!r}" in message
    assert problem in message


def test_a_row_with_too_many_fields_names_its_line(tmp_path) -> None:
    path = _write(tmp_path, HEADER + OK + "2022-01-01T01:00:00Z,DE_LU,1,5,ok\n")
    with pytest.raises(PriceDataError) as caught:
        read_day_ahead_prices(path)
    assert caught.value.line == 3
    assert caught.value.value == "2022-01-01T01:00:00Z,DE_LU,1,5,ok"
    assert "does not have the header's number of fields" in str(caught.value)


def test_a_blank_line_keeps_line_numbers_true(tmp_path) -> None:
    path = _write(tmp_path, HEADER + OK + "\n2022-01-01T02:00:00Z,DE_LU,1,ok\n")
    with pytest.raises(
        PriceDataError, match=r"line 3, column 'timestamp_utc', value '': blank line"
    ):
        read_day_ahead_prices(path)


def test_same_timestamp_in_two_zones_is_not_a_duplicate(tmp_path) -> None:
    path = _write(tmp_path, HEADER + OK + OK.replace("DE_LU", "NL"))
    with pytest.raises(PriceDataError, match="cannot infer the resolution of zone DE_LU"):
        read_day_ahead_prices(path)  # one row per zone: no spacing to infer from
    path = _write(
        tmp_path,
        "timestamp_utc,zone,resolution_min,price_eur_mwh\n"
        "2022-01-01T00:00:00Z,DE_LU,60,1\n2022-01-01T00:00:00Z,NL,60,2\n",
    )
    assert len(read_day_ahead_prices(path)) == 2


# --- day_ahead_series ------------------------------------------------------------------------


def test_day_ahead_series_selects_one_zone_and_a_window(committed) -> None:
    start = datetime(2026, 6, 13, 0, 0, tzinfo=UTC)
    series = day_ahead_series(committed.day_ahead, "NL", start, start + timedelta(hours=2))
    assert isinstance(series, pd.Series)
    assert series.name == "price_eur_mwh"
    assert len(series) == 8
    assert series.index[0] == pd.Timestamp(start)
    assert str(series.index.tz) == "UTC"
    expected = committed.day_ahead[committed.day_ahead["zone"] == "NL"]["price_eur_mwh"]
    assert series.iloc[0] == expected.loc[pd.Timestamp(start)]


def test_day_ahead_series_refuses_naive_uncovered_and_unknown(committed) -> None:
    frame = committed.day_ahead
    start = datetime(2026, 6, 13, 0, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        day_ahead_series(frame, "NL", start.replace(tzinfo=None), start + timedelta(hours=1))
    with pytest.raises(ValueError, match=r"zone 'XX' is not in the frame"):
        day_ahead_series(frame, "XX", start, start + timedelta(hours=1))
    with pytest.raises(ValueError, match=r"no price for the period starting 2026-06-15T22:00:00Z"):
        day_ahead_series(frame, "NL", start, datetime(2026, 6, 16, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match=r"no price for the period starting 2026-06-13T00:05:00Z"):
        day_ahead_series(frame, "NL", start + timedelta(minutes=5), start + timedelta(hours=1))


# --- aFRR reader -----------------------------------------------------------------------------


def _afrr_rows(stamps: list[str], capacity: list[tuple[str, str]]) -> str:
    return "".join(
        f"{t},DE_LU,100.5,-20.25,{pos},{neg}\n"
        for t, (pos, neg) in zip(stamps, capacity, strict=True)
    )


def test_afrr_capacity_is_converted_per_block_hours_on_dst_days(tmp_path) -> None:
    # Autumn: local 00-04 is 5 h (2025-10-25T22:00Z .. 2025-10-26T03:00Z), then 4-h blocks.
    autumn = _quarters("2025-10-25T22:00Z", 24)
    autumn_caps = [("50.00", "25.00")] * 20 + [("40.00", "8.00")] * 4
    # Spring: local 00-04 is 3 h (2026-03-28T23:00Z .. 2026-03-29T02:00Z).
    spring = _quarters("2026-03-28T23:00Z", 16)
    spring_caps = [("30.00", "6.00")] * 12 + [("40.00", "")] * 4
    autumn_frame = read_balancing_prices(
        _write(tmp_path, AFRR_HEADER + "\n" + _afrr_rows(autumn, autumn_caps), "autumn.csv")
    )
    frame = read_balancing_prices(
        _write(tmp_path, AFRR_HEADER + "\n" + _afrr_rows(spring, spring_caps), "spring.csv")
    )
    assert list(frame.columns) == [
        "zone",
        "afrr_capacity_pos_eur_per_mw_h",
        "afrr_capacity_neg_eur_per_mw_h",
        "afrr_energy_pos_eur_mwh",
        "afrr_energy_neg_eur_mwh",
    ]
    pos = autumn_frame["afrr_capacity_pos_eur_per_mw_h"]
    assert pos.loc[pd.Timestamp("2025-10-25T22:00Z")] == 50.0 / 5  # 5-h block
    assert pos.loc[pd.Timestamp("2025-10-26T02:45Z")] == 50.0 / 5
    assert pos.loc[pd.Timestamp("2025-10-26T03:00Z")] == 40.0 / 4
    assert autumn_frame["afrr_capacity_neg_eur_per_mw_h"].iloc[0] == 25.0 / 5
    pos = frame["afrr_capacity_pos_eur_per_mw_h"]
    assert pos.loc[pd.Timestamp("2026-03-28T23:00Z")] == 30.0 / 3  # 3-h block
    assert pos.loc[pd.Timestamp("2026-03-29T01:45Z")] == 30.0 / 3
    assert pos.loc[pd.Timestamp("2026-03-29T02:00Z")] == 40.0 / 4
    neg = frame["afrr_capacity_neg_eur_per_mw_h"]
    assert neg.iloc[:12].eq(2.0).all()
    assert neg.iloc[12:].isna().all()  # a whole unpublished block stays NaN
    assert (frame["afrr_energy_neg_eur_mwh"] == -20.25).all()


def test_afrr_ordinary_block_is_four_hours_and_volumes_are_kept(tmp_path) -> None:
    header = AFRR_HEADER.replace("zone,", "zone,activated_volume_pos_mwh,activated_volume_neg_mwh,")
    rows = "".join(f"{t},DE_LU,3,0,120,-5,8.00,4.00\n" for t in _quarters("2022-01-01T03:00Z", 16))
    frame = read_balancing_prices(_write(tmp_path, header + "\n" + rows))
    assert (frame["afrr_capacity_pos_eur_per_mw_h"] == 2.0).all()
    assert (frame["afrr_capacity_neg_eur_per_mw_h"] == 1.0).all()
    assert (frame["activated_volume_pos_mwh"] == 3.0).all()
    assert "procured_capacity_pos_mw" not in frame.columns


@pytest.mark.parametrize(
    ("capacity", "line", "column", "value", "problem"),
    [
        pytest.param(
            [("8.00", "4.00")] * 5 + [("9.00", "4.00")] + [("8.00", "4.00")] * 2,
            7,
            "capacity_price_pos_eur_mw",
            "9.00",
            "differs from the value on the block's first row",
            id="changes-inside-block",
        ),
        pytest.param(
            [("8.00", "4.00")] * 3 + [("8.00", "")] + [("8.00", "4.00")] * 4,
            5,
            "capacity_price_neg_eur_mw",
            "",
            "empty while other quarter hours of its block are not",
            id="partly-empty-block",
        ),
    ],
)
def test_afrr_block_errors_name_line_column_and_value(
    tmp_path, capacity: list[tuple[str, str]], line: int, column: str, value: str, problem: str
) -> None:
    rows = _afrr_rows(_quarters("2022-01-01T03:00Z", 8), capacity)
    path = _write(tmp_path, AFRR_HEADER + "\n" + rows)
    with pytest.raises(PriceDataError) as caught:
        read_balancing_prices(path)
    assert (caught.value.line, caught.value.column, caught.value.value) == (line, column, value)
    assert problem in str(caught.value)
    assert "this one starts 2022-01-01T03:00:00Z and lasts 4 h" in str(caught.value)


def test_afrr_empty_activation_price_needs_quality_missing(tmp_path) -> None:
    rows = _afrr_rows(_quarters("2022-01-01T03:00Z", 4), [("8", "4")] * 4)
    rows = rows.replace("100.5,-20.25", ",-20.25", 1)
    with pytest.raises(PriceDataError) as caught:
        read_balancing_prices(_write(tmp_path, AFRR_HEADER + "\n" + rows))
    assert (caught.value.line, caught.value.column) == (2, "activation_price_pos_eur_mwh")
    header = AFRR_HEADER + ",quality"
    rows = "".join(
        line + (",missing" if i == 0 else ",ok") + "\n" for i, line in enumerate(rows.splitlines())
    )
    frame = read_balancing_prices(_write(tmp_path, header + "\n" + rows))
    assert frame["afrr_energy_pos_eur_mwh"].isna().sum() == 1


FCR_HEADER = AFRR_HEADER + ",fcr_capacity_price_eur_mw"


def _fcr_rows(stamps: list[str], fcr: list[str]) -> str:
    return "".join(
        f"{t},DE_LU,100.5,-20.25,8.00,4.00,{f}\n" for t, f in zip(stamps, fcr, strict=True)
    )


def test_fcr_capacity_column_is_converted_to_eur_per_mw_h_per_block_hours(tmp_path) -> None:
    # Spring: local 00-04 is 3 h (2026-03-28T23:00Z .. 2026-03-29T02:00Z), then 4-h blocks;
    # the third block is left blank by the publisher, which is allowed for a whole block.
    stamps = _quarters("2026-03-28T23:00Z", 44)
    fcr = ["45.00"] * 12 + ["60.00"] * 16 + [""] * 16
    frame = read_balancing_prices(_write(tmp_path, FCR_HEADER + "\n" + _fcr_rows(stamps, fcr)))
    assert list(frame.columns) == [
        "zone",
        "afrr_capacity_pos_eur_per_mw_h",
        "afrr_capacity_neg_eur_per_mw_h",
        "afrr_energy_pos_eur_mwh",
        "afrr_energy_neg_eur_mwh",
        "fcr_capacity_eur_per_mw_h",
    ]
    fcr_per_h = frame["fcr_capacity_eur_per_mw_h"]
    assert fcr_per_h.loc[pd.Timestamp("2026-03-28T23:00Z")] == 45.0 / 3  # 3-h block
    assert fcr_per_h.loc[pd.Timestamp("2026-03-29T01:45Z")] == 45.0 / 3
    assert fcr_per_h.loc[pd.Timestamp("2026-03-29T02:00Z")] == 60.0 / 4
    assert fcr_per_h.iloc[28:].isna().all()  # a whole unpublished block stays NaN
    # The aFRR columns are read as before, next to it.
    assert frame["afrr_capacity_pos_eur_per_mw_h"].iloc[0] == 8.0 / 3
    assert frame["afrr_capacity_pos_eur_per_mw_h"].iloc[12] == 8.0 / 4


@pytest.mark.parametrize(
    ("fcr", "line", "value", "problem"),
    [
        pytest.param(
            ["48.00"] * 5 + ["50.00"] + ["48.00"] * 2,
            7,
            "50.00",
            "differs from the value on the block's first row",
            id="changes-inside-block",
        ),
        pytest.param(
            ["48.00"] * 3 + [""] + ["48.00"] * 4,
            5,
            "",
            "empty while other quarter hours of its block are not",
            id="partly-empty-block",
        ),
    ],
)
def test_fcr_block_errors_name_file_line_column_and_value(
    tmp_path, fcr: list[str], line: int, value: str, problem: str
) -> None:
    path = _write(tmp_path, FCR_HEADER + "\n" + _fcr_rows(_quarters("2022-01-01T03:00Z", 8), fcr))
    with pytest.raises(PriceDataError) as caught:
        read_balancing_prices(path)
    error = caught.value
    assert (error.path, error.line, error.column, error.value) == (
        path,
        line,
        "fcr_capacity_price_eur_mw",
        value,
    )
    assert str(error).startswith(f"{path}, line {line}, column 'fcr_capacity_price_eur_mw'")
    assert problem in str(error)
    assert "this one starts 2022-01-01T03:00:00Z and lasts 4 h" in str(error)


def test_balancing_file_without_fcr_column_has_no_fcr_output_column(tmp_path) -> None:
    rows = _afrr_rows(_quarters("2022-01-01T03:00Z", 16), [("8.00", "4.00")] * 16)
    frame = read_balancing_prices(_write(tmp_path, AFRR_HEADER + "\n" + rows))
    assert "fcr_capacity_eur_per_mw_h" not in frame.columns
    assert "fcr_capacity_price_eur_mw" not in frame.columns
    assert (frame["afrr_capacity_pos_eur_per_mw_h"] == 2.0).all()


def test_afrr_missing_capacity_column_is_named(tmp_path) -> None:
    header = AFRR_HEADER.replace(",capacity_price_neg_eur_mw", "")
    with pytest.raises(PriceDataError) as caught:
        read_balancing_prices(_write(tmp_path, header + "\n"))
    assert (caught.value.line, caught.value.column) == (1, "capacity_price_neg_eur_mw")


# --- the committed sample files --------------------------------------------------------------


def test_committed_sample_files_are_what_the_generator_writes(tmp_path) -> None:
    assert main([str(tmp_path)]) == 0  # defaults: the committed window and seed
    committed_files = sorted(path.name for path in SAMPLE_DIR.iterdir())
    assert committed_files == ["README.md", "afrr.csv", "day_ahead.csv", "intraday.csv"]
    for name in committed_files:
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name


def test_readers_read_the_committed_samples_exactly(committed) -> None:
    pd.testing.assert_frame_equal(
        read_day_ahead_prices(SAMPLE_DIR / "day_ahead.csv"), committed.day_ahead
    )
    pd.testing.assert_frame_equal(
        read_intraday_prices(SAMPLE_DIR / "intraday.csv"), committed.intraday
    )
    pd.testing.assert_frame_equal(
        read_balancing_prices(SAMPLE_DIR / "afrr.csv"), committed.balancing()
    )


def test_sample_readme_says_generated_seed_and_proxy() -> None:
    text = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "generated" in text
    assert f"seed **{DEFAULT_SEED}**" in text
    assert "**proxy**" in text
    assert "--start 2026-06-12 --days 4" in text


def test_sample_weekend_has_negative_hours(committed) -> None:
    frame = committed.day_ahead
    local = frame.index.tz_convert(BERLIN)
    weekend = frame[(local.day_of_week >= 5) & (frame["zone"] == "DE_LU")]["price_eur_mwh"]
    assert len(weekend) == 2 * 96
    negative = weekend < 0
    assert negative.sum() >= 8
    whole_hours = negative.groupby(weekend.index.floor("h")).all()
    assert whole_hours.any()  # at least one whole negative hour, not just quarter hours
    weekday = frame[(local.day_of_week < 5) & (frame["zone"] == "DE_LU")]["price_eur_mwh"]
    assert weekend.mean() < weekday.mean()


def test_sample_shapes_resemble_a_market(committed) -> None:
    frame = committed.day_ahead
    wide = frame.pivot_table(index=frame.index, columns="zone", values="price_eur_mwh")
    assert wide.corr().loc["DE_LU", "NL"] > 0.7  # zones move together
    de = wide["DE_LU"]
    hour = de.index.tz_convert(BERLIN).hour
    assert de[(hour >= 19) & (hour <= 21)].mean() > de[(hour >= 12) & (hour <= 14)].mean() + 50
    intraday = committed.intraday.pivot_table(
        index=committed.intraday.index, columns="zone", values="price_eur_mwh"
    )
    assert intraday["DE_LU"].std() > de.std()  # the proxy's wider spread
    balancing = committed.balancing()
    assert (balancing["afrr_energy_pos_eur_mwh"] > balancing["afrr_energy_neg_eur_mwh"]).all()
    capacity = committed.afrr_capacity
    assert (capacity["afrr_capacity_pos_eur_per_mw_h"] > 0).all()
    assert set(capacity["block_hours"]) == {4}
    assert len(capacity) == COMMITTED_DAYS * 6 * 5


def test_sample_fcr_capacity_is_one_price_for_all_zones_at_fcr_levels(committed) -> None:
    fcr = committed.fcr_capacity
    assert len(fcr) == COMMITTED_DAYS * 6 * 5
    assert set(fcr["block_hours"]) == {4}
    per_block = fcr.groupby(fcr.index)["fcr_capacity_eur_per_mw_h"]
    assert (per_block.nunique() == 1).all()  # the FCR Cooperation's common price
    assert fcr["fcr_capacity_eur_per_mw_h"].between(5.0, 25.0).all()
    assert fcr["fcr_capacity_eur_per_mw_h"].std() > 1.0  # it moves from block to block
    published = pd.read_csv(SAMPLE_DIR / "afrr.csv")["fcr_capacity_price_eur_mw"]
    assert published.between(20.0, 100.0).all()  # EUR/MW per 4-hour block


# --- the generator ---------------------------------------------------------------------------


def test_generator_is_deterministic_and_window_independent(committed) -> None:
    again = generate_sample_prices(COMMITTED_START, COMMITTED_DAYS)
    for name in ("day_ahead", "intraday", "afrr_capacity", "afrr_energy", "fcr_capacity"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(committed, name))
    one_day = generate_sample_prices(date(2026, 6, 13), 1, zones=("NL",))
    window = committed.day_ahead
    same = window[(window["zone"] == "NL") & window.index.isin(one_day.day_ahead.index)]
    pd.testing.assert_frame_equal(one_day.day_ahead, same)
    other = generate_sample_prices(COMMITTED_START, COMMITTED_DAYS, seed=DEFAULT_SEED + 1)
    assert not np.array_equal(
        other.day_ahead["price_eur_mwh"].to_numpy(), committed.day_ahead["price_eur_mwh"].to_numpy()
    )


@pytest.mark.parametrize(
    ("day", "resolution", "periods", "first_block_hours"),
    [
        pytest.param(date(2026, 3, 29), 15, 92, 3, id="spring-2026-quarter-hours"),
        pytest.param(date(2025, 10, 26), 15, 100, 5, id="autumn-2025-quarter-hours"),
        pytest.param(date(2024, 3, 31), 60, 23, 3, id="spring-2024-hours"),
        pytest.param(date(2024, 10, 27), 60, 25, 5, id="autumn-2024-hours"),
        pytest.param(date(2025, 9, 30), 60, 24, 4, id="last-hourly-day"),
        pytest.param(date(2025, 10, 1), 15, 96, 4, id="first-quarter-hour-day"),
    ],
)
def test_generator_follows_the_mtu_and_dst_of_each_delivery_day(
    tmp_path, day: date, resolution: int, periods: int, first_block_hours: int
) -> None:
    prices = generate_sample_prices(day, 1, zones=("DE_LU", "FR"))
    for zone in ("DE_LU", "FR"):
        rows = prices.day_ahead[prices.day_ahead["zone"] == zone]
        assert len(rows) == periods
        assert set(rows["resolution_min"]) == {resolution}
        assert len(prices.intraday[prices.intraday["zone"] == zone]) == periods * resolution // 15
    hours = prices.afrr_capacity[prices.afrr_capacity["zone"] == "DE_LU"]["block_hours"]
    assert list(hours) == [first_block_hours, 4, 4, 4, 4, 4]
    # Written and read back: the DST day survives the files, capacity per block hours.
    write_sample_prices(prices, tmp_path)
    read = read_day_ahead_prices(tmp_path / "day_ahead.csv")
    assert _per_local_day(read, "DE_LU").to_dict() == {day: periods}
    balancing = read_balancing_prices(tmp_path / "afrr.csv")
    pd.testing.assert_frame_equal(balancing, prices.balancing())
    published = pd.read_csv(tmp_path / "afrr.csv").iloc[0]  # DE_LU's first quarter hour
    first = balancing[balancing["zone"] == "DE_LU"].iloc[0]
    assert first["afrr_capacity_pos_eur_per_mw_h"] == pytest.approx(
        published["capacity_price_pos_eur_mw"] / first_block_hours
    )
    assert first["fcr_capacity_eur_per_mw_h"] == pytest.approx(
        published["fcr_capacity_price_eur_mw"] / first_block_hours
    )


@pytest.mark.parametrize(
    "arguments",
    [
        {"start_day": datetime(2026, 6, 12, tzinfo=UTC), "days": 1},
        {"start_day": date(2026, 6, 12), "days": 0},
        {"start_day": date(2026, 6, 12), "days": 1, "zones": ("DE_LU", "XX")},
        {"start_day": date(2026, 6, 12), "days": 1, "zones": ("NL", "NL")},
        {"start_day": date(2026, 6, 12), "days": 1, "seed": -1},
    ],
)
def test_generator_refuses_bad_arguments(arguments: dict) -> None:
    with pytest.raises(ValueError, match="must be"):
        generate_sample_prices(**arguments)


# --- the real data ---------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_hourly_day_ahead_file_reads_with_dst_days_and_missing_values() -> None:
    frame = read_day_ahead_prices(SHARED_DATA / HOURLY_REAL)
    assert len(frame) == 87_600
    assert frame.groupby("zone").size().to_dict() == dict.fromkeys(
        ["AT", "BE", "DE_LU", "FR", "NL"], 17_520
    )
    assert set(frame["resolution_min"]) == {60}
    raw = pd.read_csv(SHARED_DATA / HOURLY_REAL, keep_default_na=False)
    assert frame["price_eur_mwh"].isna().sum() == (raw["quality"] == "missing").sum() == 123
    for zone in ("DE_LU", "FR"):
        days = _per_local_day(frame, zone)
        assert days[date(2022, 3, 27)] == 23
        assert days[date(2022, 10, 30)] == 25
        assert days[date(2023, 3, 26)] == 23
        assert days[date(2023, 10, 29)] == 25
        dst = [date(2022, 3, 27), date(2022, 10, 30), date(2023, 3, 26), date(2023, 10, 29)]
        assert set(days.drop(dst)) == {24}
    start = datetime(2022, 10, 29, 22, tzinfo=UTC)  # delivery day 2022-10-30, 25 h
    series = day_ahead_series(frame, "DE_LU", start, start + timedelta(hours=25))
    assert len(series) == 25
    assert series.notna().all()


@pytest.mark.realdata
def test_real_quarter_hour_day_ahead_file_has_92_and_100_quarter_hour_days() -> None:
    frame = read_day_ahead_prices(SHARED_DATA / QUARTER_REAL, zone="DE_LU")
    assert len(frame) == 31_392
    assert set(frame["resolution_min"]) == {15}
    days = _per_local_day(frame, "DE_LU")
    assert days[date(2025, 10, 26)] == 100
    assert days[date(2026, 3, 29)] == 92
    assert set(days.drop([date(2025, 10, 26), date(2026, 3, 29)])) == {96}
    assert (frame["price_eur_mwh"] < 0).any()


@pytest.mark.realdata
def test_real_afrr_file_capacity_is_converted_from_eur_per_mw_per_block() -> None:
    frame = read_balancing_prices(SHARED_DATA / AFRR_REAL)
    raw = pd.read_csv(SHARED_DATA / AFRR_REAL)
    assert len(frame) == len(raw) == 768
    assert frame.index[0] == pd.Timestamp("2021-12-31T23:00:00Z")
    # Early January has no DST change: every block is 4 h.
    for published, converted in (
        ("capacity_price_pos_eur_mw", "afrr_capacity_pos_eur_per_mw_h"),
        ("capacity_price_neg_eur_mw", "afrr_capacity_neg_eur_per_mw_h"),
    ):
        np.testing.assert_array_equal(frame[converted].to_numpy(), raw[published].to_numpy() / 4)
    assert frame["afrr_capacity_pos_eur_per_mw_h"].iloc[0] == pytest.approx(0.17 / 4)
    assert frame["afrr_capacity_pos_eur_per_mw_h"].isna().sum() == 288  # 3 unpublished days
    np.testing.assert_array_equal(
        frame["afrr_energy_neg_eur_mwh"].to_numpy(), raw["activation_price_neg_eur_mwh"].to_numpy()
    )
    assert frame["activated_volume_pos_mwh"].sum() == raw["activated_volume_pos_mwh"].sum()
    assert "procured_capacity_neg_mw" in frame.columns
