"""`vpp optimise`: a day of the sample portfolio on sample and real prices."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED_DATA
from typer.testing import CliRunner

from trading.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "sample_prices"
PORTFOLIO = str(ROOT / "data" / "sample_portfolio.yaml")


def test_a_market_without_its_price_file_is_refused_naming_the_option() -> None:
    result = runner.invoke(
        app,
        ["optimise", "--portfolio", PORTFOLIO, "--day", "2026-06-13", "--markets", "afrr_capacity"],
    )
    assert result.exit_code == 2
    assert "--markets afrr_capacity needs --balancing-prices" in result.output


def test_day_ahead_and_afrr_capacity_on_sample_prices_give_valid_bids_for_both() -> None:
    result = runner.invoke(
        app,
        [
            "optimise",
            "--portfolio",
            PORTFOLIO,
            "--day",
            "2026-06-13",
            "--prices",
            str(SAMPLES / "day_ahead.csv"),
            "--balancing-prices",
            str(SAMPLES / "afrr.csv"),
            "--markets",
            "day_ahead,afrr_capacity",
            "--zones",
            "DE_LU",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert {"objective_eur", "revenue_by_market", "bids", "schedule", "solver"} <= set(plan)
    markets = {bid["product_id"].split(":")[1] for bid in plan["bids"]}
    assert markets == {"day_ahead", "afrr_capacity"}
    assert plan["solver"]["status"] == "optimal"
    assert set(plan["solver"]) >= {"gap", "build_s", "solve_s", "variables", "constraints"}
    assert len(plan["schedule"]["quarter_hours"]) == 96


def test_day_ahead_and_fcr_capacity_on_sample_prices_give_fcr_bids() -> None:
    result = runner.invoke(
        app,
        [
            "optimise",
            "--portfolio",
            PORTFOLIO,
            "--day",
            "2026-06-13",
            "--prices",
            str(SAMPLES / "day_ahead.csv"),
            "--balancing-prices",
            str(SAMPLES / "afrr.csv"),
            "--markets",
            "day_ahead,fcr_capacity",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    fcr = [bid for bid in plan["bids"] if ":fcr" in bid["product_id"]]
    assert fcr
    assert all(":fcr_capacity:" in bid["product_id"] for bid in fcr)
    markets = {bid["product_id"].split(":")[1] for bid in plan["bids"]}
    assert markets == {"day_ahead", "fcr_capacity"}
    assert plan["revenue_by_market"]["fcr_capacity"] > 0
    assert plan["solver"]["status"] == "optimal"


def test_fcr_capacity_without_an_fcr_column_names_the_file_and_the_column(tmp_path) -> None:
    frame = pd.read_csv(SAMPLES / "afrr.csv", dtype=str, keep_default_na=False)
    balancing = tmp_path / "afrr_without_fcr.csv"
    frame.drop(columns="fcr_capacity_price_eur_mw").to_csv(balancing, index=False)
    result = runner.invoke(
        app,
        [
            "optimise",
            "--portfolio",
            PORTFOLIO,
            "--day",
            "2026-06-13",
            "--prices",
            str(SAMPLES / "day_ahead.csv"),
            "--balancing-prices",
            str(balancing),
            "--markets",
            "day_ahead,fcr_capacity",
            "--zones",
            "DE_LU",
        ],
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = " ".join(result.output.split())  # the console may wrap a long path
    assert "afrr_without_fcr.csv" in message
    assert "fcr_capacity_price_eur_mw" in message
    assert "Traceback" not in result.output


def test_fcr_capacity_without_a_balancing_file_is_refused_naming_the_option() -> None:
    result = runner.invoke(
        app,
        ["optimise", "--portfolio", PORTFOLIO, "--day", "2026-06-13", "--markets", "fcr_capacity"],
    )
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "--markets fcr_capacity needs --balancing-prices with a fcr_capacity_price_eur_mw" in (
        message
    )


@pytest.mark.realdata
def test_real_de_lu_week_of_january_2022_co_optimises_day_ahead_and_afrr() -> None:
    result = runner.invoke(
        app,
        [
            "optimise",
            "--portfolio",
            PORTFOLIO,
            "--day",
            "2022-01-05",
            "--prices",
            str(SHARED_DATA / "day_ahead_prices_hourly_2022_2023.csv"),
            "--balancing-prices",
            str(SHARED_DATA / "afrr_de_smard_2022-01-01_2022-01-08_15min.csv"),
            "--markets",
            "day_ahead,afrr_capacity",
            "--zones",
            "DE_LU",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    day_ahead = [b for b in plan["bids"] if ":day_ahead:" in b["product_id"]]
    assert day_ahead
    assert all(b["product_id"].endswith(":00Z") for b in day_ahead)  # hourly MTU in 2022
    assert any(":afrr_capacity:" in b["product_id"] for b in plan["bids"])


def _pv_forecast(path: Path, mw: float) -> Path:
    """A flat forecast for the DE rooftop pv of the sample portfolio on 2026-06-13."""
    times = pd.date_range("2026-06-12T22:00Z", periods=96, freq="15min")
    frame = pd.DataFrame(
        {
            "timestamp_utc": times.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "asset_id": "pv-de-essen-roof",
            "available_mw": mw,
        }
    )
    frame.to_csv(path, index=False)
    return path


def _optimise_de_day_ahead(*extra: str) -> object:
    return runner.invoke(
        app,
        [
            "optimise",
            "--portfolio",
            PORTFOLIO,
            "--day",
            "2026-06-13",
            "--prices",
            str(SAMPLES / "day_ahead.csv"),
            "--zones",
            "DE_LU",
            "--json",
            *extra,
        ],
    )


def test_a_pv_forecast_file_replaces_the_proxy_for_the_assets_it_covers(tmp_path: Path) -> None:
    result = _optimise_de_day_ahead("--profiles", str(_pv_forecast(tmp_path / "f.csv", 3.0)))
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    injection = plan["schedule"]["injection_mw"]["pv-de-essen-roof"]
    assert max(injection) <= 3.0 + 1e-9  # the forecast caps it, not the clear-sky proxy
    assert any(v > 2.9 for v in injection)  # and it sells it when prices pay
    note = " ".join(plan["notes"])
    assert "pv-de-eifel" in note
    assert "pv-de-essen-roof" not in note


def test_a_bad_forecast_value_names_the_line_and_column(tmp_path: Path) -> None:
    path = _pv_forecast(tmp_path / "f.csv", 3.0)
    lines = path.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",-1"
    path.write_text("\n".join(lines) + "\n")
    result = _optimise_de_day_ahead("--profiles", str(path))
    assert result.exit_code == 2
    assert "line 6" in result.output
    assert "available_mw='-1'" in result.output
