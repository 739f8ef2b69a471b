"""The engine's whole loop over one compressed delivery day (`trading.engine.loop`).

The whole sample day through the public path: `vpp simulate --day 2026-06-13 --json` in a
subprocess on the virtual clock (the default 5-second tick), every zone's 96 ISPs metered,
each zone's delivery within 2 % of its schedule plus the aFRR activation asked (the German
pattern where ../shared/data has it, none otherwise), and the books adding up to the cent.

Then a small real portfolio (the sample's Belgian battery and PV plant), the sample prices, the
virtual trader submitting through the API's submission path into a real SQLite store, the
simulated exchange clearing every gate, the schedule builder, one dispatcher pool on a
virtual clock with a 5-second tick, metering and settlement. The battery trips at noon:
the dispatcher finds it lost, the trader re-plans and trades the correction on continuous
intraday, a new schedule version is issued, and the day's imbalance ends below that of
the same day run without the correction.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from dispatch.simulation import FaultSpec
from regulatory import read_portfolio
from trading.api.jobs import FolderPrices
from trading.api.server import activation_prices
from trading.engine.loop import DayConfig, run_day
from trading.samples import SAMPLE_PRICE_DAY, sample_portfolio_path
from trading.store import Repository

DAY = date.fromisoformat(SAMPLE_PRICE_DAY)


def belgian_part():
    portfolio = read_portfolio(sample_portfolio_path())
    sites = tuple(s for s in portfolio.sites if s.bidding_zone == "BE")
    ids = {s.id for s in sites}
    return portfolio.model_copy(
        update={"sites": sites, "assets": tuple(a for a in portfolio.assets if a.site in ids)}
    )


def config(database: Path | None, *, correct: bool) -> DayConfig:
    folder = FolderPrices()
    return DayConfig(
        day=DAY,
        portfolio=belgian_part(),
        prices=folder.prices({"BE"}, ()),
        afrr_prices=activation_prices(folder),
        faults=[FaultSpec("trip", 1, 12 * 3600.0, "battery")],
        correct=correct,
        tick_s=5.0,
        database_url=None if database is None else f"sqlite:///{database}",
    )


def test_a_tripped_battery_is_corrected_intraday_and_the_books_balance(tmp_path: Path) -> None:
    database = tmp_path / "engine.db"
    report = run_day(config(database, correct=True))
    baseline = run_day(config(None, correct=False))

    assert report["isps"] == 96
    assert report["per_zone"]["BE"]["isps_metered"] == 96
    assert [f["asset"] for f in report["faults"]] == ["bat-be-antwerp"]
    assert "bat-be-antwerp" in report["lost_assets"]
    # the trip made a re-plan with intraday correction orders, issued as version 2
    assert len(report["corrections"]) == 1
    assert report["corrections"][0]["orders"] > 0
    assert [v["version"] for v in report["schedule_versions"]][:2] == [1, 2]
    assert len(baseline["schedule_versions"]) == 1
    # the correction keeps the day's imbalance below the uncorrected run's
    assert report["abs_imbalance_mwh"] < baseline["abs_imbalance_mwh"]
    assert "intraday_continuous" in report["revenue_by_market"]
    # the books add up to the cent
    for run in (report, baseline):
        books = run["books"]
        cents = round(books["revenue_eur"] * 100) - round(books["costs_eur"] * 100)
        assert round(books["net_eur"] * 100) == cents - round(books["imbalance_cost_eur"] * 100)
        assert books["revenue_eur"] == pytest.approx(sum(books["revenue_by_market"].values()))

    # and everything is in the store
    repository = Repository.from_url(f"sqlite:///{database}")
    try:
        tenant = "engine-sim"
        positions = repository.list_positions(tenant, DAY)
        assert {p.market for p in positions} >= {"day_ahead", "intraday_continuous"}
        metering = repository.list_metering(tenant, DAY)
        assert len(metering) == 2 * 96
        plant = [m.complete for m in metering if m.asset_id == "pv-be-ghent"]
        # the dispatcher's first reading comes one tick into the day, its last one tick
        # before the end: the measured meter covers every ISP but those two whole
        assert all(plant[1:-1])
        current = repository.current_schedule(tenant)
        assert current is not None
        assert current.version == len(report["schedule_versions"])
        (settled,) = repository.list_settlements(tenant, DAY)
        assert settled.document["net_eur"] == report["net_eur"]
        assert len(settled.document["rows"]) == 96
    finally:
        repository.close()


def test_the_sample_day_follows_its_schedule_in_every_zone_and_the_books_add_up() -> None:
    command = [sys.executable, "-m", "trading.cli", "simulate", "--day", SAMPLE_PRICE_DAY]
    command += ["--portfolio", str(sample_portfolio_path()), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout[done.stdout.index("{") :])

    assert report["isps"] == 96
    assert sorted(report["per_zone"]) == ["AT", "BE", "DE_LU", "FR", "NL"]
    for zone, figures in report["per_zone"].items():
        assert figures["isps_metered"] == 96, zone
        # sum over ISPs of |delivered - target| <= 2 % of the sum of |target| (target: the
        # schedule plus the aFRR asked)
        assert figures["abs_deviation_mwh"] <= 0.02 * figures["abs_scheduled_mwh"], (zone, figures)
        # settled imbalance = delivered - position - aFRR requested, per zone
        settled = report["imbalance_by_zone"][zone]["imbalance_mwh"]
        expected = figures["delivered_mwh"] - figures["position_mwh"]
        assert settled == pytest.approx(expected - figures["afrr_requested_mwh"], abs=1e-3)
    assert report["faults"] == []
    assert len(report["schedule_versions"]) == 1
    books = report["books"]
    cents = round(books["revenue_eur"] * 100) - round(books["costs_eur"] * 100)
    assert round(books["net_eur"] * 100) == cents - round(books["imbalance_cost_eur"] * 100)
    assert books["revenue_eur"] == pytest.approx(sum(books["revenue_by_market"].values()))
    assert report["net_eur"] == books["net_eur"]
