"""Gap policies in a run and in `vpp optimise`: what is filled, skipped and recorded."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from regulatory.portfolio import Portfolio
from trading.backtest import BacktestConfig, run_backtest
from trading.cli import app
from trading.optimiser.inputs import PriceInputs
from trading.prices.sample import generate_sample_prices
from trading.samples import sample_portfolio_path

START = date(2026, 5, 4)


def one_battery() -> Portfolio:
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    (battery,) = [a for a in document["assets"] if a["id"] == "bat-de-essen-01"]
    document["assets"] = [battery]
    document["sites"] = [s for s in document["sites"] if s["id"] == battery["site"]]
    return Portfolio.model_validate(document)


def holed_prices() -> tuple[PriceInputs, pd.Timestamp]:
    frame = generate_sample_prices(START - timedelta(days=8), 12, zones=("DE_LU",)).day_ahead
    series = frame.loc[frame["zone"] == "DE_LU", "price_eur_mwh"]
    hole = pd.Timestamp("2026-05-05T09:00Z")
    kept = series[(series.index < hole) | (series.index >= hole + pd.Timedelta("1h"))]
    return PriceInputs(day_ahead={"DE_LU": kept}), hole


def test_skip_day_leaves_the_day_untraded_and_carries_the_soc() -> None:
    prices, _ = holed_prices()
    config = BacktestConfig(START, START + timedelta(days=2), gaps="skip-day")
    result = run_backtest(one_battery(), prices, config)
    status = dict(zip(result.days["day"], result.days["status"], strict=True))
    assert status[date(2026, 5, 5)] == "skipped_price_gap"
    assert status[date(2026, 5, 4)] != "skipped_price_gap"
    skipped = result.days[result.days["day"] == date(2026, 5, 5)].iloc[0]
    assert skipped["revenue_eur"] == 0.0
    assert skipped["price_gaps"].startswith("skip-day: day_ahead DE_LU: 2026-05-05T09:00Z")
    soc = result.soc.set_index("timestamp_utc")["soc_mwh"]
    end_of_4th = soc[soc.index < pd.Timestamp("2026-05-04T22:00Z")].iloc[-1]
    first_of_6th = soc[soc.index >= pd.Timestamp("2026-05-05T22:00Z")].iloc[0]
    assert abs(first_of_6th - end_of_4th) <= 10.0 * 0.25 / 0.9 + 1e-6  # one quarter hour's move
    assert any("policy skip-day" in n and "2026-05-05" in n for n in result.notes)


def test_previous_day_fills_the_hole_and_says_so_in_the_day_row() -> None:
    prices, _ = holed_prices()
    config = BacktestConfig(START, START + timedelta(days=2), gaps="previous-day")
    result = run_backtest(one_battery(), prices, config)
    assert list(result.days["status"]).count("skipped_price_gap") == 0
    notes = dict(zip(result.days["day"], result.days["price_gaps"], strict=True))
    assert notes[date(2026, 5, 5)].startswith("previous-day: day_ahead DE_LU")
    assert notes[date(2026, 5, 4)] == ""
    assert any(
        "filled from the same local time the day before (4 quarter hours)" in n
        for n in result.notes
    )


def test_optimise_names_the_gap_or_fills_it(tmp_path: Path) -> None:
    prices, _ = holed_prices()
    series = prices.day_ahead["DE_LU"]
    path = tmp_path / "da.csv"
    pd.DataFrame(
        {
            "timestamp_utc": series.index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "zone": "DE_LU",
            "price_eur_mwh": series.to_numpy(),
        }
    ).to_csv(path, index=False)
    args = ["optimise", "--portfolio", str(sample_portfolio_path()), "--zones", "DE_LU",
            "--day", "2026-05-05", "--prices", str(path)]  # fmt: skip
    runner = CliRunner()
    failed = runner.invoke(app, args)
    assert failed.exit_code == 2
    assert "day_ahead DE_LU: 2026-05-05T09:00Z to 2026-05-05T10:00Z" in failed.output
    filled = runner.invoke(app, [*args, "--gaps", "interpolate", "--json"])
    assert filled.exit_code == 0, filled.output
    record = json.loads(filled.output)
    assert any("policy interpolate" in n for n in record["notes"])
    skip = runner.invoke(app, [*args, "--gaps", "skip-day"])
    assert skip.exit_code == 2
    assert "one day cannot skip" in skip.output


@pytest.mark.parametrize("policy", ["guess", ""])
def test_an_unknown_policy_is_refused(policy: str) -> None:
    with pytest.raises(ValueError, match=r"gaps=.*fail, interpolate, previous-day, skip-day"):
        BacktestConfig(START, START, gaps=policy)
