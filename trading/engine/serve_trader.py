"""The virtual trader inside `vpp serve`: D-1 bids for the pools whose flag lets it trade.

Every engine round (`EngineService.serve`) asks `ServeTrader.round` for each tenant the
engine runs. For the next delivery day (the market-local day after the server clock's) it
finds the tenant's pools (bidding zones) whose ``virtual_trader`` flag is on (off unless
set: `trading.store.ops.flags.FLAGS`) and that have no D-1 submission yet. If the
day-ahead gate of such a pool is still at least `margin` ahead, it plans the day on the
forecasts (`VirtualTrader.plan_day_ahead`: the engine's prices, a perfect forecast) and
submits each such pool's bids whose gate is still `margin` ahead through the API's
submission path (`trading.engine.desk.submit_checked`: every market rule checked at the
server clock's now, stored, audited), one submission per pool under the idempotency key
``virtual-trader-d1-<day>-<pool>``. That key names the virtual trader in the audit trail
(``bid.create``, details ``idempotency_key``) and in the bid's submission, and makes a
second submission of the same pool and day (a restarted server) return the first one.
The server's `ClearingLoop` clears the bids at their gates, like any other.

Intraday, for the running day's pools with the flag on, the trader corrects (re-plans
the rest of the day and trades the difference to the book on continuous intraday) when
assets are lost (`correction_due`) and when the day's forecast of PV and wind available
power changes (`PUT /v1/engine/forecast`, `LiveDay.update_forecast`) by at least its
threshold in energy over the quarter hours ahead (`forecast_correction_due`).

A flag switched on later is obeyed at the next round (while the pool's day-ahead gate is
still ahead). A flag switched off stops new submissions for the pool and, at the next
round, withdraws the trader's bids of that pool still open (submitted, gate ahead of the
server's clock): every bid submitted under a ``virtual-trader-`` idempotency key whose
product is the pool's (`withdraw_off`), each moved to ``withdrawn`` by the engine (audited
as a ``bid.transition`` without an API key, reason naming the flag); bids past their gate
are with the market and stay. Bids a person submitted for the pool are not touched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select

from markets.bids import Bid, product_ids_of
from markets.products import MarketId, Product
from markets.registry import MarketRegistry
from regulatory import Portfolio
from trading.engine.desk import EngineClock, submit_checked
from trading.engine.flags import PoolFlags
from trading.engine.live_books import delivery_day
from trading.engine.live_day import LiveDay
from trading.engine.trader import GATE_MARGIN, TRADER_NAME, Correction, VirtualTrader
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.optimiser.profiles import proxy_profiles
from trading.store import (
    Actor,
    AddBidsResult,
    BidStatus,
    IdempotencyKeyReusedError,
    Repository,
    StoreError,
    session_factory,
)
from trading.store.models import BidRow, BidSubmissionRow
from trading.store.ops.flags import ON
from trading.store.vocabulary import PoolFlag

_LOG = structlog.get_logger(__name__)
SUBMIT_MARGIN = timedelta(minutes=5)
"""A bid is only submitted if its gate is at least this far ahead of the server clock."""
FORECAST_THRESHOLD_H = 1.0
"""A forecast change is traded once the energy it moved over the quarter hours ahead
reaches the trader's threshold share of the fleet's rating for this many hours [h] (1 %
of an 18 MW fleet: 0.18 MWh)."""


def d1_key(day: date, pool: str) -> str:
    """The idempotency key of the virtual trader's D-1 submission of `pool` for `day`."""
    return f"{TRADER_NAME}-d1-{day.isoformat()}-{pool}"


@dataclass
class PoolOutcome:
    """What the trader did for one pool and day."""

    state: str
    """``submitted``, ``nothing to submit``, ``gate passed``, ``refused`` or ``failed``."""
    bids: int = 0
    late: int = 0
    """The plan's bids of the pool left out because their gate was less than the margin ahead."""
    error: str | None = None


@dataclass
class TenantTrading:
    """The trader's work for one tenant: per day, per pool, what it did D-1; per day, the
    intraday trader (its corrections)."""

    days: dict[date, dict[str, PoolOutcome]] = field(default_factory=dict)
    intraday: dict[date, VirtualTrader] = field(default_factory=dict)
    failed: dict[date, dict[str, str]] = field(default_factory=dict)
    """Per day: lost asset -> the error of the correction that failed for it (not tried
    again for that asset)."""
    forecasts_traded: dict[date, int] = field(default_factory=dict)
    """Per day: how many of its forecast changes (`LiveDay.forecast_changes`) the trader
    has corrected for."""
    withdrawals: list[dict[str, Any]] = field(default_factory=list)
    """Each withdrawal of a pool's open bids after its flag went off, in order."""


class ServerSubmitter:
    """A tenant's submissions through the API's path on the server's clock (what
    `VirtualTrader.correct` submits to)."""

    def __init__(
        self, repository: Repository, registry: MarketRegistry, tenant: str, clock: EngineClock
    ) -> None:
        self.repository, self.registry, self.tenant, self.clock = (
            repository,
            registry,
            tenant,
            clock,
        )

    def submit(self, bids: Sequence[Bid], idempotency_key: str) -> AddBidsResult:
        """`submit_checked` at the clock's now."""
        return submit_checked(
            self.repository, self.registry, self.tenant, bids, idempotency_key, self.clock.now()
        )


class ServeTrader:
    """D-1 bids and intraday corrections for every tenant's pools with the flag on (see
    the module docstring); called from the engine's thread and its workers, `status`
    from the API's."""

    def __init__(
        self,
        repository: Repository,
        flags: PoolFlags,
        forecast: PriceInputs,
        registry: MarketRegistry,
        now: Callable[[], datetime],
        *,
        margin: timedelta = SUBMIT_MARGIN,
    ) -> None:
        self.repository = repository
        self.flags = flags
        self.forecast = forecast
        self.registry = registry
        self.now = now
        """The server clock's now [UTC, aware]."""
        self.margin = margin
        self.tenants: dict[str, TenantTrading] = {}
        self._swept: set[tuple[str, str]] = set()
        """(tenant, pool) whose open bids were withdrawn since its flag was last seen on."""
        self._lock = threading.Lock()
        """Held while what was done is written or read (`record`, `status`)."""

    def due(self, tenant: str, portfolio: Portfolio) -> tuple[date, list[str]] | None:
        """(next delivery day, pools to submit for) if a pool of the tenant has the flag on,
        no D-1 submission for that day yet, and its day-ahead gate at least `margin` ahead."""
        now = self.now()
        day = delivery_day(now) + timedelta(days=1)
        done = self.tenants.get(tenant, TenantTrading()).days.get(day, {})
        pools = []
        for pool, country in _pools(portfolio).items():
            if pool in done or self.flags.value(tenant, pool, PoolFlag.VIRTUAL_TRADER) != ON:
                continue
            gate = self._day_ahead_gate(country, pool, day)
            if gate is not None and gate - self.margin > now:
                pools.append(pool)
        return (day, pools) if pools else None

    def withdraw_off(self, tenant: str, pools: Mapping[str, Mapping[str, str]]) -> int:
        """For each of `pools` (pool -> its flags) whose ``virtual_trader`` flag is off and
        not swept since it was last seen on: withdraw the trader's open bids of the pool
        (module docstring). The number of bids withdrawn now. One query per pool whose
        flag went off; nothing while flags stay as they are."""
        withdrawn = 0
        for pool, flags in sorted(pools.items()):
            key = (tenant, pool)
            if flags.get(PoolFlag.VIRTUAL_TRADER.value) == ON:
                self._swept.discard(key)
                continue
            if key in self._swept:
                continue
            withdrawn += self._withdraw(tenant, pool)
            self._swept.add(key)
        return withdrawn

    def _withdraw(self, tenant: str, pool: str) -> int:
        now = self.now()
        with session_factory(self.repository.engine)() as session:
            rows = session.execute(
                select(BidRow.id, BidRow.product_id)
                .join(BidSubmissionRow, BidRow.submission_id == BidSubmissionRow.id)
                .where(
                    BidRow.tenant_id == tenant,
                    BidRow.status == BidStatus.SUBMITTED.value,
                    BidRow.gate_closure > now,
                    BidSubmissionRow.idempotency_key.like(f"{TRADER_NAME}-%"),
                )
                .order_by(BidRow.gate_closure, BidRow.id)
            ).all()
        mine = [
            r.id
            for r in rows
            if (product := self._product(r.product_id)) is not None and product.bidding_zone == pool
        ]
        reason = f"virtual_trader flag of pool {pool} switched off: the trader withdraws its bids"
        done: list[str] = []
        kept: dict[str, str] = {}
        for bid_id in mine:
            try:  # the gate may pass, or the bid clear, between the query and the move
                self.repository.transition(
                    bid_id, BidStatus.WITHDRAWN, Actor.system(tenant), reason=reason
                )
            except StoreError as exc:
                kept[bid_id] = str(exc)
                continue
            done.append(bid_id)
        if mine:
            _LOG.info(
                "virtual_trader_withdrew", tenant=tenant, pool=pool, bids=len(done), kept=len(kept)
            )
        with self._lock:
            found = self.tenants.setdefault(tenant, TenantTrading())
            found.withdrawals.append(
                {
                    "at": now.isoformat().replace("+00:00", "Z"),
                    "pool": pool,
                    "withdrawn": done,
                    "kept": kept,
                }
            )
        return len(done)

    def trade_d1(
        self, tenant: str, portfolio: Portfolio, day: date, pools: list[str]
    ) -> dict[str, PoolOutcome]:
        """Plan `day` on the forecasts and submit each of `pools`' bids whose gate is still
        `margin` ahead (one submission per pool); what was done per pool. Runs the
        optimiser: call it off the event loop."""
        part = portfolio.in_service(day)
        trader = VirtualTrader(
            part, day, self.forecast, proxy_profiles(part, Horizon.of(day)), self.registry
        )
        plan = trader.plan_day_ahead()
        by_pool: dict[str, list[Bid]] = {pool: [] for pool in pools}
        late: dict[str, int] = dict.fromkeys(pools, 0)
        now = self.now()
        for bid in plan.bids:
            product = self._product(product_ids_of(bid)[0])
            if product is None or product.bidding_zone not in by_pool:
                continue
            if product.gate_closure - self.margin > now:
                by_pool[product.bidding_zone].append(bid)
            else:
                late[product.bidding_zone] += 1
        outcomes = {}
        for pool, bids in by_pool.items():
            outcomes[pool] = self._submit(tenant, day, pool, bids, late[pool])
        self.record(tenant, day, outcomes)
        return outcomes

    def record(self, tenant: str, day: date, outcomes: Mapping[str, PoolOutcome]) -> None:
        """Remember what was done for the pools and day (not tried again for that day)."""
        with self._lock:
            found = self.tenants.setdefault(tenant, TenantTrading())
            found.days.setdefault(day, {}).update(outcomes)

    def status(self, tenant: str) -> dict[str, Any]:
        """What the trader did for the tenant, per delivery day and pool."""
        with self._lock:
            return self._status(self.tenants.get(tenant, TenantTrading()))

    def _status(self, found: TenantTrading) -> dict[str, Any]:
        days = sorted(set(found.days) | set(found.intraday) | set(found.failed))
        out: dict[str, Any] = {}
        if found.withdrawals:  # the pools whose flag went off, and the bids withdrawn
            out["withdrawals"] = [dict(w) for w in found.withdrawals]
        for day in days:
            pools = found.days.get(day, {})
            trader = found.intraday.get(day)
            out[str(day)] = {
                "d1": {pool: vars(outcome) for pool, outcome in sorted(pools.items())},
                "corrections": []
                if trader is None
                else [c.summary() for c in list(trader.corrections)],
                "failed_corrections": dict(found.failed.get(day, {})),
            }
        return out

    # --- intraday ------------------------------------------------------------------------

    def correction_due(self, tenant: str, live: LiveDay) -> dict[str, datetime] | None:
        """The lost assets to correct for now: those of the running day's pools with the
        flag on, if their rating not yet corrected for exceeds the trader's threshold."""
        if live.current is None:
            return None
        trader = self._intraday(tenant, live)
        zone_of = trader.zone_of
        failed = self.tenants[tenant].failed.get(live.day, {})
        lost = {
            asset: at
            for asset, at in dict(live.lost).items()  # copied: the engine's loop adds to it
            if asset in zone_of
            and asset not in failed
            and self.flags.value(tenant, zone_of[asset], PoolFlag.VIRTUAL_TRADER) == ON
        }
        return lost if trader.needs_correction(lost) else None

    def forecast_correction_due(self, tenant: str, live: LiveDay) -> tuple[int, str] | None:
        """(changes seen, why) if the running day's forecast changes not yet traded moved
        at least the trader's threshold: `FORECAST_THRESHOLD_H` hours of its threshold
        share of the fleet's rating [MWh], counting the assets of pools with the flag on;
        changes below it add up until they reach it."""
        if live.current is None:
            return None
        changes = list(live.forecast_changes)  # copied: the API's thread adds to it
        trader = self._intraday(tenant, live)
        with self._lock:
            done = self.tenants[tenant].forecasts_traded.get(live.day, 0)
        if len(changes) <= done:
            return None
        zone_of = trader.zone_of
        moved = sum(
            mwh
            for change in changes[done:]
            for asset, mwh in change["moved_mwh"].items()
            if asset in zone_of
            and self.flags.value(tenant, zone_of[asset], PoolFlag.VIRTUAL_TRADER) == ON
        )
        threshold = FORECAST_THRESHOLD_H * trader.threshold_share * trader.rating_mw()
        if not trader.enabled or moved < threshold:
            return None
        why = (
            f"forecast changed: {moved:.3f} MWh moved over the quarter hours ahead by "
            f"{len(changes) - done} update(s) (threshold {threshold:.3f} MWh)"
        )
        return len(changes), why

    def correct_forecast(self, tenant: str, live: LiveDay, seen: int, why: str) -> Correction:
        """Re-optimise the rest of the running day on the changed forecast and submit the
        difference to the book as continuous-intraday orders (as `correct`, with no asset
        lost); the changes up to `seen` count as traded, even if this fails (named in the
        log; the next change is tried again)."""
        with self._lock:
            self.tenants.setdefault(tenant, TenantTrading()).forecasts_traded[live.day] = seen
        trader = self._intraday(tenant, live)
        submitter = ServerSubmitter(self.repository, self.registry, tenant, EngineClock(self.now))
        now = self.now()
        correction = trader.correct(live.builder, live.book, now, {}, submitter, now)
        correction.notes.insert(0, why)
        _LOG.info(
            "virtual_trader_corrected",
            tenant=tenant,
            day=str(live.day),
            reason=why,
            orders=len(correction.orders),
            traded_mwh=round(correction.traded_mwh, 6),
        )
        return correction

    def correct(self, tenant: str, live: LiveDay, lost: Mapping[str, datetime]) -> Correction:
        """Re-optimise the rest of the running day without `lost` and submit the difference
        to the book as continuous-intraday orders (`VirtualTrader.correct`), under the
        idempotency key ``virtual-trader-correction-<day>-<HHMMSS>``. Runs the optimiser:
        call it off the event loop. The day's own re-plan (`LiveDay`) follows the orders
        once they clear."""
        trader = self._intraday(tenant, live)
        submitter = ServerSubmitter(self.repository, self.registry, tenant, EngineClock(self.now))
        now = self.now()
        try:
            correction = trader.correct(live.builder, live.book, now, lost, submitter, now)
        except Exception as exc:  # e.g. the re-plan infeasible: named in the status, once
            with self._lock:
                failed = self.tenants[tenant].failed.setdefault(live.day, {})
                failed.update(dict.fromkeys(lost, f"{type(exc).__name__}: {exc}"))
            raise
        _LOG.info(
            "virtual_trader_corrected",
            tenant=tenant,
            day=str(live.day),
            lost=sorted(lost),
            orders=len(correction.orders),
            traded_mwh=round(correction.traded_mwh, 6),
        )
        return correction

    def _intraday(self, tenant: str, live: LiveDay) -> VirtualTrader:
        with self._lock:
            found = self.tenants.setdefault(tenant, TenantTrading()).intraday
            if live.day in found:
                return found[live.day]
            found[live.day] = VirtualTrader(
                live.portfolio,
                live.day,
                self.forecast,
                live.builder.profiles,
                self.registry,
                gate_margin=max(GATE_MARGIN, self.margin),
            )
        return found[live.day]

    def _submit(self, tenant: str, day: date, pool: str, bids: list[Bid], late: int) -> PoolOutcome:
        if not bids:
            return PoolOutcome("gate passed" if late else "nothing to submit", late=late)
        key = d1_key(day, pool)
        try:
            result = submit_checked(self.repository, self.registry, tenant, bids, key, self.now())
        except IdempotencyKeyReusedError:  # submitted before (a restarted server) with others
            return PoolOutcome("submitted", late=late, error=f"{key} was submitted before")
        except (ValueError, StoreError) as exc:  # a rule refused the plan: logged, not retried
            _LOG.warning("virtual_trader_refused", tenant=tenant, pool=pool, error=str(exc))
            return PoolOutcome("refused", late=late, error=str(exc))
        _LOG.info(
            "virtual_trader_submitted",
            tenant=tenant,
            pool=pool,
            day=str(day),
            bids=len(result.bids),
            created=result.created,
        )
        return PoolOutcome("submitted", bids=len(result.bids), late=late)

    def _product(self, product_id: str) -> Product | None:
        country = product_id.split(":", 1)[0]
        if country not in self.registry:
            return None
        return self.registry.get(country).product(product_id)

    def _day_ahead_gate(self, country: str, pool: str, day: date) -> datetime | None:
        products = self.registry.get(country).products(day, MarketId.DAY_AHEAD)
        gates = [p.gate_closure for p in products if p.bidding_zone == pool]
        return min(gates, default=None)


def _pools(portfolio: Portfolio) -> Mapping[str, str]:
    """The portfolio's pools (bidding zones) and each one's country."""
    return {site.bidding_zone: site.country for site in portfolio.sites}
