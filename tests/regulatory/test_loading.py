"""Loading portfolio files: every problem is reported at once, with subject, field and line."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from regulatory_factories import MINIMAL_YAML, dedent, line_of, load_problems

from regulatory import (
    CountryRegistry,
    CountryRules,
    Portfolio,
    ProblemsError,
    default_registry,
    parse_portfolio,
    read_portfolio,
    treatment_for,
)
from regulatory.countries import de

KNOWN_KINDS = ("battery", "pv", "wind", "chp", "flexible_load", "heat_pump", "ev_fleet")

TWO_SITES_YAML = dedent(
    """
    id: p1
    tenant: demo
    sites:
      - id: s1
        country: DE
        bidding_zone: DE_LU
        control_area: Amprion
        grid_connection_mw: 10
        metering_point: DE0001
        balancing_group: BG-1
      - id: s2
        country: NL
        bidding_zone: NL
        control_area: TenneT NL
        grid_connection_mw: 5
        metering_point: "871234"
        balancing_group: BRP-NL
    assets:
      - id: b1
        kind: battery
        site: s1
        commissioning_date: 2024-03-15
        power_charge_mw: 2
        power_discharge_mw: 2
        energy_mwh: 4
        efficiency_charge: 0.95
        efficiency_discharge: 0.95
      - id: pv1
        kind: pv
        site: s2
        commissioning_date: 2022-08-01
        rated_power_mw: 4
      - id: ev1
        kind: ev_fleet
        site: s1
        commissioning_date: 2022-05-01
        vehicle_count: 10
        charge_power_max_mw: 1
        energy_mwh: 5
        energy_requirements:
          - {start_local: 18:00, end_local: 07:00, energy_mwh: 4}
    """
)


def only(problems):
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_minimal_and_two_site_portfolios_load():
    assert parse_portfolio(MINIMAL_YAML).asset("b1").energy_mwh == 4
    portfolio = parse_portfolio(TWO_SITES_YAML)
    assert [a.id for a in portfolio.assets] == ["b1", "pv1", "ev1"]
    assert portfolio.site_of(portfolio.asset("pv1")).country == "NL"


# --- cross-object problems ---------------------------------------------------------------


def test_duplicate_asset_id_names_the_first_line():
    text = TWO_SITES_YAML.replace("- id: pv1", "- id: b1")
    problem = only(load_problems(text))
    first, second = line_of(text, "- id: b1"), line_of(text, "- id: b1", 2)
    assert problem.subject == "asset b1"
    assert problem.field == "id"
    assert problem.line == second
    assert str(problem) == (
        f"asset b1: id='b1' is used by another asset at line {first}; ids must be unique "
        f"(line {second})"
    )


def test_duplicate_asset_id_is_found_even_when_the_first_one_is_invalid():
    text = TWO_SITES_YAML.replace("- id: pv1", "- id: b1").replace("    energy_mwh: 4\n", "", 1)
    problems = load_problems(text)
    assert {(p.subject, p.field) for p in problems} == {
        ("asset b1", "energy_mwh"),
        ("asset b1", "id"),
    }


def test_duplicate_site_id():
    text = TWO_SITES_YAML.replace("- id: s2", "- id: s1")
    problems = load_problems(text)
    duplicate = next(p for p in problems if p.field == "id")
    assert duplicate.subject == "site s1"
    assert duplicate.line == line_of(text, "- id: s1", 2)
    assert f"another site at line {line_of(text, '- id: s1')}" in duplicate.rule


def test_unknown_country_lists_the_known_ones():
    text = MINIMAL_YAML.replace("country: DE", "country: XX")
    problem = only(load_problems(text))
    assert str(problem) == (
        "site s1: country='XX' is not a known country (known: AT, BE, DE, FR, NL) "
        f"(line {line_of(text, '- id: s1')})"
    )


def test_bidding_zone_of_another_country():
    text = MINIMAL_YAML.replace("bidding_zone: DE_LU", "bidding_zone: NL")
    problem = only(load_problems(text))
    assert (problem.subject, problem.field, problem.value) == ("site s1", "bidding_zone", "NL")
    assert problem.rule == "is not a bidding zone of DE (expected DE_LU)"


def test_control_area_of_another_country():
    text = MINIMAL_YAML.replace("control_area: Amprion", "control_area: Elia")
    problem = only(load_problems(text))
    assert (problem.subject, problem.field, problem.value) == ("site s1", "control_area", "Elia")
    assert problem.rule == (
        "is not a control area of DE (expected one of 50Hertz, Amprion, TenneT DE, TransnetBW)"
    )


def test_asset_on_a_missing_site():
    text = TWO_SITES_YAML.replace("site: s2", "site: s9")
    problem = only(load_problems(text))
    assert str(problem) == (
        "asset pv1: site='s9' is not a site of this portfolio (sites: s1, s2) "
        f"(line {line_of(text, '- id: pv1')})"
    )


@pytest.mark.parametrize(
    ("charge", "discharge", "field", "rating"),
    [(2, 12, "power_discharge_mw", 12.0), (12.5, 2, "power_charge_mw", 12.5)],
)
def test_asset_rating_above_the_site_connection(charge, discharge, field, rating):
    text = MINIMAL_YAML.replace("power_charge_mw: 2", f"power_charge_mw: {charge}").replace(
        "power_discharge_mw: 2", f"power_discharge_mw: {discharge}"
    )
    problem = only(load_problems(text))
    assert str(problem) == (
        f"asset b1: {field}={rating} exceeds grid_connection_mw=10.0 of site s1 "
        f"(line {line_of(text, '- id: b1')})"
    )


def test_asset_exactly_at_the_site_connection_loads():
    text = MINIMAL_YAML.replace("power_discharge_mw: 2", "power_discharge_mw: 10")
    assert parse_portfolio(text).asset("b1").rating_mw() == 10


# --- single-object problems --------------------------------------------------------------


def test_physical_problem_reads_as_documented():
    """README: `asset bat-07: soc_min_mwh=5.0 exceeds energy_mwh=4.0`, here with the line."""
    text = MINIMAL_YAML.replace("id: b1", "id: bat-07").replace(
        "energy_mwh: 4", "energy_mwh: 4.0\n    soc_min_mwh: 5.0"
    )
    problem = only(load_problems(text))
    assert (problem.subject, problem.field, problem.value) == ("asset bat-07", "soc_min_mwh", 5.0)
    assert problem.line in (line_of(text, "bat-07"), line_of(text, "soc_min_mwh"))
    assert (
        str(problem)
        == f"asset bat-07: soc_min_mwh=5.0 exceeds energy_mwh=4.0 (line {problem.line})"
    )


def test_unknown_kind_lists_the_known_kinds():
    text = MINIMAL_YAML.replace("kind: battery", "kind: rocket")
    problem = only(load_problems(text))
    assert (problem.subject, problem.field, problem.value) == ("asset b1", "kind", "rocket")
    assert "not a known kind" in problem.rule
    assert all(kind in problem.rule for kind in KNOWN_KINDS)
    assert problem.line == line_of(text, "- id: b1")


def test_missing_kind_is_a_problem_not_a_guess():
    problem = only(load_problems(MINIMAL_YAML.replace("    kind: battery\n", "")))
    assert (problem.subject, problem.field) == ("asset b1", "kind")
    assert "required" in problem.rule


@pytest.mark.parametrize("kind", ["[battery]", "{name: battery}", "7"])
def test_kind_that_is_not_a_name_is_reported(kind):
    """A list or mapping as kind must give a problem, not a crash (TypeError: unhashable)."""
    text = MINIMAL_YAML.replace("kind: battery", f"kind: {kind}")
    problem = only(load_problems(text))
    assert (problem.subject, problem.field) == ("asset b1", "kind")


def test_missing_required_field():
    text = MINIMAL_YAML.replace("    energy_mwh: 4\n", "")
    problem = only(load_problems(text))
    assert str(problem) == (
        f"asset b1: energy_mwh=None is required but missing (line {line_of(text, '- id: b1')})"
    )


def test_unknown_field_of_an_asset():
    text = MINIMAL_YAML.replace("energy_mwh: 4", "energy_mwh: 4\n    enrgy_mwh: 4")
    problem = only(load_problems(text))
    assert (problem.subject, problem.field, problem.value) == ("asset b1", "enrgy_mwh", 4)
    assert "not a known field" in problem.rule


def test_unknown_top_level_key():
    problem = only(load_problems(MINIMAL_YAML + "colour: red\n"))
    assert (
        str(problem) == "portfolio: colour='red' is not a known top-level key (check the spelling)"
    )


def test_missing_header_fields_and_empty_sections():
    text = MINIMAL_YAML.replace("id: p1\n", "").replace("tenant: demo\n", "")
    assert {(p.subject, p.field) for p in load_problems(text)} == {
        ("portfolio", "id"),
        ("portfolio", "tenant"),
    }
    problems = load_problems("id: p1\ntenant: demo\nsites: []\n")
    assert {(p.field, p.rule) for p in problems} == {
        ("sites", "must be a non-empty list"),
        ("assets", "must be a non-empty list"),
    }


# --- malformed files ---------------------------------------------------------------------


def test_duplicate_key_in_a_yaml_mapping_is_reported_with_its_line():
    text = MINIMAL_YAML.replace("energy_mwh: 4", "energy_mwh: 4\n    power_charge_mw: 3")
    problem = only(load_problems(text))
    assert problem.field == "power_charge_mw"
    assert problem.line == line_of(text, "power_charge_mw", 2)
    assert "appears twice" in problem.rule


def test_malformed_yaml_is_one_problem_with_the_line():
    text = MINIMAL_YAML.replace("    site: s1\n", "    site: [s1\n")
    problem = only(load_problems(text, source="broken.yaml"))
    assert problem.subject == "broken.yaml"
    assert problem.rule.startswith("malformed YAML")
    assert problem.line is not None
    assert line_of(text, "site: [s1") <= problem.line <= line_of(text, "site: [s1") + 1


def test_malformed_yaml_indentation_names_its_line():
    text = MINIMAL_YAML.replace("    kind: battery\n", "   kind: battery\n")
    problem = only(load_problems(text))
    assert problem.rule.startswith("malformed YAML, column")
    assert problem.line == line_of(text, "kind: battery")


def test_malformed_json_is_one_problem_with_the_line():
    data = yaml.load(MINIMAL_YAML, Loader=yaml.SafeLoader)
    text = json.dumps(data, indent=2, default=str)
    broken = text.replace('"energy_mwh": 4,', '"energy_mwh": 4,,')
    problem = only(load_problems(broken, fmt="json", source="p.json"))
    assert problem.subject == "p.json"
    assert problem.rule.startswith("malformed JSON")
    assert problem.line == line_of(broken, '"energy_mwh": 4,,')


def test_json_portfolio_loads_and_reports_like_yaml():
    data = yaml.load(TWO_SITES_YAML, Loader=yaml.SafeLoader)
    data["assets"][2]["energy_requirements"][0].update(start_local="18:00", end_local="07:00")
    portfolio = parse_portfolio(json.dumps(data, default=str), fmt="json")
    assert portfolio == parse_portfolio(TWO_SITES_YAML)
    data["sites"][0]["country"] = "XX"
    problem = only(load_problems(json.dumps(data, default=str), fmt="json"))
    assert (problem.subject, problem.field, problem.value) == ("site s1", "country", "XX")


def test_empty_file_is_a_problem():
    problem = only(load_problems("", source="empty.yaml"))
    assert problem.subject == "empty.yaml"
    assert "empty" in problem.rule


# --- everything at once, with lines ------------------------------------------------------


HEAT_PUMP_ON_MISSING_SITE = """\
  - id: hp1
    kind: heat_pump
    site: s3
    commissioning_date: 2023-01-01
    power_max_mw: 1
    cop: 3
"""


def test_five_mistakes_in_different_items_are_reported_at_once():
    text = (
        TWO_SITES_YAML.replace("control_area: TenneT NL", "control_area: Amprion")  # site s2
        .replace(
            "energy_mwh: 4\n    efficiency", "energy_mwh: 4\n    soc_min_mwh: 5\n    efficiency"
        )
        .replace("rated_power_mw: 4", "rated_power_mw: 40")  # pv1 above its 5 MW site
        .replace("vehicle_count: 10", "vehicle_count: 10\n    colour: blue")  # unknown field
        + HEAT_PUMP_ON_MISSING_SITE
    )
    with pytest.raises(ProblemsError) as caught:
        parse_portfolio(text, source="five.yaml")
    problems = caught.value.problems
    assert {(p.subject, p.field) for p in problems} == {
        ("site s2", "control_area"),
        ("asset b1", "soc_min_mwh"),
        ("asset pv1", "rated_power_mw"),
        ("asset ev1", "colour"),
        ("asset hp1", "site"),
    }
    # Each problem points into its own item: at the field where the file has it.
    lines = {p.subject: p.line for p in problems}
    assert lines["site s2"] in (
        line_of(text, "- id: s2"),
        line_of(text, "control_area: Amprion", 2),
    )
    assert lines["asset b1"] in (line_of(text, "- id: b1"), line_of(text, "soc_min_mwh: 5"))
    assert lines["asset pv1"] in (line_of(text, "- id: pv1"), line_of(text, "rated_power_mw: 40"))
    assert lines["asset ev1"] in (line_of(text, "- id: ev1"), line_of(text, "colour: blue"))
    assert lines["asset hp1"] in (line_of(text, "- id: hp1"), line_of(text, "site: s3"))
    message = str(caught.value)
    assert message.startswith("5 problem(s) in five.yaml:")
    assert all(str(p) in message for p in problems)


def test_line_of_every_asset_is_reported():
    """The same broken field in every asset: each problem points at that asset's field."""
    text = TWO_SITES_YAML.replace("commissioning_date: 2024-03-15", "commissioning_date: soon")
    text = text.replace("commissioning_date: 2022-08-01", "commissioning_date: soon")
    text = text.replace("commissioning_date: 2022-05-01", "commissioning_date: soon")
    problems = load_problems(text)
    assert [(p.subject, p.field, p.line) for p in problems] == [
        ("asset b1", "commissioning_date", line_of(text, "commissioning_date: soon", 1)),
        ("asset pv1", "commissioning_date", line_of(text, "commissioning_date: soon", 2)),
        ("asset ev1", "commissioning_date", line_of(text, "commissioning_date: soon", 3)),
    ]


# --- YAML times --------------------------------------------------------------------------


def test_unquoted_times_are_read_as_times():
    ev = parse_portfolio(TWO_SITES_YAML).asset("ev1")
    window = ev.energy_requirements[0]
    assert (window.start_local, window.end_local) == (time(18, 0), time(7, 0))
    assert window.duration_h == 13.0


@settings(max_examples=40, deadline=None)
@given(
    start=st.builds(time, hour=st.integers(0, 23), minute=st.integers(0, 59)),
    end=st.builds(time, hour=st.integers(0, 23), minute=st.integers(0, 59)),
)
def test_any_unquoted_hh_mm_is_a_time_not_a_base_60_number(start, end):
    text = (
        TWO_SITES_YAML.replace("start_local: 18:00", f"start_local: {start:%H:%M}")
        .replace("end_local: 07:00", f"end_local: {end:%H:%M}")
        .replace("energy_mwh: 4}", "energy_mwh: 0.01}")
    )
    window = parse_portfolio(text).asset("ev1").energy_requirements[0]
    assert (window.start_local, window.end_local) == (start, end)


def test_dates_and_plain_numbers_keep_their_yaml_types():
    text = MINIMAL_YAML.replace("energy_mwh: 4", "energy_mwh: 1_000.5e-2\n    soc_min_mwh: .5")
    asset = parse_portfolio(text).asset("b1")
    assert asset.commissioning_date == date(2024, 3, 15)
    assert asset.energy_mwh == pytest.approx(10.005)
    assert asset.soc_min_mwh == 0.5


# --- files -------------------------------------------------------------------------------


def test_read_portfolio_by_suffix_names_the_file(tmp_path):
    yaml_path = tmp_path / "p.yml"
    yaml_path.write_text(MINIMAL_YAML.replace("country: DE", "country: XX"), encoding="utf-8")
    with pytest.raises(ProblemsError) as caught:
        read_portfolio(yaml_path)
    assert caught.value.source == str(yaml_path)
    assert str(yaml_path) in str(caught.value)

    json_path = tmp_path / "p.json"
    data = yaml.load(MINIMAL_YAML, Loader=yaml.SafeLoader)
    json_path.write_text(json.dumps(data, default=str), encoding="utf-8")
    assert read_portfolio(json_path) == parse_portfolio(MINIMAL_YAML)

    with pytest.raises(FileNotFoundError):
        read_portfolio(tmp_path / "missing.yaml")


def test_sample_portfolio_loads(sample_portfolio_path):
    portfolio = read_portfolio(sample_portfolio_path)
    assert len(portfolio.assets) >= 20
    assert {a.kind for a in portfolio.assets} == set(KNOWN_KINDS)
    sites = [portfolio.site_of(a) for a in portfolio.assets]
    assert {s.country for s in sites} >= {"DE", "NL", "BE", "FR", "AT"}
    assert len({s.control_area for s in sites if s.country == "DE"}) >= 2
    assert max(Counter(s.id for s in sites).values()) > 1, "some site hosts several assets"
    # The whole sample resolves to a treatment on a day in the future of every asset.
    assert len(portfolio.treatments(date(2027, 6, 1))) == len(portfolio.assets)


# --- a country added by compliance -------------------------------------------------------


def _testland() -> CountryRules:
    base = de.RULES.latest.model_copy(
        update={
            "country": "XX",
            "version": "1",
            "supersedes": (),
            "bidding_zones": ("XX",),
            "control_areas": ("XX-TSO",),
        }
    )
    return CountryRules(country="XX", name="Testland", versions=(base,))


def test_portfolio_in_a_country_of_a_custom_registry_loads():
    """parse_portfolio(registry=...) must accept the countries of that registry.

    Today `Portfolio._cross_checks` re-runs the cross checks with the default registry, so
    a country that only the given registry knows is rejected after all.
    """
    defaults = default_registry()
    registry = CountryRegistry([*(defaults.get(c) for c in defaults.countries()), _testland()])
    text = (
        MINIMAL_YAML.replace("country: DE", "country: XX")
        .replace("bidding_zone: DE_LU", "bidding_zone: XX")
        .replace("control_area: Amprion", "control_area: XX-TSO")
    )
    assert only(load_problems(text)).field == "country"  # unknown to the default registry
    portfolio = parse_portfolio(text, registry=registry)
    assert isinstance(portfolio, Portfolio)
    asset = portfolio.asset("b1")
    treatment = treatment_for(
        asset, site=portfolio.site_of(asset), on=date(2026, 1, 1), registry=registry
    )
    assert treatment.country == "XX"
