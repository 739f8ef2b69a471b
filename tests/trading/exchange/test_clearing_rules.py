"""The arithmetic of one bid against one price: curves, blocks, capacity pay."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from markets.bids import CurvePoint
from markets.products import Pricing
from trading.exchange.clearing_rules import (
    block_average_price_eur_per_mwh,
    capacity_accepted,
    capacity_remuneration_eur_per_mw_h,
    curve_volume_mw,
    single_volume_mw,
)


def _curve(*points: tuple[float, float]) -> tuple[CurvePoint, ...]:
    return tuple(CurvePoint(price_eur_per_mwh=p, volume_mw=v) for p, v in points)


def test_a_sell_only_curve_sells_the_step_at_or_below_the_price() -> None:
    curve = _curve((10.0, 1.0), (50.0, 5.0))
    assert curve_volume_mw(curve, 9.99) == 0.0  # nothing was offered that cheaply
    assert curve_volume_mw(curve, 10.0) == 1.0
    assert curve_volume_mw(curve, 49.99) == 1.0  # a step: no interpolation towards 5 MW
    assert curve_volume_mw(curve, 50.0) == 5.0


def test_a_buy_only_curve_buys_the_step_at_or_above_the_price() -> None:
    curve = _curve((10.0, -5.0), (50.0, -1.0))
    assert curve_volume_mw(curve, 10.0) == -5.0
    assert curve_volume_mw(curve, 10.01) == -1.0  # 5 MW were bought only up to 10 EUR/MWh
    assert curve_volume_mw(curve, 50.0) == -1.0
    assert curve_volume_mw(curve, 50.01) == 0.0


@given(
    steps=st.lists(st.integers(min_value=-50, max_value=50), min_size=2, max_size=8),
    price=st.integers(min_value=-100, max_value=1100),
)
def test_a_curve_trades_only_volume_whose_limit_the_price_meets(
    steps: list[int], price: int
) -> None:
    curve = _curve(*((100.0 * i, float(v)) for i, v in enumerate(sorted(steps))))
    cleared = curve_volume_mw(curve, float(price))
    sales_within_limit = [c.volume_mw for c in curve if c.price_eur_per_mwh <= price]
    purchases_within_limit = [c.volume_mw for c in curve if c.price_eur_per_mwh >= price]
    assert cleared <= max([0.0, *sales_within_limit])
    assert cleared >= min([0.0, *purchases_within_limit])
    assert curve_volume_mw(curve, price + 1.0) >= cleared  # sells more, or buys less, higher up


def test_a_block_average_weighs_each_mtu_by_its_energy() -> None:
    average = block_average_price_eur_per_mwh(
        volumes_mw=(1.0, 3.0), hours=(0.25, 0.25), prices_eur_per_mwh=(30.0, 90.0)
    )
    assert average == pytest.approx(75.0)
    hourly = block_average_price_eur_per_mwh(
        volumes_mw=(-2.0, -2.0), hours=(1.0, 0.25), prices_eur_per_mwh=(10.0, 60.0)
    )
    assert hourly == pytest.approx(20.0)


def test_a_single_order_clears_at_its_own_limit() -> None:
    assert single_volume_mw(2.0, 50.0, 50.0) == 2.0
    assert single_volume_mw(-2.0, 50.0, 50.0) == -2.0


@pytest.mark.parametrize(
    ("pricing", "paid"), [(Pricing.PAY_AS_BID, 4.0), (Pricing.PAY_AS_CLEARED, 9.0)]
)
def test_capacity_is_paid_by_the_products_pricing_rule(pricing: Pricing, paid: float) -> None:
    assert capacity_accepted(4.0, 9.0)
    assert not capacity_accepted(9.01, 9.0)
    assert capacity_remuneration_eur_per_mw_h(pricing, 4.0, 9.0) == paid


def test_a_capacity_bid_at_the_marginal_price_is_accepted_whatever_its_float() -> None:
    # the backtest's plan bid 6.746 against a marginal price computed as 6.7459999999999996
    # on 2024-10-27 and both offers were rejected "6.75 above 6.75"
    assert capacity_accepted(6.746, 6.7459999999999996)
    assert not capacity_accepted(6.7461, 6.746)
