"""`vpp optimise`: a day of the sample portfolio on sample and real prices."""

from __future__ import annotations

import json
from pathlib import Path

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
