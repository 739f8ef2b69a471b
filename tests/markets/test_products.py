"""Products of a delivery day: how many, when they deliver, when their gates close, and why."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from markets.countries import at, be, de, fr, nl
from markets.products import Direction, MarketId, OrderType, Pricing, ProductKind
from regulatory import read_portfolio

PLUGINS = {p.PLUGIN.country: p.PLUGIN for p in (de, nl, be, fr, at)}
DE = de.PLUGIN
SAMPLE_PORTFOLIO = Path(__file__).resolve().parents[2] / "data" / "sample_portfolio.yaml"
SPRING = date(2026, 3, 29)
AUTUMN = date(2026, 10, 25)
NORMAL = date(2026, 6, 15)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(moment: datetime, timezone: str = "Europe/Berlin") -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def by_family(products):
    return Counter((p.family, p.direction) for p in products)


def starting_at(products, moment: datetime, family: str | None = None, direction=None):
    found = [
        p
        for p in products
        if p.delivery_start == moment
        and (family is None or p.family == family)
        and (direction is None or p.direction == direction)
    ]
    assert len(found) == 1, found
    return found[0]


# --- day-ahead ---------------------------------------------------------------------------


def test_day_ahead_on_the_spring_dst_day_has_92_quarter_hours_closing_at_noon_cet_the_day_before():
    products = DE.products(SPRING, "day_ahead")
    assert len(products) == 92
    assert {p.duration_minutes for p in products} == {15}
    assert {p.gate_closure for p in products} == {utc(2026, 3, 28, 11, 0)}
    assert products[0].delivery_start == utc(2026, 3, 28, 23, 0)
    assert products[-1].delivery_end == utc(2026, 3, 29, 22, 0)
    assert len({p.product_id for p in products}) == 92
    assert {p.delivery_day for p in products} == {SPRING}
    assert products[0].product_id == "DE:day_ahead:SDAC:2026-03-28T23:00Z"
    assert products[0].label == "2026-03-29 00:00 CET to 00:15 CET"
    assert products[0].gate_closure_rule.startswith("SDAC: 12:00 D-1")


def test_day_ahead_on_the_autumn_dst_day_has_100_quarter_hours_with_the_repeated_hour_twice():
    products = DE.products(AUTUMN, "day_ahead")
    assert len(products) == 100
    assert {p.gate_closure for p in products} == {utc(2026, 10, 24, 10, 0)}  # 12:00 CEST
    labels = [p.label for p in products]
    assert "2026-10-25 02:00 CEST to 02:15 CEST" in labels
    assert "2026-10-25 02:00 CET to 02:15 CET" in labels
    assert len({p.product_id for p in products}) == 100


def test_day_ahead_is_hourly_until_september_2025_and_quarter_hourly_from_october_2025():
    hourly = DE.products(date(2025, 9, 30), "day_ahead")
    quarter_hourly = DE.products(date(2025, 10, 1), "day_ahead")
    assert len(hourly) == 24
    assert {p.duration_minutes for p in hourly} == {60}
    assert hourly[0].rules["mtu_minutes"].value == "60"
    assert len(quarter_hourly) == 96
    assert {p.duration_minutes for p in quarter_hourly} == {15}
    assert quarter_hourly[0].rules["mtu_minutes"].value == "15"
    assert quarter_hourly[0].rules["mtu_minutes"].valid_from == date(2025, 10, 1)
    assert quarter_hourly[0].valid_from == date(2025, 10, 1)


@pytest.mark.parametrize("country", sorted(PLUGINS))
def test_every_country_has_the_same_sdac_day_ahead_rules(country):
    products = PLUGINS[country].products(NORMAL, "day_ahead")
    assert len(products) == 96
    first = products[0]
    assert (first.price_min, first.price_max, first.price_tick) == (-500.0, 4000.0, 0.01)
    assert (first.volume_min_mw, first.volume_step_mw) == (0.1, 0.1)
    assert first.pricing is Pricing.PAY_AS_CLEARED
    assert set(first.order_types) == {OrderType.CURVE, OrderType.SINGLE, OrderType.BLOCK}
    assert first.curve_points_max == 256
    assert first.gate_closure == utc(2026, 6, 14, 10, 0)
    assert first.kind is ProductKind.AUCTION


def test_the_day_ahead_price_cap_follows_its_history():
    assert DE.products(date(2022, 5, 10), "day_ahead")[0].price_max == 3000.0
    after = DE.products(date(2022, 5, 11), "day_ahead")[0]
    assert after.price_max == 4000.0
    assert after.rules["price_max"].valid_from == date(2022, 5, 11)
    hmmcp = DE.products(date(2023, 1, 11), "day_ahead")[0]
    assert hmmcp.price_max == 4000.0
    assert "price_max" in hmmcp.uncertain_rules


# --- balancing capacity ------------------------------------------------------------------


def test_de_afrr_capacity_has_six_4h_blocks_per_direction_closing_at_9_the_day_before():
    products = DE.products(NORMAL, "afrr_capacity")
    assert by_family(products) == {("4h", Direction.POS): 6, ("4h", Direction.NEG): 6}
    assert {p.gate_closure for p in products} == {utc(2026, 6, 14, 7, 0)}  # 09:00 CEST
    assert {p.duration_minutes for p in products} == {240}
    pos = [p for p in products if p.direction is Direction.POS]
    assert [local(p.delivery_start).hour for p in pos] == [0, 4, 8, 12, 16, 20]
    first = pos[0]
    assert first.product_id == "DE:afrr_capacity:4h:pos:2026-06-14T22:00Z"
    assert first.price_unit == "EUR/MW"  # quoted per MW for the whole block
    assert first.price_per_block
    assert first.price_max is None
    assert first.pricing is Pricing.PAY_AS_BID
    assert first.order_types == (OrderType.BALANCING_CAPACITY,)
    assert first.energy_price_attachable
    assert not first.indivisible_allowed
    assert first.eligibility.prequalification == "afrr_pos"
    neg = next(p for p in products if p.direction is Direction.NEG)
    assert neg.eligibility.prequalification == "afrr_neg"


@pytest.mark.parametrize(
    ("day", "first_block_minutes", "closure"),
    [
        (SPRING, 180, utc(2026, 3, 28, 8, 0)),  # 09:00 CET
        (AUTUMN, 300, utc(2026, 10, 24, 7, 0)),  # 09:00 CEST
    ],
)
def test_on_dst_days_the_first_afrr_block_lasts_3_or_5_hours(day, first_block_minutes, closure):
    products = DE.products(day, "afrr_capacity")
    for direction in (Direction.POS, Direction.NEG):
        blocks = [p for p in products if p.direction is direction]
        assert [p.duration_minutes for p in blocks] == [first_block_minutes] + [240] * 5
        assert [local(p.delivery_start).hour for p in blocks] == [0, 4, 8, 12, 16, 20]
    assert {p.gate_closure for p in products} == {closure}


def test_be_afrr_capacity_moved_from_d_minus_2_to_d_minus_1_on_its_first_delivery_day():
    be_plugin = PLUGINS["BE"]
    before = be_plugin.products(date(2024, 12, 31), "afrr_capacity")[0]
    after = be_plugin.products(date(2025, 1, 1), "afrr_capacity")[0]
    assert before.gate_closure == utc(2024, 12, 29, 8, 0)  # 09:00 CET D-2
    assert after.gate_closure == utc(2024, 12, 31, 8, 0)  # 09:00 CET D-1
    assert after.rules["gate_closure"].valid_from == date(2025, 1, 1)
    assert "gate_closure" in after.uncertain_rules


def test_fcr_has_six_symmetric_blocks_closing_at_8_the_day_before_and_opening_a_week_before():
    products = DE.products(NORMAL, "fcr_capacity")
    assert by_family(products) == {("4h", Direction.SYMMETRIC): 6}
    assert {p.gate_closure for p in products} == {utc(2026, 6, 14, 6, 0)}  # 08:00 CEST
    assert {p.gate_opening for p in products} == {utc(2026, 6, 8, 9, 0)}  # 11:00 CEST D-7
    first = products[0]
    assert first.pricing is Pricing.PAY_AS_CLEARED
    assert first.indivisible_allowed
    assert not first.energy_price_attachable
    assert first.eligibility.prequalification == "fcr"


def test_fcr_opened_two_weeks_ahead_before_september_2022():
    # the opening moved to D-7 on 2022-09-07: delivery days up to 09-13 had opened at D-14
    assert DE.products(date(2022, 9, 13), "fcr_capacity")[0].gate_opening == utc(2022, 8, 30, 9)
    assert DE.products(date(2022, 9, 14), "fcr_capacity")[0].gate_opening == utc(2022, 9, 7, 9)


# --- intraday auctions -------------------------------------------------------------------


def test_intraday_auctions_cover_the_whole_day_twice_and_the_afternoon_once():
    products = DE.products(NORMAL, "intraday_auction")
    assert by_family(products) == {("IDA1", None): 96, ("IDA2", None): 96, ("IDA3", None): 48}
    closures = {p.family: p.gate_closure for p in products}
    assert closures == {
        "IDA1": utc(2026, 6, 14, 13, 0),  # 15:00 D-1
        "IDA2": utc(2026, 6, 14, 20, 0),  # 22:00 D-1
        "IDA3": utc(2026, 6, 15, 8, 0),  # 10:00 on D itself
    }
    ida3 = sorted((p for p in products if p.family == "IDA3"), key=lambda p: p.delivery_start)
    assert local(ida3[0].delivery_start).hour == 12
    assert ida3[-1].delivery_end == utc(2026, 6, 15, 22, 0)  # local midnight


def test_ida3_on_the_spring_dst_day_still_has_48_quarter_hours_and_ida1_has_92():
    products = DE.products(SPRING, "intraday_auction")
    assert by_family(products) == {("IDA1", None): 92, ("IDA2", None): 92, ("IDA3", None): 48}


def test_there_are_no_intraday_auctions_before_14_june_2024():
    assert DE.products(date(2024, 6, 13), "intraday_auction") == []
    assert len(DE.products(date(2024, 6, 14), "intraday_auction")) == 240


# --- continuous intraday -----------------------------------------------------------------


def test_de_continuous_quarter_hours_close_30_min_before_across_areas_and_60_cross_border():
    products = DE.products(NORMAL, "intraday_continuous")
    assert by_family(products) == {("PT15M", None): 96, ("PT30M", None): 48, ("PT60M", None): 24}
    noon = starting_at(products, utc(2026, 6, 15, 10, 0), "PT15M")
    assert noon.gate_closure == utc(2026, 6, 15, 9, 30)
    assert noon.cross_border_gate_closure == utc(2026, 6, 15, 9, 0)
    assert noon.gate_opening == utc(2026, 6, 14, 14, 0)  # quarter hours open 16:00 D-1
    hour = starting_at(products, utc(2026, 6, 15, 10, 0), "PT60M")
    assert hour.gate_opening == utc(2026, 6, 14, 13, 0)  # hours open 15:00 D-1
    assert noon.pricing is Pricing.PAY_AS_BID
    assert noon.order_types == (OrderType.SINGLE,)
    assert "local_gate_closure" in noon.uncertain_rules  # 30 min not read in a primary source


def test_before_the_audit_de_continuous_was_believed_to_close_5_min_before_delivery():
    believed = DE.market("intraday_continuous").rules_on(NORMAL, known_on=date(2026, 12, 5))
    assert believed["local_gate_closure"].value.minutes_before == 5
    assert believed["local_gate_closure"].superseded_at == date(2026, 12, 6)
    today = DE.market("intraday_continuous").rules_on(NORMAL)
    assert today["local_gate_closure"].value.minutes_before == 30


def test_fr_local_intraday_closure_is_30_min_and_marked_uncertain():
    products = PLUGINS["FR"].products(NORMAL, "intraday_continuous")
    noon = starting_at(products, utc(2026, 6, 15, 10, 0), "PT15M")
    assert noon.gate_closure == utc(2026, 6, 15, 9, 30)
    assert noon.cross_border_gate_closure == utc(2026, 6, 15, 9, 0)
    assert "local_gate_closure" in noon.uncertain_rules
    assert noon.rules["local_gate_closure"].note


def test_at_has_no_half_hour_continuous_contracts():
    products = PLUGINS["AT"].products(NORMAL, "intraday_continuous")
    assert by_family(products) == {("PT15M", None): 96, ("PT60M", None): 24}


def test_the_continuous_midnight_product_closes_at_2330_the_day_before():
    products = DE.products(NORMAL, "intraday_continuous")
    midnight = starting_at(products, utc(2026, 6, 14, 22, 0), "PT15M")
    assert midnight.delivery_day == NORMAL
    assert local(midnight.gate_closure).date() == date(2026, 6, 14)
    assert local(midnight.gate_closure).strftime("%H:%M") == "23:30"


def test_an_offset_gate_counts_real_minutes_across_the_spring_clock_change():
    # The quarter hour starting 03:00 CEST (01:00Z) closes 30 real minutes earlier: 01:30 CET.
    products = DE.products(SPRING, "intraday_continuous")
    after_jump = starting_at(products, utc(2026, 3, 29, 1, 0), "PT15M")
    assert after_jump.gate_closure == utc(2026, 3, 29, 0, 30)
    assert local(after_jump.gate_closure).strftime("%H:%M %Z") == "01:30 CET"


# --- aFRR energy -------------------------------------------------------------------------


@pytest.mark.parametrize("country", sorted(PLUGINS))
def test_afrr_energy_closes_25_min_before_each_quarter_hour_in_both_directions(country):
    products = PLUGINS[country].products(NORMAL, "afrr_energy")
    assert by_family(products) == {("PT15M", Direction.POS): 96, ("PT15M", Direction.NEG): 96}
    assert all(p.delivery_start - p.gate_closure == timedelta(minutes=25) for p in products)
    assert {(p.price_min, p.price_max) for p in products} == {(-15000.0, 15000.0)}
    assert all(p.kind is ProductKind.BALANCING_ENERGY for p in products)


def test_the_midnight_afrr_energy_product_closes_at_2335_the_day_before():
    midnight = DE.products(NORMAL, "afrr_energy")[0]
    assert midnight.delivery_start == utc(2026, 6, 14, 22, 0)
    assert local(midnight.gate_closure).strftime("%Y-%m-%d %H:%M") == "2026-06-14 23:35"


@pytest.mark.parametrize(
    ("country", "accession"),
    [
        ("DE", date(2022, 6, 22)),
        ("AT", date(2022, 6, 22)),
        ("NL", date(2024, 1, 1)),
        ("BE", date(2025, 2, 1)),
        ("FR", date(2025, 4, 1)),
    ],
)
def test_there_is_no_afrr_energy_product_before_a_country_joined_picasso(country, accession):
    plugin = PLUGINS[country]
    assert plugin.products(accession - timedelta(days=1), "afrr_energy") == []
    assert len(plugin.products(accession, "afrr_energy")) == 2 * 96


# --- DST and midnight gate closures ------------------------------------------------------


@pytest.mark.parametrize(
    ("delivery_day", "closure"),
    [
        (date(2026, 3, 29), utc(2026, 3, 28, 11, 0)),  # gate on a CET day
        (date(2026, 3, 30), utc(2026, 3, 29, 10, 0)),  # gate on the spring DST day itself
        (date(2026, 10, 25), utc(2026, 10, 24, 10, 0)),  # gate on a CEST day
        (date(2026, 10, 26), utc(2026, 10, 25, 11, 0)),  # gate on the autumn DST day itself
    ],
)
def test_a_day_ahead_gate_is_noon_local_even_when_the_gate_day_changes_clock(delivery_day, closure):
    assert {p.gate_closure for p in DE.products(delivery_day, "day_ahead")} == {closure}


# --- provenance --------------------------------------------------------------------------


@pytest.mark.parametrize("country", sorted(PLUGINS))
def test_every_product_says_where_its_rules_come_from_and_since_when(country):
    products = PLUGINS[country].products(NORMAL)
    assert {p.market for p in products} == set(MarketId)
    for product in products:
        assert product.source.strip()
        assert product.valid_from <= NORMAL
        assert product.rules
        for ref in product.rules.values():
            assert ref.source.strip()
            assert ref.valid_from <= NORMAL
        assert product.gate_closure.tzinfo is not None
        assert product.delivery_start.tzinfo is not None


def test_uncertain_rules_are_visible_on_the_products_that_use_them():
    de_day_ahead = DE.products(NORMAL, "day_ahead")[0]
    assert set(de_day_ahead.uncertain_rules) == {"price_min", "price_max", "price_tick"}
    assert DE.products(NORMAL, "afrr_capacity")[0].uncertain_rules == ("price_per_block",)
    nl_afrr = PLUGINS["NL"].products(NORMAL, "afrr_capacity")[0]
    # TenneT's aFRR market itself is sourced (general) since audit session 4; its shape is not
    assert {"block_hours", "gate_closure", "volume_min_mw"} <= set(nl_afrr.uncertain_rules)
    assert "in_operation" not in nl_afrr.uncertain_rules
    ida = DE.products(NORMAL, "intraday_auction")[0]
    assert {"price_min", "price_max"} <= set(ida.uncertain_rules)
    assert "price_tick" not in ida.uncertain_rules  # general since audit session 6 (OTE's page)


def test_asking_for_a_market_the_country_does_not_have_names_the_ones_it_has():
    with pytest.raises(KeyError, match="DE has no market 'capacity_market'; it has day_ahead"):
        DE.products(NORMAL, "capacity_market")


def test_no_product_exists_before_the_rule_histories_start():
    assert DE.products(date(2014, 12, 31)) == []  # Germany's history starts 2015-01-01


def test_a_product_is_found_again_by_its_id():
    for product in DE.products(SPRING):
        assert DE.product(product.product_id) == product


# --- eligibility -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def portfolio():
    return read_portfolio(SAMPLE_PORTFOLIO)


def treatment(portfolio, asset_id: str):
    asset = portfolio.asset(asset_id)
    return portfolio.treatment(asset, NORMAL), portfolio.site_of(asset).bidding_zone


def test_a_prequalified_de_battery_may_offer_its_prequalified_mw_in_de_balancing(portfolio):
    treat, zone = treatment(portfolio, "bat-de-essen-01")
    afrr = {p.direction: p for p in DE.products(NORMAL, "afrr_capacity")}
    fcr = DE.products(NORMAL, "fcr_capacity")[0]
    assert zone == "DE_LU"
    assert afrr[Direction.POS].eligibility.admits(treat, bidding_zone=zone)
    assert afrr[Direction.POS].eligibility.max_mw(treat) == 10.0
    assert afrr[Direction.NEG].eligibility.max_mw(treat) == 10.0
    assert fcr.eligibility.admits(treat, bidding_zone=zone)
    assert fcr.eligibility.max_mw(treat) == 5.0


def test_an_asset_prequalified_only_downward_is_refused_for_upward_afrr(portfolio):
    treat, zone = treatment(portfolio, "wind-de-lausitz")
    afrr = {p.direction: p for p in DE.products(NORMAL, "afrr_capacity")}
    assert not afrr[Direction.POS].eligibility.admits(treat, bidding_zone=zone)
    assert afrr[Direction.POS].eligibility.max_mw(treat) == 0.0
    assert afrr[Direction.NEG].eligibility.admits(treat, bidding_zone=zone)
    assert afrr[Direction.NEG].eligibility.max_mw(treat) == 20.0


def test_energy_products_admit_any_asset_of_their_bidding_zone_without_a_mw_limit(portfolio):
    pv_treat, pv_zone = treatment(portfolio, "pv-de-essen-roof")
    day_ahead = DE.products(NORMAL, "day_ahead")[0]
    afrr_pos = DE.products(NORMAL, "afrr_capacity")[0]
    assert day_ahead.eligibility.admits(pv_treat, bidding_zone=pv_zone)
    assert day_ahead.eligibility.max_mw(pv_treat) is None
    # Without a prequalification it may not offer balancing.
    assert not afrr_pos.eligibility.admits(pv_treat, bidding_zone=pv_zone)
    assert afrr_pos.eligibility.max_mw(pv_treat) == 0.0


def test_an_asset_in_another_country_is_refused_even_if_prequalified_there(portfolio):
    nl_treat, nl_zone = treatment(portfolio, "bat-nl-rotterdam-01")
    assert nl_zone == "NL"
    de_afrr = DE.products(NORMAL, "afrr_capacity")[0]
    de_day_ahead = DE.products(NORMAL, "day_ahead")[0]
    assert not de_afrr.eligibility.admits(nl_treat, bidding_zone=nl_zone)
    assert de_afrr.eligibility.max_mw(nl_treat) == 0.0
    assert not de_day_ahead.eligibility.admits(nl_treat, bidding_zone=nl_zone)
    nl_afrr = PLUGINS["NL"].products(NORMAL, "afrr_capacity")[0]
    assert nl_afrr.eligibility.admits(nl_treat, bidding_zone=nl_zone)
    assert nl_afrr.eligibility.max_mw(nl_treat) == 10.0


def test_an_asset_not_yet_commissioned_is_not_admitted_to_balancing(portfolio):
    treat, zone = treatment(portfolio, "bat-de-lausitz")  # commissioned 2027-02-01
    fcr = DE.products(NORMAL, "fcr_capacity")[0]
    assert not fcr.eligibility.admits(treat, bidding_zone=zone)
    assert "prequalified for fcr" in fcr.eligibility.describe()
