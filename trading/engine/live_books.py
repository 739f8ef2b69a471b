"""The books of the engine inside `vpp serve`: its configuration, the delivery day of an
instant, position-book entries to and from the store (and clearings read back from it,
`stored_clearing`), and the settlement of the ISPs that have passed (`settle_window`).
Units MW, MWh, EUR; + = injection or sale; times UTC."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from dispatch.fleet_file import FleetFile
from markets.bids import BalancingCapacityBid, parse_bid, product_ids_of
from markets.calendar import delivery_day_of
from markets.registry import MarketRegistry
from trading.backtest.imbalance import ImbalancePrices
from trading.engine.activation import NO_ACTIVATION, ActivationPattern
from trading.engine.positions import BookEntry, PositionBook
from trading.engine.settlement import Settlement, ZoneDelivery, settle
from trading.engine.tso import TsoLink
from trading.exchange.records import Clearing, ClearingStatus
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.store import Repository
from trading.store.ops.engine import UnbookedClearing

MARKET_TIMEZONE = "Europe/Berlin"
"""The delivery day's time zone (every zone the markets serve is on Central European time)."""


@dataclass(frozen=True)
class LiveConfig:
    """What the engine inside the server runs on."""

    prices: PriceInputs
    registry: MarketRegistry
    afrr_prices: Mapping[tuple[str, str], pd.Series] | None = None
    imbalance: ImbalancePrices = field(default_factory=ImbalancePrices)
    activation: ActivationPattern = NO_ACTIVATION
    tick_s: float = 1.0
    """Dispatcher tick [simulated s]."""
    period_s: float = 60.0
    """Simulated seconds between two engine rounds (book, re-plan, meter, settle)."""
    seed: int = 1
    fleet: FleetFile | None = None
    """The Modbus devices of one portfolio (`vpp serve --fleet`): that portfolio's engine
    dispatches them instead of its embedded simulated fleet (no device truth then)."""
    tso: TsoLink | None = None
    """The TSO's link (`vpp serve --tso iec104`): each pool's aFRR activation comes from
    its IEC 104 station instead of the loopback pattern (`activation`)."""
    cluster: ZoneRunner | None = None
    """A Ray cluster the pools run on as partitions (`vpp serve --cluster ADDRESS`,
    `dispatch.cluster.ray_serve.RayCluster`); None: in process (`run_fleet`)."""


class ZoneRunner(Protocol):
    """Dispatches one zone's fleet as `dispatch.simulation.run_fleet` does, elsewhere."""

    def run_zone(self, *args: Any, **kwargs: Any) -> Awaitable[dict[str, Any]]: ...


def as_utc(at: datetime) -> datetime:
    """`at` as UTC-aware (a store may hand back naive UTC times)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def delivery_day(at: datetime) -> date:
    """The market-local delivery day holding instant `at`."""
    return delivery_day_of(at, MARKET_TIMEZONE)


def entry_rows(entries: Sequence[BookEntry]) -> list[dict[str, Any]]:
    """Position-book entries as the store's rows (`Repository.add_positions`)."""
    return [
        {
            "bid_id": e.bid_id,
            "market": e.market,
            "product_id": e.product_id,
            "zone": e.zone,
            "direction": e.direction,
            "pool": e.pool,
            "delivery_start": e.start,
            "delivery_end": e.end,
            "mw": e.mw,
            "remuneration": e.remuneration,
        }
        for e in entries
    ]


def stored_clearing(found: UnbookedClearing, registry: MarketRegistry) -> Clearing:
    """The accepted clearing the store holds for a bid, as the exchange's `Clearing` (so
    that `entries_of` books it exactly as the one the `ClearingLoop` hands over).

    Products, per-product volumes [MW], market and pricing rule come from the clearing's
    details (the `ClearingLoop` stores them); a result recorded without them counts the
    bid's own products at the recorded volume, with the first product's market and
    pricing. `ValueError` names the bid if its first product is unknown."""
    record = found.clearing
    details = record.details or {}
    bid = parse_bid({**found.document, "bid_id": found.bid_id})
    product_ids = tuple(details.get("product_ids") or product_ids_of(bid))
    volumes = details.get("cleared_volumes_mw") or [record.cleared_volume_mw] * len(product_ids)
    market, pricing = details.get("market"), details.get("pricing")
    if market is None or pricing is None:
        first = product_ids[0]
        product = registry.get(first.split(":", 1)[0]).product(first)
        if product is None:
            raise ValueError(f"clearing of bid {found.bid_id}: product {first} is unknown")
        market = market or product.market.value
        pricing = pricing or product.pricing.value
    capacity = isinstance(bid, BalancingCapacityBid)
    pay = record.remuneration_price
    price = record.clearing_price
    return Clearing(
        bid_key=found.bid_id,
        bid=bid,
        market=market,
        pricing=pricing,
        status=ClearingStatus.ACCEPTED,
        product_ids=product_ids,
        cleared_volumes_mw=tuple(float(v) for v in volumes),
        clearing_price_eur_per_mwh=None if capacity else price,
        capacity_price_eur_per_mw_h=price if capacity else None,
        remuneration_eur_per_mwh=None if capacity else pay,
        remuneration_eur_per_mw_h=pay if capacity else None,
        gate_closure=as_utc(found.gate_closure),
        cleared_at=as_utc(record.cleared_at),
        reason=str(details.get("reason") or "accepted (read back from the store)"),
    )


def stored_entries(
    repository: Repository, tenant: str, portfolio_id: str, day: date
) -> list[BookEntry]:
    """The position-book entries the store holds for the portfolio's delivery day."""
    return [
        BookEntry(
            bid_id=p.bid_id,
            market=p.market,
            product_id=p.product_id,
            zone=p.zone,
            start=p.delivery_start,
            end=p.delivery_end,
            mw=p.mw,
            direction=p.direction,
            pool=p.pool,
            remuneration=p.remuneration,
        )
        for p in repository.list_positions(tenant, day)
        if p.portfolio_id == portfolio_id
    ]


def settle_window(
    book: PositionBook,
    horizon: Horizon,
    window: np.ndarray,
    zones: Sequence[ZoneDelivery],
    *,
    costs_by_kind: Mapping[str, float],
    config: LiveConfig,
) -> Settlement:
    """Settle the ISPs `window` (indices in the day, ascending) of the day (`zones` hold
    whole-day arrays [MWh]).

    Revenue is what the markets pay for every position cleared for the day (fixed at
    clearing, whatever is delivered); costs are `costs_by_kind` [EUR]; the imbalance is
    that of the window's ISPs only: until the day is over the books are provisional."""
    periods = book.periods[window]
    day_ahead = {
        z.zone: np.asarray(config.prices.quarter_hourly("day_ahead", z.zone, horizon))[window]
        for z in zones
    }
    sliced = [
        ZoneDelivery(
            z.zone,
            z.position_mwh[window],
            z.scheduled_mwh[window],
            z.delivered_mwh[window],
            z.measured_mwh[window],
            z.afrr_up_mwh[window],
            z.afrr_down_mwh[window],
        )
        for z in zones
    ]
    return settle(
        periods,
        sliced,
        market_revenue=book.revenue_by_market(),
        costs_by_kind=costs_by_kind,
        day_ahead=day_ahead,
        imbalance_prices=config.imbalance,
        afrr_prices=config.afrr_prices,
    )
