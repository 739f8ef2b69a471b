"""A wind and PV portfolio over a real year: planned on a forecast with error, settled on
output modelled from the DWD 2015 weather, the error settled at real NL imbalance prices of
2023 (weather year and price year aligned by calendar date, as the notes say)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import SHARED_DATA

from trading.samples import sample_portfolio_path

pytestmark = pytest.mark.realdata

FILES = {
    "prices": "day_ahead_prices_hourly_2022_2023.csv",
    "imbalance": "imbalance_prices_nl_2023_15min.csv",
    "weather": "weather_dwd_2015_15min.csv",
}


def wind_and_pv(tmp_path: Path) -> Path:
    """The sample's 14.4 MW Groningen wind farm and an 8 MW PV park in Rotterdam (NL)."""
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    pv = {
        "id": "pv-nl-rotterdam",
        "kind": "pv",
        "site": "nl-rotterdam",
        "commissioning_date": "2020-01-01",
        "rated_power_mw": 8,
        "dc_capacity_mwp": 9.6,
    }
    document["assets"] = [a for a in document["assets"] if a["id"] == "wind-nl-groningen"]
    document["assets"].append(pv)
    document["sites"] = [
        s for s in document["sites"] if s["id"] in ("nl-groningen", "nl-rotterdam")
    ]
    path = tmp_path / "nl_wind_pv.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_a_year_of_wind_and_pv_pays_its_forecast_error_at_real_nl_imbalance_prices(
    tmp_path: Path,
) -> None:
    paths = {k: SHARED_DATA / v for k, v in FILES.items()}
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        pytest.skip(f"not in ../shared/data: {', '.join(missing)}")
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "trading.cli",
            "backtest",
            "--portfolio",
            str(wind_and_pv(tmp_path)),
            "--prices",
            str(paths["prices"]),
            "--imbalance-prices",
            str(paths["imbalance"]),
            "--weather",
            str(paths["weather"]),
            "--output-forecast",
            "noisy",
            "--start",
            "2023-01-01",
            "--end",
            "2023-12-31",
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["days"] == 365
    notes = " | ".join(summary["notes"])
    assert "weather year 2015, mapped onto each delivery day by calendar date" in notes
    assert "noisy: actual output smoothed" in notes
    assert "imbalance prices NL: the real series misses 4 quarter hour(s)" in notes
    days = pd.read_csv(out / "days.csv")
    imbalance = pd.read_csv(out / "imbalance.csv")
    # Real NL imbalance prices settle all but the four quarter hours the file lacks.
    sources = imbalance["price_source"].value_counts()
    assert sources["real"] >= 35_036
    # The forecast is wrong by a sizeable share of what the portfolio sold...
    error = imbalance["forecast_error_mwh"].abs().sum()
    sold = summary["revenue_by_market"]["day_ahead"]
    assert error > 2_000  # MWh over the year
    # ...and paying for it at real imbalance prices is a cost, booked once in the net.
    error_cost = days["forecast_error_cost_eur"].sum()
    assert error_cost > 0
    # (each day's figure is rounded to the cent: up to half a cent a day apart)
    assert error_cost == pytest.approx(
        -(imbalance["forecast_error_mwh"] * imbalance["price_eur_mwh"]).sum(),
        abs=0.005 * len(days),
    )
    # The whole imbalance (forecast error and what the plan left unsold) is settled once.
    assert days["imbalance_cost_eur"].sum() == pytest.approx(
        -(imbalance["imbalance_mwh"] * imbalance["price_eur_mwh"]).sum(), abs=1.0
    )
    assert days["net_eur"].sum() == pytest.approx(
        (
            days["revenue_eur"]
            + days["support_eur"]
            - days["imbalance_cost_eur"]
            - days["costs_eur"]
        ).sum(),
        abs=1.0,
    )
    assert sold > 0
