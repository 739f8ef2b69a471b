"""`vpp optimise --extend` and `vpp backtest --extend`: an analyst's Pyomo rule on a day
and on every day of a run; what is wrong with it named, exit 2 (3 if it cannot hold)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED_DATA

from regulatory.loading import read_portfolio
from trading.samples import sample_portfolio_path, sample_prices_dir

PORTFOLIO = str(sample_portfolio_path())
SAMPLES = sample_prices_dir()
RESERVE = "trading.optimiser.extension_examples:evening_reserve"


def vpp(*args: str) -> subprocess.CompletedProcess[str]:
    """`vpp ARGS` in a fresh process: stdout exactly as a user's pipe would see it."""
    return subprocess.run(
        [sys.executable, "-m", "trading.cli", *args],
        capture_output=True,
        text=True,
        timeout=900,
    )


def optimise_day(*extra: str) -> subprocess.CompletedProcess[str]:
    return vpp(
        "optimise", "--portfolio", PORTFOLIO, "--day", "2026-06-13", "--zones", "DE_LU",
        "--prices", str(SAMPLES / "day_ahead.csv"), *extra,
    )  # fmt: skip


def half_energy(day: date) -> dict[str, float]:
    """Half the energy of each DE_LU battery of the sample portfolio in service on `day`
    [MWh]."""
    pf = read_portfolio(sample_portfolio_path()).in_service(day)
    zone = {s.id: s.bidding_zone for s in pf.sites}
    return {
        a.id: 0.5 * a.energy_mwh
        for a in pf.assets
        if a.kind == "battery" and zone[a.site] == "DE_LU"
    }


def test_optimise_with_the_evening_reserve_keeps_it_on_every_battery() -> None:
    """The sample portfolio's German batteries on 2026-06-13 (summer time): at 18:00
    local, the end of quarter hour 71, each holds at least half its energy."""
    done = optimise_day("--extend", RESERVE, "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    states = plan["schedule"]["states"]
    assert plan["schedule"]["quarter_hours"][71] == "2026-06-13T15:45:00Z"
    wanted = half_energy(date(2026, 6, 13))
    assert wanted
    for battery, half in wanted.items():
        assert states[battery]["soc_mwh"][71] >= half - 1e-6, battery


def test_a_cost_term_is_itemised_under_its_name(tmp_path: Path) -> None:
    """An extension file with a named cost: the plan's costs by kind carry it, and the
    objective is the revenue less all costs, the extension's included."""
    rule = tmp_path / "fee.py"
    rule.write_text(
        "def throughput_fee(model, view):\n"
        "    energy = sum(c * 0.25 for b in view.batteries for c in view.charge(b))\n"
        "    view.add_cost('throughput_fee', 2.0 * energy)\n"
    )
    done = optimise_day("--extend", f"{rule}:throughput_fee", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    charged = sum(
        -min(v, 0.0) * 0.25
        for battery in half_energy(date(2026, 6, 13))
        for v in plan["schedule"]["injection_mw"][battery]
    )
    assert plan["costs_by_kind"]["throughput_fee"] == pytest.approx(2.0 * charged, abs=0.02)
    net = sum(plan["revenue_by_market"].values()) - sum(plan["costs_by_kind"].values())
    assert plan["objective_eur"] == pytest.approx(net, abs=0.01)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("no_such_module_xyz:rule", "cannot import no_such_module_xyz"),
        ("trading.optimiser.extension_examples:nope", "has no function nope"),
        ("just-a-name", "expected module:function"),
        ("missing/file.py:rule", "no such file missing/file.py"),
    ],
)
def test_a_bad_extension_name_exits_2_naming_it(spec: str, says: str) -> None:
    done = optimise_day("--extend", spec)
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_an_extension_that_fails_or_cannot_hold_is_reported(tmp_path: Path) -> None:
    rule = tmp_path / "rules.py"
    rule.write_text(
        "import pyomo.environ as pyo\n"
        "def broken(model, view):\n"
        "    view.soc('no-such-battery')\n"
        "def impossible(model, view):\n"
        "    q = view.at_local('18:00') - 1\n"
        "    model.too_full = pyo.Constraint(view.batteries,\n"
        "        rule=lambda m, b: view.soc(b)[q] >= 2 * view.energy_mwh(b))\n"
    )
    broken = optimise_day("--extend", f"{rule}:broken")
    assert broken.returncode == 2
    assert "no-such-battery" in broken.stderr
    assert "Traceback" not in broken.stderr
    impossible = optimise_day("--extend", f"{rule}:impossible")
    assert impossible.returncode == 3
    assert "too_full for bat-de-essen-01" in impossible.stderr


@pytest.mark.realdata
def test_a_real_month_backtest_keeps_the_evening_reserve_every_day(tmp_path: Path) -> None:
    """March 2026 on real DE-LU 15-minute prices (with the spring DST day): each day's
    plan holds half of every German battery's energy at 18:00 local; the run's time is
    printed (the machine may be loaded)."""
    prices = SHARED_DATA / "day_ahead_prices_15min_de_lu_2025-10_2026-08.csv"
    if not prices.exists():
        pytest.skip(f"{prices} is not there (../shared/data)")
    started = time.perf_counter()
    done = vpp(
        "backtest", "--portfolio", PORTFOLIO, "--prices", str(prices), "--zones", "DE_LU",
        "--start", "2026-03-01", "--end", "2026-03-31", "--out", str(tmp_path), "--json",
        "--extend", RESERVE,
    )  # fmt: skip
    took = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    print(f"vpp backtest --extend, 31 days: {took:.1f} s")
    assert json.loads(done.stdout)["days"] == 31
    soc = pd.read_csv(tmp_path / "soc.csv")
    local = pd.to_datetime(soc["timestamp_utc"], utc=True).dt.tz_convert("Europe/Berlin")
    ends_at_six = (local + pd.Timedelta(minutes=15)).dt.strftime("%H:%M") == "18:00"
    at_six = soc[ends_at_six]
    assert at_six["timestamp_utc"].nunique() == 31
    for battery, half in half_energy(date(2026, 3, 31)).items():
        held = at_six[at_six["asset"] == battery]["soc_mwh"]
        assert len(held) == 31
        assert held.min() >= half - 1e-6, battery
