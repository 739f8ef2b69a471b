"""The fifth rule-audit session of 2026-12-06 (issue 17): records sourced or revised.

Each test reads a record as a compliance officer would (`rules_on` for a delivery day, as
believed today and the day before the audit) and checks the source now named; two are
same-day revisions (tests/markets/test_rule_revisions.py tests the mechanism).
"""

from __future__ import annotations

from datetime import date

import pytest

from markets.countries import at, be, de, fr, nl
from markets.gates import OffsetGate
from markets.plugin import MarketPlugin
from markets.products import MarketId
from markets.rules import LEGACY_RECORDED_AT, rule_id

AUDIT = date(2026, 12, 6)
BEFORE_AUDIT = date(2026, 12, 5)
PLUGINS = {m.PLUGIN.country: m.PLUGIN for m in (de, nl, be, fr, at)}
FAQ = "regelleistung.net/Help/FAQ"


def _record(plugin: MarketPlugin, market: MarketId, parameter: str, day: date, known_on=None):
    return plugin.market(market).rules_on(day, known_on=known_on)[parameter]


@pytest.mark.parametrize("country", sorted(PLUGINS))
def test_the_2026_cross_border_gate_names_acers_approval_of_30_min_and_keeps_60(country):
    plugin = PLUGINS[country]
    day = date(2026, 6, 15)
    now = _record(plugin, MarketId.INTRADAY_CONTINUOUS, "cross_border_gate_closure", day)
    assert now.value == OffsetGate(minutes_before=60)
    assert now.confidence.value == "general"  # was uncertain: the approval had not been found
    assert now.review_by is None
    assert "energie-und-management.de" in (now.reference or "")
    assert "optional" in (now.note or "")
    assert "2025-12-22" in (now.note or "")
    assert now.id == rule_id(
        country, "intraday_continuous", "cross_border_gate_closure", "2026-01-01", AUDIT, 2
    )
    (first,) = [
        e
        for e in plugin.market(MarketId.INTRADAY_CONTINUOUS).cross_border_gate_closure
        if e.revision == 1 and e.valid_from == date(2026, 1, 1)
    ]
    assert now.supersedes == (first.id,)
    assert (first.confidence.value, first.superseded_at) == ("uncertain", AUDIT)
    before = _record(
        plugin, MarketId.INTRADAY_CONTINUOUS, "cross_border_gate_closure", day, BEFORE_AUDIT
    )
    assert before.recorded_at == LEGACY_RECORDED_AT
    assert before.value == OffsetGate(minutes_before=60)


@pytest.mark.parametrize(
    ("market", "day", "valid_from"),
    [
        (MarketId.AFRR_CAPACITY, date(2025, 3, 3), "2022-01-01"),
        (MarketId.AFRR_ENERGY, date(2025, 3, 3), "2022-06-22"),
    ],
)
def test_german_afrr_bids_of_at_least_1_mw_are_sourced_to_the_regelleistung_faq(
    market, day, valid_from
):
    now = _record(de.PLUGIN, market, "volume_min_mw", day)
    old = _record(de.PLUGIN, market, "volume_min_mw", day, BEFORE_AUDIT)
    assert now.value == old.value == 1.0
    assert FAQ in (now.reference or "")
    assert old.reference is None
    assert now.id == rule_id("DE", market.value, "volume_min_mw", valid_from, AUDIT)
    assert now.supersedes == (old.id,)
    product = de.PLUGIN.products(day, market)[0]
    assert product.rules["volume_min_mw"].rule_id == now.id


def test_german_energy_bid_minimum_is_general_because_the_faq_predates_picasso_in_parts():
    record = _record(de.PLUGIN, MarketId.AFRR_ENERGY, "volume_min_mw", date(2025, 3, 3))
    capacity = _record(de.PLUGIN, MarketId.AFRR_CAPACITY, "volume_min_mw", date(2025, 3, 3))
    assert (capacity.confidence.value, record.confidence.value) == ("confirmed", "general")
    assert "pay-as-bid" in (record.note or "")


def test_the_german_capacity_price_unit_is_revised_the_same_day_with_the_faqs_example():
    history = de.PLUGIN.market(MarketId.AFRR_CAPACITY).price_per_block
    today = [e for e in history if (e.recorded_at, e.valid_from) == (AUDIT, date(2022, 1, 1))]
    assert [e.revision for e in today] == [1, 2]
    now = _record(de.PLUGIN, MarketId.AFRR_CAPACITY, "price_per_block", date(2025, 5, 1))
    assert now.id == today[1].id
    assert now.id.endswith(":r2")
    assert now.value is True  # not changed on an mFRR example alone
    assert (now.confidence.value, now.review_by) == ("uncertain", date(2027, 1, 31))
    assert FAQ in (now.reference or "")
    assert "(EUR/MW)/h" in (now.note or "")
    assert now.supersedes == (today[0].id,)
    assert today[0].superseded_at == AUDIT


@pytest.mark.parametrize(
    ("country", "minutes"), [("AT", 15), ("BE", 15), ("DE", 15), ("FR", 30), ("NL", 15)]
)
def test_the_ida_mtu_per_zone_is_confirmed_by_nord_pools_list_as_a_same_day_revision(
    country, minutes
):
    plugin = PLUGINS[country]
    now = _record(plugin, MarketId.INTRADAY_AUCTION, "mtu_minutes", date(2024, 9, 1))
    assert now.value == minutes
    assert now.confidence.value == "confirmed"  # was general: no per-zone list was read
    assert "support.nordpoolgroup.com" in (now.reference or "")
    assert now.id == rule_id(country, "intraday_auction", "mtu_minutes", "2024-06-14", AUDIT, 2)
    (earlier,) = [
        e
        for e in plugin.market(MarketId.INTRADAY_AUCTION).mtu_minutes
        if (e.valid_from, e.recorded_at, e.revision) == (date(2024, 6, 14), AUDIT, 1)
    ]
    assert now.supersedes == (earlier.id,)
    assert (earlier.value, earlier.confidence.value) == (minutes, "general")
    slots = plugin.products(date(2024, 9, 1), MarketId.INTRADAY_AUCTION)
    assert {(p.delivery_end - p.delivery_start).total_seconds() / 60 for p in slots} == {minutes}


def test_frances_30_min_ida_mtu_still_ends_when_the_french_15_min_products_start():
    now = _record(fr.PLUGIN, MarketId.INTRADAY_AUCTION, "mtu_minutes", date(2024, 9, 1))
    assert now.valid_to == date(2025, 2, 1)
    later = _record(fr.PLUGIN, MarketId.INTRADAY_AUCTION, "mtu_minutes", date(2025, 6, 2))
    assert later.value == 15


@pytest.mark.parametrize("country", ["BE", "DE", "NL"])
def test_60_30_and_15_min_continuous_contracts_name_amprions_release_of_december_2020(country):
    plugin = PLUGINS[country]
    now = _record(plugin, MarketId.INTRADAY_CONTINUOUS, "contracts", date(2023, 5, 2))
    old = _record(plugin, MarketId.INTRADAY_CONTINUOUS, "contracts", date(2023, 5, 2), BEFORE_AUDIT)
    assert {c.minutes for c in now.value} == {60, 30, 15}
    assert now.value == old.value
    assert "amprion.net/Presse/Presse-Detailseite_27840" in (now.reference or "")
    assert old.reference is None
    assert now.confidence.value == "general"  # the contracts' opening times were not read
    assert "2020-12-10" in (now.note or "")
    lengths = {
        round((p.delivery_end - p.delivery_start).total_seconds() / 60)
        for p in plugin.products(date(2023, 5, 2), MarketId.INTRADAY_CONTINUOUS)
    }
    assert lengths == {60, 30, 15}


def test_german_quarter_hours_still_open_at_16_00_after_the_contracts_were_sourced():
    now = _record(de.PLUGIN, MarketId.INTRADAY_CONTINUOUS, "contracts", date(2023, 5, 2))
    opening = {(c.minutes, c.gate_opening.local_time.hour) for c in now.value}
    assert opening == {(60, 15), (30, 15), (15, 16)}
    assert "16:00 D-1" in (now.note or "")
