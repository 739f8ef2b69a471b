"""Rolling backtests: they reconcile with the daily optimiser, carry SoC, live through DST
days, and name the day and period a price is missing for."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pandas as pd
import pytest
import structlog
import yaml

from regulatory.portfolio import Portfolio
from trading.backtest import BacktestConfig, BacktestError, BacktestResult, run_backtest
from trading.optimiser.build import OptimiserOptions
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.optimiser.plan import optimise
from trading.optimiser.profiles import proxy_profiles
from trading.prices.sample import generate_sample_prices
from trading.samples import sample_portfolio_path

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def one_battery(asset_id: str = "bat-de-essen-01") -> Portfolio:
    """The sample portfolio cut down to one battery and its site."""
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    (battery,) = [a for a in document["assets"] if a["id"] == asset_id]
    document["assets"] = [battery]
    document["sites"] = [s for s in document["sites"] if s["id"] == battery["site"]]
    return Portfolio.model_validate(document)


def generated(start: date, days: int, zone: str = "DE_LU") -> PriceInputs:
    """The project's generated day-ahead prices, a day either side of the window."""
    frame = generate_sample_prices(start - timedelta(days=8), days + 9, zones=(zone,)).day_ahead
    return PriceInputs(day_ahead={zone: frame.loc[frame["zone"] == zone, "price_eur_mwh"]})


def test_a_perfect_foresight_run_equals_the_daily_optima_with_soc_carried() -> None:
    portfolio = one_battery()
    start = date(2026, 5, 1)
    prices = generated(start, 31)
    config = BacktestConfig(start, start + timedelta(days=30), end_soc="target")
    result = run_backtest(portfolio, prices, config)
    expected = 0.0
    state = portfolio
    # The target policy: every day ends at or above the battery's configured 10 MWh.
    options = OptimiserOptions(markets=("day_ahead",), final_soc_mwh={"bat-de-essen-01": 10.0})
    for day in config.days():
        plan = optimise(state, day, prices, options=options)
        expected += plan.objective_eur
        local_day = result.soc["timestamp_utc"].dt.tz_convert("Europe/Berlin").dt.date
        soc = float(result.soc[local_day == day]["soc_mwh"].iloc[-1])
        (battery,) = state.assets
        state = state.model_copy(
            update={"assets": [battery.model_copy(update={"soc_initial_mwh": soc})]}
        )
    days = result.days
    realised = float((days["revenue_eur"] - days["costs_eur"]).sum())
    assert realised == pytest.approx(expected, rel=1e-6)
    assert float(days["forecast_objective_eur"].sum()) == pytest.approx(expected, rel=1e-6)
    assert (days["stored_value_eur"] == 0).all()
    assert len(days) == 31
    assert result.summary()["revenue_by_market"].keys() == {"day_ahead"}


def day_ends(result: BacktestResult) -> list[float]:
    """The battery's SoC at the end of each local day [MWh]."""
    local_day = result.soc["timestamp_utc"].dt.tz_convert("Europe/Berlin").dt.date
    return [float(x) for x in result.soc.groupby(local_day)["soc_mwh"].last()]


def test_state_of_charge_is_carried_from_one_day_into_the_next() -> None:
    portfolio = one_battery()
    start = date(2026, 5, 4)
    result = run_backtest(
        portfolio, generated(start, 3), BacktestConfig(start, start + timedelta(days=2))
    )
    soc = result.soc.set_index("timestamp_utc")["soc_mwh"]
    assert soc.min() >= 1.0 - 1e-6
    assert soc.max() <= 19.0 + 1e-6
    # The second day runs exactly as a run of that day alone from the first day's end.
    local_day = result.soc["timestamp_utc"].dt.tz_convert("Europe/Berlin").dt.date
    second = start + timedelta(days=1)
    (battery,) = portfolio.assets
    alone = run_backtest(
        portfolio.model_copy(
            update={"assets": [battery.model_copy(update={"soc_initial_mwh": day_ends(result)[0]})]}
        ),
        generated(start, 3),
        BacktestConfig(second, second),
    )
    assert result.soc[local_day == second]["soc_mwh"].to_numpy() == pytest.approx(
        alone.soc["soc_mwh"].to_numpy(), abs=1e-6
    )
    assert (result.assets["cycles"] > 0).all()


def test_the_end_of_day_soc_is_valued_not_ratcheted_and_may_fall_below_the_start() -> None:
    portfolio = one_battery()
    start = date(2026, 5, 4)
    prices = generated(start, 6)
    valued = run_backtest(portfolio, prices, BacktestConfig(start, start + timedelta(days=5)))
    ends = day_ends(valued)
    # The first day starts at 10 MWh; energy is worth only what it saves the next day,
    # so the battery is free to end below where it started.
    assert min(ends) < 10.0 - 0.5
    assert any("valued at what it saves the next day" in note for note in valued.notes)
    assert (valued.days["stored_value_eur"] != 0).any()
    fixed = run_backtest(
        portfolio, prices, BacktestConfig(start, start + timedelta(days=5), end_soc="target")
    )
    assert min(day_ends(fixed)) >= 10.0 - 1e-6
    assert any("at or above its configured soc_initial_mwh" in note for note in fixed.notes)
    # A fixed value of 0 EUR/MWh: nothing is worth keeping overnight.
    worthless = run_backtest(
        portfolio,
        prices,
        BacktestConfig(start, start + timedelta(days=5), soc_value_eur_per_mwh=0.0),
    )
    assert max(day_ends(worthless)) <= 1.0 + 0.3
    with pytest.raises(ValueError, match="end_soc='keep': choose from value, target"):
        BacktestConfig(start, start, end_soc="keep")


def test_dst_days_have_92_and_100_quarter_hours_in_the_tables() -> None:
    portfolio = one_battery()
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    for day, quarters in ((spring, 92), (autumn, 100)):
        result = run_backtest(portfolio, generated(day, 1), BacktestConfig(day, day))
        assert len(result.soc) == quarters
        assert len(result.imbalance) == quarters
        assert result.days["revenue_eur"].iloc[0] != 0


def test_a_gap_in_the_prices_is_named_before_the_first_day() -> None:
    portfolio = one_battery()
    start = date(2026, 5, 4)
    prices = generated(start, 3)
    series = prices.day_ahead["DE_LU"]
    hole = pd.Timestamp("2026-05-05T09:00Z")
    prices.day_ahead["DE_LU"] = series[
        (series.index < hole) | (series.index >= hole + pd.Timedelta("2h"))
    ]
    with pytest.raises(
        BacktestError, match=r"(?s)gap policy fail.*2026-05-05T09:00Z to 2026-05-05T11:00Z"
    ):
        run_backtest(portfolio, prices, BacktestConfig(start, start + timedelta(days=2)))


def test_a_naive_forecast_earns_no_more_than_perfect_foresight() -> None:
    portfolio = one_battery()
    start = date(2026, 5, 11)
    prices = generated(start, 5)
    config = BacktestConfig(start, start + timedelta(days=4))
    perfect = run_backtest(portfolio, prices, config)
    naive = run_backtest(
        portfolio, prices, BacktestConfig(config.start, config.end, forecast="naive")
    )
    net = lambda r: float((r.days["revenue_eur"] - r.days["costs_eur"]).sum())  # noqa: E731
    assert net(naive) <= net(perfect) + 1e-6
    assert "forecast: naive" in naive.notes


def test_bad_configurations_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="end=2026-05-01 is before start=2026-05-02"):
        BacktestConfig(date(2026, 5, 2), date(2026, 5, 1))
    with pytest.raises(ValueError, match="markets=\\['spot'\\]"):
        BacktestConfig(date(2026, 5, 2), date(2026, 5, 3), markets=("spot",))
    with pytest.raises(ValueError, match="forecast='oracle' is not one of perfect, naive"):
        BacktestConfig(date(2026, 5, 2), date(2026, 5, 3), forecast="oracle")


def test_a_chp_running_at_midnight_is_carried_as_running_with_its_hours() -> None:
    from trading.backtest.run import CarriedState
    from trading.optimiser.inputs import ChpState

    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    (unit,) = [a for a in document["assets"] if a["id"] == "chp-de-stuttgart"]
    document["assets"] = [unit]
    document["sites"] = [s for s in document["sites"] if s["id"] == unit["site"]]
    portfolio = Portfolio.model_validate(document)
    day = date(2026, 5, 4)
    prices = generated(day, 2)
    flat = prices.day_ahead["DE_LU"] * 0 + 500.0  # dear all day: the unit runs throughout
    prices.day_ahead["DE_LU"] = flat
    result = run_backtest(portfolio, prices, BacktestConfig(day, day + timedelta(days=1)))
    plan_day = optimise(portfolio, day, prices, options=OptimiserOptions())
    after = CarriedState().after(plan_day)
    assert after.units == {"chp-de-stuttgart": ChpState(on=True, hours=24.0)}
    options = OptimiserOptions(unit_initial=after.units)
    again = CarriedState(units=after.units).after(optimise(portfolio, day, prices, options=options))
    assert again.units["chp-de-stuttgart"].hours == 48.0
    # Day two starts running: its 180 EUR start is not paid again.
    costs = result.days["costs_eur"].to_numpy()
    assert unit["start_cost_eur"] == 180
    assert costs[0] - costs[1] == pytest.approx(180.0, abs=0.01)


def test_an_ev_fleets_energy_and_debt_are_carried_into_the_next_day() -> None:
    """The Lyon vans' stored energy and what their overnight session still owes at
    midnight are the next day's starting point, as the plan's end state says."""
    from trading.backtest.run import CarriedState

    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    (fleet,) = [a for a in document["assets"] if a["id"] == "ev-fr-lyon-vans"]
    document["assets"] = [fleet]
    document["sites"] = [s for s in document["sites"] if s["id"] == fleet["site"]]
    portfolio = Portfolio.model_validate(document)
    day = date(2026, 5, 4)  # a Monday: a session starts at 19:00 and runs past midnight
    prices = generated(day, 2, zone="FR")
    first = optimise(portfolio, day, prices, options=OptimiserOptions())
    end = first.end_state["ev-fr-lyon-vans"]
    carried = CarriedState().after(first).options_for(portfolio)
    assert carried["initial_soc_mwh"]["ev-fr-lyon-vans"] == pytest.approx(max(0.0, end["e_mwh"]))
    assert carried["ev_owed_mwh"]["ev-fr-lyon-vans"] == pytest.approx(max(0.0, end["owed_mwh"]))
    following = optimise(
        portfolio, day + timedelta(days=1), prices, options=OptimiserOptions(**carried)
    )
    assert following.inputs.initial_soc_mwh["ev-fr-lyon-vans"] == pytest.approx(
        carried["initial_soc_mwh"]["ev-fr-lyon-vans"]
    )
    assert following.inputs.ev_owed_mwh["ev-fr-lyon-vans"] == pytest.approx(
        carried["ev_owed_mwh"]["ev-fr-lyon-vans"]
    )


# --- assets commissioned or decommissioned during the run ---------------------------------


def two_batteries(**lausitz: object) -> Portfolio:
    """bat-de-essen-01 and bat-de-lausitz with their sites; `lausitz` overrides the latter."""
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    ids = ("bat-de-essen-01", "bat-de-lausitz")
    assets = [a | (lausitz if a["id"] == "bat-de-lausitz" else {}) for a in document["assets"]]
    document["assets"] = [a for a in assets if a["id"] in ids]
    sites = {a["site"] for a in document["assets"]}
    document["sites"] = [s for s in document["sites"] if s["id"] in sites]
    return Portfolio.model_validate(document)


def local_days(frame: pd.DataFrame, asset_id: str) -> list[date]:
    """The delivery days (Europe/Berlin) of `frame`'s rows for `asset_id`."""
    rows = frame[frame["asset"] == asset_id]
    return sorted(set(rows["timestamp_utc"].dt.tz_convert("Europe/Berlin").dt.date))


WINDOW = (date(2026, 5, 4), date(2026, 5, 8))
JOINS = date(2026, 5, 6)


def test_an_asset_commissioned_mid_run_has_rows_only_from_its_day_and_says_so() -> None:
    start, end = WINDOW
    portfolio = two_batteries(commissioning_date=JOINS)
    result = run_backtest(portfolio, generated(start, 5), BacktestConfig(start, end))
    rows = result.assets[result.assets["asset"] == "bat-de-lausitz"]
    assert list(rows["day"]) == [JOINS, date(2026, 5, 7), date(2026, 5, 8)]
    assert list(rows["note"]) == ["commissioned 2026-05-06: joins the run today", "", ""]
    assert local_days(result.soc, "bat-de-lausitz") == list(rows["day"])
    essen = result.assets[result.assets["asset"] == "bat-de-essen-01"]
    assert list(essen["day"]) == BacktestConfig(start, end).days()
    assert (
        "bat-de-lausitz not in service on 2 of 5 days (commissioned 2026-05-06): "
        "not planned and no rows on 2026-05-04..2026-05-05"
    ) in result.notes


def test_an_asset_not_yet_in_service_is_not_traded() -> None:
    start, end = WINDOW
    prices = generated(start, 5)
    both = run_backtest(two_batteries(commissioning_date=JOINS), prices, BacktestConfig(start, end))
    alone = run_backtest(one_battery(), prices, BacktestConfig(start, end))
    before = both.days["day"] < JOINS
    assert both.days["revenue_eur"][before].to_list() == pytest.approx(
        alone.days["revenue_eur"][before].to_list(), abs=0.01
    )
    assert both.days["revenue_eur"][~before].sum() > alone.days["revenue_eur"][~before].sum()


def test_a_decommissioned_asset_leaves_the_run_on_its_day() -> None:
    start, end = WINDOW
    portfolio = two_batteries(commissioning_date=date(2026, 1, 1), decommissioning_date=JOINS)
    result = run_backtest(portfolio, generated(start, 5), BacktestConfig(start, end))
    rows = result.assets[result.assets["asset"] == "bat-de-lausitz"]
    assert list(rows["day"]) == [start, date(2026, 5, 5)]
    assert list(rows["note"]) == ["", "decommissioned 2026-05-06: last day in service"]
    assert local_days(result.soc, "bat-de-lausitz") == [start, date(2026, 5, 5)]
    assert set(result.summary()["cycles"]) == {"bat-de-essen-01", "bat-de-lausitz"}


def test_days_with_nothing_in_service_are_recorded_as_such_with_nothing_traded() -> None:
    start = date(2026, 5, 4)
    portfolio = two_batteries(commissioning_date=JOINS)
    only_lausitz = portfolio.model_copy(update={"assets": (portfolio.asset("bat-de-lausitz"),)})
    result = run_backtest(
        only_lausitz, generated(start, 3), BacktestConfig(start, start + timedelta(days=2))
    )
    assert list(result.days["status"])[:2] == ["nothing_in_service"] * 2
    assert list(result.days["net_eur"])[:2] == [0.0, 0.0]
    assert list(result.assets["day"]) == [JOINS]
    assert result.positions["day"].min() == JOINS


def test_a_residual_is_settled_once_as_imbalance_and_not_again_as_a_cost() -> None:
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    (pv,) = [a for a in document["assets"] if a["id"] == "pv-de-essen-roof"]
    document["assets"] = [pv]
    document["sites"] = [s for s in document["sites"] if s["id"] == pv["site"]]
    portfolio = Portfolio.model_validate(document)
    day = date(2026, 5, 4)
    prices = generated(day, 1)
    # PV alone cannot follow whole MW steps: the plan expects a residual and its cost.
    plan = optimise(
        portfolio,
        day,
        prices,
        profiles=proxy_profiles(portfolio, Horizon.of(day)),
        options=OptimiserOptions(markets=("day_ahead",)),
    )
    assert plan.costs_by_kind.get("expected_imbalance", 0.0) > 0
    (row,) = run_backtest(portfolio, prices, BacktestConfig(day, day)).days.to_dict("records")
    assert row["imbalance_cost_eur"] > 0
    assert row["costs_eur"] == 0  # no wear, no fuel: the residual is not a cost as well
    assert row["net_eur"] == pytest.approx(
        row["revenue_eur"] + row["support_eur"] - row["imbalance_cost_eur"], abs=0.011
    )
