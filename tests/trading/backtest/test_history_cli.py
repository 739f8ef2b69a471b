"""`vpp backtest` on German years of the joint DE-AT-LU zone, from raw exports as published.

The price files are SYNTHETIC: no genuine 2015 or 2018 download is on this machine. They
are written by `raw_layouts` (tests/trading/prices) byte for byte in the publishers'
layouts: SMARD's old German download (``Datum;Uhrzeit;Deutschland/Luxemburg[Euro/MWh];...;
Deutschland/Österreich/Luxemburg[Euro/MWh]``, semicolons, decimal commas, ``-`` where a
zone did not exist, CET/CEST wall clock) and ENTSO-E's legacy export
(``"MTU (CET/CEST)","Day-ahead Price [EUR/MWh]","Currency","BZN|DE-AT-LU"``). The run
reads them unedited, says the prices are the joint zone's, and traces its days to the
rule records of 2018 (aFRR weekly, then in 4-hour blocks; DE-AT-LU, then DE-LU).
"""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from trading.cli import app
from trading.samples import sample_portfolio_path

BERLIN = "Europe/Berlin"
SPLIT = pd.Timestamp("2018-10-01", tz=BERLIN)


@cache
def raw_layouts() -> ModuleType:
    """The raw-export writers of the price readers' tests (one source of the layouts)."""
    path = Path(__file__).resolve().parents[1] / "prices" / "raw_layouts.py"
    spec = importlib.util.spec_from_file_location("raw_layouts_history", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic_hourly(year: int, seed: int) -> pd.Series:
    """SYNTHETIC hourly prices of a whole local year [EUR/MWh]: a daily shape plus noise,
    with some negative hours; start of each hour in UTC."""
    index = pd.date_range(
        pd.Timestamp(f"{year}-01-01", tz=BERLIN),
        pd.Timestamp(f"{year + 1}-01-01", tz=BERLIN),
        freq="h",
        inclusive="left",
    ).tz_convert("UTC")
    hour = index.tz_convert(BERLIN).hour.to_numpy()
    noise = np.random.default_rng(seed).normal(0.0, 6.0, len(index))
    values = 38.0 + 18.0 * np.sin((hour - 7) / 24 * 2 * np.pi) + noise
    values[::97] = -12.5  # an occasional negative hour, as 2018 had
    return pd.Series(values.round(2), index=index)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("history")
    layouts = raw_layouts()
    prices = synthetic_hourly(2018, seed=2018)
    joint = prices.where(prices.index < SPLIT)  # DE_AT_LU column: '-' from 2018-10-01
    own = prices.where(prices.index >= SPLIT)  # DE_LU column: '-' before
    smard = layouts.write_smard_old_de(own, joint, folder / "Gro_handelspreise_2018.csv")
    entsoe = layouts.write_entsoe_legacy(
        synthetic_hourly(2015, seed=2015), folder / "Day-ahead Prices_2015.csv", "DE-AT-LU"
    )
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    (battery,) = [a for a in document["assets"] if a["id"] == "bat-de-essen-01"]
    battery["commissioning_date"] = "2014-06-01"  # in service in 2015 and 2018
    document["assets"] = [battery]
    document["sites"] = [s for s in document["sites"] if s["id"] == battery["site"]]
    portfolio = folder / "battery_2014.yaml"
    portfolio.write_text(yaml.safe_dump(document), encoding="utf-8")
    return {"smard": smard, "entsoe": entsoe, "portfolio": portfolio}


def backtest(files: dict[str, Path], prices: str, start: str, end: str, *extra: str):
    return CliRunner().invoke(
        app,
        [
            "backtest", "--portfolio", str(files["portfolio"]), "--prices", str(files[prices]),
            "--start", start, "--end", end, "--json", *extra,
        ],
    )  # fmt: skip


def test_the_files_are_the_raw_layouts_unedited(files: dict[str, Path]) -> None:
    smard = files["smard"].read_text(encoding="utf-8").splitlines()
    assert smard[0].startswith("Datum;Uhrzeit;Deutschland/Luxemburg[Euro/MWh];")
    assert smard[0].endswith(";Deutschland/Österreich/Luxemburg[Euro/MWh]")
    assert smard[1].startswith("01.01.2018;00:00;-;")  # DE_LU did not exist yet
    assert "," in smard[1].rsplit(";", 1)[1]  # the joint zone's price, decimal comma
    entsoe = files["entsoe"].read_text(encoding="utf-8").splitlines()
    assert entsoe[0] == '"MTU (CET/CEST)","Day-ahead Price [EUR/MWh]","Currency","BZN|DE-AT-LU"'


def test_a_2018_smard_export_runs_across_the_afrr_switch_and_the_zone_split(
    files: dict[str, Path],
) -> None:
    for start, end in (("2018-07-10", "2018-07-13"), ("2018-09-29", "2018-10-02")):
        result = backtest(files, "smard", start, end, "--markets", "day_ahead,afrr_capacity")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert summary["days"] == 4
        assert summary["revenue_by_market"]["day_ahead"] > 0
        notes = "\n".join(summary["notes"])
        assert "read as a smard file" in notes
        assert "priced in DE_AT_LU, the joint zone" in notes
        assert "joint German-Austrian-Luxembourg zone DE_AT_LU" in notes
        assert "DE:day_ahead:sessions:2015-01-01:2026-12-06" in notes
        if start.startswith("2018-07"):
            assert (
                "rules DE afrr_capacity 2018-07-10..2018-07-11: not offered "
                "(DE:afrr_capacity:in_operation:2015-01-01:2026-12-06: weekly peak"
            ) in notes
            assert "rules DE afrr_capacity 2018-07-12..2018-07-13: offered" in notes
            assert "DE:afrr_capacity:block_hours:2018-07-12:2026-12-06" in notes
            assert "2018-07-10..2018-07-11 DE:regulatory:2018.1" in notes
            assert "2018-07-12..2018-07-13 DE:regulatory:2018.2" in notes
        else:
            assert "2018-09-29..2018-09-30 DE:regulatory:2018.2" in notes
            assert "2018-10-01..2018-10-02 DE:regulatory:2018.3" in notes


def test_a_2015_entsoe_export_of_the_joint_zone_runs(files: dict[str, Path]) -> None:
    result = backtest(files, "entsoe", "2015-03-27", "2015-03-30")  # spring-forward 03-29
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["days"] == 4
    notes = "\n".join(summary["notes"])
    assert "read as a entsoe file" in notes or "read as an entsoe file" in notes
    assert "priced in DE_AT_LU, the joint zone" in notes
    assert "DE:regulatory:2015.1" in notes


def test_a_day_before_every_rule_set_is_exit_2_naming_what_is_covered(
    files: dict[str, Path],
) -> None:
    result = backtest(files, "entsoe", "2014-12-31", "2015-01-02")
    assert result.exit_code == 2
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "no DE regulatory rule set is in force on 2014-12-31" in said
    assert "cover 2015-01-01 (version 2015.1-rev2)" in said
    assert "Traceback" not in said


@pytest.mark.parametrize(
    ("where", "day", "zone"),
    [("joint", "01.10.2018", "DE_AT_LU"), ("own", "30.09.2018", "DE_LU")],
)
def test_a_zone_priced_outside_its_era_is_refused_naming_line_zone_and_day(
    files: dict[str, Path], tmp_path: Path, where: str, day: str, zone: str
) -> None:
    lines = files["smard"].read_text(encoding="utf-8").splitlines()
    row = next(n for n, line in enumerate(lines) if line.startswith(f"{day};05:00;"))
    cells = lines[row].split(";")
    column = -1 if where == "joint" else 2
    cells[column] = "42,5"  # a price where the file should say '-'
    lines[row] = ";".join(cells)
    bad = tmp_path / "edited.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    files = {**files, "bad": bad}
    result = backtest(files, "bad", "2018-09-29", "2018-10-02")
    assert result.exit_code == 2
    said = " ".join(result.output.split())  # the console wraps long lines
    assert f"line {row + 1}" in said
    assert f"zone {zone} has a price for delivery on {day[6:]}-{day[3:5]}-{day[:2]} 05:00" in said
    assert "split took effect on 2018-10-01" in said
    assert "Traceback" not in said


def test_the_rule_eras_of_a_run_change_only_where_the_records_do() -> None:
    from trading.backtest.rule_eras import rule_era_notes

    notes = rule_era_notes({"DE"}, ("fcr_capacity",), date(2019, 6, 29), date(2020, 7, 2))
    fcr = [n for n in notes if n.startswith("rules DE fcr_capacity")]
    assert [n.split(":")[0] for n in fcr] == [
        "rules DE fcr_capacity 2019-06-29..2019-06-30",
        "rules DE fcr_capacity 2019-07-01..2020-06-30",
        "rules DE fcr_capacity 2020-07-01..2020-07-02",
    ]
    assert "not offered" in fcr[0]
    assert "DE:fcr_capacity:block_hours:2020-07-01:2026-12-06" in fcr[2]


def test_entsoe_exports_of_either_zone_are_checked_against_the_split(tmp_path: Path) -> None:
    """A DE-LU export priced on 2018-09-30 is refused; a DE-AT-LU export whose rows after
    the split say ``n/e`` (how the platform lists a zone's unpriced intervals) is read."""
    from trading.prices import PriceDataError
    from trading.prices.entsoe import read_entsoe_day_ahead

    layouts = raw_layouts()
    days = synthetic_hourly(2018, seed=7)
    around = days[
        (days.index >= pd.Timestamp("2018-09-30", tz=BERLIN))
        & (days.index < SPLIT + pd.Timedelta(days=1))
    ]
    early = layouts.write_entsoe_legacy(around, tmp_path / "de_lu.csv", "DE-LU")
    with pytest.raises(
        PriceDataError, match=r"line 2, .*zone DE_LU has a price for delivery on 2018-09-30 00:00"
    ):
        read_entsoe_day_ahead(early)
    joint = layouts.write_entsoe_legacy(
        around.where(around.index < SPLIT), tmp_path / "de_at_lu.csv", "DE-AT-LU"
    )
    frame = read_entsoe_day_ahead(joint, allow_missing=True)
    assert frame["price_eur_mwh"].notna().sum() == 24
    assert set(frame["zone"]) == {"DE_AT_LU"}
