"""The fourth rule-audit session of 2026-12-06 (issue 17): market records sourced.

Each test reads a record as a compliance officer would (`rules_on` for a delivery day, as
believed today and as believed the day before the audit) and checks what the source read
says, where the record points to it, and that the legacy record stays readable.
"""

from __future__ import annotations

from datetime import date

import pytest

from markets.countries import at, be, de, fr, nl
from markets.plugin import MarketPlugin
from markets.products import MarketId, Pricing
from markets.rules import LEGACY_RECORDED_AT, rule_id

AUDIT = date(2026, 12, 6)
BEFORE_AUDIT = date(2026, 12, 5)
PLUGINS = {m.PLUGIN.country: m.PLUGIN for m in (de, nl, be, fr, at)}


def _record(plugin: MarketPlugin, market: MarketId, parameter: str, day: date, known_on=None):
    return plugin.market(market).rules_on(day, known_on=known_on)[parameter]


@pytest.mark.parametrize("country", sorted(PLUGINS))
def test_the_intraday_auctions_settle_at_the_zone_clearing_price_as_entsoe_states(country):
    plugin = PLUGINS[country]
    now = _record(plugin, MarketId.INTRADAY_AUCTION, "pricing", date(2024, 9, 1))
    assert now.value is Pricing.PAY_AS_CLEARED
    assert now.confidence.value == "confirmed"
    assert "entsoe.eu/network_codes/cacm/implementation/ida" in (now.reference or "")
    assert (now.recorded_at, now.recorded_by.split(" ")[0]) == (AUDIT, "mktfacts")
    old = _record(plugin, MarketId.INTRADAY_AUCTION, "pricing", date(2024, 9, 1), BEFORE_AUDIT)
    assert (old.value, old.reference, old.recorded_at) == (
        Pricing.PAY_AS_CLEARED,
        None,
        LEGACY_RECORDED_AT,
    )
    assert now.supersedes == (old.id,)
    assert old.superseded_at == AUDIT


@pytest.mark.parametrize("country", sorted(PLUGINS))
def test_day_ahead_pricing_names_where_to_check_it_and_stays_general(country):
    now = _record(PLUGINS[country], MarketId.DAY_AHEAD, "pricing", date(2023, 3, 1))
    assert now.value is Pricing.PAY_AS_CLEARED
    assert now.confidence.value == "general"  # no primary text on SDAC settlement was read
    assert "pse.pl" in (now.reference or "")
    assert "nemo-committee.eu" in (now.reference or "")
    assert "EUPHEMIA public description" in (now.note or "")


@pytest.mark.parametrize(
    ("country", "before_accession", "reference_part"),
    [
        ("DE", date(2022, 6, 21), "aFRR-AT-DE-Kooperation"),
        ("AT", date(2022, 6, 21), "aFRR-AT-DE-Kooperation"),
        ("BE", date(2024, 6, 1), "20240329_public-consultation"),
        ("FR", date(2024, 6, 1), "activation-market-in-france"),
        ("NL", date(2023, 6, 1), "afwijking-implementatietermijnen"),
    ],
)
def test_no_afrr_energy_product_before_picasso_and_the_record_says_a_local_market_ran(
    country, before_accession, reference_part
):
    plugin = PLUGINS[country]
    record = _record(plugin, MarketId.AFRR_ENERGY, "in_operation", before_accession)
    assert record.value is False
    assert reference_part in (record.reference or "")
    assert "not modelled" in (record.note or "")
    assert record.id == rule_id(country, "afrr_energy", "in_operation", "2022-01-01", AUDIT)
    assert plugin.products(before_accession, MarketId.AFRR_ENERGY) == []


def test_france_had_a_local_afrr_activation_market_from_november_2023_which_is_not_offered():
    record = _record(fr.PLUGIN, MarketId.AFRR_ENERGY, "in_operation", date(2024, 1, 15))
    assert "2023-11-21" in (record.note or "")
    assert fr.PLUGIN.products(date(2024, 1, 15), MarketId.AFRR_ENERGY) == []
    assert fr.PLUGIN.products(date(2025, 6, 2), MarketId.AFRR_ENERGY)


@pytest.mark.parametrize(
    ("country", "market", "day", "reference_part"),
    [
        ("DE", MarketId.AFRR_CAPACITY, date(2024, 3, 1), "Ausschreibungs-und-Gebotsverfahren"),
        ("BE", MarketId.AFRR_CAPACITY, date(2024, 3, 1), "20240228_public-consultation"),
        ("FR", MarketId.AFRR_CAPACITY, date(2024, 3, 1), "appel-d-offres-journalier-2021"),
        ("DE", MarketId.AFRR_ENERGY, date(2024, 3, 1), "Ausschreibungs-und-Gebotsverfahren"),
        ("BE", MarketId.AFRR_ENERGY, date(2025, 6, 2), "keeping-the-balance/afrr"),
        ("FR", MarketId.AFRR_ENERGY, date(2025, 6, 2), "activation-market-in-france"),
        ("AT", MarketId.AFRR_CAPACITY, date(2024, 3, 1), "balancing/secondary-control"),
        ("AT", MarketId.AFRR_ENERGY, date(2024, 3, 1), "balancing/secondary-control"),
    ],
)
def test_balancing_order_types_name_the_tso_page_read(country, market, day, reference_part):
    record = _record(PLUGINS[country], market, "order_types", day)
    assert reference_part in (record.reference or "")
    assert record.recorded_at == AUDIT


@pytest.mark.parametrize("country", sorted(PLUGINS))
def test_the_fcr_price_per_product_is_now_general_with_the_settlement_page(country):
    """Believed confirmed before the audit with no page to open; the settlement page read
    confirms MW times marginal price but not the unit, so the correction says general."""
    plugin = PLUGINS[country]
    now = _record(plugin, MarketId.FCR_CAPACITY, "price_per_block", date(2025, 5, 1))
    old = _record(plugin, MarketId.FCR_CAPACITY, "price_per_block", date(2025, 5, 1), BEFORE_AUDIT)
    assert now.value is old.value is True
    assert (old.confidence.value, now.confidence.value) == ("confirmed", "general")
    assert "AnbieterabrechnungderRegelenergie/FrequencyContainmentReserve" in now.reference
    assert now.supersedes == (old.id,)


def test_the_german_afrr_capacity_price_unit_stays_uncertain_with_a_reason_and_a_date():
    record = _record(de.PLUGIN, MarketId.AFRR_CAPACITY, "price_per_block", date(2025, 5, 1))
    assert record.value is True
    assert record.confidence.value == "uncertain"
    assert record.review_by == date(2027, 1, 31)
    assert "(EUR/MW)/h" in (record.note or "")
    assert "automaticFrequencyRestorationReserve" in (record.reference or "")


def test_belgian_afrr_directions_after_the_b2299_exemption_stay_uncertain_with_elias_page():
    during = _record(be.PLUGIN, MarketId.AFRR_CAPACITY, "directions", date(2023, 5, 1))
    after = _record(be.PLUGIN, MarketId.AFRR_CAPACITY, "directions", date(2025, 5, 1))
    assert during.confidence.value == "confirmed"
    assert "B2299" in (during.note or "")
    assert after.confidence.value == "uncertain"
    assert after.review_by == date(2027, 1, 31)
    for record in (during, after):
        assert "20240905_public-consultation" in (record.reference or "")
        assert {d.value for d in record.value} == {"pos", "neg"}


def test_the_dutch_afrr_capacity_market_now_names_tennets_pilot_report():
    record = _record(nl.PLUGIN, MarketId.AFRR_CAPACITY, "in_operation", date(2023, 5, 1))
    assert record.value is True
    assert record.confidence.value == "general"  # was uncertain: no source at all
    assert "afrr-pilot-end-report-tennet" in (record.reference or "")


@pytest.mark.parametrize("country", sorted(PLUGINS))
def test_continuous_trades_at_the_resting_orders_price_with_pages_to_open(country):
    now = _record(PLUGINS[country], MarketId.INTRADAY_CONTINUOUS, "pricing", date(2024, 9, 1))
    assert now.value is Pricing.PAY_AS_BID
    assert "npspot.com/en/the-power-market/Intraday-market" in (now.reference or "")
    assert "modoenergy.com" in (now.reference or "")
