"""Scenario sweeps on Dask distributed: overrides, failed rows, an 8-scenario local sweep."""

from __future__ import annotations

import pickle
from datetime import date

import pytest

from regulatory import read_portfolio
from trading.backtest import BacktestConfig
from trading.backtest.sweep import (
    OverrideError,
    Scenario,
    apply_overrides,
    backtest_scenario,
    failed_row,
    local_cluster,
    run_scenario,
    sweep,
    sweep_tables,
)
from trading.samples import sample_prices_dir

ONE_BATTERY = """\
id: one-battery
tenant: test
sites:
  - id: de-site
    country: DE
    bidding_zone: DE_LU
    control_area: Amprion
    grid_connection_mw: 10
    metering_point: DE0001234567890000000000000000099
    balancing_group: 11XTEST-BG
assets:
  - id: bat-1
    kind: battery
    site: de-site
    commissioning_date: 2024-01-01
    power_charge_mw: 5
    power_discharge_mw: 5
    energy_mwh: 10
    efficiency_charge: 0.95
    efficiency_discharge: 0.95
    degradation_cost_eur_per_mwh: 5.0
"""

START, END = date(2026, 6, 13), date(2026, 6, 14)  # two days of the sample prices


class _Config:
    """Stands in for BacktestConfig where no backtest runs (only `markets` is read)."""

    markets = ("day_ahead",)


@pytest.fixture
def portfolio_path(tmp_path):
    path = tmp_path / "one_battery.yaml"
    path.write_text(ONE_BATTERY, encoding="utf-8")
    return path


def _backtest_config(**kwargs):
    from trading.backtest import BacktestConfig

    return BacktestConfig(start=START, end=END, **kwargs)


# --- overrides ----------------------------------------------------------------------------


def test_override_changes_the_named_field_and_nothing_else(portfolio_path):
    portfolio = read_portfolio(portfolio_path)
    changed = apply_overrides(portfolio, {"bat-1": {"energy_mwh": 20.0, "soc_initial_mwh": 4}})
    battery = changed.asset("bat-1")
    assert battery.energy_mwh == 20.0
    assert battery.soc_initial_mwh == 4.0
    assert battery.power_discharge_mw == 5.0
    assert portfolio.asset("bat-1").energy_mwh == 10.0  # the original is untouched
    assert apply_overrides(portfolio, {}) is portfolio


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"bat-404": {"energy_mwh": 20.0}}, ["unknown asset id 'bat-404'", "bat-1"]),
        ({"bat-1": {"capacity_gwh": 1.0}}, ["unknown field 'capacity_gwh'", "battery"]),
        ({"bat-1": {"site": "elsewhere"}}, ["'site' may not be changed"]),
        ({"bat-1": {"energy_mwh": -1.0}}, ["'bat-1'", "energy_mwh"]),
        ({"bat-1": {"soc_min_mwh": 12.0}}, ["'bat-1'", "soc_min_mwh"]),  # above energy_mwh
        ({"bat-1": {"power_discharge_mw": 50.0}}, ["one-battery", "grid"]),  # over connection
        ({"bat-1": 20.0}, ["'bat-1'", "expected {field: value}"]),
    ],
)
def test_bad_overrides_are_refused_naming_the_culprit(portfolio_path, overrides, named):
    with pytest.raises(OverrideError) as info:
        apply_overrides(read_portfolio(portfolio_path), overrides)
    for text in named:
        assert text in str(info.value)


def test_all_override_problems_are_listed_at_once(portfolio_path):
    with pytest.raises(OverrideError) as info:
        apply_overrides(
            read_portfolio(portfolio_path),
            {"nope": {"energy_mwh": 1.0}, "bat-1": {"colour": "red", "kind": "pv"}},
        )
    message = str(info.value)
    assert "'nope'" in message
    assert "'colour'" in message
    assert "'kind' may not be changed" in message


def test_scenario_pickles_and_a_bad_override_fails_its_row(portfolio_path):
    scenario = Scenario(
        "bad",
        portfolio_path,
        _Config(),  # type: ignore[arg-type]
        overrides={"bat-9": {"energy_mwh": 20.0}},
    )
    assert pickle.loads(pickle.dumps(scenario)).overrides == scenario.overrides
    row = run_scenario(scenario)
    assert row["status"] == "failed"
    assert row["name"] == "bad"
    assert "OverrideError" in row["error"]
    assert "'bat-9'" in row["error"]
    assert row["bat-9.energy_mwh"] == 20.0


def test_a_missing_portfolio_file_fails_its_row(tmp_path):
    row = run_scenario(Scenario("gone", tmp_path / "missing.yaml", _Config()))  # type: ignore[arg-type]
    assert row["status"] == "failed"
    assert "missing.yaml" in row["error"]


def test_failed_row_of_a_message():
    scenario = Scenario("x", __file__, _Config(), overrides={"a": {"b": 1}})  # type: ignore[arg-type]
    assert failed_row(scenario, "worker lost", wall_s=1.0) == {
        "name": "x",
        "status": "failed",
        "error": "worker lost",
        "a.b": 1,
        "wall_s": 1.0,
    }


# --- sweeps on a LocalCluster -----------------------------------------------------------


def test_sweep_keeps_failed_rows_in_order_on_a_local_cluster(portfolio_path):
    scenarios = [
        Scenario("unknown-asset", portfolio_path, _Config(), overrides={"bat-x": {"cop": 3}}),  # type: ignore[arg-type]
        Scenario("unknown-field", portfolio_path, _Config(), overrides={"bat-1": {"cop": 3}}),  # type: ignore[arg-type]
    ]
    table = sweep(scenarios, n_workers=1)
    assert list(table["name"]) == ["unknown-asset", "unknown-field"]
    assert list(table["status"]) == ["failed", "failed"]
    assert "unknown asset id 'bat-x'" in table.loc[0, "error"]
    assert "unknown field 'cop'" in table.loc[1, "error"]


def test_sweep_refuses_duplicate_names(portfolio_path):
    twice = Scenario("same", portfolio_path, _Config())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same"):
        sweep([twice, twice])


def test_an_empty_sweep_is_an_empty_table():
    assert sweep([]).empty


def test_eight_scenarios_on_two_worker_processes(portfolio_path):
    """Needs `trading.backtest.run_backtest`: two sample days per scenario, 8 scenarios."""
    prices = sample_prices_dir()
    config = _backtest_config(markets=("day_ahead",), time_limit_s=30.0)
    energies = [5.0, 7.5, 10.0, 12.5, 15.0, 17.5, 20.0]
    scenarios = [
        Scenario(
            f"energy-{e:g}",
            portfolio_path,
            config,
            day_ahead=prices / "day_ahead.csv",
            overrides={"bat-1": {"energy_mwh": e}},
        )
        for e in energies
    ]
    scenarios.append(
        Scenario(
            "bad-field",
            portfolio_path,
            config,
            day_ahead=prices / "day_ahead.csv",
            overrides={"bat-1": {"energy_gwh": 1.0}},
        )
    )
    table = sweep(scenarios, n_workers=2, threads_per_worker=1)

    assert list(table["name"]) == [s.name for s in scenarios]
    ok = table[table["status"] == "ok"]
    assert len(ok) == 7, table.loc[table["status"] != "ok", ["name", "error"]].to_string()
    assert (ok["days"] == 2).all()
    for column in (
        "total_revenue_eur",
        "revenue_day_ahead_eur",
        "imbalance_cost_eur",
        "net_eur",
        "solver_time_s",
        "bat-1.energy_mwh",
    ):
        assert ok[column].notna().all(), column
    assert list(ok["bat-1.energy_mwh"]) == energies
    # More energy at the same power never earns less on the same prices (perfect foresight).
    revenue = ok["total_revenue_eur"].to_numpy()
    assert (revenue[1:] >= revenue[:-1] - 1.0).all(), revenue
    bad = table.set_index("name").loc["bad-field"]
    assert bad["status"] == "failed"
    assert "unknown field 'energy_gwh'" in bad["error"]


def test_sweep_tables_return_every_table_of_each_scenario(portfolio_path):
    prices = sample_prices_dir()
    config = _backtest_config(markets=("day_ahead",), time_limit_s=30.0)
    scenarios = [
        Scenario(
            f"energy-{e:g}",
            portfolio_path,
            config,
            day_ahead=prices / "day_ahead.csv",
            overrides={"bat-1": {"energy_mwh": e}},
        )
        for e in (5.0, 10.0)
    ]
    scenarios.append(Scenario("broken", portfolio_path, config, overrides={"bat-x": {}}))
    found = sweep_tables(scenarios, n_workers=1)
    assert list(found.summary["name"]) == ["energy-5", "energy-10", "broken"]
    assert set(found.results) == {"energy-5", "energy-10"}
    days = found.table("days")
    assert days.columns[0] == "scenario"
    assert days.groupby("scenario").size().to_dict() == {"energy-10": 2, "energy-5": 2}
    net = days.groupby("scenario")["net_eur"].sum()
    summary = found.summary.set_index("name")["net_eur"]
    assert net["energy-5"] == pytest.approx(summary["energy-5"], abs=0.05)
    soc = found.table("soc")
    assert soc.groupby("scenario")["soc_mwh"].max()["energy-5"] <= 5.0 + 1e-6


@pytest.mark.realdata
def test_a_scenario_carries_its_imbalance_file(tmp_path):
    from conftest import SHARED_DATA

    nl = ONE_BATTERY.replace("country: DE", "country: NL").replace("DE_LU", "NL")
    nl = nl.replace("control_area: Amprion", "control_area: TenneT NL")
    nl = nl.replace("metering_point: DE0001234567890000000000000000099", "metering_point: X")
    nl = nl.replace("commissioning_date: 2024-01-01", "commissioning_date: 2020-01-01")
    path = tmp_path / "nl.yaml"
    path.write_text(nl, encoding="utf-8")
    config = BacktestConfig(start=date(2023, 6, 1), end=date(2023, 6, 1))
    scenario = Scenario(
        "nl-real-imbalance",
        path,
        config,
        day_ahead=SHARED_DATA / "day_ahead_prices_hourly_2022_2023.csv",
        imbalance=SHARED_DATA / "imbalance_prices_nl_2023_15min.csv",
    )
    result = backtest_scenario(scenario)
    assert len(result.imbalance) == 96
    assert set(result.imbalance["price_source"]) == {"real"}
    without = backtest_scenario(Scenario("proxy", path, config, day_ahead=scenario.day_ahead))
    assert "real" not in set(without.imbalance["price_source"])


def test_the_dashboard_is_off_unless_asked_for():
    """Port 8787 taken: a sweep's cluster neither warns nor serves a dashboard there."""
    import socket
    import urllib.error
    import urllib.request
    import warnings

    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        taken.bind(("127.0.0.1", 8787))
        taken.listen()
    except OSError:
        pass  # another process holds it already: the case this test is about
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cluster = local_cluster(1, 1, None)
            try:
                port = cluster.scheduler.http_server.port
                assert port != 8787
                base = f"http://127.0.0.1:{port}"
                assert urllib.request.urlopen(f"{base}/health").status == 200
                with pytest.raises(urllib.error.HTTPError, match="404"):
                    urllib.request.urlopen(f"{base}/status")  # no dashboard page
            finally:
                cluster.close()
        assert not [w for w in caught if "8787" in str(w.message)]
    finally:
        taken.close()
