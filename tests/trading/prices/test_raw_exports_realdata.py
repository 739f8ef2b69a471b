"""Whole real years through `vpp backtest` from raw exports, not the project's long CSV.

No genuine SMARD or ENTSO-E download exists on this machine (and there is no internet), so
the real 2023 prices of ../shared/data (DE-LU: SMARD via Energy-Charts; NL: Ember/ENTSO-E)
are written back into the exact published layouts (`raw_layouts`) and given to the CLI as
a user would give a download: unedited, recognised from the header.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SHARED_DATA
from raw_layouts import write_entsoe_current, write_smard_afrr_en, write_smard_hourly_de

from trading.prices.inputs import read_balancing_file, read_price_inputs
from trading.prices.readers import read_balancing_prices
from trading.samples import sample_portfolio_path

pytestmark = pytest.mark.realdata

LONG = SHARED_DATA / "day_ahead_prices_hourly_2022_2023.csv"
NL_MISSING_HOUR = pd.Timestamp("2023-12-30T23:00Z")
"""The hour the Ember NL series lacks (filled from ENTSO-E in ../shared/data)."""


def real_2023(zone: str) -> pd.Series:
    if not LONG.exists():
        pytest.skip(f"{LONG} is not there (../shared/data)")
    frame = pd.read_csv(LONG)
    rows = frame[frame["zone"] == zone]
    series = pd.Series(
        rows["price_eur_mwh"].to_numpy(),
        index=pd.DatetimeIndex(pd.to_datetime(rows["timestamp_utc"], utc=True)),
    )
    start = pd.Timestamp("2023-01-01", tz="Europe/Berlin")
    end = pd.Timestamp("2024-01-01", tz="Europe/Berlin")
    return series[(series.index >= start) & (series.index < end)]


def one_battery(tmp_path: Path, asset_id: str) -> Path:
    """The sample portfolio's battery `asset_id` alone, in service from 2020."""
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    (battery,) = [a for a in document["assets"] if a["id"] == asset_id]
    battery["commissioning_date"] = "2020-01-01"
    document["assets"] = [battery]
    document["sites"] = [s for s in document["sites"] if s["id"] == battery["site"]]
    path = tmp_path / f"{asset_id}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def vpp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trading.cli", *args], capture_output=True, text=True, timeout=1500
    )


def test_a_german_year_in_a_raw_smard_export_runs_unedited(tmp_path: Path) -> None:
    prices = real_2023("DE_LU")
    assert len(prices) == 8760
    smard = write_smard_hourly_de(
        prices, tmp_path / "Gro_handelspreise_202301010000_202312312359_Stunde.csv"
    )
    read = read_price_inputs(smard, None, None, {"DE_LU"}).day_ahead["DE_LU"]
    assert read.index.equals(prices.index)
    assert read.to_numpy() == pytest.approx(prices.to_numpy(), abs=0.005)  # SMARD's 2 decimals
    done = vpp(
        "backtest", "--portfolio", str(one_battery(tmp_path, "bat-de-essen-01")),
        "--prices", str(smard), "--start", "2023-01-01", "--end", "2023-12-31",
        "--out", str(tmp_path / "out"), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["days"] == 365
    assert summary["revenue_by_market"]["day_ahead"] > 100_000  # a 10 MW battery's year
    assert any("read as a smard file" in note for note in summary["notes"])
    assert any("price coverage: complete" in note for note in summary["notes"])


def test_a_year_with_a_missing_hour_stops_up_front_or_interpolates(tmp_path: Path) -> None:
    prices = real_2023("NL").astype(object)
    prices[NL_MISSING_HOUR] = None  # "n/e" in the export, as ENTSO-E marks it
    export = write_entsoe_current(prices, tmp_path / "GUI_ENERGY_PRICES_2023.csv", "NL")
    args = (
        "backtest", "--portfolio", str(one_battery(tmp_path, "bat-nl-rotterdam-01")),
        "--prices", str(export), "--start", "2023-01-01", "--end", "2023-12-31",
    )  # fmt: skip
    failed = vpp(*args)  # default --gaps fail
    assert failed.returncode == 2
    assert "day_ahead NL: 2023-12-30T23:00Z to 2023-12-31T00:00Z" in failed.stderr
    assert "local 2023-12-31 00:00 CET" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert "0 days" not in failed.stdout  # stopped before the first day, not on the last
    done = vpp(*args, "--gaps", "interpolate", "--out", str(tmp_path / "out"), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["days"] == 365
    assert any("policy interpolate" in n and "2023-12-30T23:00Z" in n for n in summary["notes"])
    days = pd.read_csv(tmp_path / "out" / "days.csv", keep_default_na=False)
    flagged = days.loc[days["price_gaps"] != "", "day"].tolist()
    assert flagged == ["2023-12-31"]
    assert days.loc[days["day"] == "2023-12-31", "price_gaps"].iloc[0].startswith("interpolate:")
    assert np.isfinite(days["net_eur"]).all()


def test_the_real_afrr_week_as_smard_exported_it_reads_like_the_long_file(tmp_path) -> None:
    long_path = SHARED_DATA / "afrr_de_smard_2022-01-01_2022-01-08_15min.csv"
    if not long_path.exists():
        pytest.skip(f"{long_path} is not there (../shared/data)")
    long = pd.read_csv(long_path, keep_default_na=False)
    export = write_smard_afrr_en(long, tmp_path / "Automatic_Frequency_Restoration_Reserve.csv")
    assert export.read_text(encoding="utf-8").startswith("Date;Time of day;Volume activated (+)")
    from_export = read_balancing_file(export)
    expected = read_balancing_prices(long_path)
    assert from_export.attrs["format"] == "smard"
    assert from_export.index.equals(expected.index)
    for column in expected.columns.drop("zone"):
        assert from_export[column].to_numpy() == pytest.approx(
            expected[column].to_numpy(), nan_ok=True, abs=0.005
        ), column
