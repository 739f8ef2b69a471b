"""Germany's regulatory rule sets since 2015: a battery's and a flexible load's treatment
resolves on every day, the levies are the published rates of each year, and the versions
are knowledge of 2026-12-06 with their author and approver."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regulatory_factories import battery, charge, flexible_load, site, treat

from regulatory.countries import de
from regulatory.countries.de_history import HISTORY_VERSION, VERSIONS
from regulatory.rules import Confidence


@settings(max_examples=60, deadline=None)
@given(day=st.dates(min_value=date(2015, 1, 1), max_value=date(2026, 12, 31)))
def test_a_battery_and_a_load_are_treated_on_every_day_since_2015(day: date) -> None:
    old_battery = battery(commissioning_date=date(2014, 6, 1))
    treated = treat(old_battery, site(grid_fee_withdrawal_eur_per_mwh=31.0), day)
    assert treated.rule_set_valid_from <= day
    grid_fee = charge(treated, "grid fee")
    assert grid_fee.exempt  # § 118(6) EnWG: storage commissioned by 2026-08-04
    load = treat(flexible_load(), site(grid_fee_withdrawal_eur_per_mwh=31.0), day)
    assert load.charging_cost_eur_per_mwh > 31.0  # grid fee + tax + levies, nothing exempt


@pytest.mark.parametrize(
    ("day", "version", "eeg_eur_mwh"),
    [
        (date(2015, 1, 1), "2015.1", 61.7),
        (date(2016, 6, 1), "2016.1", 63.54),
        (date(2017, 12, 31), "2017.1", 68.8),
        (date(2018, 7, 11), "2018.1", 67.92),
        (date(2018, 7, 12), "2018.2", 67.92),
        (date(2018, 10, 1), "2018.3", 67.92),
        (date(2019, 5, 1), "2019.1", 64.05),
        (date(2020, 5, 1), "2020.1", 67.56),
        (date(2021, 12, 31), "2021.1", 65.0),
    ],
)
def test_each_year_charges_the_published_eeg_levy(
    day: date, version: str, eeg_eur_mwh: float
) -> None:
    """netztransparenz.de: 6.17, 6.354, 6.88, 6.792, 6.405, 6.756, 6.5 ct/kWh."""
    load = treat(flexible_load(), site(grid_fee_withdrawal_eur_per_mwh=0.0), day)
    assert load.rule_set_version == f"{version}-rev2"  # re-recorded twice with sources (issue 17)
    eeg = charge(load, "EEG levy")
    assert eeg.eur_per_mwh == pytest.approx(eeg_eur_mwh)
    assert not eeg.exempt
    stored = charge(treat(battery(commissioning_date=date(2014, 6, 1)), site(), day), "EEG levy")
    assert stored.exempt  # § 60(3) EEG 2014 / § 61k EEG 2017 / § 61l EEG 2021


def test_a_2018_load_pays_the_sum_of_the_levies_of_2018() -> None:
    """Grid fee 31 + electricity tax 20.50 + EEG 67.92 + KWKG 3.45 + offshore 0.37 +
    § 19 StromNEV 3.70 EUR/MWh (hand-added from the published ct/kWh)."""
    load = treat(flexible_load(), site(grid_fee_withdrawal_eur_per_mwh=31.0), date(2018, 6, 1))
    assert load.charging_cost_eur_per_mwh == pytest.approx(31.0 + 20.5 + 67.92 + 3.45 + 0.37 + 3.7)


def test_the_zone_of_each_version_and_the_afrr_minimum_offer() -> None:
    rules = de.RULES
    assert rules.in_force(date(2018, 9, 30)).bidding_zones == ("DE_AT_LU", "DE_LU")
    assert rules.in_force(date(2018, 10, 1)).bidding_zones == ("DE_LU",)
    assert rules.in_force(date(2018, 7, 11)).products[1].min_offer_mw == 5.0
    assert rules.in_force(date(2018, 7, 12)).products[1].min_offer_mw == 1.0
    assert rules.in_force(date(2022, 1, 1)).version == "2022.1-rev2"


def test_versions_carry_author_approver_and_sources() -> None:
    assert [v.version for v in de.RULES.versions[: len(VERSIONS)]] == [v.version for v in VERSIONS]
    for version in VERSIONS:
        assert version.recorded_by == HISTORY_VERSION["recorded_by"]
        assert version.approved_by == HISTORY_VERSION["approved_by"]
        for fact_id, fact in version.facts():
            assert fact.source.strip(), fact_id
            if fact.confidence is Confidence.UNCERTAIN:
                assert fact.review_by is not None, fact_id
    # Known on the day before they were recorded, the versions of 2015-2021 did not exist.
    assert de.RULES.in_force(date(2022, 1, 1), known_on=date(2026, 12, 5)).version == "2022.1"
    with pytest.raises(LookupError, match="valid from 2022-01-01"):
        de.RULES.in_force(date(2018, 6, 1), known_on=date(2026, 12, 5))
