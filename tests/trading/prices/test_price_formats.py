"""Price files recognised from their header: the long CSV, ENTSO-E (legacy and current)
and SMARD, read into the same frame; an unknown header named with what is expected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from raw_layouts import (
    write_entsoe_current,
    write_entsoe_legacy,
    write_smard_hourly_de,
)

from trading.prices import PriceDataError
from trading.prices.formats import detect_price_format, read_energy_prices
from trading.prices.inputs import read_price_inputs


def _march_dst_days() -> pd.Series:
    start = pd.Timestamp("2023-03-25", tz="Europe/Berlin").tz_convert("UTC")
    end = pd.Timestamp("2023-03-28", tz="Europe/Berlin").tz_convert("UTC")
    times = pd.date_range(start, end, freq="1h", inclusive="left")
    return pd.Series(np.round(np.sin(np.arange(len(times))) * 80 + 60, 2), index=times)


def _long(prices: pd.Series, path: Path, zone: str) -> Path:
    frame = pd.DataFrame(
        {
            "timestamp_utc": prices.index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "zone": zone,
            "price_eur_mwh": prices.to_numpy(),
        }
    )
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("write", "kind"),
    [
        (lambda p, d: _long(p, d / "long.csv", "NL"), "long"),
        (lambda p, d: write_entsoe_legacy(p, d / "legacy.csv", "NL"), "entsoe"),
        (lambda p, d: write_entsoe_current(p, d / "current.csv", "NL"), "entsoe"),
    ],
)
def test_every_layout_reads_to_the_same_prices(tmp_path: Path, write, kind: str) -> None:
    prices = _march_dst_days()  # 71 hours: 24 + 23 (spring forward) + 24
    path = write(prices, tmp_path)
    assert detect_price_format(path) == kind
    frame = read_energy_prices(path, ["NL"])
    assert frame.attrs["format"] == kind
    assert list(frame.index) == list(prices.index)
    assert frame["price_eur_mwh"].to_numpy() == pytest.approx(prices.to_numpy())


def test_smard_is_recognised_and_read_for_the_zone_asked(tmp_path: Path) -> None:
    prices = _march_dst_days()
    path = write_smard_hourly_de(prices, tmp_path / "smard.csv")
    assert detect_price_format(path) == "smard"
    inputs = read_price_inputs(path, None, None, {"DE_LU"}, notes=(notes := []))
    assert inputs.day_ahead["DE_LU"].to_numpy() == pytest.approx(prices.to_numpy())
    assert "read as a smard file" in notes[0]


def test_gaps_are_kept_for_the_coverage_check_not_refused(tmp_path: Path) -> None:
    prices = _march_dst_days()
    legacy = prices.astype(object)
    legacy.iloc[10] = None  # "n/e" in the export
    frame = read_energy_prices(write_entsoe_legacy(legacy, tmp_path / "l.csv", "NL"), ["NL"])
    assert np.isnan(frame["price_eur_mwh"].iloc[10])
    absent = read_energy_prices(_long(prices.drop(prices.index[30]), tmp_path / "a.csv", "NL"))
    assert len(absent) == len(prices) - 1


def test_an_unknown_header_names_the_layouts_expected(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("time,price\n2023-01-01,1\n", encoding="utf-8")
    with pytest.raises(PriceDataError, match=r"line 1.*timestamp_utc.*ENTSO-E.*SMARD"):
        detect_price_format(path)
