"""Backtest figures: files written, PNGs non-empty, default day, empty tables skipped."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from trading.backtest.report import best_day, write_figures
from trading.backtest.result import BacktestResult

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DAYS = [date(2026, 6, 12), date(2026, 6, 13), date(2026, 6, 14)]
DAY_REVENUE = [1200.0, 4100.5, -300.0]  # the 13th is the best day


def _result(days: list[date] = DAYS, revenue: list[float] = DAY_REVENUE) -> BacktestResult:
    """A hand-made result with the documented columns: one battery, two markets."""
    day_rows, revenue_rows, asset_rows, position_rows, soc_rows = [], [], [], [], []
    for day, total in zip(days, revenue, strict=True):
        day_rows.append(
            {
                "day": day,
                "revenue_eur": total,
                "imbalance_cost_eur": 10.0,
                "costs_eur": 50.0,
                "net_eur": total - 60.0,
                "forecast_objective_eur": total,
                "status": "optimal",
                "gap": 0.0,
                "build_s": 0.1,
                "solve_s": 0.2,
            }
        )
        revenue_rows += [
            {
                "day": day,
                "market": "day_ahead",
                "zone": "DE_LU",
                "revenue_eur": 0.8 * total,
                "volume_mwh": 1.0,
            },
            {
                "day": day,
                "market": "fcr_capacity",
                "zone": "DE_LU",
                "revenue_eur": 0.2 * total,
                "volume_mwh": 24.0,
            },
        ]
        asset_rows.append(
            {
                "day": day,
                "asset": "bat-1",
                "kind": "battery",
                "revenue_eur": total,
                "throughput_mwh": 20.0,
                "cycles": 1.0,
            }
        )
        # Summer: the local day starts at 22:00Z the evening before.
        start = pd.Timestamp(day, tz="UTC") - pd.Timedelta(hours=2)
        periods = pd.date_range(start, periods=96, freq="15min")
        mw = 10.0 * np.sin(np.linspace(0, 2 * np.pi, 96))
        for t, value in zip(periods, mw, strict=True):
            position_rows.append(
                {
                    "timestamp_utc": t,
                    "day": day,
                    "market": "day_ahead",
                    "zone": "DE_LU",
                    "direction": None,
                    "mw": value,
                    "cleared_mw": value,
                    "price_eur": 80.0,
                }
            )
            position_rows.append(
                {
                    "timestamp_utc": t,
                    "day": day,
                    "market": "fcr_capacity",
                    "zone": "DE_LU",
                    "direction": "sym",
                    "mw": 2.0,
                    "cleared_mw": 2.0,
                    "price_eur": 12.0,
                }
            )
        soc = 10.0 - np.cumsum(mw) * 0.25
        soc_rows += [
            {"timestamp_utc": t, "asset": "bat-1", "soc_mwh": s}
            for t, s in zip(periods, soc, strict=True)
        ]
    return BacktestResult(
        days=pd.DataFrame(day_rows),
        revenue=pd.DataFrame(revenue_rows),
        assets=pd.DataFrame(asset_rows),
        positions=pd.DataFrame(position_rows),
        soc=pd.DataFrame(soc_rows),
        imbalance=pd.DataFrame(
            columns=[
                "timestamp_utc",
                "zone",
                "imbalance_mwh",
                "price_eur_mwh",
                "cost_eur",
                "price_source",
            ]
        ),
    )


def _empty_result() -> BacktestResult:
    empty = _result()
    return BacktestResult(
        **{
            name: getattr(empty, name).iloc[0:0]
            for name in ("days", "revenue", "assets", "positions", "soc", "imbalance")
        }
    )


def _is_png(path) -> bool:
    return path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


def test_writes_three_non_empty_pngs_with_the_best_day_by_default(tmp_path):
    written = write_figures(_result(), tmp_path / "figures")
    names = [p.name for p in written]
    assert names == [
        "cumulative_revenue.png",
        "day_2026-06-13.png",
        "daily_revenue_distribution.png",
    ]
    assert all(_is_png(p) for p in written)
    assert all(p.parent == tmp_path / "figures" for p in written)


def test_best_day_is_the_day_of_largest_revenue():
    assert best_day(_result()) == date(2026, 6, 13)
    negative = _result(revenue=[-5.0, -1.0, -9.0])
    assert best_day(negative) == date(2026, 6, 13)


def test_best_day_reads_days_given_as_text_after_a_csv_round_trip(tmp_path):
    result = _result()
    result.write(tmp_path)
    tables = {
        name: pd.read_csv(tmp_path / f"{name}.csv")
        for name in ("days", "revenue", "assets", "positions", "soc", "imbalance")
    }
    reread = BacktestResult(**tables)
    assert best_day(reread) == date(2026, 6, 13)
    written = write_figures(reread, tmp_path / "fig")
    assert [p.name for p in written][1] == "day_2026-06-13.png"
    assert all(_is_png(p) for p in written)


def test_an_explicit_day_is_drawn(tmp_path):
    written = write_figures(_result(), tmp_path, day=date(2026, 6, 14))
    assert (tmp_path / "day_2026-06-14.png") in written
    assert _is_png(tmp_path / "day_2026-06-14.png")


def test_a_day_without_positions_or_soc_is_skipped(tmp_path):
    written = write_figures(_result(), tmp_path, day=date(2026, 6, 12) - timedelta(days=30))
    assert [p.name for p in written] == ["cumulative_revenue.png", "daily_revenue_distribution.png"]


def test_empty_tables_write_nothing(tmp_path):
    assert write_figures(_empty_result(), tmp_path) == []
    assert best_day(_empty_result()) is None
    assert list(tmp_path.iterdir()) == []


def test_a_result_without_batteries_still_draws_the_day(tmp_path):
    result = _result()
    result.soc = result.soc.iloc[0:0]
    written = write_figures(result, tmp_path)
    assert len(written) == 3
    assert _is_png(tmp_path / "day_2026-06-13.png")


@pytest.mark.parametrize("n_days", [1, 60])
def test_histogram_copes_with_one_or_many_days(tmp_path, n_days):
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(n_days)]
    revenue = list(np.random.default_rng(1).normal(1000, 400, n_days))
    written = write_figures(_result(days, revenue), tmp_path)
    assert _is_png(tmp_path / "daily_revenue_distribution.png")
    assert len(written) == 3
