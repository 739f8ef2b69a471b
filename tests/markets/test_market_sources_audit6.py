"""The sixth rule-audit session of 2026-12-06 (issue 17): records sourced and one correction.

Each test reads a record as a compliance officer would (`rules_on` for a delivery day, as
believed today and the day before the audit) or as a trader meets it (the products offered
on a day, the reason a product id is unknown).
"""

from __future__ import annotations

from datetime import date

import pytest

from markets.conformance import check_plugin
from markets.countries import at, be, de, fr, nl
from markets.gates import OffsetGate
from markets.plugin import MarketPlugin
from markets.products import MarketId, OrderType
from markets.rules import LEGACY_RECORDED_AT, rule_id

AUDIT = date(2026, 12, 6)
BEFORE_AUDIT = date(2026, 12, 5)
PLUGINS = {m.PLUGIN.country: m.PLUGIN for m in (de, nl, be, fr, at)}
SRL_PAGE = "regelleistung.net/ext/static/srl"
AUTHOR = "facts (rule-audit session 6 of issue 17)"


def _record(plugin: MarketPlugin, market: MarketId, parameter: str, day: date, known_on=None):
    return plugin.market(market).rules_on(day, known_on=known_on)[parameter]


@pytest.mark.parametrize(
    ("country", "accession", "confidence"),
    [
        ("DE", "2022-06-22", "confirmed"),
        ("AT", "2022-06-22", "general"),
        ("NL", "2024-01-01", "general"),
        ("BE", "2025-02-01", "general"),
        ("FR", "2025-04-01", "general"),
    ],
)
def test_the_25_minute_afrr_energy_gate_names_the_german_tsos_page(country, accession, confidence):
    plugin = PLUGINS[country]
    day = date(2025, 6, 2)
    now = _record(plugin, MarketId.AFRR_ENERGY, "gate_closure", day)
    old = _record(plugin, MarketId.AFRR_ENERGY, "gate_closure", day, BEFORE_AUDIT)
    assert now.value == old.value == OffsetGate(minutes_before=25)
    assert SRL_PAGE in (now.reference or "")
    assert old.reference is None
    assert now.confidence.value == confidence
    assert (now.recorded_by, now.recorded_at) == (AUTHOR, AUDIT)
    assert now.id == rule_id(country, "afrr_energy", "gate_closure", accession, AUDIT)
    assert now.supersedes == (old.id,)
    if country != "DE":  # the platform-wide gate rests on the aFRRIF, whose text was not read
        assert "aFRRIF" in now.source
        assert "not read" in (now.note or "")
    product = plugin.products(day, MarketId.AFRR_ENERGY)[0]
    assert product.rules["gate_closure"].rule_id == now.id


def test_dutch_afrr_energy_bids_name_tennets_regulating_capacity_page():
    now = _record(nl.PLUGIN, MarketId.AFRR_ENERGY, "order_types", date(2024, 9, 2))
    assert now.value == (OrderType.BALANCING_ENERGY,)
    assert "tennet.org" in (now.reference or "")
    assert now.confidence.value == "general"  # a national page carried over to PICASSO


SUSPENDED = date(2023, 3, 1)
REOPENED = date(2024, 6, 19)


def _in_operation(day: date, known_on: date | None = None) -> bool:
    return _record(fr.PLUGIN, MarketId.AFRR_CAPACITY, "in_operation", day, known_on).value


def test_french_afrr_capacity_was_not_offered_while_rte_suspended_its_auction():
    """As this session believed it (known on 2026-12-06): the tender ran until 2022-07-28.
    The seventh session withdrew that end (test_market_sources_audit7.py)."""
    assert not _in_operation(SUSPENDED, AUDIT)
    assert not _in_operation(date(2024, 6, 18), AUDIT)
    assert _in_operation(REOPENED, AUDIT)
    assert _in_operation(date(2022, 3, 1), AUDIT)  # believed then: the 2021 tender ran
    assert fr.PLUGIN.products(SUSPENDED, MarketId.AFRR_CAPACITY) == []
    assert fr.PLUGIN.products(REOPENED, MarketId.AFRR_CAPACITY) != []
    why = fr.PLUGIN.why_unknown("FR:afrr_capacity:4h:pos:2023-02-28T23:00Z")  # 00:00 CET
    assert "does not run for delivery day 2023-03-01; it runs from 2024-06-19" in why


def test_the_suspension_corrects_what_was_believed_and_says_how_sure_it_is():
    off = _record(fr.PLUGIN, MarketId.AFRR_CAPACITY, "in_operation", SUSPENDED, AUDIT)
    assert off.value is False
    assert (off.confidence.value, off.review_by) == ("uncertain", date(2027, 1, 31))
    assert off.valid_to == REOPENED
    assert "modoenergy.com" in (off.reference or "")
    assert "juricaf.org" in (off.reference or "")
    before = _record(fr.PLUGIN, MarketId.AFRR_CAPACITY, "in_operation", SUSPENDED, BEFORE_AUDIT)
    assert (before.value, before.recorded_at) == (True, LEGACY_RECORDED_AT)
    on = _record(fr.PLUGIN, MarketId.AFRR_CAPACITY, "in_operation", REOPENED)
    assert (on.value, on.confidence.value) == (True, "confirmed")
    assert "services-rte.com" in (on.reference or "")


def test_the_french_2022_record_is_revised_the_same_day_to_end_at_the_suspension():
    history = fr.PLUGIN.market(MarketId.AFRR_CAPACITY).in_operation
    today = [e for e in history if (e.recorded_at, e.valid_from) == (AUDIT, date(2022, 1, 1))]
    assert [e.revision for e in today] == [1, 2]
    first, revised = today
    assert (first.valid_to, first.superseded_at) == (None, AUDIT)
    assert revised.id.endswith(":r2")
    assert revised.supersedes == (first.id,)
    assert revised.valid_to == date(2022, 7, 28)
    then = _record(fr.PLUGIN, MarketId.AFRR_CAPACITY, "in_operation", date(2022, 3, 1), AUDIT)
    assert then.id == revised.id


def test_french_4_hour_blocks_name_a_secondary_source_and_stay_uncertain():
    now = _record(fr.PLUGIN, MarketId.AFRR_CAPACITY, "block_hours", REOPENED)
    assert now.value == 4
    assert "modoenergy.com" in (now.reference or "")
    assert "secondary" in now.source
    assert (now.confidence.value, now.review_by) == ("uncertain", date(2027, 1, 31))


def test_the_french_plugin_with_its_correction_passes_the_kit_on_the_days_it_changed():
    days = [date(2022, 3, 1), SUSPENDED, REOPENED, date(2025, 6, 2)]
    report = check_plugin(fr.PLUGIN, days)
    assert report.passed, report.summary()


@pytest.mark.parametrize("country", sorted(PLUGINS))
def test_the_ida_price_tick_names_otes_parameters_page(country):
    plugin = PLUGINS[country]
    now = _record(plugin, MarketId.INTRADAY_AUCTION, "price_tick", date(2025, 6, 2))
    old = _record(plugin, MarketId.INTRADAY_AUCTION, "price_tick", date(2025, 6, 2), BEFORE_AUDIT)
    assert now.value == old.value == 0.01
    assert "ote-cr.cz" in (now.reference or "")
    assert (now.confidence.value, old.confidence.value) == ("general", "uncertain")
    assert now.review_by is None
    assert now.id == rule_id(country, "intraday_auction", "price_tick", "2024-06-14", AUDIT)


@pytest.mark.parametrize("bound", ["price_min", "price_max"])
@pytest.mark.parametrize("country", sorted(PLUGINS))
def test_the_ida_price_limits_name_a_nemos_page_and_stay_uncertain(country, bound):
    plugin = PLUGINS[country]
    history = getattr(plugin.market(MarketId.INTRADAY_AUCTION), bound)
    today = [e for e in history if (e.recorded_at, e.valid_from) == (AUDIT, date(2024, 6, 14))]
    assert [e.revision for e in today] == [1, 2]
    now = _record(plugin, MarketId.INTRADAY_AUCTION, bound, date(2025, 6, 2))
    assert now.id == today[1].id
    assert abs(now.value) == 9999.0
    assert (now.confidence.value, now.review_by) == ("uncertain", date(2027, 1, 31))
    assert "ote-cr.cz" in (now.reference or "")
    assert "working assumption" in (now.note or "")
    assert now.supersedes == (today[0].id,)
    assert today[0].confidence.value == "uncertain"
