"""PV and wind planned on a forecast with a stated error and settled on actual output: the
error models, the weather-year mapping, the models of output, and the books of a run."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from regulatory import Portfolio
from regulatory.assets.generation import PV, Wind
from trading.backtest import BacktestConfig, BacktestError, run_backtest
from trading.backtest.actuals import (
    FileActuals,
    TurbineLibrary,
    pv_output_mw,
    weather_instants,
    wind_output_mw,
)
from trading.backtest.forecast import SameWeekdayMean
from trading.backtest.forecast_output import (
    NoisyForecast,
    PerfectOutput,
    PersistenceForecast,
    RenewableOutputs,
)
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.prices.sample import generate_sample_prices
from trading.samples import sample_portfolio_path

PV_ASSET = PV(id="pv-1", site="s", commissioning_date=date(2020, 1, 1), rated_power_mw=10.0)
WIND_ASSET = Wind(
    id="wind-1",
    site="s",
    commissioning_date=date(2020, 1, 1),
    rated_power_mw=6.0,
    turbine_type="T/2000",
    turbine_count=3,
    hub_height_m=100.0,
)


def test_noisy_forecast_is_fixed_by_seed_asset_and_day_and_stays_in_range() -> None:
    actual = np.concatenate([np.zeros(24), np.sin(np.linspace(0, np.pi, 48)) * 9, np.zeros(24)])
    model = NoisyForecast(seed=7)
    day = date(2023, 6, 1)
    first = model.forecast(PV_ASSET, actual, day, None)
    assert np.array_equal(first, model.forecast(PV_ASSET, actual, day, None))
    assert not np.array_equal(first, NoisyForecast(seed=8).forecast(PV_ASSET, actual, day, None))
    assert not np.array_equal(first, model.forecast(PV_ASSET, actual, day + timedelta(1), None))
    assert np.abs(first - actual).mean() > 0.05  # it has an error
    assert first[:20].max() == 0.0  # no sun, no forecast output


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.floats(0, 6, allow_nan=False), min_size=92, max_size=92),
    seed=st.integers(0, 2**16),
)
def test_every_output_forecast_lies_between_zero_and_the_rating(values, seed) -> None:
    actual = np.asarray(values)
    forecast = NoisyForecast(seed=seed).forecast(WIND_ASSET, actual, date(2023, 3, 26), None)
    assert forecast.min() >= 0.0
    assert forecast.max() <= WIND_ASSET.rated_power_mw


def test_persistence_is_yesterdays_output_at_the_same_utc_time() -> None:
    day = date(2023, 6, 2)
    yesterday = np.arange(96.0)
    forecast = PersistenceForecast().forecast(PV_ASSET, np.zeros(96), day, yesterday)
    assert np.array_equal(forecast, yesterday)
    with pytest.raises(ValueError, match="needs the actual output of 2023-06-01"):
        PersistenceForecast().forecast(PV_ASSET, np.zeros(96), day, None)


def test_the_weather_year_stands_in_by_calendar_date_at_the_same_utc_clock() -> None:
    spring = Horizon.of(date(2023, 3, 26)).periods  # 92 quarter hours
    mapped = weather_instants(spring, date(2023, 3, 26), 2015)
    assert mapped[0] == pd.Timestamp("2015-03-25T23:00Z")
    assert len(mapped) == 92
    leap = weather_instants(Horizon.of(date(2024, 2, 29)).periods, date(2024, 2, 29), 2015)
    assert mapped[0].hour == leap[0].hour == 23
    assert leap[0] == pd.Timestamp("2015-02-27T23:00Z")


def june_weather() -> pd.DataFrame:
    times = pd.date_range("2015-06-21T00:00Z", periods=96, freq="15min")
    hour = times.hour + times.minute / 60
    sun = np.clip(np.cos((hour - 11.6) / 8 * np.pi / 2), 0, None) * (np.abs(hour - 11.6) < 8)
    return pd.DataFrame(
        {
            "ghi_w_m2": 850 * sun,
            "dhi_w_m2": 150 * sun,
            "dni_w_m2": 750 * sun,
            "wind_speed_10m_m_s": np.linspace(0, 30, 96),
            "air_pressure_pa": 101325.0,
            "air_temperature_c": 15.0,
        },
        index=times,
    )


def test_pv_from_weather_is_zero_at_night_peaks_near_noon_and_respects_the_rating() -> None:
    output = pv_output_mw(PV_ASSET, june_weather())
    assert output.iloc[:8].max() == 0.0  # 00:00-02:00 UTC
    assert 10 <= output.idxmax().hour <= 13
    assert 5.0 < output.max() <= PV_ASSET.rated_power_mw


def test_wind_follows_the_curve_to_cut_out_and_a_missing_type_takes_its_rotor(tmp_path) -> None:
    curves = tmp_path / "curves.csv"
    curves.write_text(
        "turbine_type,wind_speed_m_s,power_w\n"
        + "".join(f"T/1900,{v},{min(1.9e6, max(0.0, (v - 3) * 2.4e5))}\n" for v in range(26)),
        encoding="utf-8",
    )
    types = tmp_path / "types.csv"
    types.write_text(
        "turbine_type,nominal_power_w,hub_heights_m\nT/1900,1900000,80; 100\n", encoding="utf-8"
    )
    library = TurbineLibrary.read(curves, types)
    output, note = wind_output_mw(WIND_ASSET, june_weather(), library)
    assert "T/1900's curve scaled by 1.053 to 2 MW" in note
    assert output.iloc[0] == 0.0  # calm
    assert output.max() == pytest.approx(6.0 * 0.9)  # three 2 MW turbines less 10 % losses
    assert output.iloc[-1] == 0.0  # beyond the curve's last speed: cut out


def nl_pv_portfolio(tmp_path: Path) -> Portfolio:
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    document["assets"] = [
        {
            "id": "pv-nl",
            "kind": "pv",
            "site": "nl-rotterdam",
            "commissioning_date": "2020-01-01",
            "rated_power_mw": 8,
        }
    ]
    document["sites"] = [s for s in document["sites"] if s["id"] == "nl-rotterdam"]
    return Portfolio.model_validate(document)


def measured_file(tmp_path: Path, start: date, days: int) -> Path:
    first = Horizon.of(start).periods[0]
    times = pd.date_range(first, periods=96 * days + 8, freq="15min")
    hour = times.tz_convert("Europe/Amsterdam").hour + times.minute / 60
    output = np.clip(np.sin((hour - 6) / 14 * np.pi), 0, None) * 6.5
    rows = pd.DataFrame(
        {
            "timestamp_utc": times.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "asset_id": "pv-nl",
            "available_mw": output.round(3),
        }
    )
    path = tmp_path / "measured.csv"
    rows.to_csv(path, index=False)
    return path


def nl_prices(start: date, days: int) -> PriceInputs:
    frame = generate_sample_prices(start - timedelta(days=30), days + 31, zones=("NL",)).day_ahead
    return PriceInputs(day_ahead={"NL": frame.loc[frame["zone"] == "NL", "price_eur_mwh"]})


def test_forecast_error_is_settled_at_imbalance_prices_from_a_users_file(tmp_path) -> None:
    portfolio = nl_pv_portfolio(tmp_path)
    start = date(2026, 6, 1)
    actuals = FileActuals.read(measured_file(tmp_path, start, 3))
    prices = nl_prices(start, 3)
    config = BacktestConfig(start, start + timedelta(days=2))
    noisy = run_backtest(
        portfolio, prices, config, renewables=RenewableOutputs(actuals, NoisyForecast(seed=3))
    )
    exact = run_backtest(
        portfolio, prices, config, renewables=RenewableOutputs(actuals, PerfectOutput())
    )
    error = noisy.imbalance["forecast_error_mwh"]
    assert error.abs().sum() > 1.0  # MWh the forecast got wrong over three days
    assert exact.imbalance["forecast_error_mwh"].abs().max() < 1e-9
    # Running free, the plant's error is its actual output less the forecast it was planned
    # on; only where the plan curtailed below the forecast may it differ, and only downward.
    produced = actuals.profiles.available_mw["pv-nl"]
    settled = noisy.imbalance.set_index("timestamp_utc")
    assert len(settled) == 3 * 96
    for day in config.days():
        periods = Horizon.of(day).periods
        real = produced.reindex(periods).to_numpy()
        forecast = NoisyForecast(seed=3).forecast(portfolio.assets[0], real, day, None)
        got = settled.loc[periods, "forecast_error_mwh"].to_numpy()
        free = np.isclose(got, (real - forecast) * 0.25, atol=1e-6)
        assert free.mean() > 0.9
        assert (got[~free] <= 1e-9).all()
    rows = noisy.imbalance
    cost = -(rows["imbalance_mwh"] * rows["price_eur_mwh"]).sum()
    assert noisy.days["imbalance_cost_eur"].sum() == pytest.approx(cost, abs=0.05)
    assert noisy.days["forecast_error_cost_eur"].sum() == pytest.approx(
        -(rows["forecast_error_mwh"] * rows["price_eur_mwh"]).sum(), abs=0.05
    )
    assert any("measured values from" in n for n in noisy.notes)
    assert any("noisy: actual output smoothed" in n for n in noisy.notes)


def test_seasonal_price_forecast_is_the_mean_of_four_weeks_and_names_its_history() -> None:
    start = date(2026, 6, 1)
    prices = nl_prices(start, 1)
    seen = SameWeekdayMean().forecast(prices, start)
    periods = Horizon.of(start).periods
    series = prices.day_ahead["NL"]
    expected = np.mean(
        [series.reindex(periods - pd.Timedelta(days=7 * k)) for k in (1, 2, 3, 4)], axis=0
    )
    assert seen.day_ahead["NL"].to_numpy() == pytest.approx(expected)
    late = PriceInputs(day_ahead={"NL": series[series.index >= periods[0] - pd.Timedelta(days=10)]})
    with pytest.raises(BacktestError, match=r"(?s)seasonal forecast reads 28 day\(s\)"):
        run_backtest(
            nl_pv_portfolio(Path()), late, BacktestConfig(start, start, forecast="seasonal")
        )
