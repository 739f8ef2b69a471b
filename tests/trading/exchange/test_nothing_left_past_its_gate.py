"""No bid of any market stays pending past its gate without a reason, whatever the prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exchange_factories import BEFORE_GATES, ZONE, flat, products, single
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from markets.bids import BalancingCapacityBid, BalancingEnergyBid, Bid
from markets.products import Direction, MarketId, Product
from trading.exchange import ManualClock, SimulatedExchange
from trading.optimiser.inputs import PriceInputs

OPEN = datetime(2026, 3, 28, 15, 0, tzinfo=UTC)
"""Continuous intraday and aFRR energy of the day are open; every other gate has closed."""
AFTER_DAY = datetime(2026, 3, 30, 0, 0, tzinfo=UTC)
ENERGY_MARKETS = (MarketId.DAY_AHEAD, MarketId.INTRADAY_AUCTION, MarketId.INTRADAY_CONTINUOUS)
ALL_MARKETS = (*ENERGY_MARKETS, MarketId.AFRR_CAPACITY, MarketId.FCR_CAPACITY, MarketId.AFRR_ENERGY)
PRODUCTS = {market: products(market) for market in ALL_MARKETS}
LATE_OPENING = frozenset({MarketId.INTRADAY_CONTINUOUS, MarketId.AFRR_ENERGY})


def bid_on(market: MarketId, index: int, volume: float, price: float) -> tuple[Product, Bid]:
    """A valid bid on the `index`-th product of `market` (modulo its count)."""
    product = PRODUCTS[market][index % len(PRODUCTS[market])]
    if market in ENERGY_MARKETS:
        return product, single(product, volume, price)
    assert product.direction is not None
    if market is MarketId.AFRR_ENERGY:
        bid: Bid = BalancingEnergyBid(
            product_id=product.product_id,
            direction=Direction(product.direction),
            volume_mw=abs(volume) // 1 + 1,
            energy_price_eur_per_mwh=price,
        )
        return product, bid
    capacity = BalancingCapacityBid(
        product_id=product.product_id,
        direction=Direction(product.direction),
        capacity_mw=abs(volume) // 1 + 1,
        capacity_price_eur_per_mw_h=abs(price),
    )
    return product, capacity


bids = st.lists(
    st.tuples(
        st.sampled_from(ALL_MARKETS),
        st.integers(min_value=0, max_value=400),
        st.integers(min_value=-50, max_value=50).filter(bool).map(lambda v: v / 10),
        st.integers(min_value=-20_000, max_value=40_000).map(lambda c: c / 100),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    specs=bids,
    priced=st.sets(
        st.sampled_from(("day_ahead", "intraday", "afrr_capacity", "fcr_capacity", "afrr_energy"))
    ),
    minutes_after_open=st.integers(min_value=0, max_value=33 * 60),
)
def test_after_clearing_no_bid_is_pending_past_its_gate_and_every_outcome_has_a_reason(
    specs: list[tuple[MarketId, int, float, float]], priced: set[str], minutes_after_open: int
) -> None:
    prices = PriceInputs(
        day_ahead={ZONE: flat(50.0)} if "day_ahead" in priced else {},
        intraday={ZONE: flat(55.0)} if "intraday" in priced else {},
        afrr_capacity=(
            {(ZONE, "pos"): flat(8.0), (ZONE, "neg"): flat(6.0)}
            if "afrr_capacity" in priced
            else {}
        ),
        fcr_capacity={ZONE: flat(12.0)} if "fcr_capacity" in priced else {},
    )
    energy = (
        {(ZONE, "pos"): flat(120.0), (ZONE, "neg"): flat(-15.0)}
        if "afrr_energy" in priced
        else None
    )
    clock = ManualClock(OPEN)
    simulated = SimulatedExchange(
        prices, clock, metrics_registry=CollectorRegistry(), balancing_energy=energy
    )
    gates: dict[str, datetime] = {}
    for market, index, volume, price in specs:
        product, bid = bid_on(market, index, volume, price)
        at = OPEN if market in LATE_OPENING else BEFORE_GATES
        (key,) = simulated.submit_as_of([bid], at)
        gates[key] = product.gate_closure

    clock.advance_to(OPEN + timedelta(minutes=minutes_after_open))
    simulated.clear_due()
    now = clock.now()
    pending, results = simulated.pending(), simulated.results()
    assert set(pending) | set(results) == set(gates)  # nothing lost
    assert all(gates[key] > now for key in pending)  # nothing left past its gate
    assert all(held.reason for held in pending.values())
    for key, clearing in results.items():
        assert clearing.gate_closure == gates[key] <= now
        assert clearing.reason
        if not clearing.accepted:
            assert all(v == 0 for v in clearing.cleared_volumes_mw)
        if clearing.market is MarketId.INTRADAY_CONTINUOUS and "EUR/MWh" in clearing.reason:
            assert "proxy" in clearing.reason

    clock.advance_to(AFTER_DAY)
    simulated.clear_due()
    assert simulated.pending() == {}
    assert set(simulated.results()) == set(gates)
