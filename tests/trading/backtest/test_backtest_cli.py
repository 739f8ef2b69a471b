"""`vpp backtest`: one JSON object on stdout, tables and figures in --out, errors named;
over a real month of DE-LU prices its numbers reconcile with the daily optimiser."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED_DATA

from trading.samples import sample_portfolio_path, sample_prices_dir

PORTFOLIO = str(sample_portfolio_path())
SAMPLES = sample_prices_dir()


def vpp(*args: str) -> subprocess.CompletedProcess[str]:
    """`vpp ARGS` in a fresh process: stdout exactly as a user's pipe would see it."""
    return subprocess.run(
        [sys.executable, "-m", "trading.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_json_output_is_one_object_with_the_documented_keys(tmp_path: Path) -> None:
    done = vpp(
        "backtest", "--portfolio", PORTFOLIO, "--prices", str(SAMPLES / "day_ahead.csv"),
        "--start", "2026-06-13", "--end", "2026-06-14", "--zones", "DE_LU",
        "--out", str(tmp_path / "out"), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)  # nothing else on stdout (no solver banner)
    assert summary["days"] == 2
    assert set(summary) >= {
        "days", "total_revenue_eur", "revenue_by_market", "imbalance_cost_eur", "cycles",
        "solver_time_s", "files",
    }  # fmt: skip
    assert summary["revenue_by_market"].keys() == {"day_ahead"}
    written = {Path(p).name for p in summary["files"]}
    assert {"days.csv", "revenue.csv", "assets.csv", "positions.csv", "soc.csv"} <= written
    assert "cumulative_revenue.png" in written
    days = pd.read_csv(tmp_path / "out" / "days.csv")
    assert days["revenue_eur"].sum() == pytest.approx(summary["total_revenue_eur"], abs=0.05)


def test_bad_options_exit_2_naming_them() -> None:
    markets = vpp(
        "backtest", "--portfolio", PORTFOLIO, "--prices", str(SAMPLES / "day_ahead.csv"),
        "--start", "2026-06-13", "--end", "2026-06-14", "--markets", "spot",
    )  # fmt: skip
    assert markets.returncode == 2
    assert "spot" in markets.stderr
    backwards = vpp(
        "backtest", "--portfolio", PORTFOLIO, "--prices", str(SAMPLES / "day_ahead.csv"),
        "--start", "2026-06-14", "--end", "2026-06-13",
    )  # fmt: skip
    assert backwards.returncode == 2
    assert "before start" in backwards.stderr
    missing = vpp(
        "backtest", "--portfolio", PORTFOLIO, "--prices", str(SAMPLES / "day_ahead.csv"),
        "--start", "2026-07-01", "--end", "2026-07-02", "--zones", "DE_LU",
    )  # fmt: skip
    assert missing.returncode == 2
    assert "local 2026-07-01 00:00 CEST" in missing.stderr
    assert "day_ahead DE_LU: prices from" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_report_writes_one_html_file_and_parquet_tables(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    done = vpp(
        "backtest", "--portfolio", PORTFOLIO, "--prices", str(SAMPLES / "day_ahead.csv"),
        "--start", "2026-06-13", "--end", "2026-06-13", "--zones", "DE_LU",
        "--out", str(tmp_path / "out"), "--format", "parquet", "--report", str(report),
        "--end-of-day", "fixed", "--stored-value", "60", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert str(report) in summary["files"]
    text = report.read_text(encoding="utf-8")
    assert text.count('src="data:image/png;base64,') >= 5
    assert "60 EUR/MWh" in text  # the end-of-day note names the fixed value
    assert pd.read_parquet(tmp_path / "out" / "days.parquet")["day"].size == 1


def test_end_of_day_and_horizon_options_are_checked_before_the_run() -> None:
    base = (
        "backtest", "--portfolio", PORTFOLIO, "--prices", str(SAMPLES / "day_ahead.csv"),
        "--start", "2026-06-13", "--end", "2026-06-14",
    )  # fmt: skip
    cases = [
        (("--end-of-day", "fixed"), "--end-of-day=fixed needs --stored-value"),
        (("--end-of-day", "carry"), "--end-of-day='carry': choose from forecast, fixed, target"),
        (("--stored-value", "50"), "--stored-value=50 is only used with --end-of-day=fixed"),
        (("--horizon-days", "0"), "horizon_days=0: must be 1 to 7 days"),
        (
            ("--horizon-days", "2", "--end-of-day", "target"),
            "horizon_days=2 values the end of each day, so it needs end_soc='value'",
        ),
    ]
    for extra, message in cases:
        done = vpp(*base, *extra)
        assert done.returncode == 2, extra
        assert message in done.stderr, (extra, done.stderr)
        assert "Traceback" not in done.stderr


@pytest.mark.realdata
def test_a_real_month_of_de_lu_prices_reconciles_with_the_daily_optimiser(tmp_path: Path) -> None:
    prices = SHARED_DATA / "day_ahead_prices_15min_de_lu_2025-10_2026-08.csv"
    if not prices.exists():
        pytest.skip(f"{prices} is not there (../shared/data)")
    done = vpp(
        "backtest", "--portfolio", PORTFOLIO, "--prices", str(prices), "--zones", "DE_LU",
        "--start", "2026-03-01", "--end", "2026-03-31", "--out", str(tmp_path), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["days"] == 31
    days = pd.read_csv(tmp_path / "days.csv")
    # Perfect foresight, price-taking bids: what cleared is what the optimiser planned,
    # besides the value it put on energy left stored at the end of each day.
    realised = (
        days["revenue_eur"] + days["support_eur"] - days["costs_eur"] + days["stored_value_eur"]
    )
    assert realised.to_numpy() == pytest.approx(days["forecast_objective_eur"].to_numpy(), abs=0.05)
    soc = pd.read_csv(tmp_path / "soc.csv")
    spring = pd.to_datetime(soc["timestamp_utc"], utc=True).dt.tz_convert("Europe/Berlin")
    per_day = soc.groupby(spring.dt.date.astype(str))["soc_mwh"].size() / soc["asset"].nunique()
    assert per_day["2026-03-29"] == 92  # the spring DST day
    for figure in ("cumulative_revenue.png", "daily_revenue_distribution.png"):
        assert (tmp_path / figure).stat().st_size > 1000
