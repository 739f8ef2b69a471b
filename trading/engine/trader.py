"""The virtual trader: plans D-1 on forecasts, submits, corrects intraday when the fleet changes.

- **D-1**: `plan_day_ahead` optimises the delivery day on the price forecasts (day-ahead,
  aFRR capacity, then the intraday auction, as `trading.optimiser.optimise` does) and
  `submit_plan` sends the plan's bids through the desk (the API's submission path).
- **Intraday**: when the fleet's available rating drops by more than `threshold_share` of
  the fleet (an asset lost), `correct` re-optimises the rest of the day with what is left
  (`ScheduleBuilder.optimise_held` with the past held, the lost assets at 0 MW and the net
  position free from the first quarter hour whose continuous-intraday gate is still open)
  and trades the difference to the book on continuous intraday, one PT15M order per zone
  and quarter hour, at the intraday forecast less (sale) or plus (purchase) `margin` EUR/MWh.

The continuous orders are judged by the simulated exchange against the intraday price
**proxy** (no real intraday prices exist in this project); the trader's forecast is that same
proxy, so its orders fill: a perfect-forecast assumption, named in the run's notes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

import numpy as np

from markets.bids import Bid, SingleBid
from markets.products import MarketId, Product
from markets.registry import MarketRegistry
from regulatory import Portfolio
from trading.engine.desk import Desk, EngineClock
from trading.engine.positions import PositionBook, quarter_of
from trading.engine.schedules import ScheduleBuilder
from trading.optimiser.build import OptimiserOptions
from trading.optimiser.inputs import Horizon, PriceInputs, Profiles
from trading.optimiser.plan import Plan, optimise
from trading.optimiser.solver import SolverOptions
from trading.store import AddBidsResult

D1_MARKETS = ("day_ahead", "afrr_capacity", "intraday")
TRADER_NAME = "virtual-trader"
"""How the virtual trader's submissions are named (their idempotency keys start so)."""
GATE_MARGIN = timedelta(minutes=2)
"""A correction is only traded for quarter hours whose gate is at least this far ahead."""
REPLAN_TRIES = 3
"""How many times a correction re-optimises when gates close while it optimises."""


class Submitter(Protocol):
    """Where the trader's corrections go: the desk of `vpp simulate`, or the server's
    submission path (`trading.engine.serve_trader`)."""

    clock: EngineClock

    def submit(self, bids: Sequence[Bid], idempotency_key: str) -> AddBidsResult:
        """Store `bids` after the API's checks at the clock's now."""
        ...


@dataclass
class Correction:
    """One intraday correction: what was re-planned and what was traded."""

    at: datetime
    lost: dict[str, datetime]
    plan: Plan
    orders: list[SingleBid]
    submitted: AddBidsResult | None
    traded_mwh: float
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """What the report shows."""
        return {
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "lost_assets": sorted(self.lost),
            "orders": len(self.orders),
            "traded_mwh": round(self.traded_mwh, 6),
            "notes": self.notes,
        }


@dataclass
class VirtualTrader:
    """A built-in strategy for one portfolio and day (see the module docstring)."""

    portfolio: Portfolio
    day: date
    forecast: PriceInputs
    profiles: Profiles
    registry: MarketRegistry
    threshold_share: float = 0.01
    """Lost rating, as a share of the fleet's, that triggers a correction."""
    margin_eur_mwh: float = 20.0
    enabled: bool = True
    time_limit_s: float = 60.0
    gate_margin: timedelta = GATE_MARGIN
    """A correction is only traded for quarter hours whose gate is at least this far ahead:
    more on a scaled clock, where submitting takes simulated minutes."""
    corrections: list[Correction] = field(default_factory=list)

    @property
    def zone_of(self) -> dict[str, str]:
        """Asset id -> bidding zone."""
        return {a.id: self.portfolio.site_of(a).bidding_zone for a in self.portfolio.assets}

    def rating_mw(self, asset_ids: Sequence[str] | None = None) -> float:
        """Summed rating [MW] of `asset_ids` (default: the whole fleet)."""
        total = 0.0
        for asset in self.portfolio.assets:
            if asset_ids is None or asset.id in asset_ids:
                total += _rating(asset)
        return total

    def plan_day_ahead(self) -> Plan:
        """The D-1 plan on the forecasts."""
        return optimise(
            self.portfolio,
            self.day,
            self.forecast,
            profiles=self.profiles,
            options=OptimiserOptions(
                markets=D1_MARKETS, solver=SolverOptions(time_limit_s=self.time_limit_s)
            ),
            registry=self.registry,
        )

    def submit_plan(self, desk: Desk, plan: Plan) -> tuple[AddBidsResult, dict[str, str]]:
        """Submit the plan's bids; the stored result and store id -> pool of capacity bids."""
        result = desk.submit(plan.bids, f"{plan.plan_id}-d1")
        pools = {}
        for record in result.bids:
            reference = str(record.document.get("bid_id") or "")
            parts = reference.split(":")
            if record.document.get("type") == "balancing_capacity" and len(parts) > 2:
                pools[record.id] = parts[1]  # "<portfolio>:<pool>:<product id>"
        return result, pools

    def needs_correction(self, lost: Mapping[str, datetime]) -> bool:
        """Whether assets lost and not yet corrected for exceed the threshold."""
        done = {a for c in self.corrections for a in c.lost}
        new = [a for a in lost if a not in done]
        if not self.enabled or not new:
            return False
        return self.rating_mw(new) >= self.threshold_share * self.rating_mw()

    def correct(
        self,
        builder: ScheduleBuilder,
        book: PositionBook,
        history_at: datetime,
        lost: Mapping[str, datetime],
        desk: Submitter,
        now: datetime,
    ) -> Correction:
        """Re-optimise the rest of the day without the lost assets and trade the difference
        (see the module docstring)."""
        current = builder.versions[-1].schedule
        free_from = self._first_open(book, now)
        late_notes: list[str] = []
        for _ in range(REPLAN_TRIES):
            plan, notes = builder.optimise_held(
                book, history=current, keep_until=history_at, lost=lost, free_from=free_from
            )
            # On a scaled clock the optimisation takes clock time: a quarter hour it left
            # free whose gate closed meanwhile gets no order, and a schedule that moved it
            # would deliver what nobody bought. Optimise again with those held.
            closed = self._closed_meanwhile(book, plan, free_from, desk.clock.now())
            if not closed:
                break
            late_notes.append(
                f"gates closed while re-planning ({', '.join(closed)}): re-planned with "
                "them held at the book"
            )
            free_from = self._first_open(book, desk.clock.now())
        else:
            late_notes.append(
                f"gates kept closing while re-planning ({REPLAN_TRIES} tries): the version "
                "moves quarter hours no order covers; the difference settles as imbalance"
            )
        notes = [*notes, *late_notes]
        orders: list[SingleBid] = []
        traded = 0.0
        stamp = now.strftime("%H%M%S")
        for zone, first in free_from.items():
            wanted = _zone_position(plan, zone)
            held = book.net_mw(zone)
            for q in range(first, len(book.periods)):
                product = self._continuous(zone, book.periods[q].to_pydatetime())
                if product is None or product.gate_closure - self.gate_margin <= desk.clock.now():
                    continue
                step = product.volume_step_mw
                volume = round(round((wanted[q] - held[q]) / step) * step, 6)
                if abs(volume) < max(product.volume_min_mw, step) - 1e-9:
                    continue
                orders.append(
                    SingleBid(
                        bid_id=f"corr-{stamp}-{zone}-{q}",
                        product_id=product.product_id,
                        volume_mw=volume,
                        price_eur_per_mwh=self._limit(product, zone, q, volume),
                    )
                )
                traded += abs(volume) * 0.25
        submitted = None
        if orders:
            submitted = desk.submit(list(orders), f"{TRADER_NAME}-correction-{self.day}-{stamp}")
        correction = Correction(now, dict(lost), plan, orders, submitted, traded, notes)
        self.corrections.append(correction)
        return correction

    def _closed_meanwhile(
        self, book: PositionBook, plan: Plan, free_from: Mapping[str, int], now: datetime
    ) -> list[str]:
        """The quarter hours (``zone@HH:MM``Z) `plan` moves from the book that were free
        when it began but whose gate (less the margin) has passed by `now`."""
        closed = []
        for zone, first in free_from.items():
            wanted, held = _zone_position(plan, zone), book.net_mw(zone)
            for q in range(first, len(book.periods)):
                start = book.periods[q].to_pydatetime()
                product = self._continuous(zone, start)
                if product is None:
                    continue
                if product.gate_closure - self.gate_margin > now:
                    break
                step = product.volume_step_mw
                if abs(wanted[q] - held[q]) >= max(product.volume_min_mw, step) - 1e-9:
                    closed.append(f"{zone}@{start:%H:%M}Z")
        return closed

    def _first_open(self, book: PositionBook, now: datetime) -> dict[str, int]:
        """Per zone: the first quarter hour whose continuous gate is still open."""
        out = {}
        for zone in sorted(set(self.zone_of.values())):
            first = len(book.periods)
            for q in range(max(0, quarter_of(book.periods, now)), len(book.periods)):
                product = self._continuous(zone, book.periods[q].to_pydatetime())
                if product is not None and product.gate_closure - self.gate_margin > now:
                    first = q
                    break
            out[zone] = first
        return out

    def _continuous(self, zone: str, start: datetime) -> Product | None:
        """The PT15M continuous-intraday product of `zone` delivering from `start`."""
        cache = self.__dict__.setdefault("_products", {})
        if zone not in cache:
            country = next(s.country for s in self.portfolio.sites if s.bidding_zone == zone)
            products = self.registry.get(country).products(self.day, MarketId.INTRADAY_CONTINUOUS)
            cache[zone] = {
                p.delivery_start: p
                for p in products
                if p.bidding_zone == zone and p.family == "PT15M"
            }
        return cache[zone].get(start)

    def _limit(self, product: Product, zone: str, q: int, volume: float) -> float:
        """Limit price [EUR/MWh]: the intraday forecast less (sale) or plus (purchase) the
        margin, on the product's tick, within its price bounds."""
        prices = self.forecast.quarter_hourly("intraday", zone, Horizon.of(self.day))
        tick = product.price_tick
        if volume > 0:
            limit = math.floor((prices[q] - self.margin_eur_mwh) / tick) * tick
        else:
            limit = math.ceil((prices[q] + self.margin_eur_mwh) / tick) * tick
        if product.price_min is not None:
            limit = max(limit, product.price_min)
        if product.price_max is not None:
            limit = min(limit, product.price_max)
        return round(limit, 6)


def _zone_position(plan: Plan, zone: str) -> np.ndarray:
    """A plan's net energy position of `zone` per quarter hour [MW, + sold]."""
    net = np.zeros(len(plan.schedule.index))
    starts = {t: q for q, t in enumerate(plan.schedule.index)}
    for position in plan.positions:
        if position.zone != zone or position.direction is not None or position.pool:
            continue
        if position.market not in ("day_ahead", "intraday"):
            continue
        start = datetime.fromisoformat(position.delivery_start.replace("Z", "+00:00"))
        end = datetime.fromisoformat(position.delivery_end.replace("Z", "+00:00"))
        q = starts.get(start)
        while q is not None and q < len(net) and plan.schedule.index[q] < end:
            net[q] += position.mw
            q += 1
    return net


def _rating(asset: object) -> float:
    """An asset's largest power magnitude [MW]."""
    for name in ("rated_power_mw", "power_max_mw", "power_discharge_mw"):
        value = getattr(asset, name, None)
        if value is not None:
            return float(value)
    return 0.0
