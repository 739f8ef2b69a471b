"""SMARD exports read as published: German and English, hourly and 15-minute, the old
date/time layout with the joint German-Austrian zone, DST days, ``-`` as no price."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from raw_layouts import write_smard_15min_en, write_smard_hourly_de, write_smard_old_de

from trading.prices import PriceDataError
from trading.prices.smard import read_smard_prices


def _hours(start_local: str, end_local: str, freq: str = "1h") -> pd.DatetimeIndex:
    start = pd.Timestamp(start_local, tz="Europe/Berlin").tz_convert("UTC")
    end = pd.Timestamp(end_local, tz="Europe/Berlin").tz_convert("UTC")
    return pd.date_range(start, end, freq=freq, inclusive="left")


def test_german_hourly_export_with_decimal_commas_and_both_dst_days(tmp_path: Path) -> None:
    times = _hours("2023-03-25", "2023-03-27").append(_hours("2023-10-29", "2023-10-30"))
    values = np.linspace(-500.0, 1234.56, len(times)).round(2)
    prices = pd.Series(values, index=times)
    path = write_smard_hourly_de(prices, tmp_path / "Gro_handelspreise_2023.csv")
    text = path.read_text(encoding="utf-8-sig")
    assert "1.234,56" in text  # the thousands separator SMARD writes
    assert text.count("29.10.2023;02:00;03:00") == 2  # the repeated hour, as listed
    frame = read_smard_prices(path, zone="DE_LU")
    assert list(frame.index) == list(times)
    assert frame["price_eur_mwh"].to_numpy() == pytest.approx(values)
    assert set(frame["resolution_min"]) == {60}
    per_day = frame.groupby(frame.index.tz_convert("Europe/Berlin").date).size()
    assert sorted(per_day.to_numpy()) == [23, 24, 25]


def test_a_dash_is_a_missing_price_kept_for_the_coverage_check(tmp_path: Path) -> None:
    times = _hours("2023-06-01", "2023-06-02")
    prices = pd.Series(np.arange(24.0), index=times).astype(object)
    prices.iloc[5] = None
    frame = read_smard_prices(write_smard_hourly_de(prices, tmp_path / "p.csv"), zone="DE_LU")
    assert len(frame) == 24
    assert np.isnan(frame["price_eur_mwh"].iloc[5])
    assert frame["price_eur_mwh"].iloc[6] == 6.0


def test_english_quarter_hour_export(tmp_path: Path) -> None:
    times = _hours("2025-10-26", "2025-10-27", "15min")  # fall-back day: 100 quarter hours
    prices = pd.Series(np.arange(len(times)) * 1.25 - 20, index=times)
    frame = read_smard_prices(write_smard_15min_en(prices, tmp_path / "en.csv"))
    assert len(frame) == 100
    assert set(frame["zone"]) == {"DE_LU"}
    assert set(frame["resolution_min"]) == {15}
    assert frame["price_eur_mwh"].to_numpy() == pytest.approx(prices.to_numpy())


def test_old_layout_takes_de_at_lu_prices_for_de_lu_before_the_split(tmp_path: Path) -> None:
    times = _hours("2018-09-30", "2018-10-02")
    split = pd.Timestamp("2018-09-30T22:00Z")
    joint = pd.Series(np.where(times < split, 40.0, np.nan), index=times)
    own = pd.Series(np.where(times >= split, 55.5, np.nan), index=times)
    path = write_smard_old_de(own, joint, tmp_path / "DE_Grosshandelspreise_2018_SMARD.csv")
    frame = read_smard_prices(path, zone="DE_LU")
    assert len(frame) == 48
    assert (frame.loc[frame.index < split, "price_eur_mwh"] == 40.0).all()
    assert (frame.loc[frame.index >= split, "price_eur_mwh"] == 55.5).all()
    assert "before 2018-10-01 priced in DE_AT_LU" in frame.attrs["notes"][0]
    both = read_smard_prices(path)
    assert set(both["zone"]) == {"DE_LU", "DE_AT_LU", "NL", "AT"}


def test_bad_files_are_refused_naming_line_column_and_value(tmp_path: Path) -> None:
    times = _hours("2023-06-01", "2023-06-02")
    path = write_smard_hourly_de(pd.Series(np.arange(24.0), index=times), tmp_path / "p.csv")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[3] = lines[3].replace("2,00", "zwei", 1).replace(";2;", ";zwei;", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(PriceDataError, match=r"line 4, column 'Deutschland/Luxemburg.*'zwei'"):
        read_smard_prices(path, zone="DE_LU")
    with pytest.raises(PriceDataError, match=r"no price column for zone FR"):
        read_smard_prices(
            write_smard_hourly_de(pd.Series(np.arange(24.0), index=times), tmp_path / "q.csv"),
            zone="FR",
        )
    spring = tmp_path / "spring.csv"
    spring.write_text(
        "Datum;Uhrzeit;Deutschland/Luxemburg[Euro/MWh]\n26.03.2023;01:00;10\n"
        "26.03.2023;02:00;11\n26.03.2023;03:00;12\n",
        encoding="utf-8",
    )
    with pytest.raises(PriceDataError, match=r"line 3.*does not exist.*spring-forward"):
        read_smard_prices(spring, zone="DE_LU")
    other = tmp_path / "other.csv"
    other.write_text("Datum;Uhrzeit;Netzlast [MWh]\n01.01.2023;00:00;1\n", encoding="utf-8")
    with pytest.raises(PriceDataError, match=r"line 1.*not a SMARD export"):
        read_smard_prices(other)
