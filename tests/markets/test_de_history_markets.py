"""Germany's market rules since 2015: every day resolves, no two records of a history
overlap in valid time, and the eras an analyst of 2018 meets (weekly aFRR, then daily
4-hour blocks; the joint DE-AT-LU zone, then DE-LU) are the ones recorded."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from markets.conformance import provenance_problems
from markets.countries.de import PLUGIN
from markets.countries.de_history import (
    BIDDING_ZONE_HISTORY,
    DE_HISTORY_START,
    HISTORY,
    zone_on,
)
from markets.rules import edition

TODAY = date(2026, 12, 6)


@settings(max_examples=60, deadline=None)
@given(day=st.dates(min_value=DE_HISTORY_START, max_value=date(2026, 12, 31)))
def test_every_day_since_2015_resolves_each_market_and_day_ahead_is_offered(day: date) -> None:
    for market in PLUGIN.markets:
        market.products(day)  # raises MissingRuleError where a parameter has no record
    day_ahead = PLUGIN.products(day, "day_ahead")
    assert day_ahead, f"no day-ahead products on {day}"
    assert all(p.bidding_zone == "DE_LU" for p in day_ahead)
    assert zone_on(day) == ("DE_AT_LU" if day < date(2018, 10, 1) else "DE_LU")


@settings(max_examples=25, deadline=None)
@given(known_on=st.one_of(st.none(), st.dates(date(2026, 11, 22), date(2027, 12, 31))))
def test_records_of_a_history_never_overlap_in_valid_time(known_on: date | None) -> None:
    histories = [(f"{m.market}.{name}", h) for m in PLUGIN.markets for name, h in m.histories()]
    histories.append(("bidding_zone", BIDDING_ZONE_HISTORY))
    for where, history in histories:
        held = edition(history, known_on)
        for earlier, later in pairwise(held):
            assert earlier.valid_from < later.valid_from, where
            if earlier.valid_to is not None:
                assert earlier.valid_to <= later.valid_from, (where, earlier.id, later.id)


def test_afrr_is_weekly_and_not_offered_before_2018_07_12_then_four_hour_blocks() -> None:
    assert PLUGIN.products(date(2018, 7, 11), "afrr_capacity") == []
    weekly = PLUGIN.market("afrr_capacity").rules_on(date(2018, 7, 11))["in_operation"]
    assert weekly.id == "DE:afrr_capacity:in_operation:2015-01-01:2026-12-06"
    assert "weekly" in (weekly.note or "")
    blocks = PLUGIN.products(date(2018, 7, 12), "afrr_capacity")
    assert len(blocks) == 12  # 6 blocks x POS/NEG
    first = blocks[0]
    assert (first.delivery_end - first.delivery_start) == timedelta(hours=4)
    assert (
        first.rules["block_hours"].rule_id == "DE:afrr_capacity:block_hours:2018-07-12:2026-12-06"
    )
    # BK6-15-158: the tender for day D closes D-1 08:00 (CEST = 06:00 UTC).
    assert first.gate_closure.isoformat() == "2018-07-11T06:00:00+00:00"


def test_fcr_eras_weekly_then_daily_then_four_hours() -> None:
    assert PLUGIN.products(date(2019, 6, 30), "fcr_capacity") == []
    daily = PLUGIN.products(date(2019, 7, 1), "fcr_capacity")
    assert len(daily) == 1
    assert daily[0].delivery_end - daily[0].delivery_start == timedelta(hours=24)
    assert len(PLUGIN.products(date(2020, 7, 1), "fcr_capacity")) == 6


def test_day_ahead_of_2018_is_hourly_at_noon_within_minus_500_and_3000() -> None:
    products = PLUGIN.products(date(2018, 3, 25), "day_ahead")  # spring-forward day
    assert len(products) == 23
    hour = products[0]
    assert (hour.price_min, hour.price_max) == (-500.0, 3000.0)
    assert hour.gate_closure.isoformat() == "2018-03-24T11:00:00+00:00"  # 12:00 CET D-1
    assert hour.rules["price_max"].rule_id == "DE:day_ahead:price_max:2015-01-01:2026-12-06"
    assert PLUGIN.products(date(2022, 5, 11), "day_ahead")[0].price_max == 4000.0


@pytest.mark.parametrize("known_on", [date(2026, 12, 5), None], ids=["before", "today"])
def test_the_history_is_knowledge_of_2026_12_06(known_on: date | None) -> None:
    """Asked as known on the day before the history was recorded, 2018 has no rules."""
    day_ahead = PLUGIN.market("day_ahead")
    rules = day_ahead.rules_on(date(2018, 6, 1), known_on)
    assert bool(rules) is (known_on is None)


def test_every_history_record_has_full_provenance() -> None:
    ours = [r for _, _, r in PLUGIN.rules() if r.recorded_by == HISTORY["recorded_by"]]
    ours += list(BIDDING_ZONE_HISTORY)
    assert len(ours) > 40
    for entry in ours:
        assert provenance_problems(entry, strict=True) == [], entry.id
        assert entry.recorded_at == TODAY
        if entry.uncertain:
            assert entry.review_by is not None, entry.id
            assert entry.note, entry.id
