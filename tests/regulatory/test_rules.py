"""Rule sets by country and date: a change takes effect on its day, never before."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from regulatory_factories import NL_SITE, battery, charge, chp, flexible_load, pv, site, treat, wind

from regulatory import CountryRules, NoRuleSetError, RuleSet
from regulatory.countries import at, be, de, fr, nl

ONE_DAY = timedelta(days=1)
SUPPORTED = {"reference_value_eur_per_mwh": 60.0}


def rule_set(valid_from: date, version: str = "v0", country: str = "XX") -> RuleSet:
    return RuleSet(
        country=country,
        version=version,
        valid_from=valid_from,
        change="base rule set",
        timezone="Europe/Berlin",
        bidding_zones=(country,),
        control_areas=(f"{country}-TSO",),
    )


def negative_price_rule(treatment):
    assert treatment.support is not None, treatment.support_note
    return treatment.support.negative_prices


# --- the history model -------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    starts=st.lists(
        st.dates(min_value=date(2000, 1, 2), max_value=date(2040, 12, 31)),
        min_size=1,
        max_size=8,
        unique=True,
    ).map(sorted),
    day=st.dates(min_value=date(1999, 1, 1), max_value=date(2041, 12, 31)),
)
def test_in_force_is_the_latest_version_started_on_or_before_the_day(starts, day):
    rules = CountryRules(country="XX", name="Testland", versions=(rule_set(starts[0]),))
    for number, start in enumerate(starts[1:], start=1):
        rules = rules.amend(version=f"v{number}", valid_from=start, change=f"change {number}")

    started = [n for n, start in enumerate(starts) if start <= day]
    if not started:
        with pytest.raises(NoRuleSetError) as caught:
            rules.in_force(day)
        assert starts[0].isoformat() in str(caught.value)
        assert day.isoformat() in str(caught.value)
    else:
        assert rules.in_force(day).version == f"v{started[-1]}"
    # Each version takes effect on its first day, and not the day before.
    for number, start in enumerate(starts):
        assert rules.in_force(start).version == f"v{number}"
        if number:
            assert rules.in_force(start - ONE_DAY).version == f"v{number - 1}"
    with pytest.raises(NoRuleSetError):
        rules.in_force(starts[0] - ONE_DAY)


def test_no_rule_set_error_names_the_earliest_version_and_date():
    with pytest.raises(NoRuleSetError) as caught:
        de.RULES.in_force(date(2014, 12, 31))
    assert str(caught.value) == (
        "no DE rule set is in force on 2014-12-31: the earliest, version 2015.1-rev2, "
        "is valid from 2015-01-01"
    )


def test_amend_appends_and_leaves_the_history_unedited():
    before = [v.model_dump() for v in de.RULES.versions]
    amended = de.RULES.amend(
        version="2099.1",
        valid_from=date(2099, 1, 1),
        change="test: a fifth control area",
        control_areas=(*de.CONTROL_AREAS, "New TSO"),
    )
    assert [v.model_dump() for v in de.RULES.versions] == before, "the original is untouched"
    assert [v.model_dump() for v in amended.versions[:-1]] == before, "history is not edited"
    new = amended.latest
    assert (new.version, new.valid_from) == ("2099.1", date(2099, 1, 1))
    assert "New TSO" in new.control_areas
    # Everything not named in the amendment is carried over from the previous version.
    assert new.products == de.RULES.latest.products
    assert new.charging == de.RULES.latest.charging
    assert amended.in_force(date(2098, 12, 31)) == de.RULES.latest
    assert de.RULES.latest.version != "2099.1"


@pytest.mark.parametrize("offset_days", [0, -1, -400])
def test_amend_rejects_a_version_not_after_the_latest(offset_days):
    rules = CountryRules(country="XX", name="Testland", versions=(rule_set(date(2024, 1, 1)),))
    with pytest.raises(ValidationError, match="must be after"):
        rules.amend(version="v1", valid_from=date(2024, 1, 1) + timedelta(offset_days), change="x")


def test_versions_out_of_date_order_are_rejected():
    with pytest.raises(ValidationError, match="must be after"):
        CountryRules(
            country="XX",
            name="Testland",
            versions=(rule_set(date(2024, 1, 1), "a"), rule_set(date(2023, 1, 1), "b")),
        )


def test_a_correction_recorded_the_same_day_may_fill_in_the_past():
    first, second = rule_set(date(2024, 1, 1), "a"), rule_set(date(2025, 1, 1), "b")
    fixed = rule_set(date(2024, 1, 1), "a-rev1").model_copy(update={"supersedes": ("a",)})
    rules = CountryRules(country="XX", name="Testland", versions=(first, second, fixed))
    assert rules.in_force(date(2024, 6, 1)).version == "a-rev1"
    assert rules.in_force(date(2025, 6, 1)).version == "b"
    unnamed = rule_set(date(2024, 6, 1), "c")  # fills in the past but corrects nothing
    with pytest.raises(ValidationError, match="a correction naming the version it supersedes"):
        CountryRules(country="XX", name="Testland", versions=(first, second, unnamed))


def test_duplicate_version_names_are_rejected():
    rules = CountryRules(country="XX", name="Testland", versions=(rule_set(date(2024, 1, 1)),))
    with pytest.raises(ValidationError, match="appears twice"):
        rules.amend(version="v0", valid_from=date(2025, 1, 1), change="same name again")


def test_a_version_of_another_country_is_rejected():
    with pytest.raises(ValidationError, match="is for YY"):
        CountryRules(
            country="XX", name="Testland", versions=(rule_set(date(2024, 1, 1), country="YY"),)
        )


@pytest.mark.parametrize("module", [de, nl, be, fr, at], ids=lambda m: m.RULES.country)
def test_shipped_histories_start_in_2022_and_name_each_version_once(module):
    rules = module.RULES
    # Germany's history reaches back to 2015 (issue 15: backtests of older German years).
    first = date(2015, 1, 1) if rules.country == "DE" else date(2022, 1, 1)
    assert min(v.valid_from for v in rules.versions) == first
    assert len({v.version for v in rules.versions}) == len(rules.versions)
    assert rules.in_force(first) == rules.edition()[0]


# --- real changes: the day before and the day itself -------------------------------------


def test_nl_atr85_exemption_from_2024_07_16():
    atr85 = {**NL_SITE, "grid_contract": "atr85"}
    asset = battery(commissioning_date=date(2023, 5, 1))
    before = treat(asset, atr85, date(2024, 7, 15))
    on_day = treat(asset, atr85, date(2024, 7, 16))
    assert (before.rule_set_version, on_day.rule_set_version) == ("2022.1-rev1", "2024.1-rev2")
    assert on_day.rule_set_valid_from == date(2024, 7, 16)
    assert charge(before, "transport tariff").exempt is False
    tariff = charge(on_day, "transport tariff")
    assert tariff.exempt is True
    assert "ATR85" in tariff.reason
    # Without the contract, the new rule set changes nothing for the site.
    assert charge(treat(asset, NL_SITE, date(2024, 7, 16)), "transport tariff").exempt is False


def test_de_solarspitzengesetz_from_2025_02_25():
    plant = pv(rated_power_mw=5.0, commissioning_date=date(2025, 2, 25), support=SUPPORTED)
    before = treat(plant, site(), date(2025, 2, 24))
    on_day = treat(plant, site(), date(2025, 2, 25))
    assert (before.rule_set_version, on_day.rule_set_version) == ("2024.1-rev2", "2025.1-rev2")
    assert negative_price_rule(before).kind == "consecutive_hours"
    assert negative_price_rule(on_day).kind == "every_period"
    # A plant commissioned the day before the law keeps the EEG 2023 rule (3 h in 2025).
    older = pv(rated_power_mw=5.0, commissioning_date=date(2025, 2, 24), support=SUPPORTED)
    rule = negative_price_rule(treat(older, site(), date(2025, 6, 1)))
    assert (rule.kind, rule.hours) == ("consecutive_hours", 3)


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (date(2023, 12, 31), 4),
        (date(2024, 1, 1), 3),
        (date(2025, 12, 31), 3),
        (date(2026, 1, 1), 2),
        (date(2026, 12, 31), 2),
        (date(2027, 1, 1), 1),
    ],
)
def test_de_eeg_2023_band_tightens_by_delivery_year(day, hours):
    plant = pv(rated_power_mw=0.4, commissioning_date=date(2023, 6, 1), support=SUPPORTED)
    rule = negative_price_rule(treat(plant, site(), day))
    assert (rule.kind, rule.hours) == ("consecutive_hours", hours)


@pytest.mark.parametrize(
    ("commissioned", "rating", "expected"),
    [
        (date(2015, 12, 31), 5.0, ("not_affected", None)),
        (date(2016, 1, 1), 5.0, ("consecutive_hours", 6)),
        (date(2020, 12, 31), 5.0, ("consecutive_hours", 6)),
        (date(2021, 1, 1), 5.0, ("consecutive_hours", 4)),
        (date(2023, 1, 1), 0.39, ("not_affected", None)),
        (date(2024, 6, 1), 5.0, ("consecutive_hours", 3)),
    ],
)
def test_de_eeg_band_follows_commissioning_date_and_rating(commissioned, rating, expected):
    plant = wind(rated_power_mw=rating, commissioning_date=commissioned, support=SUPPORTED)
    rule = negative_price_rule(treat(plant, site(), date(2025, 1, 15)))
    assert (rule.kind, rule.hours) == expected


def test_de_kwkg_2025_ends_the_small_plant_exemption_for_new_plants():
    small_new = chp(
        power_max_mw=0.05,
        power_min_stable_mw=0.0,
        commissioning_date=date(2025, 4, 1),
        support=SUPPORTED,
    )
    assert negative_price_rule(treat(small_new, site(), date(2025, 3, 31))).kind == "not_affected"
    on_day = treat(small_new, site(), date(2025, 4, 1))
    assert on_day.rule_set_version == "2025.2-rev2"
    assert negative_price_rule(on_day).kind == "non_positive_period"
    small_old = {**small_new, "commissioning_date": date(2024, 1, 1)}
    assert negative_price_rule(treat(small_old, site(), date(2025, 6, 1))).kind == "not_affected"


def test_de_storage_waiver_extension_applies_from_its_assumed_start():
    """2025.3 (start date uncertain) extends § 118(6) EnWG to storage built by 2029-08-04."""
    asset = battery(commissioning_date=date(2027, 6, 1))
    grid = site(grid_fee_withdrawal_eur_per_mwh=31.0)
    before = treat(asset, grid, date(2025, 11, 30))
    on_day = treat(asset, grid, date(2025, 12, 1))
    assert charge(before, "grid fee").exempt is False
    assert before.charging_cost_eur_per_mwh == 31.0
    assert charge(on_day, "grid fee").exempt is True
    assert charge(on_day, "grid fee").exempt_until == date(2047, 6, 1)
    assert on_day.charging_cost_eur_per_mwh == 0.0
    assert any(u.startswith("rule set 2025.3-rev2 start date") for u in on_day.uncertain)
    assert not any(u.startswith("rule set") for u in before.uncertain)


def test_de_eeg_levy_ends_on_2022_07_01():
    load = flexible_load(commissioning_date=date(2020, 1, 1))
    grid = site(grid_fee_withdrawal_eur_per_mwh=30.0)
    before = treat(load, grid, date(2022, 6, 30))
    on_day = treat(load, grid, date(2022, 7, 1))
    assert charge(before, "EEG levy").eur_per_mwh == 37.23
    assert not any(c.name == "EEG levy" for c in on_day.charges)
    assert before.charging_cost_eur_per_mwh - on_day.charging_cost_eur_per_mwh == pytest.approx(
        37.23
    )


def test_fr_turpe_7_from_2025_08_01():
    grid = site(
        id="fr1",
        country="FR",
        bidding_zone="FR",
        control_area="RTE",
        grid_fee_withdrawal_eur_per_mwh=12.5,
    )
    asset = battery(commissioning_date=date(2024, 1, 1))
    assert charge(treat(asset, grid, date(2025, 7, 31)), "TURPE").name.startswith("TURPE 6")
    assert charge(treat(asset, grid, date(2025, 8, 1)), "TURPE").name.startswith("TURPE 7")


@pytest.mark.parametrize(
    ("grid", "day"),
    [(site(), date(2014, 12, 31)), (NL_SITE, date(2021, 6, 1))],
    ids=["DE", "NL"],
)
def test_treatment_before_the_first_rule_set_is_an_error(grid, day):
    with pytest.raises(NoRuleSetError, match=r"valid from 20(15|22)-01-01"):
        treat(battery(commissioning_date=date(2020, 1, 1)), grid, day)
