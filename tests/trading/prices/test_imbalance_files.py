"""Imbalance price files recognised from their header: the long CSV and the ENTSO-E
"Imbalance Prices" export (local CET/CEST or UTC intervals; the long, "+", price read)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading.prices import PriceDataError
from trading.prices.imbalance_files import imbalance_format, read_imbalance_series


def _fall_back_quarters() -> pd.DatetimeIndex:
    start = pd.Timestamp("2023-10-29", tz="Europe/Berlin").tz_convert("UTC")
    return pd.date_range(start, periods=100, freq="15min")  # the 25-hour day


def entsoe_export(path: Path, times: pd.DatetimeIndex, long: np.ndarray, utc: bool) -> Path:
    clock = "UTC" if utc else "CET/CEST"
    lines = [
        f'"Imbalance settlement period ({clock})","+ Imbalance Price [EUR/MWh] - IPA|NL",'
        '"- Imbalance Price [EUR/MWh] - IPA|NL","Total Imbalance [MWh] - IPA|NL","Status"'
    ]
    for start, value in zip(times, long, strict=True):
        a = start if utc else start.tz_convert("Europe/Berlin")
        b = a.tz_localize(None) + pd.Timedelta(minutes=15)
        price = "n/e" if np.isnan(value) else f"{value:.2f}"
        lines.append(
            f'"{a:%d.%m.%Y %H:%M} - {b:%d.%m.%Y %H:%M}","{price}","{value + 5:.2f}","1.0","Final"'
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("utc", [False, True])
def test_entsoe_export_reads_the_long_price_by_utc_start(tmp_path: Path, utc: bool) -> None:
    times = _fall_back_quarters()
    long = np.round(np.cos(np.arange(100) / 7) * 300, 2)
    long[17] = np.nan
    path = entsoe_export(tmp_path / "imb.csv", times, long, utc)
    assert imbalance_format(path) == "entsoe"
    series = read_imbalance_series(path, "NL")
    assert len(series) == 99  # the unpublished quarter hour is left for the proxy
    kept = np.delete(np.arange(100), 17)
    assert list(series.index) == list(times[kept])
    assert series.to_numpy() == pytest.approx(long[kept])
    assert read_imbalance_series(path, "BE").empty


def test_long_csv_and_an_unknown_layout(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(
        "timestamp_utc,zone,imbalance_price_eur_mwh,quality\n"
        "2023-01-01T00:00:00Z,NL,12.5,ok\n2023-01-01T00:15:00Z,NL,,missing\n",
        encoding="utf-8",
    )
    assert imbalance_format(path) == "long"
    assert read_imbalance_series(path, "NL").tolist() == [12.5]
    other = tmp_path / "other.csv"
    other.write_text("when,price\n", encoding="utf-8")
    with pytest.raises(PriceDataError, match=r"line 1.*Imbalance settlement period"):
        read_imbalance_series(other, "NL")
