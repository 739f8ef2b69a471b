"""`vpp portfolio validate|show|schema`: exit codes and what the user reads."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from trading.cli import app

runner = CliRunner()
REPO_ROOT = Path(__file__).resolve().parents[2]

FIVE_MISTAKES = """\
id: broken
tenant: t1
sites:
  - id: de-1
    country: DE
    bidding_zone: DE_LU
    control_area: Amprion
    grid_connection_mw: 2
    metering_point: M1
    balancing_group: BG1
  - id: xx-1
    country: XX
    bidding_zone: XX
    control_area: Nowhere
    grid_connection_mw: 10
    metering_point: M2
    balancing_group: BG2
assets:
  - id: bat-07
    kind: battery
    site: de-1
    commissioning_date: 2024-01-01
    power_charge_mw: 1
    power_discharge_mw: 1
    energy_mwh: 4.0
    soc_min_mwh: 5.0
    efficiency_charge: 0.95
    efficiency_discharge: 0.95
  - id: bat-07
    kind: battery
    site: de-1
    commissioning_date: 2024-01-01
    power_charge_mw: 1
    power_discharge_mw: 1
    energy_mwh: 2
    efficiency_charge: 0.95
    efficiency_discharge: 0.95
  - id: pv-big
    kind: pv
    site: de-1
    commissioning_date: 2024-01-01
    rated_power_mw: 5
  - id: weird-1
    kind: batery
    site: de-1
    commissioning_date: 2024-01-01
"""


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_validate_sample_portfolio_exits_zero(sample_portfolio_path: Path) -> None:
    code, out = run("portfolio", "validate", str(sample_portfolio_path))
    assert code == 0, out
    assert "valid portfolio 'sample-vpp'" in out
    assert "23 assets on 15 sites in AT, BE, DE, FR, NL" in out


def test_validate_reports_five_distinct_mistakes_at_once(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(FIVE_MISTAKES)
    code, out = run("portfolio", "validate", str(path))
    assert code == 2
    assert "5 problem(s)" in out
    assert "asset bat-07: soc_min_mwh=5.0 exceeds energy_mwh=4.0 (line 26)" in out
    assert "asset bat-07: id='bat-07' is used by another asset at line 19" in out
    assert "site xx-1: country='XX' is not a known country (known: AT, BE, DE, FR, NL)" in out
    assert "asset pv-big: rated_power_mw=5.0 exceeds grid_connection_mw=2.0 of site de-1" in out
    assert "asset weird-1: kind='batery' is not a known kind" in out
    assert "Traceback" not in out


def test_validate_json_lists_problems_with_fields(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(FIVE_MISTAKES)
    code, out = run("portfolio", "validate", str(path), "--json")
    assert code == 2
    report = json.loads(out)
    assert report["valid"] is False
    fields = {(p["subject"], p["field"]) for p in report["problems"]}
    assert ("asset bat-07", "soc_min_mwh") in fields
    assert ("site xx-1", "country") in fields
    assert len(report["problems"]) == 5


def test_malformed_yaml_gets_one_line_with_line_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: p\ntenant: t\nsites:\n  - id: a\n    country: [DE\nassets: []\n")
    code, out = run("portfolio", "validate", str(path))
    assert code == 2
    problem_lines = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(problem_lines) == 1
    assert "malformed YAML" in problem_lines[0]
    assert "(line 6)" in problem_lines[0]
    assert "Traceback" not in out


def test_missing_file_exits_two_with_message(tmp_path: Path) -> None:
    code, out = run("portfolio", "validate", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "no such file" in out


def test_show_json_lists_every_asset_with_its_treatment(sample_portfolio_path: Path) -> None:
    code, out = run("portfolio", "show", str(sample_portfolio_path), "--json", "--on", "2026-01-15")
    assert code == 0, out
    report = json.loads(out)
    portfolio = yaml.safe_load(sample_portfolio_path.read_text())
    assert [a["id"] for a in report["assets"]] == [a["id"] for a in portfolio["assets"]]
    for asset in report["assets"]:
        assert asset["treatment"]["country"] == asset["site"]["country"]
        assert asset["treatment"]["on"] == "2026-01-15"
        assert {"injection_min_mw", "injection_max_mw"} <= set(asset["ratings"])


def test_same_battery_in_de_and_nl_shows_different_treatment(sample_portfolio_path: Path) -> None:
    code, out = run("portfolio", "show", str(sample_portfolio_path), "--json", "--on", "2026-01-15")
    assert code == 0
    by_id = {a["id"]: a for a in json.loads(out)["assets"]}
    de, nl = by_id["bat-de-essen-01"], by_id["bat-nl-rotterdam-01"]
    assert de["ratings"] == nl["ratings"]
    de_t, nl_t = de["treatment"], nl["treatment"]
    assert (de_t["country"], nl_t["country"]) == ("DE", "NL")
    assert de_t["rule_set_version"] != nl_t["rule_set_version"]
    de_charges = {c["name"]: c for c in de_t["charges"]}
    assert de_charges["grid fee on withdrawal (Netzentgelt)"]["exempt"] is True
    assert de_charges["grid fee on withdrawal (Netzentgelt)"]["exempt_until"] == "2044-03-15"
    assert {c["name"] for c in nl_t["charges"]}.isdisjoint(de_charges)
    assert {b["pooling"] for b in de_t["balancing"]} == {"control_area"}
    assert {b["pooling"] for b in nl_t["balancing"]} == {"country"}


def test_show_table_names_each_asset(sample_portfolio_path: Path) -> None:
    code, out = run("portfolio", "show", str(sample_portfolio_path), "--on", "2026-01-15")
    assert code == 0
    for asset in yaml.safe_load(sample_portfolio_path.read_text())["assets"]:
        assert asset["id"] in out


def test_show_rejects_a_bad_date(sample_portfolio_path: Path) -> None:
    code, out = run("portfolio", "show", str(sample_portfolio_path), "--on", "15.01.2026")
    assert code == 2
    assert "15.01.2026" in out
    assert "YYYY-MM-DD" in out


def test_schema_is_the_published_one_and_accepts_the_sample(sample_portfolio_path: Path) -> None:
    code, out = run("portfolio", "schema")
    assert code == 0
    schema = json.loads(out)
    published = json.loads((REPO_ROOT / "docs" / "portfolio.schema.json").read_text())
    assert schema == published, "docs/portfolio.schema.json is stale: run vpp portfolio schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    sample = json.loads(json.dumps(yaml.safe_load(sample_portfolio_path.read_text()), default=str))
    jsonschema.validate(sample, schema)


def test_schema_rejects_an_unknown_asset_kind(sample_portfolio_path: Path) -> None:
    schema = json.loads(run("portfolio", "schema")[1])
    sample = json.loads(json.dumps(yaml.safe_load(sample_portfolio_path.read_text()), default=str))
    sample["assets"][0]["kind"] = "flux_capacitor"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sample, schema)


def test_json_portfolio_file_is_accepted(tmp_path: Path, sample_portfolio_path: Path) -> None:
    data = yaml.safe_load(sample_portfolio_path.read_text())
    path = tmp_path / "portfolio.json"
    path.write_text(json.dumps(data, default=str, indent=1))
    code, out = run("portfolio", "validate", str(path))
    assert code == 0, out


# --- assets out of service on the day shown ------------------------------------------------

LAUSITZ_NOTE = "not in service on 2026-06-13: commissioned 2027-02-01"


def test_show_marks_the_asset_not_yet_commissioned(sample_portfolio_path: Path) -> None:
    code, out = run("portfolio", "show", str(sample_portfolio_path), "--on", "2026-06-13")
    assert code == 0, out
    assert (
        "Not in service on 2026-06-13 (not traded or dispatched that day): "
        "bat-de-lausitz (commissioned 2027-02-01)"
    ) in out
    assert "not in service:" in out  # the mark in its table row


def test_show_on_the_commissioning_day_marks_nothing(sample_portfolio_path: Path) -> None:
    code, out = run("portfolio", "show", str(sample_portfolio_path), "--on", "2027-02-01")
    assert code == 0, out
    assert "Not in service" not in out
    assert "not in service" not in out


def test_show_json_gives_each_asset_its_dates_and_in_service_flag(
    sample_portfolio_path: Path,
) -> None:
    code, out = run("portfolio", "show", str(sample_portfolio_path), "--json", "--on", "2026-06-13")
    assert code == 0, out
    report = json.loads(out)
    assert report["out_of_service"] == {"bat-de-lausitz": LAUSITZ_NOTE}
    by_id = {a["id"]: a for a in report["assets"]}
    lausitz = by_id.pop("bat-de-lausitz")
    assert lausitz["commissioning_date"] == "2027-02-01"
    assert lausitz["decommissioning_date"] is None
    assert (lausitz["in_service"], lausitz["service_note"]) == (False, LAUSITZ_NOTE)
    assert {b["eligible"] for b in lausitz["treatment"]["balancing"]} == {False}
    assert all(a["in_service"] and a["service_note"] is None for a in by_id.values())


def test_show_a_portfolio_with_nothing_in_service_still_reports(
    tmp_path: Path, sample_portfolio_path: Path
) -> None:
    document = yaml.safe_load(sample_portfolio_path.read_text())
    for asset in document["assets"]:
        asset["decommissioning_date"] = "2026-01-01"
        for pq in asset.get("prequalifications", []):
            pq.pop("certified_on", None)
    document["assets"] = [a for a in document["assets"] if a["id"] != "bat-de-lausitz"]
    path = tmp_path / "retired.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    code, out = run("portfolio", "show", str(path), "--json", "--on", "2026-06-13")
    assert code == 0, out
    report = json.loads(out)
    assert len(report["out_of_service"]) == len(document["assets"])
    assert not any(a["in_service"] for a in report["assets"])
    assert set(report["out_of_service"].values()) == {
        "not in service on 2026-06-13: decommissioned 2026-01-01"
    }


def test_validate_names_a_decommissioning_date_before_commissioning(tmp_path: Path) -> None:
    path = tmp_path / "dates.yaml"
    path.write_text(
        "id: p\ntenant: t\nsites:\n  - id: de-1\n    country: DE\n    bidding_zone: DE_LU\n"
        "    control_area: Amprion\n    grid_connection_mw: 2\n    metering_point: M1\n"
        "    balancing_group: BG1\nassets:\n  - id: bat-07\n    kind: battery\n    site: de-1\n"
        "    commissioning_date: 2024-01-01\n    decommissioning_date: 2023-06-30\n"
        "    power_charge_mw: 1\n    power_discharge_mw: 1\n    energy_mwh: 2\n"
        "    efficiency_charge: 0.95\n    efficiency_discharge: 0.95\n"
    )
    code, out = run("portfolio", "validate", str(path))
    assert code == 2
    assert (
        "asset bat-07: decommissioning_date='2023-06-30' is not after "
        "commissioning_date=2024-01-01 (it is the first day out of service) (line 16)"
    ) in out
