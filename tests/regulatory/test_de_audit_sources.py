"""Germany's rule sets re-recorded with sources (rule audit of 2026-12-06, session 3): every
version has a correcting version naming the pages read, the three values the sources
contradicted are corrected, and what was believed before stays answerable."""

from __future__ import annotations

from datetime import date

import pytest
from regulatory_factories import battery, charge, chp, pv, site, treat, wind

from markets.conformance import rule_set_approval_problems
from regulatory.countries import de
from regulatory.countries._common import AUDIT_3_VERSION, AUDIT_4_VERSION
from regulatory.countries.de_audit import REVISION
from regulatory.rules import Confidence

SUPPORTED = {"reference_value_eur_per_mwh": 60.0}
AUDIT = date(2026, 12, 6)
BEFORE_AUDIT = date(2026, 12, 5)


def _rule(treatment):
    assert treatment.support is not None, treatment.support_note
    return treatment.support.negative_prices


def test_every_german_version_believed_today_is_a_re_recording_naming_its_author():
    today = de.RULES.edition()
    assert today, "no German version believed today"
    for version in today:
        # Session 4 re-recorded session 3's re-recordings; both stay in the history.
        assert version.version.endswith("-rev2"), version.version
        session_3 = version.version.removesuffix("-rev2") + REVISION
        assert version.supersedes == (session_3,)
        assert version.recorded_by == AUDIT_4_VERSION["recorded_by"]
        assert version.approved_by == AUDIT_4_VERSION["approved_by"]
        earlier = de.RULES.version(session_3)
        assert earlier.supersedes == (session_3.removesuffix(REVISION),)
        assert earlier.recorded_by == AUDIT_3_VERSION["recorded_by"]
        assert earlier.approved_by == AUDIT_3_VERSION["approved_by"]
    assert rule_set_approval_problems(de.RULES) == []


def test_the_re_recorded_facts_name_a_reference_a_reviewer_can_open():
    latest = de.RULES.in_force(date(2026, 6, 1))
    by_id = dict(latest.facts())
    base = latest.id
    for what in (
        ":charging:electricity tax (Stromsteuer)",
        ":charging:KWKG levy:exemptions[0]",
        ":charging:grid fee on withdrawal (Netzentgelt):exemptions[0]",
        ":products:fcr",
        ":support_schemes:KWKG CHP bonus:bands[1]:rules[0]",
    ):
        fact = by_id[base + what]
        assert (fact.reference or "").startswith("http"), what
        assert fact.retrieved_on == AUDIT, what
        if fact.confidence is Confidence.UNCERTAIN:
            assert fact.review_by is not None, what


def test_the_2022_levies_cite_the_tso_tables_with_the_published_rates():
    rule_set = de.RULES.in_force(date(2022, 3, 1))
    levies = {c.name: c for c in rule_set.charging if not c.site_tariff}
    assert levies["EEG levy"].eur_per_mwh == pytest.approx(37.23)
    assert "netztransparenz.de/EEG/EEG-Umlagen-Uebersicht" in (levies["EEG levy"].reference or "")
    assert levies["KWKG levy"].eur_per_mwh == pytest.approx(3.78)
    assert "KWKG-Umlage" in (levies["KWKG levy"].reference or "")
    assert levies["offshore grid levy"].eur_per_mwh == pytest.approx(4.19)
    assert levies["§ 19 StromNEV levy"].eur_per_mwh == pytest.approx(4.37)
    assert levies["§ 19 StromNEV levy"].confidence is Confidence.CONFIRMED


def test_storage_commissioned_before_august_2011_pays_the_grid_fee():
    """§ 118(6) EnWG waives the fee for storage commissioned from 2011-08-04 only."""
    grid = site(grid_fee_withdrawal_eur_per_mwh=31.0)
    old = treat(battery(commissioning_date=date(2010, 6, 1)), grid, date(2020, 5, 1))
    assert charge(old, "grid fee").exempt is False
    new = treat(battery(commissioning_date=date(2011, 8, 4)), grid, date(2020, 5, 1))
    assert charge(new, "grid fee").exempt is True
    # What was believed before the audit: no start to the waiver.
    before = de.RULES.in_force(date(2023, 5, 1), known_on=BEFORE_AUDIT)
    (waiver,) = before.charging[0].exemptions
    assert waiver.commissioned_from is None


@pytest.mark.parametrize(
    ("commissioned", "day", "hours"),
    [(date(2018, 5, 1), date(2019, 6, 1), 6), (date(2021, 6, 1), date(2022, 6, 1), 4)],
)
def test_eeg_plants_below_500_kw_commissioned_2016_to_2022_keep_their_premium(
    commissioned, day, hours
):
    small = pv(rated_power_mw=0.3, commissioning_date=commissioned, support=SUPPORTED)
    assert _rule(treat(small, site(), day)).kind == "not_affected"
    large = pv(rated_power_mw=0.5, commissioning_date=commissioned, support=SUPPORTED)
    rule = _rule(treat(large, site(), day))
    assert (rule.kind, rule.hours) == ("consecutive_hours", hours)
    # 2023: the same small plant still keeps its premium under its EEG (§ 100 EEG 2023).
    assert _rule(treat(small, site(), date(2023, 6, 1))).kind == "not_affected"


def test_a_wind_farm_of_6_mw_commissioned_in_2018_is_still_affected():
    farm = wind(rated_power_mw=6.0, commissioning_date=date(2018, 1, 1), support=SUPPORTED)
    rule = _rule(treat(farm, site(), date(2019, 6, 1)))
    assert (rule.kind, rule.hours) == ("consecutive_hours", 6)


def test_kwkg_2016_withholds_the_bonus_at_zero_prices_too():
    plant = chp(commissioning_date=date(2017, 3, 1), support=SUPPORTED)
    rule = _rule(treat(plant, site(), date(2019, 6, 1)))
    assert rule.kind == "non_positive_period"
    assert rule.confidence is Confidence.CONFIRMED
    assert "netztransparenz" in (rule.reference or "")
    # The version it corrects said: only negative prices, uncertain.
    (old,) = [v for v in de.RULES.versions if v.version == "2019.1"]
    (kwkg,) = [s for s in old.support_schemes if s.name == "KWKG CHP bonus"]
    assert kwkg.bands[0].rules[0].rule.kind == "every_period"
    assert old.superseded_at == AUDIT


def test_the_legacy_versions_are_still_answerable_as_known_before_the_audit():
    before = de.RULES.in_force(date(2024, 6, 1), known_on=BEFORE_AUDIT)
    assert before.version == "2024.1"
    assert before.superseded_at == AUDIT
    kwkg = next(c for c in before.charging if c.name == "KWKG levy")
    assert kwkg.reference is None
