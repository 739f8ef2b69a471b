"""Rule records are bitemporal: what was believed on a day stays answerable after a
correction, and a correction adds records instead of editing one."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from markets.countries import fr
from markets.eu import sdac_day_ahead
from markets.products import MarketId
from markets.rules import LEGACY_RECORDED_AT, Rule, in_force, rule, rule_id, with_ids

AUDIT = date(2026, 12, 6)
BEFORE_AUDIT = date(2026, 12, 5)


def test_the_french_intraday_auctions_ran_at_30_minutes_in_september_2024():
    ida = fr.PLUGIN.market(MarketId.INTRADAY_AUCTION)
    today = ida.rules_on(date(2024, 9, 1))["mtu_minutes"]
    assert today.value == 30
    assert (today.reference or "").startswith("https://")
    assert (today.recorded_at, today.superseded_at) == (AUDIT, None)
    products = fr.PLUGIN.products(date(2024, 9, 1), MarketId.INTRADAY_AUCTION)
    assert {p.duration_minutes for p in products} == {30}
    assert len(products) == 48 + 48 + 24  # IDA1, IDA2 whole day; IDA3 12-24


def test_before_the_correction_the_15_minute_record_was_believed_and_it_is_kept():
    ida = fr.PLUGIN.market(MarketId.INTRADAY_AUCTION)
    old = ida.rules_on(date(2024, 9, 1), known_on=BEFORE_AUDIT)["mtu_minutes"]
    assert old.value == 15
    assert (old.recorded_at, old.superseded_at) == (LEGACY_RECORDED_AT, AUDIT)
    assert old.id == rule_id("FR", "intraday_auction", "mtu_minutes", "2024-06-14")
    new = ida.rules_on(date(2024, 9, 1))["mtu_minutes"]
    # the audit's correction (2026-12-06) was itself revised that day (audit session 5)
    (first,) = [e for e in ida.mtu_minutes if e.id == new.supersedes[0]]
    assert (new.revision, first.revision) == (2, 1)
    assert first.supersedes == (old.id,)


def test_the_french_15_minute_products_are_modelled_from_february_2025():
    ida = fr.PLUGIN.market(MarketId.INTRADAY_AUCTION)
    assert ida.rules_on(date(2025, 1, 31))["mtu_minutes"].value == 30
    switch = ida.rules_on(date(2025, 2, 1))["mtu_minutes"]
    assert (switch.value, switch.confidence.value) == (15, "uncertain")
    assert switch.review_by is not None
    continuous = fr.PLUGIN.market(MarketId.INTRADAY_CONTINUOUS)
    lengths = {c.minutes for c in continuous.rules_on(date(2024, 9, 1))["contracts"].value}
    assert lengths == {60, 30}
    assert {p.family for p in fr.PLUGIN.products(date(2025, 3, 1), "intraday_continuous")} == {
        "PT60M",
        "PT30M",
        "PT15M",
    }


def test_nothing_was_known_before_the_rule_base_entered_the_project():
    ida = fr.PLUGIN.market(MarketId.INTRADAY_AUCTION)
    assert ida.rules_on(date(2024, 9, 1), known_on=date(2026, 1, 1)) == {}


def test_a_correction_naming_a_record_that_does_not_exist_is_refused():
    bad = rule(
        1.0, "2022-01-01", "EPEX", recorded_at="2026-12-10", supersedes=("DE:day_ahead:x:y:z",)
    )
    with pytest.raises(ValidationError, match=r"supersedes DE:day_ahead:x:y:z, which is not"):
        sdac_day_ahead("DE", "DE_LU", "Europe/Berlin").with_rules(price_tick=(bad,))


def test_a_record_must_end_after_it_starts_and_be_superseded_after_it_was_recorded():
    with pytest.raises(ValueError, match="valid_to=2022-01-01 must be after valid_from"):
        rule(1, "2022-01-01", "x", valid_to="2022-01-01")
    with pytest.raises(ValueError, match="superseded_at=2026-01-01 is before recorded_at"):
        rule(1, "2022-01-01", "x", recorded_at="2026-12-06", superseded_at="2026-01-01")
    with pytest.raises(ValueError, match="review_by='someday' is not a date"):
        rule(1, "2022-01-01", "x", review_by="someday")


# --- properties ---------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2022, 1, 1), max_value=date(2027, 12, 31))


@st.composite
def histories(draw) -> tuple[Rule[int], ...]:
    """A history recorded in up to three batches; later batches may correct earlier ones."""
    entries: list[Rule[int]] = []
    ids: list[str] = []
    recorded = date(2026, 1, 1)
    for _ in range(draw(st.integers(1, 3))):
        starts = sorted(set(draw(st.lists(DAYS, min_size=1, max_size=4))))
        corrected = draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
        for n, start in enumerate(starts):
            entry = rule(
                draw(st.integers(0, 99)),
                start,
                "test",
                recorded_at=recorded,
                supersedes=tuple(corrected) if n == 0 else (),
            )
            entries.append(entry)
            ids.append(rule_id("DE", "day_ahead", "p", start, recorded))
        recorded += timedelta(days=draw(st.integers(1, 200)))
    return with_ids("DE", "day_ahead", "p", entries)


@given(histories(), DAYS, st.one_of(st.none(), DAYS))
def test_the_record_in_force_was_held_on_the_day_asked_and_covers_the_delivery_day(
    history, day, known_on
):
    found = in_force(history, day, known_on)
    if found is None:
        return
    assert found.known_on(known_on)
    assert found.valid_from <= day
    later = [e for e in history if e.known_on(known_on) and found.valid_from < e.valid_from <= day]
    assert not later, "a later record held on that day would be in force instead"


@given(histories(), DAYS)
def test_todays_belief_is_the_belief_of_any_day_after_the_last_record(history, day):
    last = max(e.superseded_at or e.recorded_at for e in history)
    assert in_force(history, day) == in_force(history, day, last + timedelta(days=1))


@given(histories())
def test_a_corrected_record_stops_being_believed_on_the_day_of_its_correction(history):
    for entry in history:
        if entry.superseded_at is None:
            continue
        assert entry.known_on(entry.superseded_at - timedelta(days=1))
        assert not entry.known_on(entry.superseded_at)
        assert any(entry.id in e.supersedes for e in history)


def test_a_market_copied_to_another_country_keeps_its_corrections_under_the_new_ids():
    ida = fr.PLUGIN.market(MarketId.INTRADAY_AUCTION)
    copy = ida.model_copy(update={"country": "XX"})
    fixed = copy.rules_on(date(2024, 9, 1))["mtu_minutes"]
    assert fixed.value == 30
    assert fixed.supersedes == ("XX:intraday_auction:mtu_minutes:2024-06-14:2026-12-06",)
    (first,) = [e for e in copy.mtu_minutes if e.id == fixed.supersedes[0]]
    assert first.supersedes == ("XX:intraday_auction:mtu_minutes:2024-06-14:2026-11-22",)
    old = copy.rules_on(date(2024, 9, 1), known_on=BEFORE_AUDIT)["mtu_minutes"]
    assert (old.id, old.superseded_at) == (first.supersedes[0], AUDIT)
