"""Clearing a day's bids at the actual prices, and settling what the market did not take.

`clear_plan` submits a plan's bids to a fresh `SimulatedExchange` holding the actual prices,
on a hand-driven clock set before the day's first gate, then moves the clock past the last
gate and collects every clearing: the same rules and code as live trading. Energy bids are
price-taking (the optimiser sells and buys its positions at whatever the price is), so they
clear in full at the actual price; capacity bids clear if the actual auction clears at or
above their price (pay-as-bid) or at all (pay-as-cleared).

`imbalance_of` compares, per zone and quarter hour, the plan's physical injection with the
energy sold (day-ahead and intraday): what remains is an imbalance [MWh], + long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from prometheus_client import CollectorRegistry

from markets.bids import BalancingCapacityBid, product_ids_of
from markets.registry import MarketRegistry, default_registry
from trading.exchange.clock import ManualClock
from trading.exchange.records import Clearing
from trading.exchange.simulated import SimulatedExchange
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.optimiser.plan import Plan

QUARTER_H = 0.25


@dataclass(frozen=True)
class ClearedProduct:
    """One product of one cleared bid [MW; EUR/MWh energy, EUR/MW/h capacity; h]."""

    product_id: str
    market: str
    zone: str
    direction: str | None
    start: pd.Timestamp
    hours: float
    bid_mw: float
    cleared_mw: float
    price: float | None
    """The clearing price (energy: the uniform price; capacity: the auction's marginal)."""
    remuneration: float | None
    """The price paid for it (energy: the clearing price; capacity: the bid's own price
    under pay-as-bid, the marginal price under pay-as-cleared)."""
    bid_price: float | None = None
    """The bid's limit (energy) or capacity price (capacity), None for a price-taking bid
    without one."""
    status: str = "accepted"
    """The exchange's outcome: ``accepted``, ``partially_accepted`` or ``rejected``."""
    reason: str = ""
    """The exchange's reason for the outcome, for people."""

    @property
    def revenue_eur(self) -> float:
        """What the product earned: cleared MW x remuneration x hours (energy: + sale)."""
        if self.remuneration is None or self.cleared_mw == 0:
            return 0.0
        return self.cleared_mw * self.remuneration * self.hours


def clear_plan(
    plan: Plan, actual: PriceInputs, registry: MarketRegistry | None = None
) -> list[ClearedProduct]:
    """Every product of every bid of `plan`, cleared at `actual` prices."""
    registry = registry if registry is not None else default_registry()
    if not plan.bids:
        return []
    products = {}
    for bid in plan.bids:
        for product_id in product_ids_of(bid):
            product = registry.get(product_id.split(":", 1)[0]).product(product_id)
            if product is None:
                raise ValueError(f"{product_id}: no such product for the plan's bid")
            products[product_id] = product
    gates = [p.gate_closure for p in products.values()]
    clock = ManualClock(min(gates) - timedelta(minutes=1))
    exchange = SimulatedExchange(actual, clock, registry, metrics_registry=CollectorRegistry())
    exchange.submit(plan.bids)
    clock.advance_to(max(gates) + timedelta(seconds=1))
    cleared: list[ClearedProduct] = []
    for clearing in exchange.clear_due():
        cleared.extend(_products(clearing, products))
    return cleared


def _products(clearing: Clearing, products: dict) -> list[ClearedProduct]:
    direction = getattr(clearing.bid, "direction", None)
    bid_mw = getattr(clearing.bid, "volume_mw", None)
    if bid_mw is None:
        bid_mw = getattr(clearing.bid, "capacity_mw", 0.0)
    energy = not isinstance(clearing.bid, BalancingCapacityBid)
    price = clearing.clearing_price_eur_per_mwh if energy else clearing.capacity_price_eur_per_mw_h
    pay = clearing.remuneration_eur_per_mwh if energy else clearing.remuneration_eur_per_mw_h
    bid_price = getattr(clearing.bid, "price_eur_per_mwh", None)
    if bid_price is None:
        bid_price = getattr(clearing.bid, "capacity_price_eur_per_mw_h", None)
    out = []
    for product_id, volume in zip(clearing.product_ids, clearing.cleared_volumes_mw, strict=True):
        product = products[product_id]
        hours = (product.delivery_end - product.delivery_start).total_seconds() / 3600.0
        out.append(
            ClearedProduct(
                product_id=product_id,
                market=clearing.market.value,
                zone=product.bidding_zone,
                direction=None if direction is None else str(direction.value),
                start=pd.Timestamp(product.delivery_start),
                hours=hours,
                bid_mw=float(bid_mw),
                cleared_mw=float(volume),
                price=price,
                remuneration=pay,
                bid_price=None if bid_price is None else float(bid_price),
                status=str(clearing.status.value),
                reason=clearing.reason,
            )
        )
    return out


def imbalance_of(
    plan: Plan, cleared: list[ClearedProduct], day: date, zone_of: dict[str, str]
) -> pd.DataFrame:
    """Per zone and quarter hour, the plan's injection minus the energy sold [MWh], + long.

    `zone_of` maps asset id to bidding zone.
    """
    periods = Horizon.of(day).periods
    injection = plan.schedule.injection_frame()
    rows = []
    for zone in sorted(set(zone_of.values())):
        assets = [a for a, z in zone_of.items() if z == zone and a in injection.columns]
        planned = injection[assets].sum(axis=1).reindex(periods).fillna(0.0).to_numpy()
        sold = np.zeros(len(periods))
        for product in cleared:
            if product.zone != zone or product.direction is not None:  # capacity: no energy
                continue
            start = periods.searchsorted(product.start)
            quarters = round(product.hours / QUARTER_H)
            sold[start : start + quarters] += product.cleared_mw
        imbalance = (planned - sold) * QUARTER_H
        rows.append(
            pd.DataFrame({"timestamp_utc": periods, "zone": zone, "imbalance_mwh": imbalance})
        )
    return (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=["timestamp_utc", "zone", "imbalance_mwh"])
    )
