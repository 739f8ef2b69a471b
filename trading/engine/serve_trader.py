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

A flag switched on later is obeyed at the next round (while the pool's day-ahead gate is
still ahead); a flag switched off stops new submissions for the pool and withdraws
nothing already submitted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from markets.bids import Bid, product_ids_of
from markets.products import MarketId, Product
from markets.registry import MarketRegistry
from regulatory import Portfolio
from trading.engine.desk import submit_checked
from trading.engine.flags import PoolFlags
from trading.engine.live_books import delivery_day
from trading.engine.trader import VirtualTrader
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.optimiser.profiles import proxy_profiles
from trading.store import IdempotencyKeyReusedError, Repository, StoreError
from trading.store.ops.flags import ON
from trading.store.vocabulary import PoolFlag

_LOG = structlog.get_logger(__name__)
TRADER_NAME = "virtual-trader"
"""How the virtual trader's submissions are named (their idempotency keys start so)."""
SUBMIT_MARGIN = timedelta(minutes=5)
"""A bid is only submitted if its gate is at least this far ahead of the server clock."""


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
    """The trader's D-1 work for one tenant: per day, per pool, what it did."""

    days: dict[date, dict[str, PoolOutcome]] = field(default_factory=dict)


class ServeTrader:
    """D-1 planning and submission for every tenant's pools with the flag on (see the
    module docstring); called from the engine's thread."""

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
        self.tenants.setdefault(tenant, TenantTrading()).days.setdefault(day, {}).update(outcomes)

    def status(self, tenant: str) -> dict[str, Any]:
        """What the trader did for the tenant, per delivery day and pool."""
        found = self.tenants.get(tenant, TenantTrading())
        return {
            str(day): {pool: vars(outcome) for pool, outcome in sorted(pools.items())}
            for day, pools in sorted(found.days.items())
        }

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
