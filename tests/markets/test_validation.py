"""Bid checks: every broken market rule is reported at once, each naming its rule and limit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from markets.bids import (
    BalancingCapacityBid,
    BalancingEnergyBid,
    BlockBid,
    CurveBid,
    CurvePoint,
    SingleBid,
    parse_bid,
)
from markets.countries import at, de
from markets.products import Direction
from markets.rules import Confidence

DE = de.PLUGIN
AT = at.PLUGIN
NORMAL = date(2026, 6, 15)
SPRING = date(2026, 3, 29)
ONE_SECOND = timedelta(seconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rules_of(violations) -> set[str]:
    return {v.rule for v in violations}


def only(violations, rule: str):
    found = [v for v in violations if v.rule == rule]
    assert len(found) == 1, violations
    return found[0]


def product(plugin, market: str, day: date = NORMAL, *, direction=None, start=None, family=None):
    candidates = [
        p
        for p in plugin.products(day, market)
        if (direction is None or p.direction == direction)
        and (start is None or p.delivery_start == start)
        and (family is None or p.family == family)
    ]
    return min(candidates, key=lambda p: p.delivery_start)


def in_time(p) -> datetime:
    """A moment inside the product's gate."""
    return p.gate_closure - timedelta(minutes=1)


def capacity_bid(p, **changes) -> BalancingCapacityBid:
    data = {
        "product_id": p.product_id,
        "direction": p.direction,
        "capacity_mw": 5.0,
        "capacity_price_eur_per_mw_h": 12.5,
    }
    return BalancingCapacityBid(**{**data, **changes})


def energy_bid(p, **changes) -> BalancingEnergyBid:
    data = {
        "product_id": p.product_id,
        "direction": p.direction,
        "volume_mw": 5.0,
        "energy_price_eur_per_mwh": 80.0,
    }
    return BalancingEnergyBid(**{**data, **changes})


def single_bid(p, **changes) -> SingleBid:
    data = {"product_id": p.product_id, "volume_mw": 1.0, "price_eur_per_mwh": 50.0}
    return SingleBid(**{**data, **changes})


def curve(p, *points: tuple[float, float]) -> CurveBid:
    return CurveBid(
        product_id=p.product_id,
        points=tuple(CurvePoint(price_eur_per_mwh=pr, volume_mw=v) for pr, v in points),
    )


@pytest.fixture(scope="module")
def afrr_pos():
    return product(DE, "afrr_capacity", direction=Direction.POS)


@pytest.fixture(scope="module")
def day_ahead():
    return sorted(DE.products(NORMAL, "day_ahead"), key=lambda p: p.delivery_start)


# --- the "done when" -------------------------------------------------------------


def test_a_valid_de_afrr_capacity_bid_has_no_violation(afrr_pos):
    assert DE.validate(capacity_bid(afrr_pos, capacity_mw=1.0), now=in_time(afrr_pos)) == []


def test_an_afrr_capacity_bid_01_mw_under_the_minimum_fails_naming_the_minimum(afrr_pos):
    found = DE.validate(capacity_bid(afrr_pos, capacity_mw=0.9), now=in_time(afrr_pos))
    violation = only(found, "afrr_capacity.volume_min_mw")
    assert violation.field == "capacity_mw"
    assert violation.value == "0.9"
    assert violation.limit == ">= 1 MW"
    assert violation.product_id == afrr_pos.product_id
    assert violation.source == "regelleistung.net: FAQ (English)"  # audit session 5
    assert violation.valid_from == date(2022, 1, 1)
    # 0.9 MW is not a whole number of 1 MW steps either.
    assert rules_of(found) == {"afrr_capacity.volume_min_mw", "afrr_capacity.volume_step_mw"}


def test_afrr_capacity_has_no_price_cap_so_a_high_capacity_price_passes(afrr_pos):
    assert afrr_pos.price_max is None
    bid = capacity_bid(afrr_pos, capacity_price_eur_per_mw_h=250_000.0)
    assert DE.validate(bid, now=in_time(afrr_pos)) == []


@pytest.mark.parametrize(
    ("market", "make_bid", "cap", "field", "unit"),
    [
        (
            "day_ahead",
            lambda p, price: single_bid(p, price_eur_per_mwh=price),
            4000.0,
            "price_eur_per_mwh",
            "EUR/MWh",
        ),
        (
            "afrr_energy",
            lambda p, price: energy_bid(p, energy_price_eur_per_mwh=price),
            15000.0,
            "energy_price_eur_per_mwh",
            "EUR/MWh",
        ),
        (
            "intraday_continuous",
            lambda p, price: single_bid(p, price_eur_per_mwh=price),
            9999.99,
            "price_eur_per_mwh",
            "EUR/MWh",
        ),
    ],
)
def test_a_price_one_tick_above_the_cap_fails_and_the_cap_itself_passes(
    market, make_bid, cap, field, unit
):
    p = product(DE, market, direction=Direction.POS if market == "afrr_energy" else None)
    assert p.price_max == cap
    assert DE.validate(make_bid(p, cap), now=in_time(p)) == []
    above = round(cap + p.price_tick, 2)
    found = DE.validate(make_bid(p, above), now=in_time(p))
    violation = only(found, f"{market}.price_max")
    assert rules_of(found) == {f"{market}.price_max"}
    assert violation.field == field
    assert float(violation.value) == above
    assert violation.limit == f"<= {cap:g} {unit}"


def test_a_price_one_tick_under_the_floor_fails(day_ahead):
    p = day_ahead[0]
    assert DE.validate(single_bid(p, price_eur_per_mwh=-500.0), now=in_time(p)) == []
    found = DE.validate(single_bid(p, price_eur_per_mwh=-500.01), now=in_time(p))
    assert rules_of(found) == {"day_ahead.price_min"}
    assert only(found, "day_ahead.price_min").limit == ">= -500 EUR/MWh"


def test_a_price_off_the_tick_fails_and_one_on_it_passes(day_ahead):
    p = day_ahead[0]
    assert DE.validate(single_bid(p, price_eur_per_mwh=12.34), now=in_time(p)) == []
    found = DE.validate(single_bid(p, price_eur_per_mwh=12.345), now=in_time(p))
    violation = only(found, "day_ahead.price_tick")
    assert violation.limit == "multiple of 0.01 EUR/MWh"
    # The tick rule is uncertain, and the violation says so.
    assert violation.confidence is Confidence.UNCERTAIN


def test_a_price_violation_carries_the_source_and_start_of_its_rule(day_ahead):
    p = day_ahead[0]
    violation = only(
        DE.validate(single_bid(p, price_eur_per_mwh=4500.0), now=in_time(p)), "day_ahead.price_max"
    )
    assert violation.source is not None
    assert violation.source.startswith("Eurelectric")  # the audit's source of the record
    assert violation.valid_from == date(2023, 1, 11)
    assert violation.confidence is Confidence.UNCERTAIN
    assert f"[{violation.source}, from 2023-01-11, uncertain]" in str(violation)


def test_a_bid_one_second_after_gate_closure_fails_naming_the_closure_in_utc_and_local_time(
    afrr_pos,
):
    assert afrr_pos.gate_closure == utc(2026, 6, 14, 7, 0)
    bid = capacity_bid(afrr_pos)
    assert DE.validate(bid, now=afrr_pos.gate_closure - ONE_SECOND) == []
    found = DE.validate(bid, now=afrr_pos.gate_closure + ONE_SECOND)
    assert rules_of(found) == {"afrr_capacity.gate_closure"}
    violation = found[0]
    assert violation.field == "now"
    assert violation.value == "2026-06-14T07:00:01Z"
    assert violation.limit == "2026-06-14T07:00:00Z (2026-06-14 09:00 CEST)"


def test_the_gate_closure_instant_itself_is_already_too_late(afrr_pos):
    found = DE.validate(capacity_bid(afrr_pos), now=afrr_pos.gate_closure)
    assert rules_of(found) == {"afrr_capacity.gate_closure"}


def test_a_late_bid_on_a_dst_day_names_the_closure_in_winter_time():
    p = product(DE, "afrr_capacity", SPRING, direction=Direction.NEG)
    found = DE.validate(capacity_bid(p), now=p.gate_closure + ONE_SECOND)
    assert only(found, "afrr_capacity.gate_closure").limit == (
        "2026-03-28T08:00:00Z (2026-03-28 09:00 CET)"
    )


def test_now_may_be_given_in_any_time_zone():
    p = product(DE, "day_ahead")
    berlin_noon = datetime(2026, 6, 14, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert rules_of(DE.validate(single_bid(p), now=berlin_noon)) == {"day_ahead.gate_closure"}
    just_before = berlin_noon - ONE_SECOND
    assert DE.validate(single_bid(p), now=just_before) == []


def test_a_bid_breaking_several_rules_gets_every_violation_at_once(afrr_pos):
    bid = capacity_bid(
        afrr_pos,
        direction=Direction.NEG,
        capacity_mw=0.5,
        capacity_price_eur_per_mw_h=-0.001,  # -0.004 EUR/MW per 4-hour block: off the tick
        divisible=False,
    )
    found = DE.validate(bid, now=afrr_pos.gate_closure + timedelta(hours=1))
    assert rules_of(found) == {
        "afrr_capacity.gate_closure",
        "afrr_capacity.directions",
        "afrr_capacity.volume_min_mw",
        "afrr_capacity.volume_step_mw",
        "afrr_capacity.price_min",
        "afrr_capacity.price_tick",
        "afrr_capacity.indivisible_allowed",
    }
    assert all(v.product_id == afrr_pos.product_id for v in found)
    assert all(str(v).startswith(v.rule) for v in found)


def test_a_naive_now_is_refused(afrr_pos):
    with pytest.raises(ValueError, match="naive"):
        DE.validate(capacity_bid(afrr_pos), now=datetime(2026, 6, 14, 6, 0))


# --- curve bids --------------------------------------------------------------------------


def test_a_rising_supply_curve_within_bounds_passes(day_ahead):
    p = day_ahead[40]
    bid = curve(p, (-500.0, -10.0), (0.0, 0.0), (50.0, 5.0), (4000.0, 10.0))
    assert DE.validate(bid, now=in_time(p)) == []


@pytest.mark.parametrize("second_price", [10.0, 9.99])
def test_curve_prices_must_rise_strictly(day_ahead, second_price):
    p = day_ahead[40]
    found = DE.validate(curve(p, (10.0, 1.0), (second_price, 2.0)), now=in_time(p))
    violation = only(found, "day_ahead.curve_price_order")
    assert violation.field == "points[1].price_eur_per_mwh"
    assert rules_of(found) == {"day_ahead.curve_price_order"}


def test_a_curve_whose_volume_falls_as_the_price_rises_fails(day_ahead):
    p = day_ahead[40]
    found = DE.validate(curve(p, (10.0, 1.0), (20.0, 5.0), (30.0, 3.0)), now=in_time(p))
    violation = only(found, "day_ahead.curve_monotonic")
    assert violation.field == "points[2].volume_mw"
    assert rules_of(found) == {"day_ahead.curve_monotonic"}


def test_a_curve_with_more_points_than_the_market_allows_fails(day_ahead):
    p = day_ahead[40]
    assert p.curve_points_max == 256

    def points(n):
        return [(float(i), round(0.1 * i, 1)) for i in range(n)]

    assert DE.validate(curve(p, *points(256)), now=in_time(p)) == []
    found = DE.validate(curve(p, *points(257)), now=in_time(p))
    violation = only(found, "day_ahead.curve_points_max")
    assert violation.value == "257"
    assert rules_of(found) == {"day_ahead.curve_points_max"}


def test_a_curve_offering_no_volume_at_any_price_fails(day_ahead):
    p = day_ahead[40]
    found = DE.validate(curve(p, (10.0, 0.0), (20.0, 0.0)), now=in_time(p))
    violation = only(found, "day_ahead.volume_min_mw")
    assert violation.field == "points"


def test_each_curve_point_is_checked_against_the_price_and_volume_rules(day_ahead):
    p = day_ahead[40]
    found = DE.validate(curve(p, (10.0, 0.05), (4000.01, 1.0)), now=in_time(p))
    assert {(v.rule, v.field) for v in found} == {
        ("day_ahead.volume_min_mw", "points[0].volume_mw"),
        ("day_ahead.volume_step_mw", "points[0].volume_mw"),
        ("day_ahead.price_max", "points[1].price_eur_per_mwh"),
    }


# --- block bids --------------------------------------------------------------------------


def block(products, volumes, price=60.0) -> BlockBid:
    return BlockBid(
        product_ids=tuple(p.product_id for p in products),
        volumes_mw=tuple(volumes),
        price_eur_per_mwh=price,
    )


def test_a_block_over_consecutive_quarter_hours_passes(day_ahead):
    bid = block(day_ahead[32:36], [5.0, 5.0, 6.0, 0.0])
    assert DE.validate(bid, now=in_time(day_ahead[32])) == []


def test_a_block_with_a_gap_between_its_products_fails(day_ahead):
    bid = block([day_ahead[32], day_ahead[34]], [5.0, 5.0])
    found = DE.validate(bid, now=in_time(day_ahead[32]))
    violation = only(found, "day_ahead.block_contiguous")
    assert violation.field == "product_ids[1]"
    assert violation.value == day_ahead[34].product_id


def test_a_block_mixing_two_auctions_fails(day_ahead):
    ida1 = product(DE, "intraday_auction", family="IDA1", start=day_ahead[33].delivery_start)
    bid = block([day_ahead[32], ida1], [5.0, 5.0])
    found = DE.validate(bid, now=in_time(day_ahead[32]))
    assert "day_ahead.block_contiguous" in rules_of(found)


def test_a_block_that_both_sells_and_buys_fails(day_ahead):
    found = DE.validate(block(day_ahead[32:34], [5.0, -5.0]), now=in_time(day_ahead[32]))
    violation = only(found, "day_ahead.block_direction")
    assert violation.field == "volumes_mw"
    assert rules_of(found) == {"day_ahead.block_direction"}


def test_a_block_needs_one_volume_per_product(day_ahead):
    found = DE.validate(block(day_ahead[32:35], [5.0, 5.0]), now=in_time(day_ahead[32]))
    violation = only(found, "day_ahead.block_profile")
    assert violation.field == "volumes_mw"
    assert violation.value == "2 volumes"


def test_a_block_offering_nothing_fails(day_ahead):
    found = DE.validate(block(day_ahead[32:34], [0.0, 0.0]), now=in_time(day_ahead[32]))
    assert only(found, "day_ahead.volume_min_mw").field == "volumes_mw"


def test_a_block_spanning_two_delivery_days_is_not_one_auction():
    last_today = max(DE.products(NORMAL, "day_ahead"), key=lambda p: p.delivery_start)
    first_tomorrow = min(
        DE.products(NORMAL + timedelta(days=1), "day_ahead"), key=lambda p: p.delivery_start
    )
    assert last_today.delivery_end == first_tomorrow.delivery_start
    found = DE.validate(block([last_today, first_tomorrow], [5.0, 5.0]), now=utc(2026, 6, 1))
    assert "day_ahead.block_contiguous" in rules_of(found)


# --- order types, directions, balancing options ------------------------------------------


def test_a_curve_on_continuous_intraday_is_refused_as_an_order_type():
    p = product(DE, "intraday_continuous", family="PT15M")
    found = DE.validate(curve(p, (10.0, 1.0), (20.0, 2.0)), now=in_time(p))
    assert rules_of(found) == {"intraday_continuous.order_types"}
    violation = found[0]
    assert violation.field == "type"
    assert violation.value == "curve"
    assert violation.limit == "single"


def test_a_single_bid_on_afrr_capacity_is_refused_as_an_order_type(afrr_pos):
    found = DE.validate(single_bid(afrr_pos), now=in_time(afrr_pos))
    assert rules_of(found) == {"afrr_capacity.order_types"}
    assert found[0].limit == "balancing_capacity"


def test_a_single_bid_is_accepted_on_day_ahead_as_a_one_step_order_both_to_sell_and_buy(
    day_ahead,
):
    p = day_ahead[10]
    assert DE.validate(single_bid(p, volume_mw=0.1), now=in_time(p)) == []
    assert DE.validate(single_bid(p, volume_mw=-0.1), now=in_time(p)) == []


def test_a_bid_in_the_wrong_direction_fails():
    pos = product(DE, "afrr_energy", direction=Direction.POS)
    found = DE.validate(energy_bid(pos, direction=Direction.NEG), now=in_time(pos))
    violation = only(found, "afrr_energy.directions")
    assert (violation.field, violation.limit, violation.value) == ("direction", "pos", "neg")
    fcr = product(DE, "fcr_capacity")
    found = DE.validate(capacity_bid(fcr, direction=Direction.POS), now=in_time(fcr))
    assert rules_of(found) == {"fcr_capacity.directions"}


def test_an_indivisible_capacity_bid_is_accepted_on_fcr_and_refused_on_de_afrr(afrr_pos):
    fcr = product(DE, "fcr_capacity")
    assert DE.validate(capacity_bid(fcr, divisible=False), now=in_time(fcr)) == []
    found = DE.validate(capacity_bid(afrr_pos, divisible=False), now=in_time(afrr_pos))
    assert rules_of(found) == {"afrr_capacity.indivisible_allowed"}
    assert found[0].field == "divisible"


def test_an_energy_price_with_a_capacity_bid_is_accepted_in_de_and_refused_elsewhere(afrr_pos):
    attached = {"energy_price_eur_per_mwh": 95.5}
    assert DE.validate(capacity_bid(afrr_pos, **attached), now=in_time(afrr_pos)) == []
    at_afrr = product(AT, "afrr_capacity", direction=Direction.POS)
    found = AT.validate(capacity_bid(at_afrr, **attached), now=in_time(at_afrr))
    violation = only(found, "afrr_capacity.energy_price_attachable")
    assert violation.field == "energy_price_eur_per_mwh"
    fcr = product(DE, "fcr_capacity")
    found = DE.validate(capacity_bid(fcr, **attached), now=in_time(fcr))
    assert rules_of(found) == {"fcr_capacity.energy_price_attachable"}


def test_a_refusal_by_an_undeclared_optional_rule_cites_the_engine_without_a_date(afrr_pos):
    """No market rule dated 1900 is invented: the engine's own default says what it is."""
    fcr = product(DE, "fcr_capacity")
    found = DE.validate(capacity_bid(fcr, energy_price_eur_per_mwh=95.5), now=in_time(fcr))
    violation = only(found, "fcr_capacity.energy_price_attachable")
    assert violation.valid_from is None
    assert "the plugin declares no energy_price_attachable rule" in (violation.source or "")
    assert "not a dated market rule" in (violation.source or "")


# --- continuous intraday gates -----------------------------------------------------------


@pytest.fixture(scope="module")
def quarter_hour_at_noon():
    return product(DE, "intraday_continuous", family="PT15M", start=utc(2026, 6, 15, 10, 0))


def test_a_cross_border_bid_after_the_cross_border_closure_fails_but_a_local_one_passes(
    quarter_hour_at_noon,
):
    p = quarter_hour_at_noon
    between = utc(2026, 6, 15, 9, 15)  # after 11:00 CEST (cross-border), before 11:30 (local)
    found = DE.validate(single_bid(p, cross_border=True), now=between)
    assert rules_of(found) == {"intraday_continuous.cross_border_gate_closure"}
    violation = found[0]
    assert violation.field == "now"
    assert violation.limit == "2026-06-15T09:00:00Z (2026-06-15 11:00 CEST)"
    assert DE.validate(single_bid(p, cross_border=False), now=between) == []
    assert DE.validate(single_bid(p, cross_border=True), now=utc(2026, 6, 15, 8, 59, 59)) == []


def test_after_the_local_closure_only_the_gate_closure_is_reported(quarter_hour_at_noon):
    p = quarter_hour_at_noon
    found = DE.validate(single_bid(p, cross_border=True), now=utc(2026, 6, 15, 9, 30))
    assert rules_of(found) == {"intraday_continuous.gate_closure"}
    assert found[0].limit == "2026-06-15T09:30:00Z (2026-06-15 11:30 CEST)"


def test_a_bid_before_the_gate_opens_fails_naming_the_opening(quarter_hour_at_noon):
    p = quarter_hour_at_noon
    assert p.gate_opening == utc(2026, 6, 14, 14, 0)
    found = DE.validate(single_bid(p), now=p.gate_opening - ONE_SECOND)
    assert rules_of(found) == {"intraday_continuous.gate_opening"}
    assert found[0].limit == "2026-06-14T14:00:00Z (2026-06-14 16:00 CEST)"
    assert DE.validate(single_bid(p), now=p.gate_opening) == []


def test_an_fcr_bid_before_the_auction_opens_a_week_ahead_fails():
    fcr = product(DE, "fcr_capacity")
    found = DE.validate(capacity_bid(fcr), now=fcr.gate_opening - ONE_SECOND)
    assert rules_of(found) == {"fcr_capacity.gate_opening"}


# --- unknown products --------------------------------------------------------------------


@pytest.mark.parametrize(
    "product_id",
    [
        pytest.param("DE:day_ahead:SDAC:2026-06-15T10:07Z", id="not-an-mtu-start"),
        pytest.param("DE:day_ahead:SDAC:2026-13-45T10:00Z", id="impossible-date"),
        pytest.param("FR:day_ahead:SDAC:2026-06-15T10:00Z", id="another-country"),
        pytest.param("DE:intraday_auction:IDA1:2024-06-12T10:00Z", id="market-not-yet-running"),
        pytest.param("DE:afrr_capacity:4h:2026-06-14T22:00Z", id="missing-direction"),
        pytest.param("DE:day_ahead:SDAC:2026-06-15 10:00", id="malformed-time"),
        pytest.param("garbage", id="garbage"),
        pytest.param("", id="empty"),
    ],
)
def test_an_unknown_or_malformed_product_id_gives_a_product_exists_violation(product_id):
    bid = SingleBid(product_id=product_id, volume_mw=1.0, price_eur_per_mwh=10.0)
    found = DE.validate(bid, now=utc(2026, 6, 1))
    assert [(v.rule, v.field, v.value) for v in found] == [
        ("product.exists", "product_id", product_id)
    ]


def test_a_block_names_each_of_its_unknown_products(day_ahead):
    unknown = "DE:day_ahead:SDAC:2026-06-15T10:07Z"
    bid = BlockBid(
        product_ids=(day_ahead[0].product_id, unknown),
        volumes_mw=(1.0, 1.0),
        price_eur_per_mwh=10.0,
    )
    found = DE.validate(bid, now=utc(2026, 6, 1))
    assert [(v.rule, v.field, v.value) for v in found] == [
        ("product.exists", "product_ids", unknown)
    ]


# --- rules across bids -------------------------------------------------------------------


def test_at_afrr_further_bids_below_5_mw_fail_through_validate_all():
    first, other = [
        product(AT, "afrr_capacity", direction=d) for d in (Direction.POS, Direction.NEG)
    ]
    assert first.further_bid_min_mw == 5.0
    bids = [
        capacity_bid(first, capacity_mw=1.0),
        capacity_bid(first, capacity_mw=3.0),
        capacity_bid(first, capacity_mw=5.0),
        capacity_bid(other, capacity_mw=1.0),
    ]
    now = in_time(first)
    # Each bid alone is fine; only together does the second one break the rule.
    assert all(AT.validate(bid, now=now) == [] for bid in bids)
    found = AT.validate_all(bids, now=now)
    assert [rules_of(v) for v in found] == [
        set(),
        {"afrr_capacity.further_bid_min_mw"},
        set(),
        set(),
    ]
    violation = found[1][0]
    assert violation.field == "capacity_mw"
    assert violation.value == "3"
    assert violation.source.startswith("APG")


def test_de_has_no_minimum_for_further_afrr_bids(afrr_pos):
    bids = [capacity_bid(afrr_pos, capacity_mw=1.0), capacity_bid(afrr_pos, capacity_mw=1.0)]
    assert DE.validate_all(bids, now=in_time(afrr_pos)) == [[], []]


# --- balancing volumes -------------------------------------------------------------------


def test_a_negative_balancing_capacity_is_refused(afrr_pos):
    found = DE.validate(capacity_bid(afrr_pos, capacity_mw=-5.0), now=in_time(afrr_pos))
    assert found != []


def test_a_negative_balancing_energy_volume_is_refused():
    p = product(DE, "afrr_energy", direction=Direction.POS)
    assert DE.validate(energy_bid(p, volume_mw=-5.0), now=in_time(p)) != []


def test_a_very_large_whole_capacity_price_is_on_the_tick(afrr_pos):
    bid = capacity_bid(afrr_pos, capacity_price_eur_per_mw_h=1e27)
    assert DE.validate(bid, now=in_time(afrr_pos)) == []


# --- bid shapes --------------------------------------------------------------------------


def shape_errors(data) -> list[tuple]:
    with pytest.raises(ValidationError) as caught:
        parse_bid(data)
    return [error["loc"] for error in caught.value.errors()]


SINGLE = {"type": "single", "product_id": "DE:x", "volume_mw": 1.0, "price_eur_per_mwh": 10.0}
CAPACITY = {
    "type": "balancing_capacity",
    "product_id": "DE:x",
    "direction": "pos",
    "capacity_mw": 1.0,
    "capacity_price_eur_per_mw_h": 1.0,
}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({**SINGLE, "volume_mw": "lots"}, "volume_mw", id="text-volume"),
        pytest.param({**SINGLE, "price_eur_per_mwh": float("nan")}, "price_eur_per_mwh", id="nan"),
        pytest.param({**SINGLE, "price_eur_per_mwh": float("inf")}, "price_eur_per_mwh", id="inf"),
        pytest.param({**SINGLE, "volume": 1.0}, "volume", id="unknown-field"),
        pytest.param(
            {k: v for k, v in SINGLE.items() if k != "product_id"}, "product_id", id="no-id"
        ),
        pytest.param({**CAPACITY, "direction": "up"}, "direction", id="bad-direction"),
        pytest.param({**CAPACITY, "divisible": "sometimes"}, "divisible", id="bad-divisible"),
        pytest.param(
            {"type": "curve", "product_id": "DE:x", "points": []}, "points", id="no-points"
        ),
        pytest.param(
            {
                "type": "block",
                "product_ids": ["a"],
                "volumes_mw": [1.0],
                "price_eur_per_mwh": 1.0,
                "min_acceptance_ratio": 0,
            },
            "min_acceptance_ratio",
            id="zero-acceptance-ratio",
        ),
    ],
)
def test_a_badly_shaped_bid_is_refused_naming_the_field(data, field):
    locations = shape_errors(data)
    assert any(loc[-1] == field for loc in locations), locations


def test_an_unknown_bid_type_is_refused_naming_the_type():
    with pytest.raises(ValidationError, match="spread") as caught:
        parse_bid({**SINGLE, "type": "spread"})
    assert caught.value.errors()[0]["type"] == "union_tag_invalid"


def test_a_well_shaped_bid_parses_into_its_model():
    bid = parse_bid(CAPACITY)
    assert isinstance(bid, BalancingCapacityBid)
    assert bid.direction is Direction.POS
    assert bid.divisible


def test_further_bid_messages_number_bids_as_the_whole_submission_does():
    """One country's bids are validated apart from the others of a submission: the message
    must name the other bid by its place in the submission, not in the country's share."""
    first = product(AT, "afrr_capacity", direction=Direction.POS)
    bids = [capacity_bid(first, capacity_mw=1.0), capacity_bid(first, capacity_mw=3.0)]
    found = AT.validate_all(bids, now=in_time(first), positions=[4, 9])
    assert found[0] == []
    (violation,) = found[1]
    assert "bid #4 already uses the smaller minimum" in violation.message
    alone = AT.validate_all(bids, now=in_time(first))
    assert "bid #0 already uses" in alone[1][0].message
