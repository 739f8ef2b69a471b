"""Properties of every built-in plugin on random delivery days, checked by independent oracles.

Day boundaries come from `zoneinfo`, not from `markets.calendar`; bound violations are
predicted with `decimal.Decimal` from the product's own fields.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from markets.bids import (
    BalancingCapacityBid,
    BalancingEnergyBid,
    BlockBid,
    SingleBid,
)
from markets.conformance import check_plugin
from markets.countries import at, be, de, fr, nl
from markets.products import Direction, OrderType, ProductKind

PLUGINS = {p.PLUGIN.country: p.PLUGIN for p in (de, nl, be, fr, at)}
DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
BOUND_RULES = {"price_min", "price_max", "price_tick", "volume_min_mw", "volume_step_mw"}
SESSION_START = {"IDA3": time(12)}
"""Auction sessions that deliver only part of the day (IDA3: 12:00-24:00 local)."""
BALANCING = {ProductKind.BALANCING_CAPACITY, ProductKind.BALANCING_ENERGY}


def local_instant(day: date, at_time: time, timezone: str) -> datetime:
    return datetime.combine(day, at_time, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


# --- products tile the day and close before delivery ------------------------------------


@pytest.mark.parametrize("country", sorted(PLUGINS))
@given(day=DAYS, data=st.data())
def test_each_family_tiles_its_window_and_every_gate_precedes_delivery(country, day, data):
    plugin = PLUGINS[country]
    spec = data.draw(st.sampled_from(plugin.markets), label="market")
    products = spec.products(day)
    assert (products != []) == spec.offered_on(day)
    tz = plugin.timezone
    day_end = local_instant(day + timedelta(days=1), time(0), tz)
    families = defaultdict(list)
    for product in products:
        families[(product.family, product.direction)].append(product)
    assert len({p.product_id for p in products}) == len(products)

    for (family, _direction), group in families.items():
        group.sort(key=lambda p: p.delivery_start)
        start = local_instant(day, SESSION_START.get(family, time(0)), tz)
        assert group[0].delivery_start == start, family
        assert group[-1].delivery_end == day_end, family
        for earlier, later in pairwise(group):
            assert earlier.delivery_end == later.delivery_start, (family, later.product_id)
        if group[0].kind is ProductKind.BALANCING_CAPACITY:
            # Blocks start on local wall-clock multiples of the block length.
            hours = int(family.removesuffix("h"))
            assert len(group) == 24 // hours
            local_starts = [p.delivery_start.astimezone(ZoneInfo(tz)) for p in group]
            assert [s.hour for s in local_starts] == list(range(0, 24, hours))
        else:
            lengths = {p.duration_minutes for p in group}
            assert len(lengths) == 1, (family, lengths)
            assert len(group) * lengths.pop() == (day_end - start) / timedelta(minutes=1)

    for product in products:
        assert product.delivery_day == day
        assert product.delivery_start < product.delivery_end
        assert product.gate_closure <= product.delivery_start, product.product_id
        if product.gate_opening is not None:
            assert product.gate_opening < product.gate_closure, product.product_id
        if product.cross_border_gate_closure is not None:
            assert product.cross_border_gate_closure <= product.gate_closure
        if product.kind in BALANCING:
            assert product.direction is not None
        else:
            assert product.direction is None


@settings(max_examples=max(3, settings.default.max_examples // 10))
@given(country=st.sampled_from(sorted(PLUGINS)), day=DAYS)
def test_every_plugin_passes_the_conformance_kit_on_a_random_day(country, day):
    report = check_plugin(PLUGINS[country], [day])
    assert report.passed, "\n".join(map(str, report.failures))


# --- bound violations appear exactly when an independent oracle says so -------------------


def dec(value: float) -> Decimal:
    return Decimal(repr(value))


def is_multiple(value: Decimal, step: Decimal) -> bool:
    quotient = value / step
    return quotient == quotient.to_integral_value()


def oracle(product, price: float, volume: float) -> set[str]:
    """The bound rules a bid at `price` and `volume` breaks, from the product's fields."""
    broken = set()
    p, v = dec(price), abs(dec(volume))
    if product.price_per_block:  # quoted and ticked per MW for the whole block
        p = p * product.duration_minutes / 60
    if product.price_min is not None and p < dec(product.price_min):
        broken.add("price_min")
    if product.price_max is not None and p > dec(product.price_max):
        broken.add("price_max")
    if not is_multiple(p, dec(product.price_tick)):
        broken.add("price_tick")
    if v < dec(product.volume_min_mw):
        broken.add("volume_min_mw")
    if not is_multiple(v, dec(product.volume_step_mw)):
        broken.add("volume_step_mw")
    return broken


OFF_GRID = [Decimal(0), Decimal(0), Decimal(0), Decimal("0.5"), Decimal("0.25"), Decimal("0.1")]
"""Fractions of a tick or step added to a value (zero, on the grid, most often)."""


@st.composite
def prices(draw, product) -> float:
    tick = dec(product.price_tick)
    anchors = [x for x in (product.price_min, product.price_max) if x is not None]
    anchors += [0.0] if product.price_max is not None else [0.0, 10_000.0]
    anchor = dec(draw(st.sampled_from(anchors)))
    ticks = draw(st.integers(min_value=-3, max_value=3))
    fraction = draw(st.sampled_from(OFF_GRID)) * draw(st.sampled_from([1, -1]))
    return float(anchor + (ticks + fraction) * tick)


@st.composite
def volumes(draw, product) -> float:
    step = dec(product.volume_step_mw)
    steps = draw(st.integers(min_value=-1, max_value=4))
    fraction = draw(st.sampled_from(OFF_GRID))
    size = max(Decimal(0), dec(product.volume_min_mw) + (steps + fraction) * step)
    # Energy volumes are signed (sell > 0, buy < 0); balancing volumes are positive.
    sign = 1 if product.kind in BALANCING else draw(st.sampled_from([1, -1]))
    return float(sign * size)


def bid_of(order_type: OrderType, product, price: float, volume: float):
    pid = product.product_id
    match order_type:
        case OrderType.SINGLE:
            return SingleBid(product_id=pid, volume_mw=volume, price_eur_per_mwh=price)
        case OrderType.BLOCK:
            return BlockBid(product_ids=(pid,), volumes_mw=(volume,), price_eur_per_mwh=price)
        case OrderType.BALANCING_CAPACITY:
            return BalancingCapacityBid(
                product_id=pid,
                direction=product.direction or Direction.SYMMETRIC,
                capacity_mw=volume,
                capacity_price_eur_per_mw_h=price,
            )
        case OrderType.BALANCING_ENERGY:
            return BalancingEnergyBid(
                product_id=pid,
                direction=product.direction or Direction.POS,
                volume_mw=volume,
                energy_price_eur_per_mwh=price,
            )
    raise AssertionError(order_type)


@given(data=st.data())
def test_a_bound_violation_appears_if_and_only_if_the_oracle_says_the_value_breaks_it(data):
    plugin = PLUGINS[data.draw(st.sampled_from(sorted(PLUGINS)), label="country")]
    day = data.draw(DAYS, label="day")
    products = plugin.products(day)
    market = data.draw(st.sampled_from(sorted({p.market for p in products})), label="market")
    product = data.draw(st.sampled_from([p for p in products if p.market == market]))
    # a curve needs two or more points, so its bounds are tested with explicit cases
    shapes = [t for t in product.order_types if t is not OrderType.CURVE]
    order_type = data.draw(st.sampled_from(shapes), label="order type")
    price = data.draw(prices(product), label="price")
    volume = data.draw(volumes(product), label="volume")

    found = plugin.validate(
        bid_of(order_type, product, price, volume), now=product.gate_closure - timedelta(seconds=1)
    )
    prefix = f"{product.market.value}."
    assert all(v.rule.startswith(prefix) for v in found), found
    reported = {v.rule.removeprefix(prefix) for v in found}
    assert reported <= BOUND_RULES, found
    assert reported == oracle(product, price, volume), (product.product_id, price, volume)
