"""The backtest's tables say what an analyst needs: capacity in MW and hours, the price
paid beside the clearing price, rejected bids with their reason, costs by kind, revenue
by asset and market adding up to the books, and Parquet files equal to the CSV ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from backtest_runs import DearCapacity, day_ahead_and_afrr, generated_prices, with_rejections

from trading.backtest.result import TABLES, ParquetUnavailableError, check_format


def test_capacity_rows_hold_mw_and_hours_and_no_energy() -> None:
    result = day_ahead_and_afrr()
    revenue = result.revenue
    capacity = revenue[revenue["market"] == "afrr_capacity"]
    energy = revenue[revenue["market"] == "day_ahead"]
    assert not capacity.empty
    assert not energy.empty
    assert capacity["volume_mwh"].isna().all()
    assert energy["capacity_mw_h"].isna().all()
    assert energy["volume_mwh"].notna().all()
    held = result.positions[result.positions["market"] == "afrr_capacity"]
    for row in capacity.itertuples():
        same_day = held[held["day"] == row.day]
        mw_h = (same_day["cleared_mw"] * same_day["hours"]).sum()
        assert row.capacity_mw_h == pytest.approx(mw_h, abs=1e-3)
        assert 0 < row.capacity_h <= 25  # distinct hours of a day, not summed per direction
        assert row.capacity_mw == pytest.approx(row.capacity_mw_h / row.capacity_h, rel=1e-3)


def test_every_position_earns_its_cleared_mw_at_the_price_paid() -> None:
    positions = day_ahead_and_afrr().positions
    cleared = positions[positions["cleared_mw"] != 0]
    assert not cleared.empty
    expected = cleared["cleared_mw"] * cleared["price_paid_eur"] * cleared["hours"]
    np.testing.assert_allclose(cleared["revenue_eur"], expected, atol=1e-3)
    energy = cleared[cleared["direction"].isna()]
    np.testing.assert_allclose(energy["price_paid_eur"], energy["clearing_price_eur"])
    assert positions.loc[positions["cleared_mw"] == 0, "price_paid_eur"].isna().all()


def test_revenue_by_market_is_the_sum_of_the_positions() -> None:
    result = day_ahead_and_afrr()
    from_positions = result.positions.groupby("market")["revenue_eur"].sum()
    from_table = result.revenue.groupby("market")["revenue_eur"].sum()
    np.testing.assert_allclose(from_positions[from_table.index], from_table, atol=0.05)


def test_rejected_bids_are_listed_with_the_exchange_reason() -> None:
    result = with_rejections()
    rejected = result.rejected
    assert not rejected.empty
    assert (rejected["market"] == "afrr_capacity").all()
    assert (rejected["bid_price_eur"] > rejected["clearing_price_eur"]).all()
    assert rejected["reason"].str.contains("above").all()
    assert result.summary()["rejected_bids"] == len(rejected)
    refused = result.positions[result.positions["status"] == "rejected"]
    assert len(refused) == len(rejected)
    assert (refused["cleared_mw"] == 0).all()


def test_a_run_whose_bids_all_clear_has_an_empty_rejected_table() -> None:
    result = day_ahead_and_afrr()
    assert result.rejected.empty
    assert list(result.rejected.columns)[-1] == "reason"


def test_costs_by_kind_add_up_to_each_days_costs() -> None:
    result = day_ahead_and_afrr()
    by_day = result.costs.groupby("day")["cost_eur"].sum()
    days = result.days.set_index("day")["costs_eur"]
    np.testing.assert_allclose(by_day[days.index], days, atol=0.05)
    assert "wear" in set(result.costs["kind"])
    assert result.summary()["costs_by_kind"]["wear"] > 0


def test_attribution_adds_up_to_revenue_less_imbalance() -> None:
    result = day_ahead_and_afrr()
    by_day = result.attribution.groupby("day")["revenue_eur"].sum()
    days = result.days.set_index("day")
    np.testing.assert_allclose(
        by_day[days.index], days["revenue_eur"] - days["imbalance_cost_eur"], atol=0.5
    )
    battery = result.attribution[result.attribution["asset"] == "bat-de-essen-01"]
    assert set(battery["market"]) >= {"day_ahead", "afrr_capacity"}


def test_prices_table_holds_what_the_plan_saw_beside_what_it_cleared_at() -> None:
    perfect = day_ahead_and_afrr().prices
    np.testing.assert_allclose(perfect["forecast_eur_mwh"], perfect["actual_eur_mwh"])
    actual = generated_prices().day_ahead["DE_LU"]
    rows = perfect[perfect["zone"] == "DE_LU"].set_index("timestamp_utc")["actual_eur_mwh"]
    np.testing.assert_allclose(rows.to_numpy(), actual.reindex(rows.index).to_numpy())
    assert any(DearCapacity().name in note for note in with_rejections().notes)


def test_dispatch_holds_each_assets_injection_per_quarter_hour() -> None:
    result = day_ahead_and_afrr()
    dispatch = result.dispatch
    assert set(dispatch["asset"]) == set(result.assets["asset"])
    assert len(dispatch) == 2 * 96 * dispatch["asset"].nunique()  # two June days


def test_parquet_files_hold_the_same_tables_as_csv(tmp_path) -> None:
    result = day_ahead_and_afrr()
    written = result.write(tmp_path / "pq", "parquet")
    assert [p.name for p in written] == [f"{name}.parquet" for name in TABLES]
    for name in TABLES:
        frame = pd.read_parquet(tmp_path / "pq" / f"{name}.parquet")
        assert list(frame.columns) == list(getattr(result, name).columns)
        assert len(frame) == len(getattr(result, name))
    positions = pd.read_parquet(tmp_path / "pq" / "positions.parquet")
    assert str(positions["timestamp_utc"].dt.tz) == "UTC"


def test_formats_are_checked_before_a_run(monkeypatch) -> None:
    with pytest.raises(ValueError, match="format='xlsx': choose from csv, parquet"):
        check_format("xlsx")
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow":
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(ParquetUnavailableError, match="needs pyarrow"):
        check_format("parquet")
