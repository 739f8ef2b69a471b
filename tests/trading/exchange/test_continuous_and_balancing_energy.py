"""Continuous intraday and aFRR energy bids at their gate: filled, expired, activated, rejected.

Prices are hand-made so that each outcome can be checked by hand: continuous intraday
against the intraday price proxy of its delivery, aFRR energy against the quarter hour's
activation price.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from exchange_factories import ZONE, flat, flat_prices, products, quarter_hours, single
from prometheus_client import CollectorRegistry

from markets.bids import BalancingEnergyBid
from markets.calendar import iso_z
from markets.products import Direction, MarketId, Product
from trading.exchange import ClearingStatus, ManualClock, SimulatedExchange
from trading.optimiser.inputs import PriceInputs

OPEN = datetime(2026, 3, 28, 15, 0, tzinfo=UTC)
"""After continuous intraday opened for the day (15:00 CET on D-1), before every gate."""
AFTER_DAY = datetime(2026, 3, 30, 0, 0, tzinfo=UTC)


def exchange_with(
    prices: PriceInputs, balancing_energy: dict[tuple[str, str], pd.Series] | None = None
) -> tuple[SimulatedExchange, ManualClock]:
    clock = ManualClock(OPEN)
    simulated = SimulatedExchange(
        prices, clock, metrics_registry=CollectorRegistry(), balancing_energy=balancing_energy
    )
    return simulated, clock


def contract(minutes: int, index: int = 8) -> Product:
    """A German continuous contract of `minutes`, the `index`-th of its length in the day."""
    return [p for p in products(MarketId.INTRADAY_CONTINUOUS) if p.duration_minutes == minutes][
        index
    ]


def energy_product(direction: Direction, index: int = 8) -> Product:
    """The `index`-th German aFRR energy quarter hour of `direction`."""
    return [p for p in products(MarketId.AFRR_ENERGY) if p.direction == direction.value][index]


def energy_bid(product: Product, volume_mw: float, price: float) -> BalancingEnergyBid:
    assert product.direction is not None
    return BalancingEnergyBid(
        product_id=product.product_id,
        direction=Direction(product.direction),
        volume_mw=volume_mw,
        energy_price_eur_per_mwh=price,
    )


# --- continuous intraday -----------------------------------------------------------------


def test_a_continuous_sale_the_proxy_crosses_is_filled_at_its_limit_and_says_proxy() -> None:
    simulated, clock = exchange_with(flat_prices(intraday=55.0))
    product = contract(15)
    (key,) = simulated.submit([single(product, 2.0, 50.0)])
    clock.advance_to(product.gate_closure)
    (clearing,) = simulated.clear_due()
    assert clearing.bid_key == key
    assert clearing.status is ClearingStatus.ACCEPTED
    assert clearing.cleared_volume_mw == 2.0
    assert clearing.remuneration_eur_per_mwh == 50.0  # its own limit, not the proxy
    assert clearing.clearing_price_eur_per_mwh == 55.0  # the proxy it was judged against
    assert "filled: 2 MW at 50.00 EUR/MWh" in clearing.reason
    assert "intraday price proxy 55.00 EUR/MWh (a proxy, not market data)" in clearing.reason
    assert simulated.pending() == {}


def test_a_continuous_purchase_the_proxy_does_not_cross_expires_at_its_gate() -> None:
    simulated, clock = exchange_with(flat_prices(intraday=55.0))
    product = contract(15)
    simulated.submit([single(product, -1.5, 50.0)])
    clock.advance_to(product.gate_closure)
    (clearing,) = simulated.clear_due()
    assert clearing.status is ClearingStatus.REJECTED
    assert clearing.cleared_volume_mw == 0.0
    assert clearing.remuneration_eur_per_mwh is None
    assert f"expired unfilled at its gate closure {iso_z(product.gate_closure)}" in clearing.reason
    assert "proxy 55.00 EUR/MWh (a proxy, not market data)" in clearing.reason
    assert "above the limit" in clearing.reason


def test_an_hourly_contract_is_judged_on_the_mean_proxy_of_its_quarter_hours() -> None:
    product = contract(60)
    quarters = pd.date_range(product.delivery_start, periods=4, freq="15min")
    proxy = flat(0.0).copy()
    proxy[quarters] = [40.0, 50.0, 60.0, 70.0]  # mean 55.0
    simulated, clock = exchange_with(PriceInputs(intraday={ZONE: proxy}))
    at_mean, above_mean = simulated.submit(
        [single(product, 1.0, 55.0), single(product, 1.0, 55.01)]
    )
    clock.advance_to(product.gate_closure)
    outcomes = {c.bid_key: c for c in simulated.clear_due()}
    assert outcomes[at_mean].accepted  # a tie fills
    assert outcomes[at_mean].cleared_volume_mw == 1.0
    assert not outcomes[above_mean].accepted
    assert "55.00 EUR/MWh" in outcomes[above_mean].reason


def test_a_continuous_order_without_a_proxy_is_rejected_at_its_gate_naming_the_gap() -> None:
    simulated, clock = exchange_with(PriceInputs(day_ahead={ZONE: flat(50.0)}))
    product = contract(15)
    simulated.submit([single(product, 1.0, 10.0)])
    clock.advance_to(product.gate_closure - timedelta(seconds=1))
    assert simulated.clear_due() == ()  # not before its gate
    clock.advance_to(product.gate_closure)
    (clearing,) = simulated.clear_due()
    assert clearing.status is ClearingStatus.REJECTED
    assert clearing.reason == (
        f"rejected at its gate closure {iso_z(product.gate_closure)}: "
        f"no intraday price proxy for {ZONE} {iso_z(product.delivery_start)}"
    )


# --- aFRR energy -------------------------------------------------------------------------


def activation(pos: float, neg: float) -> dict[tuple[str, str], pd.Series]:
    return {(ZONE, "pos"): flat(pos), (ZONE, "neg"): flat(neg)}


def test_a_positive_afrr_energy_bid_within_the_activation_price_is_activated_in_full() -> None:
    simulated, clock = exchange_with(flat_prices(), activation(pos=150.0, neg=-20.0))
    product = energy_product(Direction.POS)
    cheap, dear, tie = simulated.submit(
        [
            energy_bid(product, 5.0, 120.0),
            energy_bid(product, 5.0, 200.0),
            energy_bid(product, 3.0, 150.0),
        ]
    )
    clock.advance_to(product.gate_closure)
    outcomes = {c.bid_key: c for c in simulated.clear_due()}
    assert outcomes[cheap].accepted
    assert outcomes[cheap].cleared_volume_mw == 5.0
    assert outcomes[cheap].remuneration_eur_per_mwh == 150.0  # pay-as-cleared
    assert "activated in full" in outcomes[cheap].reason
    assert not outcomes[dear].accepted
    assert outcomes[dear].cleared_volume_mw == 0.0
    assert "above the activation price 150.00 EUR/MWh" in outcomes[dear].reason
    assert iso_z(product.gate_closure) in outcomes[dear].reason
    assert outcomes[tie].cleared_volume_mw == 3.0


def test_a_negative_afrr_energy_bid_is_activated_at_or_above_the_activation_price() -> None:
    # Negative direction: a positive price is paid by the provider to the TSO, so the TSO
    # activates the bids paying it most first: -10 >= -20 is activated, -30 is not.
    simulated, clock = exchange_with(flat_prices(), activation(pos=150.0, neg=-20.0))
    product = energy_product(Direction.NEG)
    pays_more, pays_less = simulated.submit(
        [energy_bid(product, 4.0, -10.0), energy_bid(product, 4.0, -30.0)]
    )
    clock.advance_to(product.gate_closure)
    outcomes = {c.bid_key: c for c in simulated.clear_due()}
    assert outcomes[pays_more].cleared_volume_mw == 4.0
    assert outcomes[pays_more].remuneration_eur_per_mwh == -20.0
    assert not outcomes[pays_less].accepted
    assert "below the activation price -20.00 EUR/MWh" in outcomes[pays_less].reason


def test_an_afrr_energy_bid_without_an_activation_price_is_rejected_naming_it() -> None:
    simulated, clock = exchange_with(flat_prices())  # no aFRR energy series at all
    product = energy_product(Direction.POS)
    simulated.submit([energy_bid(product, 5.0, 120.0)])
    clock.advance_to(AFTER_DAY)
    (clearing,) = simulated.clear_due()
    assert clearing.status is ClearingStatus.REJECTED
    assert clearing.reason == (
        f"rejected at its gate closure {iso_z(product.gate_closure)}: "
        f"no aFRR energy price for {ZONE} pos {iso_z(product.delivery_start)}"
    )
    assert simulated.pending() == {}


def test_the_activation_price_is_read_for_the_bid_s_own_quarter_hour() -> None:
    prices = flat(100.0)
    first, second = energy_product(Direction.POS, 0), energy_product(Direction.POS, 1)
    prices[quarter_hours()[1]] = 300.0
    simulated, clock = exchange_with(flat_prices(), {(ZONE, "pos"): prices})
    in_first, in_second = simulated.submit(
        [energy_bid(first, 1.0, 200.0), energy_bid(second, 1.0, 200.0)]
    )
    clock.advance_to(second.gate_closure)
    outcomes = {c.bid_key: c for c in simulated.clear_due()}
    assert not outcomes[in_first].accepted
    assert outcomes[in_second].accepted
    assert outcomes[in_second].remuneration_eur_per_mwh == 300.0
