"""`vpp markets list|products|validate|check`: what traders and compliance staff read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trading.cli import app

runner = CliRunner()

PRODUCT_KEYS = {
    "product_id",
    "market",
    "kind",
    "direction",
    "delivery_start",
    "delivery_end",
    "gate_closure",
    "volume_min_mw",
    "volume_step_mw",
    "price_min",
    "price_max",
    "pricing",
    "source",
    "valid_from",
}


@pytest.fixture
def sample_bids_path() -> Path:
    return Path(__file__).resolve().parents[2] / "data" / "sample_bids.json"


def _bids_file(tmp_path: Path, bids: object) -> Path:
    path = tmp_path / "bids.json"
    path.write_text(json.dumps(bids), encoding="utf-8")
    return path


def test_list_shows_the_five_builtin_countries_and_where_they_come_from() -> None:
    result = runner.invoke(app, ["markets", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["country"]: row for row in json.loads(result.output)}
    assert {"DE", "NL", "BE", "FR", "AT"} <= set(rows)
    assert rows["DE"]["origin"] == "vpp-engine (built-in)"
    assert "afrr_capacity" in rows["DE"]["markets"]
    table = runner.invoke(app, ["markets", "list"])
    assert table.exit_code == 0
    assert "Netherlands" in table.output


def test_products_json_for_the_short_dst_day_has_92_quarter_hours_closing_at_11z() -> None:
    result = runner.invoke(
        app, ["markets", "products", "DE", "2026-03-29", "--market", "day_ahead", "--json"]
    )
    assert result.exit_code == 0, result.output
    products = json.loads(result.output)
    assert len(products) == 92
    assert set(products[0]) >= PRODUCT_KEYS
    assert {p["gate_closure"] for p in products} == {"2026-03-28T11:00:00Z"}
    assert products[0]["delivery_start"] == "2026-03-28T23:00:00Z"
    assert products[-1]["delivery_end"] == "2026-03-29T22:00:00Z"
    assert all(p["delivery_start"].endswith("Z") for p in products)
    assert products[0]["valid_from"] == "2025-10-01"  # the 15-minute MTU


def test_products_of_the_long_dst_day_and_of_the_hourly_era() -> None:
    long_day = runner.invoke(
        app, ["markets", "products", "DE", "2026-10-25", "--market", "day_ahead", "--json"]
    )
    assert len(json.loads(long_day.output)) == 100
    hourly = runner.invoke(
        app, ["markets", "products", "DE", "2025-03-30", "--market", "day_ahead", "--json"]
    )
    products = json.loads(hourly.output)
    assert len(products) == 23
    assert products[0]["delivery_start"] == "2025-03-29T23:00:00Z"
    assert products[1]["delivery_start"] == "2025-03-30T00:00:00Z"


def test_products_table_groups_families_with_their_gate_closures() -> None:
    result = runner.invoke(app, ["markets", "products", "AT", "2026-06-15"])
    assert result.exit_code == 0, result.output
    assert "afrr_capacity" in result.output
    assert "IDA3" in result.output
    assert "2026-06-14T07:00:00Z" in result.output  # aFRR gate 09:00 CEST D-1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["markets", "products", "XX", "2026-06-15"], "no market plugin for country 'XX'"),
        (["markets", "products", "DE", "15.06.2026"], "not a date of the form YYYY-MM-DD"),
        (["markets", "check", "XX"], "known: AT, BE, DE, FR, NL"),
    ],
)
def test_bad_arguments_exit_2_with_a_reason(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_unknown_market_option_is_refused() -> None:
    result = runner.invoke(app, ["markets", "products", "DE", "2026-06-15", "--market", "spot"])
    assert result.exit_code == 2
    assert "spot" in result.output


def test_validate_accepts_valid_bids_with_exit_0(tmp_path: Path) -> None:
    path = _bids_file(
        tmp_path,
        [
            {
                "bid_id": "da-1",
                "type": "curve",
                "product_id": "DE:day_ahead:SDAC:2026-03-28T23:00Z",
                "points": [
                    {"price_eur_per_mwh": -10, "volume_mw": -2},
                    {"price_eur_per_mwh": 80.5, "volume_mw": 3.4},
                ],
            },
            {
                "type": "balancing_capacity",
                "product_id": "DE:afrr_capacity:4h:neg:2026-03-29T02:00Z",
                "direction": "neg",
                "capacity_mw": 5,
                "capacity_price_eur_per_mw_h": 7.25,
            },
        ],
    )
    result = runner.invoke(app, ["markets", "validate", str(path), "--now", "2026-03-28T07:00Z"])
    assert result.exit_code == 0, result.output
    assert "2 of 2 bid(s) valid" in result.output


def test_validate_lists_every_violation_and_exits_2(tmp_path: Path) -> None:
    path = _bids_file(
        tmp_path,
        {
            "bids": [
                {
                    "bid_id": "afrr-late-small",
                    "type": "balancing_capacity",
                    "product_id": "DE:afrr_capacity:4h:pos:2026-03-28T23:00Z",
                    "direction": "pos",
                    "capacity_mw": 0.9,
                    "capacity_price_eur_per_mw_h": 12.5,
                },
                {"type": "single", "product_id": "DE:intraday_continuous:PT15M:x"},
            ]
        },
    )
    result = runner.invoke(
        app, ["markets", "validate", str(path), "--now", "2026-03-28T08:00:01Z", "--json"]
    )
    assert result.exit_code == 2
    report = json.loads(result.output)
    assert report["valid"] is False
    first, second = report["bids"]
    rules = {v["rule"] for v in first["violations"]}
    assert rules == {
        "afrr_capacity.gate_closure",
        "afrr_capacity.volume_min_mw",
        "afrr_capacity.volume_step_mw",
    }
    gate = next(v for v in first["violations"] if v["rule"] == "afrr_capacity.gate_closure")
    assert "2026-03-28T08:00:00Z" in gate["limit"]
    assert "09:00 CET" in gate["limit"]
    assert gate["value"] == "2026-03-28T08:00:01Z"
    assert {v["field"] for v in second["violations"]} == {"volume_mw", "price_eur_per_mwh"}


def test_validate_refuses_a_naive_now_and_a_malformed_file(tmp_path: Path) -> None:
    path = _bids_file(tmp_path, [])
    naive = runner.invoke(app, ["markets", "validate", str(path), "--now", "2026-03-28T08:00"])
    assert naive.exit_code == 2
    assert "no time zone" in naive.output
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    malformed = runner.invoke(app, ["markets", "validate", str(broken)])
    assert malformed.exit_code == 2
    assert "not JSON" in malformed.output
    missing = runner.invoke(app, ["markets", "validate", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2
    assert "no such file" in missing.output


@pytest.mark.parametrize("country", ["DE", "NL", "BE", "FR", "AT"])
def test_check_passes_for_every_country_on_the_2026_dst_days(country: str) -> None:
    result = runner.invoke(
        app,
        [
            "markets",
            "check",
            country,
            "--day",
            "2026-03-29",
            "--day",
            "2026-06-15",
            "--day",
            "2026-10-25",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["passed"] is True
    assert report["failures"] == []
    assert report["days"] == ["2026-03-29", "2026-06-15", "2026-10-25"]


def test_check_lists_uncertain_rules_verbosely() -> None:
    result = runner.invoke(app, ["markets", "check", "NL", "--year", "2026", "--verbose"])
    assert result.exit_code == 0, result.output
    assert "uncertain: afrr_capacity" in result.output
    assert "NL: all" in result.output


def test_sample_bids_file_has_one_late_bid(sample_bids_path: Path) -> None:
    result = runner.invoke(
        app, ["markets", "validate", str(sample_bids_path), "--now", "2026-03-28T10:59:00Z"]
    )
    assert result.exit_code == 2
    assert "3 of 4 bid(s) valid" in result.output
    assert "nl-afrr-up-night): 1 violation(s)" in result.output
    early = runner.invoke(
        app, ["markets", "validate", str(sample_bids_path), "--now", "2026-03-28T07:59:59Z"]
    )
    assert early.exit_code == 0, early.output


def test_an_empty_bids_file_and_a_day_without_markets_are_explained(tmp_path: Path) -> None:
    empty = runner.invoke(app, ["markets", "validate", str(_bids_file(tmp_path, []))])
    assert empty.exit_code == 2
    assert "holds no bids" in empty.output
    # Germany's rules reach back to 2015-01-01 (issue 15); the day before has none.
    before = runner.invoke(app, ["markets", "products", "DE", "2014-12-31"])
    assert before.exit_code == 0
    assert "offers no market products for delivery 2014-12-31" in before.output
    nothing = runner.invoke(app, ["markets", "check", "DE", "--day", "2014-06-01"])
    assert nothing.exit_code == 1
    assert "nothing could be checked" in nothing.output


def test_a_bid_with_a_string_for_a_number_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = _bids_file(
        tmp_path,
        [
            {
                "type": "balancing_capacity",
                "product_id": "DE:afrr_capacity:4h:pos:2026-03-28T23:00Z",
                "direction": "pos",
                "capacity_mw": "5",
                "capacity_price_eur_per_mw_h": 12.5,
            },
            {"type": "block", "product_ids": [1, 2], "volumes_mw": [1], "price_eur_per_mwh": 1},
        ],
    )
    result = runner.invoke(app, ["markets", "validate", str(path), "--now", "2026-03-27T07:00Z"])
    assert result.exit_code == 2
    assert 'capacity_mw="5"' in result.output
    assert "Traceback" not in result.output
