"""The trading desk inside the engine: the API's submission path and the server's clearing.

`Desk.submit` checks bids exactly as `POST /v1/bids` does (each bid's product resolved and
every market rule checked at the clock's now, `trading.api.submission`) and stores them
through `Repository.add_bids` under an idempotency key; `Desk.clear` runs one round of the
server's `ClearingLoop` (stored bids whose gate has closed go to the simulated exchange,
which clears them; each outcome is recorded on the stored bid). So a bid of the virtual
trader takes the same path as a desk trader's over HTTP, on the engine's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import pandas as pd
from prometheus_client import CollectorRegistry

from markets.bids import Bid
from markets.registry import MarketRegistry
from trading.api.server import ClearingLoop
from trading.api.submission import describe, market_violations, resolve_products
from trading.exchange.records import Clearing
from trading.exchange.simulated import SimulatedExchange
from trading.optimiser.inputs import PriceInputs
from trading.store import AddBidsResult, Repository


class BidsRefusedError(ValueError):
    """The market rules refused bids at submission; the message names each rule broken."""


class EngineClock:
    """The exchange's and the store's clock: reads UTC from `source` (switchable)."""

    def __init__(self, source: Callable[[], datetime]) -> None:
        self.source = source

    def now(self) -> datetime:
        """Now, UTC."""
        return self.source()


class Desk:
    """Submits and clears bids for one tenant (see the module docstring)."""

    def __init__(
        self,
        repository: Repository,
        tenant_id: str,
        prices: PriceInputs,
        registry: MarketRegistry,
        clock: EngineClock,
        balancing_energy: Mapping[tuple[str, str], pd.Series] | None = None,
    ) -> None:
        self.repository = repository
        self.tenant_id = tenant_id
        self.registry = registry
        self.clock = clock
        self.exchange = SimulatedExchange(
            prices,
            clock,
            registry,
            metrics_registry=CollectorRegistry(),
            balancing_energy=balancing_energy,
        )
        self.loop = ClearingLoop(repository, self.exchange)

    def submit(self, bids: Sequence[Bid], idempotency_key: str) -> AddBidsResult:
        """Store `bids` as the API would at the clock's now; `BidsRefusedError` lists
        every rule broken (nothing is stored then)."""
        return submit_checked(
            self.repository, self.registry, self.tenant_id, bids, idempotency_key, self.clock.now()
        )

    def clear(self) -> list[Clearing]:
        """One clearing round: the outcomes recorded in it."""
        return self.loop.run_once()


def submit_checked(
    repository: Repository,
    registry: MarketRegistry,
    tenant_id: str,
    bids: Sequence[Bid],
    idempotency_key: str,
    now: datetime,
) -> AddBidsResult:
    """Store the tenant's `bids` as ``POST /v1/bids`` would at `now` [UTC]: each bid's
    product resolved and every market rule checked, then stored (and audited) under
    `idempotency_key` by the engine (no API key); `BidsRefusedError` lists every rule
    broken (nothing is stored then)."""
    resolved, unknown = resolve_products(registry, list(bids))
    if unknown:
        raise BidsRefusedError(describe(unknown, len(bids)))
    new_bids = [b for b in resolved if b is not None]
    refused = market_violations(registry, list(bids), [b.country for b in new_bids], now)
    if refused:
        raise BidsRefusedError(describe(refused, len(bids)))
    return repository.add_bids(tenant_id, None, new_bids, idempotency_key, at=now)
