"""Regulatory rule sets are bitemporal too: a version recorded later (the 2026 German
levies, the Austrian ElWG) leaves what was believed before answerable, and every
uncertain fact carries the day by which it is reviewed."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from regulatory.countries import at, de
from regulatory.registry import BUILTIN_COUNTRIES, default_registry
from regulatory.rules import Confidence, CountryRules, NoRuleSetError, RuleSet

AUDIT = date(2026, 12, 6)
BEFORE_AUDIT = date(2026, 12, 5)
FEBRUARY_2026 = date(2026, 2, 1)


def _levies(rule_set: RuleSet) -> dict[str, float | None]:
    return {c.name: c.eur_per_mwh for c in rule_set.charging if not c.site_tariff}


def test_germany_2026_levies_as_known_today_and_as_believed_before_the_audit():
    today = de.RULES.in_force(FEBRUARY_2026)
    assert (today.version, today.recorded_at) == ("2026.1-rev2", AUDIT)
    assert _levies(today)["KWKG levy"] == pytest.approx(4.46)
    assert _levies(today)["offshore grid levy"] == pytest.approx(9.41)
    name = "Aufschlag für besondere Netznutzung (formerly § 19 StromNEV levy)"
    assert _levies(today)[name] == pytest.approx(15.59)
    before = de.RULES.in_force(FEBRUARY_2026, known_on=BEFORE_AUDIT)
    assert before.version == "2025.3"
    assert _levies(before)["KWKG levy"] == pytest.approx(2.77)


def test_the_2026_levies_carry_a_reference_and_the_uncertain_one_a_review_date():
    assert len(de.LEVIES_2026) == 3
    for levy in de.LEVIES_2026:
        assert (levy.reference or "").startswith("https://")
        assert levy.retrieved_on == AUDIT
    unsure = [levy for levy in de.LEVIES_2026 if levy.confidence is Confidence.UNCERTAIN]
    assert [levy.review_by is not None for levy in unsure] == [True]


def test_austria_held_the_elwg_a_draft_until_the_audit():
    assert at.RULES.in_force(FEBRUARY_2026, known_on=BEFORE_AUDIT).version == "2022.1"
    today = at.RULES.in_force(FEBRUARY_2026)
    assert today.version == "2026.1-rev1"
    (exemption,) = today.charging[0].exemptions
    assert exemption.duration_years == 20
    assert exemption.grid_contracts == ("system_serving_storage",)
    assert exemption.review_by is not None
    assert at.RULES.in_force(date(2027, 1, 1)).version == "2027.1-rev1"


def test_every_uncertain_fact_believed_today_has_a_review_date():
    registry = default_registry()
    for country in BUILTIN_COUNTRIES:
        for version in registry.get(country).edition():
            if version.valid_from_confidence is Confidence.UNCERTAIN:
                assert version.review_by, f"{version.id}: uncertain start without review date"
            for fact_id, fact in version.facts():
                if fact.confidence is Confidence.UNCERTAIN:
                    assert fact.review_by, f"{fact_id}: uncertain without review_by"


def test_fact_ids_are_unique_within_a_version():
    for version in de.RULES.versions:
        ids = [fact_id for fact_id, _ in version.facts()]
        assert len(ids) == len(set(ids))


def _rules(*versions: RuleSet) -> CountryRules:
    return CountryRules(country="XX", name="Testland", versions=versions)


def _version(name: str, start: date, **fields: object) -> RuleSet:
    return RuleSet(
        country="XX",
        version=name,
        valid_from=start,
        change="test",
        timezone="Europe/Berlin",
        bidding_zones=("XX",),
        control_areas=("XX",),
        **fields,
    )


def test_a_correcting_version_supersedes_the_one_it_names_from_its_record_day():
    first = _version("v1", date(2024, 1, 1))
    fixed = _version("v1b", date(2024, 1, 1), recorded_at=AUDIT, supersedes=("v1",))
    rules = _rules(first, fixed)
    assert rules.version("v1").superseded_at == AUDIT
    assert rules.in_force(date(2025, 1, 1)).version == "v1b"
    assert rules.in_force(date(2025, 1, 1), known_on=BEFORE_AUDIT).version == "v1"
    with pytest.raises(NoRuleSetError, match="no XX rule set was recorded by 2020-01-01"):
        rules.in_force(date(2025, 1, 1), known_on=date(2020, 1, 1))


def test_two_versions_believed_at_once_for_the_same_day_are_refused():
    first = _version("v1", date(2024, 1, 1))
    twin = _version("v1b", date(2024, 1, 1), recorded_at=AUDIT)
    with pytest.raises(ValidationError, match="must name the version it corrects"):
        _rules(first, twin)


def test_a_correction_naming_no_version_of_the_history_is_refused():
    with pytest.raises(ValidationError, match="supersedes 'v9', which is not a version"):
        _rules(_version("v1", date(2024, 1, 1), recorded_at=AUDIT, supersedes=("v9",)))


def test_a_version_approved_by_its_author_is_refused():
    with pytest.raises(ValidationError, match="another person approves"):
        _version("v1", date(2024, 1, 1), recorded_by="Ann", approved_by="ann")


def test_belgian_baselines_cite_elia_and_the_versions_before_stay_readable():
    from markets.conformance import rule_set_approval_problems
    from regulatory.countries import be

    today = be.RULES.in_force(date(2024, 6, 1))
    assert today.version == "2024.1-rev2"
    (baseline,) = today.baselines
    assert "elia.be" in (baseline.reference or "")
    assert baseline.retrieved_on == AUDIT
    before = be.RULES.in_force(date(2024, 6, 1), known_on=BEFORE_AUDIT)
    assert (before.version, before.baselines[0].reference) == ("2024.1", None)
    assert rule_set_approval_problems(be.RULES) == []
