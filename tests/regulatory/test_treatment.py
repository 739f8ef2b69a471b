"""Treatment of one asset at one site on one day: what the trader and the auditor see."""

from __future__ import annotations

import sys
import types
from datetime import date
from importlib.metadata import EntryPoint

import pytest
from regulatory_factories import (
    NL_SITE,
    balancing,
    battery,
    charge,
    chp,
    ev_fleet,
    flexible_load,
    pv,
    site,
    treat,
    wind,
)

from regulatory import (
    BalancingProduct,
    Confidence,
    CountryRegistry,
    CountryRules,
    RuleSet,
    UnknownCountryError,
    read_portfolio,
)
from regulatory import registry as registry_module
from regulatory.registry import ENTRY_POINT_GROUP, PluginError, default_registry
from regulatory.rules import PoolingScope, ProductRule

DAY = date(2025, 6, 1)
COMMISSIONED = date(2024, 3, 15)
DE_SITE = site(grid_connection_mw=25.0, grid_fee_withdrawal_eur_per_mwh=31.0)
SUPPORTED = {"reference_value_eur_per_mwh": 60.0}
OTHER_SITES = {
    "BE": site(id="be1", country="BE", bidding_zone="BE", control_area="Elia"),
    "FR": site(id="fr1", country="FR", bidding_zone="FR", control_area="RTE"),
    "AT": site(id="at1", country="AT", bidding_zone="AT", control_area="APG"),
}
ALL_SITES = {"DE": DE_SITE, "NL": NL_SITE, **OTHER_SITES}


def big_battery(**overrides):
    """The sample's 10 MW / 20 MWh battery, prequalified from 2024-06-01."""
    certified = date(2024, 6, 1)
    data = {
        "commissioning_date": COMMISSIONED,
        "power_charge_mw": 10.0,
        "power_discharge_mw": 10.0,
        "energy_mwh": 20.0,
        "prequalifications": [
            {"product": "fcr", "mw": 5.0, "certified_on": certified},
            {"product": "afrr_pos", "mw": 10.0, "certified_on": certified},
            {"product": "afrr_neg", "mw": 10.0, "certified_on": certified},
        ],
    }
    return battery(**{**data, **overrides})


# --- one battery, two countries ----------------------------------------------------------


def test_same_battery_in_de_and_nl_is_treated_differently():
    de_t = treat(big_battery(), DE_SITE, DAY)
    nl_t = treat(big_battery(), NL_SITE, DAY)
    assert (de_t.country, de_t.rule_set_version) == ("DE", "2025.2-rev2")
    assert (nl_t.country, nl_t.rule_set_version) == ("NL", "2024.1-rev2")
    # Balancing: pooled per connecting TSO in DE, across the country in NL.
    assert {(b.pooling, b.pool_key) for b in de_t.balancing} == {
        (PoolingScope.CONTROL_AREA, "Amprion")
    }
    assert {(b.pooling, b.pool_key) for b in nl_t.balancing} == {(PoolingScope.COUNTRY, "NL")}
    assert de_t.prequalified_mw(BalancingProduct.FCR) == nl_t.prequalified_mw(BalancingProduct.FCR)
    # Charges: DE waives the site's grid fee (§ 118(6) EnWG); NL charges transport per kW.
    names_de = {c.name for c in de_t.charges}
    names_nl = {c.name for c in nl_t.charges}
    assert names_de.isdisjoint(names_nl)
    grid_fee = charge(de_t, "grid fee")
    assert grid_fee.exempt is True
    assert "§ 118(6) EnWG" in grid_fee.reason
    assert grid_fee.exempt_until == date(2044, 3, 15)
    assert de_t.charging_cost_eur_per_mwh == 0.0
    transport = charge(nl_t, "transport tariff")
    assert (transport.unit, transport.eur_per_mwh, transport.exempt) == ("EUR/kW/year", None, False)


def test_sample_battery_placed_in_two_countries(sample_portfolio_path):
    portfolio = read_portfolio(sample_portfolio_path)
    in_de = portfolio.asset("bat-de-essen-01")
    in_nl = portfolio.asset("bat-nl-rotterdam-01")
    physical = {"id", "site"}
    assert in_de.model_dump(exclude=physical) == in_nl.model_dump(exclude=physical)
    de_t, nl_t = portfolio.treatment(in_de, DAY), portfolio.treatment(in_nl, DAY)
    assert de_t.country != nl_t.country
    assert {b.pooling for b in de_t.balancing} != {b.pooling for b in nl_t.balancing}
    assert charge(de_t, "grid fee").exempt is True
    # The Rotterdam site has an ATR85 contract: its transport tariff is waived too.
    assert charge(nl_t, "transport tariff").exempt is True


def test_de_grid_fee_waiver_expires_20_years_after_commissioning():
    asset = big_battery()
    last_day = treat(asset, DE_SITE, date(2044, 3, 14))
    expired = treat(asset, DE_SITE, date(2044, 3, 15))
    assert charge(last_day, "grid fee").exempt is True
    assert last_day.charging_cost_eur_per_mwh == 0.0
    fee = charge(expired, "grid fee")
    assert (fee.exempt, fee.eur_per_mwh, fee.exempt_until) == (False, 31.0, None)
    assert expired.charging_cost_eur_per_mwh == 31.0


def test_de_battery_commissioned_after_the_deadline_pays_the_site_grid_fee():
    asset = big_battery(commissioning_date=date(2030, 1, 1), prequalifications=[])
    treatment = treat(asset, DE_SITE, date(2030, 6, 1))
    fee = charge(treatment, "grid fee")
    assert (fee.exempt, fee.eur_per_mwh, fee.reason) == (False, 31.0, "charged")
    # Electricity tax and levies stay waived for energy stored and fed back.
    assert all(c.exempt for c in treatment.charges if c is not fee)
    assert treatment.charging_cost_eur_per_mwh == 31.0
    # A site without a recorded tariff: the fee is due, its rate unknown, and it says so.
    unknown = treat(asset, site(grid_connection_mw=25.0), date(2030, 6, 1))
    fee = charge(unknown, "grid fee")
    assert (fee.exempt, fee.eur_per_mwh) == (False, None)
    assert "grid_fee_withdrawal_eur_per_mwh" in fee.reason


def test_de_consumer_pays_grid_fee_tax_and_levies():
    load = flexible_load(commissioning_date=date(2020, 1, 1))
    treatment = treat(load, DE_SITE, DAY)
    assert not any(c.exempt for c in treatment.charges)
    # 2025: site tariff 31 + electricity tax 20.50 + KWKG 2.77 + offshore 8.16 + § 19 15.58.
    assert treatment.charging_cost_eur_per_mwh == pytest.approx(78.01)
    assert treatment.baseline_method == "bsp_schedule"


def test_generators_pay_no_withdrawal_charges():
    for kind_builder in (pv, wind, chp):
        assert treat(kind_builder(), DE_SITE, DAY).charges == ()


# --- balancing eligibility ---------------------------------------------------------------


def test_asset_not_yet_commissioned_is_not_eligible():
    asset = big_battery(
        commissioning_date=date(2026, 1, 1),
        prequalifications=[
            {"product": "fcr", "mw": 5.0},
            {"product": "afrr_pos", "mw": 10.0},
        ],
    )
    before = treat(asset, DE_SITE, date(2025, 12, 31))
    for entry in before.balancing:
        assert (entry.eligible, entry.prequalified_mw) == (False, 0.0)
        assert entry.reason == "not in service on 2025-12-31: commissioned 2026-01-01"
    assert before.prequalified_mw(BalancingProduct.FCR) == 0.0
    on_day = treat(asset, DE_SITE, date(2026, 1, 1))
    assert all(entry.eligible for entry in on_day.balancing)
    assert on_day.prequalified_mw(BalancingProduct.AFRR_POS) == 10.0


def test_prequalification_certified_later_is_not_eligible_yet():
    before = treat(big_battery(), DE_SITE, date(2024, 5, 31))
    fcr = balancing(before, "fcr")
    assert (fcr.eligible, fcr.prequalified_mw) == (False, 0.0)
    assert fcr.reason == "prequalification takes effect on 2024-06-01"
    on_day = treat(big_battery(), DE_SITE, date(2024, 6, 1))
    assert balancing(on_day, "fcr").eligible is True
    assert on_day.prequalified_mw(BalancingProduct.FCR) == 5.0


@pytest.mark.parametrize(("mw", "pool_only"), [(0.5, True), (0.999, True), (1.0, False)])
def test_prequalified_below_the_minimum_offer_is_pool_only(mw, pool_only):
    asset = big_battery(prequalifications=[{"product": "fcr", "mw": mw}])
    entry = balancing(treat(asset, DE_SITE, DAY), "fcr")
    assert entry.eligible is True
    assert entry.prequalified_mw == mw
    assert entry.min_offer_mw == 1.0
    assert entry.pool_only is pool_only
    assert ("only as part of a pool" in entry.reason) is pool_only


def test_standard_profile_metering_excludes_balancing():
    asset = big_battery(metering="standard_profile")
    for entry in treat(asset, DE_SITE, DAY).balancing:
        assert entry.eligible is False
        assert "interval metering" in entry.reason


def test_energy_reservoir_only_for_limited_energy_assets():
    de_battery = treat(big_battery(), DE_SITE, DAY)
    assert balancing(de_battery, "fcr").energy_reservoir_h == 0.25
    plant = chp(prequalifications=[{"product": "afrr_pos", "mw": 2.0}])
    assert balancing(treat(plant, DE_SITE, DAY), "afrr_pos").energy_reservoir_h is None
    fleet = ev_fleet(prequalifications=[{"product": "fcr", "mw": 1.0}])
    assert balancing(treat(fleet, DE_SITE, DAY), "fcr").energy_reservoir_h == 0.25


# --- uncertainty is visible --------------------------------------------------------------


def test_uncertain_facts_show_up_in_the_treatment():
    fcr_only = big_battery(prequalifications=[{"product": "fcr", "mw": 5.0}])
    # DE FCR and storage charges are not [U], except the storage relief of the § 19 levy,
    # which the EnFG does not cover (rule audit session 4).
    assert [u.split(":")[0] for u in treat(fcr_only, DE_SITE, DAY).uncertain] == [
        "charge § 19 StromNEV levy"
    ]

    with_afrr = treat(big_battery(), DE_SITE, DAY)
    assert [u.split(":")[0] for u in with_afrr.uncertain] == [
        "balancing afrr_pos",
        "balancing afrr_neg",
        "charge § 19 StromNEV levy",
    ]
    assert balancing(with_afrr, "afrr_pos").confidence is Confidence.UNCERTAIN

    later = treat(fcr_only, DE_SITE, date(2025, 12, 1))
    assert any(u.startswith("rule set 2025.3-rev2 start date 2025-12-01") for u in later.uncertain)

    nl = treat(fcr_only, NL_SITE, DAY)
    assert any(u.startswith("balancing fcr") for u in nl.uncertain)
    # The energy tax on a battery's withdrawal was uncertain until the audit's session 4
    # found the storage exemption of the Belastingplan 2022 (general knowledge, sourced).
    assert not any(u.startswith("charge energy tax") for u in nl.uncertain)

    load = treat(flexible_load(), DE_SITE, DAY)
    assert any(u.startswith("baseline bsp_schedule") for u in load.uncertain)


# --- support schemes ---------------------------------------------------------------------


def test_kwkg_chp_bonus_is_lost_at_prices_at_or_below_zero():
    treatment = treat(chp(support=SUPPORTED), DE_SITE, DAY)
    support = treatment.support
    assert support is not None
    assert support.scheme == "KWKG CHP bonus"
    assert support.reference_value_eur_per_mwh == 60.0
    assert support.negative_prices.kind == "non_positive_period"
    assert "<= 0" in support.summary


@pytest.mark.parametrize("country", sorted(ALL_SITES))
@pytest.mark.parametrize("builder", [pv, wind, chp], ids=["pv", "wind", "chp"])
def test_plant_without_a_support_contract_has_no_support(country, builder):
    treatment = treat(builder(), ALL_SITES[country], DAY)
    assert (treatment.support, treatment.support_note) == (None, None)


@pytest.mark.parametrize("country", ["NL", "FR"])
def test_renewable_premium_outside_de_is_marked_uncertain(country):
    treatment = treat(wind(support=SUPPORTED), ALL_SITES[country], DAY)
    assert treatment.support is not None
    assert treatment.support.confidence is Confidence.UNCERTAIN
    assert any(u.startswith("support ") for u in treatment.uncertain)


def test_support_contract_without_a_scheme_gets_a_note():
    treatment = treat(pv(support=SUPPORTED), OTHER_SITES["BE"], DAY)
    assert treatment.support is None
    assert "no support scheme for pv" in treatment.support_note
    treatment = treat(chp(support=SUPPORTED), NL_SITE, DAY)
    assert treatment.support is None
    assert "no support scheme for chp" in treatment.support_note


# --- a country added by compliance -------------------------------------------------------


def swiss_rules() -> CountryRules:
    """The plugin example of docs/regulatory-rules.md."""
    return CountryRules(
        country="CH",
        name="Switzerland",
        versions=(
            RuleSet(
                country="CH",
                version="2026.1",
                valid_from=date(2026, 1, 1),
                change="base rule set",
                timezone="Europe/Zurich",
                bidding_zones=("CH",),
                control_areas=("Swissgrid",),
                products=(
                    ProductRule(
                        product=BalancingProduct.FCR,
                        min_offer_mw=1.0,
                        pooling=PoolingScope.COUNTRY,
                        energy_reservoir_h=0.25,
                        source="Swissgrid ...",
                        confidence=Confidence.GENERAL,
                    ),
                ),
            ),
        ),
    )


CH_SITE = site(id="ch1", country="CH", bidding_zone="CH", control_area="Swissgrid")


def test_country_of_a_custom_registry_resolves():
    registry = CountryRegistry([swiss_rules()])
    treatment = treat(big_battery(), CH_SITE, date(2026, 3, 1), registry=registry)
    assert (treatment.country, treatment.rule_set_version) == ("CH", "2026.1")
    fcr = balancing(treatment, "fcr")
    assert (fcr.eligible, fcr.pooling, fcr.pool_key) == (True, PoolingScope.COUNTRY, "CH")
    afrr = balancing(treatment, "afrr_pos")
    assert afrr.eligible is False
    assert afrr.reason == "CH rule set 2026.1 has no afrr_pos product"
    assert treatment.charges == ()


def test_country_unknown_to_the_registry_names_the_known_ones():
    with pytest.raises(UnknownCountryError) as caught:
        treat(big_battery(), CH_SITE, date(2026, 3, 1))
    assert "'CH'" in str(caught.value)
    assert "AT, BE, DE, FR, NL" in str(caught.value)


def test_two_different_rule_sets_for_one_country_are_refused():
    rules = swiss_rules()
    other = rules.amend(version="2027.1", valid_from=date(2027, 1, 1), change="later")
    assert CountryRegistry([rules, rules]).countries() == ("CH",)
    with pytest.raises(PluginError, match="CH"):
        CountryRegistry([rules, other])


@pytest.fixture
def plugin_module(monkeypatch):
    """An importable module `vpp_rules_test` holding CH rules and a few broken objects."""
    module = types.ModuleType("vpp_rules_test")
    module.RULES = swiss_rules()
    module.NOT_RULES = {"country": "CH"}
    monkeypatch.setitem(sys.modules, "vpp_rules_test", module)
    return module


def _with_entry_points(monkeypatch, *entries):
    points = [
        EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP) for name, value in entries
    ]
    monkeypatch.setattr(
        registry_module,
        "entry_points",
        lambda group: [p for p in points if p.group == group],
    )


def test_installed_plugin_joins_the_default_registry(monkeypatch, plugin_module):
    _with_entry_points(monkeypatch, ("CH", "vpp_rules_test:RULES"))
    registry = default_registry.__wrapped__()
    assert "CH" in registry
    assert {"DE", "NL", "BE", "FR", "AT"} <= set(registry.countries())
    treatment = treat(big_battery(), CH_SITE, date(2026, 3, 1), registry=registry)
    assert treatment.country == "CH"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (("CH", "vpp_rules_test:NOT_RULES"), "not CountryRules"),
        (("LI", "vpp_rules_test:RULES"), "declares country CH"),
        (("CH", "vpp_rules_missing:RULES"), "regulatory plugin CH"),
    ],
)
def test_broken_plugin_is_named(monkeypatch, plugin_module, entry, message):
    _with_entry_points(monkeypatch, entry)
    with pytest.raises(PluginError, match=message):
        default_registry.__wrapped__()
