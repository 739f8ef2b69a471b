"""The rule audit's session 4 (2026-12-06): every regulatory fact of the five countries names
a reference but Austria's demand-response baseline, the values the sources contradicted are
corrected as new versions, and what was believed before stays readable."""

from __future__ import annotations

from datetime import date

import pytest
from regulatory_factories import NL_SITE, battery, charge, pv, site, treat, wind

from markets.conformance import rule_set_approval_problems
from regulatory.countries import at, de, nl
from regulatory.countries._common import AUDIT_4_VERSION
from regulatory.countries.revision import next_revision
from regulatory.registry import BUILTIN_COUNTRIES, default_registry
from regulatory.rules import Confidence

SUPPORTED = {"reference_value_eur_per_mwh": 60.0}
AUDIT = date(2026, 12, 6)
BEFORE_AUDIT = date(2026, 12, 5)
AT_SITE = site(id="at1", country="AT", bidding_zone="AT", control_area="APG")
DE_SITE = site(grid_fee_withdrawal_eur_per_mwh=31.0)


def _negative_prices(treatment):
    assert treatment.support is not None, treatment.support_note
    return treatment.support.negative_prices


def test_only_austrias_demand_response_baseline_names_no_reference():
    registry = default_registry()
    missing = sorted(
        fact_id
        for country in BUILTIN_COUNTRIES
        for version in registry.get(country).edition()
        for fact_id, fact in version.facts()
        if not (fact.reference or "").strip()
    )
    assert missing == [
        "AT:regulatory:2022.1-rev1:baselines:bsp_schedule",
        "AT:regulatory:2026.1-rev1:baselines:bsp_schedule",
        "AT:regulatory:2027.1-rev1:baselines:bsp_schedule",
    ]


@pytest.mark.parametrize("country", BUILTIN_COUNTRIES)
def test_each_version_believed_today_was_recorded_by_the_audit_and_approved_by_another(country):
    rules = default_registry().get(country)
    for version in rules.edition():
        assert (version.recorded_at, version.recorded_by) == (
            AUDIT,
            AUDIT_4_VERSION["recorded_by"],
        ), version.version
        assert version.approved_by == AUDIT_4_VERSION["approved_by"]
        assert version.supersedes, version.version
    assert rule_set_approval_problems(rules) == []


@pytest.mark.parametrize("country", BUILTIN_COUNTRIES)
def test_every_uncertain_fact_believed_today_says_when_it_is_reviewed(country):
    for version in default_registry().get(country).edition():
        for fact_id, fact in version.facts():
            if fact.confidence is Confidence.UNCERTAIN:
                assert fact.review_by is not None, fact_id
                assert fact.note, fact_id  # says why it stays uncertain


def test_austria_eag_premium_is_lost_after_six_negative_hours_not_in_every_period():
    treatment = treat(wind(support=SUPPORTED), AT_SITE, date(2025, 6, 1))
    rule = _negative_prices(treatment)
    assert (rule.kind, rule.hours) == ("consecutive_hours", 6.0)
    assert "eag/para-15" in (rule.reference or "")
    assert treatment.support.confidence is Confidence.CONFIRMED  # type: ignore[union-attr]
    assert treatment.rule_set_version == "2022.1-rev1"
    before = at.RULES.in_force(date(2025, 6, 1), known_on=BEFORE_AUDIT)
    assert before.version == "2022.1"
    assert before.support_schemes[0].bands[0].rules[0].rule.kind == "every_period"


def test_netherlands_sde_is_lost_after_six_negative_hours_for_plants_of_half_a_mw_or_more():
    day = date(2025, 6, 1)
    large = _negative_prices(treat(wind(support=SUPPORTED), NL_SITE, day))
    assert (large.kind, large.hours) == ("consecutive_hours", 6.0)
    small = pv(support=SUPPORTED, rated_power_mw=0.3, commissioning_date=date(2020, 4, 1))
    assert _negative_prices(treat(small, NL_SITE, day)).kind == "not_affected"
    old = wind(support=SUPPORTED, commissioning_date=date(2014, 4, 1))
    assert _negative_prices(treat(old, NL_SITE, day)).kind == "not_affected"
    before = nl.RULES.in_force(day, known_on=BEFORE_AUDIT)
    assert [b.rules[0].rule.kind for b in before.support_schemes[0].bands] == ["every_period"]


def test_a_dutch_battery_pays_no_energy_tax_on_withdrawal_from_2022():
    treatment = treat(battery(), NL_SITE, date(2024, 6, 1))
    tax = charge(treatment, "energy tax")
    assert tax.exempt is True
    assert "Belastingplan 2022" in tax.reason
    assert tax.confidence is Confidence.GENERAL
    before = nl.RULES.in_force(date(2024, 6, 1), known_on=BEFORE_AUDIT)
    (energy_tax,) = [c for c in before.charging if c.name.startswith("energy tax")]
    assert energy_tax.exemptions == ()


def test_a_german_battery_pays_the_s19_and_offshore_levies_in_2016_but_not_from_2017():
    old_battery = battery(commissioning_date=date(2015, 6, 1))
    in_2016 = treat(old_battery, DE_SITE, date(2016, 6, 1))
    assert in_2016.rule_set_version == "2016.1-rev2"
    for name in ("§ 19 StromNEV levy", "offshore liability levy"):
        levy = charge(in_2016, name)
        assert (levy.exempt, levy.eur_per_mwh is not None and levy.eur_per_mwh > 0) == (
            False,
            True,
        ), name
        assert "BGH EnVR 24/16" in levy.reason or levy.reason == "charged"
    # The session-3 record of the same day still holds the relief (readable by version).
    session_3 = de.RULES.version("2016.1-rev1")
    (s19,) = [c for c in session_3.charging if c.name == "§ 19 StromNEV levy"]
    assert len(s19.exemptions) == 1
    in_2018 = treat(old_battery, DE_SITE, date(2018, 6, 1))
    kept = charge(in_2018, "§ 19 StromNEV levy")
    assert (kept.exempt, kept.confidence) == (True, Confidence.UNCERTAIN)
    # From 2023 the EnFG relieves the offshore levy (confirmed); the § 19 levy's relief is
    # kept but uncertain, the EnFG does not cover it.
    in_2024 = treat(battery(), DE_SITE, date(2024, 6, 1))
    offshore, s19_2024 = charge(in_2024, "offshore grid levy"), charge(in_2024, "§ 19 StromNEV")
    assert (offshore.exempt, offshore.confidence) == (True, Confidence.CONFIRMED)
    assert (s19_2024.exempt, s19_2024.confidence) == (True, Confidence.UNCERTAIN)
    assert "BGH EnVR 24/16" in s19_2024.reason


def test_the_corrected_values_are_named_in_each_versions_change():
    assert "§ 15(1) EAG" in at.RULES.in_force(date(2025, 6, 1)).change
    nl_change = nl.RULES.in_force(date(2024, 8, 1)).change
    assert "Belastingplan 2022" in nl_change
    assert "RVO" in nl_change
    assert "BGH EnVR 24/16" in de.RULES.in_force(date(2016, 6, 1)).change
    assert "no value corrected" in de.RULES.in_force(date(2024, 6, 1)).change


@pytest.mark.parametrize(
    ("name", "expected"),
    [("2024.1", "2024.1-rev1"), ("2024.1-rev1", "2024.1-rev2"), ("2015.1-rev9", "2015.1-rev10")],
)
def test_next_revision_numbers_corrections_in_order(name, expected):
    assert next_revision(name) == expected
