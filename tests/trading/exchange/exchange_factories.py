"""Test data for the exchange: the German short DST day, its real products, flat prices."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
from prometheus_client import CollectorRegistry

from markets.bids import BalancingCapacityBid, SingleBid
from markets.calendar import mtu_index
from markets.plugin import MarketPlugin
from markets.products import MarketId, Pricing, Product
from markets.registry import default_registry
from trading.exchange import ManualClock, SimulatedExchange
from trading.optimiser.inputs import PriceInputs

DAY = date(2026, 3, 29)
"""The short DST day in Germany: 23 hours, 92 quarter hours."""
ZONE = "DE_LU"
BEFORE_GATES = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
"""Before every gate closure of DAY (the earliest is FCR's, 2026-03-28 07:00Z)."""
DAY_AHEAD_GATE = datetime(2026, 3, 28, 11, 0, tzinfo=UTC)
"""12:00 CET on D-1."""


def germany() -> MarketPlugin:
    """The built-in German market plugin."""
    return default_registry().get("DE")


def products(market: MarketId, day: date = DAY) -> list[Product]:
    """The German products of `market` on `day`, in delivery order."""
    return sorted(germany().products(day, market), key=lambda p: p.delivery_start)


def capacity_product(pricing: Pricing) -> Product:
    """The first German balancing capacity block of DAY paid under `pricing`."""
    capacity = [*products(MarketId.AFRR_CAPACITY), *products(MarketId.FCR_CAPACITY)]
    return next(p for p in capacity if p.pricing is pricing)


def quarter_hours(day: date = DAY) -> pd.DatetimeIndex:
    """The UTC quarter-hour starts of `day` in Berlin."""
    return mtu_index(day, "Europe/Berlin", 15)


def flat(value: float, day: date = DAY) -> pd.Series:
    """One price on every quarter hour of `day`."""
    return pd.Series(value, index=quarter_hours(day), dtype=float)


def flat_prices(
    day_ahead: float = 50.0,
    intraday: float = 55.0,
    afrr_pos: float = 8.0,
    afrr_neg: float = 6.0,
    fcr: float = 12.0,
) -> PriceInputs:
    """Flat German prices for DAY [EUR/MWh for energy, EUR/MW/h for capacity]."""
    return PriceInputs(
        day_ahead={ZONE: flat(day_ahead)},
        intraday={ZONE: flat(intraday)},
        afrr_capacity={(ZONE, "pos"): flat(afrr_pos), (ZONE, "neg"): flat(afrr_neg)},
        fcr_capacity={ZONE: flat(fcr)},
    )


def exchange(
    prices: PriceInputs | None = None, start: datetime = BEFORE_GATES
) -> tuple[SimulatedExchange, ManualClock, CollectorRegistry]:
    """A simulated exchange on its own clock and metrics registry."""
    clock = ManualClock(start)
    metrics = CollectorRegistry()
    simulated = SimulatedExchange(
        flat_prices() if prices is None else prices, clock, metrics_registry=metrics
    )
    return simulated, clock, metrics


def single(product: Product, volume_mw: float, limit_eur_per_mwh: float) -> SingleBid:
    """A single order on `product`: positive volume sells, negative buys."""
    return SingleBid(
        product_id=product.product_id, volume_mw=volume_mw, price_eur_per_mwh=limit_eur_per_mwh
    )


def capacity(
    product: Product, capacity_mw: float, price_eur_per_mw_h: float
) -> BalancingCapacityBid:
    """A capacity bid on `product` in its own direction."""
    assert product.direction is not None
    return BalancingCapacityBid(
        product_id=product.product_id,
        direction=product.direction,
        capacity_mw=capacity_mw,
        capacity_price_eur_per_mw_h=price_eur_per_mw_h,
    )
