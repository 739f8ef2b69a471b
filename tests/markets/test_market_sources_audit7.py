"""The seventh rule-audit session (2026-12-07, issue 17): a correction and two records sourced.

RTE's own account of its aFRR capacity auction (the D-1 tender of November 2021 ran three
weeks, then stayed suspended until 2024-06-19) withdraws the sixth session's guess that it
ran until 2022-07-28. Each test reads the records as a trader meets them (the products of a
day) or as an auditor does (a record's source and times, what was believed the day before,
the change between the two editions).
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from markets.conformance import check_plugin
from markets.countries import at, fr
from markets.plugin import MarketPlugin
from markets.products import MarketId
from markets.rules import rule_id
from trading.cli.markets_audit import diff_rows, market_rules

SIXTH = date(2026, 12, 6)
SEVENTH = date(2026, 12, 7)
AUTHOR = "facts3 (rule-audit session 7 of issue 17)"
REOPENED = date(2024, 6, 19)
RTE_2024 = "automatic-frequency-restoration-reserve-day-ahead-call-for-tenders-launch-2024"
CAPACITY = MarketId.AFRR_CAPACITY


def _record(plugin: MarketPlugin, market: MarketId, parameter: str, day: date, known_on=None):
    return plugin.market(market).rules_on(day, known_on=known_on)[parameter]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=(REOPENED - date(2022, 1, 1)).days - 1))
def test_no_french_afrr_capacity_is_offered_on_any_day_before_rte_reopened_its_auction(offset):
    day = date(2022, 1, 1) + timedelta(days=offset)
    assert fr.PLUGIN.products(day, CAPACITY) == []
    why = fr.PLUGIN.why_unknown(f"FR:afrr_capacity:4h:pos:{day.isoformat()}T08:00Z")
    assert f"does not run for delivery day {day}; it runs from 2024-06-19" in why


def test_the_auction_runs_again_from_its_reopening():
    assert len(fr.PLUGIN.products(REOPENED, CAPACITY)) == 12  # 6 blocks x up and down
    assert fr.PLUGIN.products(date(2024, 6, 18), CAPACITY) == []


def test_the_correction_names_rtes_account_and_withdraws_both_records_of_the_sixth_session():
    now = _record(fr.PLUGIN, CAPACITY, "in_operation", date(2022, 3, 1))
    assert now.value is False
    assert (now.valid_from, now.valid_to) == (date(2022, 1, 1), REOPENED)
    assert (now.confidence.value, now.review_by) == ("confirmed", None)
    assert RTE_2024 in (now.reference or "")
    assert (now.recorded_by, now.recorded_at, now.retrieved_on) == (AUTHOR, SEVENTH, SEVENTH)
    assert now.id == rule_id("FR", "afrr_capacity", "in_operation", "2022-01-01", SEVENTH)
    ran, off = (
        rule_id("FR", "afrr_capacity", "in_operation", "2022-01-01", SIXTH, 2),
        rule_id("FR", "afrr_capacity", "in_operation", "2022-07-28", SIXTH),
    )
    assert set(now.supersedes) == {ran, off}
    history = {e.id: e for e in fr.PLUGIN.market(CAPACITY).in_operation}
    assert history[ran].superseded_at == history[off].superseded_at == SEVENTH


def test_what_the_sixth_session_believed_stays_readable():
    then = _record(fr.PLUGIN, CAPACITY, "in_operation", date(2022, 3, 1), known_on=SIXTH)
    assert (then.value, then.valid_to, then.recorded_at) == (True, date(2022, 7, 28), SIXTH)
    assert _record(fr.PLUGIN, CAPACITY, "in_operation", REOPENED).recorded_at == SIXTH  # kept


def test_the_diff_between_the_two_editions_shows_the_correction():
    """What `vpp markets rules FR --market afrr_capacity --diff 2026-12-06 2026-12-07` prints."""
    before = market_rules(fr.PLUGIN, market=CAPACITY, known_on=SIXTH)
    after = market_rules(fr.PLUGIN, market=CAPACITY, known_on=SEVENTH)
    every = market_rules(fr.PLUGIN, market=CAPACITY, every_record=True)
    changes = {row["id"]: row for row in diff_rows(before, after, every)}
    new = rule_id("FR", "afrr_capacity", "in_operation", "2022-01-01", SEVENTH)
    assert changes[new]["diff"] == "added"
    withdrawn = [row for row in changes.values() if row["diff"] == "withdrawn"]
    assert len(withdrawn) == 2
    assert all(row["corrected_by"] == [new] for row in withdrawn)


def test_the_french_plugin_passes_the_kit_on_the_days_the_correction_touches():
    days = [date(2022, 1, 1), date(2022, 7, 27), date(2022, 7, 28), date(2024, 6, 18), REOPENED]
    report = check_plugin(fr.PLUGIN, days)
    assert report.passed, report.summary()


def test_austrian_afrr_energy_bid_sizes_name_apgs_pages_and_say_why_they_stay_uncertain():
    for parameter in ("volume_min_mw", "volume_step_mw"):
        now = _record(at.PLUGIN, MarketId.AFRR_ENERGY, parameter, date(2025, 6, 2))
        old = _record(at.PLUGIN, MarketId.AFRR_ENERGY, parameter, date(2025, 6, 2), SIXTH)
        assert now.value == old.value == 1.0
        assert old.reference is None
        assert "apg.at/en/markt/balancing/secondary-control/tenders" in (now.reference or "")
        assert (now.confidence.value, now.review_by) == ("uncertain", date(2027, 1, 31))
        assert "not stated" in (now.note or "")
        assert now.supersedes == (old.id,)
        assert now.recorded_at == SEVENTH
