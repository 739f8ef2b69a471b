"""The position book: what the markets took, per zone and quarter hour, per pool and block.

Every accepted clearing becomes one `BookEntry` per product it covers. The book answers:

- the **net energy position** of a bidding zone per quarter hour [MW, + = sold, i.e. the
  zone must inject]; its energy is MW x 0.25 h per quarter hour. Day-ahead, intraday
  auctions and continuous intraday all add up here;
- the **reserved bands** per pool, direction and capacity block [MW, positive magnitudes
  in the band's direction] that the fleet must hold as headroom;
- which bids each figure came from (`bids_for`), and what the markets paid
  (`revenue_by_market` [EUR]: energy cleared MW x remuneration [EUR/MWh] x hours, + for a
  sale; capacity MW x remuneration [EUR/MW/h] x hours).

The book is pure data: `trading.engine.store` writes it and reads it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from markets.bids import BalancingCapacityBid
from markets.registry import MarketRegistry
from regulatory.assets.base import BalancingProduct
from trading.exchange.records import Clearing

QUARTER_H = 0.25
"""Length of a quarter hour [h]."""
CAPACITY_PRODUCTS: Mapping[tuple[str, str], BalancingProduct] = {
    ("afrr_capacity", "pos"): BalancingProduct.AFRR_POS,
    ("afrr_capacity", "neg"): BalancingProduct.AFRR_NEG,
    ("fcr_capacity", "symmetric"): BalancingProduct.FCR,
    ("fcr_capacity", "pos"): BalancingProduct.FCR,
    ("fcr_capacity", "neg"): BalancingProduct.FCR,
}
"""(market, direction) of a capacity entry -> the balancing product the fleet holds."""


@dataclass(frozen=True)
class BookEntry:
    """One product of one accepted bid [MW; EUR/MWh energy, EUR/MW/h capacity; UTC]."""

    bid_id: str
    """The stored bid's id (the store's, not the submitter's reference)."""
    market: str
    product_id: str
    zone: str
    start: datetime
    end: datetime
    mw: float
    """Energy: signed (+ sold, - bought). Capacity: positive MW held in `direction`."""
    direction: str | None = None
    """``pos`` or ``neg`` for capacity; None for energy."""
    pool: str | None = None
    """The portfolio's reserve pool holding the capacity; None for energy."""
    remuneration: float | None = None
    """What each MWh (energy) or MW and hour (capacity) was paid [EUR/MWh, EUR/MW/h]."""

    @property
    def is_energy(self) -> bool:
        """Whether this entry is an energy position (not a reserved band)."""
        return self.direction is None

    @property
    def hours(self) -> float:
        """Length of the delivery [h]."""
        return (self.end - self.start).total_seconds() / 3600.0

    @property
    def revenue_eur(self) -> float:
        """What the markets pay for it [EUR] (energy: + for a sale, - for a purchase)."""
        if self.remuneration is None:
            return 0.0
        return self.mw * self.remuneration * self.hours


def entries_of(
    clearing: Clearing,
    registry: MarketRegistry,
    *,
    pool_of: Mapping[str, str] | None = None,
) -> list[BookEntry]:
    """The book entries of one clearing: one per product with a non-zero accepted volume.

    `pool_of`: store bid id -> reserve pool, for capacity bids (default: the product's
    bidding zone). A rejected clearing gives none.
    """
    if not clearing.accepted:
        return []
    capacity = isinstance(clearing.bid, BalancingCapacityBid)
    direction = str(clearing.bid.direction.value) if capacity else None
    pay = clearing.remuneration_eur_per_mw_h if capacity else clearing.remuneration_eur_per_mwh
    entries = []
    for product_id, volume in zip(clearing.product_ids, clearing.cleared_volumes_mw, strict=True):
        if volume == 0:
            continue
        product = registry.get(product_id.split(":", 1)[0]).product(product_id)
        if product is None:
            raise ValueError(f"clearing {clearing.bid_key}: product {product_id} is unknown")
        pool = None
        if capacity:
            pool = (pool_of or {}).get(clearing.bid_key, product.bidding_zone)
        entries.append(
            BookEntry(
                bid_id=clearing.bid_key,
                market=clearing.market.value,
                product_id=product_id,
                zone=product.bidding_zone,
                start=product.delivery_start,
                end=product.delivery_end,
                mw=float(volume),
                direction=direction,
                pool=pool,
                remuneration=pay,
            )
        )
    return entries


@dataclass
class PositionBook:
    """Accepted positions of one portfolio on one delivery day (see the module docstring).

    `periods`: the UTC starts of the day's quarter hours (92, 96 or 100).
    """

    periods: pd.DatetimeIndex
    entries: list[BookEntry] = field(default_factory=list)

    def add(self, entries: Iterable[BookEntry]) -> None:
        """Add accepted entries (a clearing's, or ones read back from the store)."""
        self.entries.extend(entries)

    def _span(self, entry: BookEntry) -> tuple[int, int]:
        """Quarter-hour indices [first, last) of the day that `entry` covers."""
        first = int(self.periods.searchsorted(pd.Timestamp(entry.start)))
        last = int(self.periods.searchsorted(pd.Timestamp(entry.end)))
        return first, last

    @property
    def zones(self) -> list[str]:
        """Every zone with an energy entry, sorted."""
        return sorted({e.zone for e in self.entries if e.is_energy})

    def net_mw(self, zone: str) -> np.ndarray:
        """Net energy position of `zone` per quarter hour [MW, + sold]."""
        net = np.zeros(len(self.periods))
        for entry in self.entries:
            if entry.is_energy and entry.zone == zone:
                first, last = self._span(entry)
                net[first:last] += entry.mw
        return net

    def net_mwh(self, zone: str) -> np.ndarray:
        """Net energy position of `zone` per quarter hour [MWh, + sold]."""
        return self.net_mw(zone) * QUARTER_H

    def bands(self) -> dict[tuple[str, str, datetime], float]:
        """Reserved capacity [MW] per (pool, direction, block start)."""
        held: dict[tuple[str, str, datetime], float] = {}
        for entry in self.entries:
            if entry.is_energy:
                continue
            key = (entry.pool or entry.zone, entry.direction or "", entry.start)
            held[key] = held.get(key, 0.0) + entry.mw
        return held

    def band_mw(self, zone: str, direction: str, at: datetime) -> float:
        """Capacity held in `zone` in `direction` at instant `at` [MW], over every pool."""
        return sum(
            e.mw
            for e in self.entries
            if not e.is_energy and e.zone == zone and e.direction == direction
            if e.start <= at < e.end
        )

    def capacity_sold_mw(self) -> dict[str, dict[BalancingProduct, np.ndarray]]:
        """The capacity cleared per zone and balancing product, per quarter hour [MW, >= 0]
        (summed over the zone's pools and bids): the band the TSO may call, which the
        schedule carries as `capacity_sold_mw`. Zones and products without any are absent."""
        sold: dict[str, dict[BalancingProduct, np.ndarray]] = {}
        for entry in self.entries:
            if entry.is_energy:
                continue
            product = CAPACITY_PRODUCTS.get((entry.market, entry.direction or ""))
            if product is None:
                raise ValueError(
                    f"position of bid {entry.bid_id}: market={entry.market!r} "
                    f"direction={entry.direction!r} is not a balancing capacity the fleet holds"
                )
            first, last = self._span(entry)
            zone = sold.setdefault(entry.zone, {})
            band = zone.setdefault(product, np.zeros(len(self.periods)))
            band[first:last] += entry.mw
        return sold

    def bids_for(self, zone: str, quarter: int) -> list[str]:
        """Ids of the bids making up `zone`'s position in quarter hour `quarter`."""
        found = []
        for entry in self.entries:
            if entry.is_energy and entry.zone == zone:
                first, last = self._span(entry)
                if first <= quarter < last:
                    found.append(entry.bid_id)
        return found

    def revenue_by_market(self) -> dict[str, float]:
        """What the markets pay per market [EUR], each rounded to the cent."""
        revenue: dict[str, float] = {}
        for entry in self.entries:
            revenue[entry.market] = revenue.get(entry.market, 0.0) + entry.revenue_eur
        return {market: round(value, 2) for market, value in sorted(revenue.items())}

    def rows(self) -> list[dict[str, object]]:
        """Per zone and quarter hour: the net position [MW, MWh] and its bids."""
        out: list[dict[str, object]] = []
        for zone in self.zones:
            net = self.net_mw(zone)
            for q, start in enumerate(self.periods):
                out.append(
                    {
                        "zone": zone,
                        "start": start.to_pydatetime(),
                        "position_mw": round(float(net[q]), 6),
                        "position_mwh": round(float(net[q]) * QUARTER_H, 6),
                        "bid_ids": self.bids_for(zone, q),
                    }
                )
        return out


def quarter_of(periods: Sequence[pd.Timestamp] | pd.DatetimeIndex, at: datetime) -> int:
    """Index of the quarter hour holding `at` in `periods` (UTC starts)."""
    index = pd.DatetimeIndex(periods)
    return int(index.searchsorted(pd.Timestamp(at), side="right")) - 1


def quarter_start(at: datetime) -> datetime:
    """Start of the quarter hour holding `at` (UTC kept)."""
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)
