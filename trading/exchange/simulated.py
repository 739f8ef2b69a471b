"""`SimulatedExchange`: the embedded `MarketGateway`, clearing bids against price series.

It holds submitted bids and, at each product's gate closure (read from the market plugin),
clears every bid for that product against the given prices, once: energy auctions
(day-ahead SDAC, intraday auctions IDA1-3) at a uniform clearing price per product
(pay-as-cleared), balancing capacity (aFRR, FCR) against the block's marginal price, paid as
the product's pricing rule says. What may be held is `trading.exchange.admission`'s call,
the rules are in `trading.exchange.clearing_rules`, the prices in
`trading.exchange.price_book`.

It is a price taker: bids never move the price, so a block's minimum acceptance ratio never
matters (a block in the money is accepted whole) and a divisible capacity bid is accepted in
full. A linked block is accepted only if its parent block was. Continuous intraday orders are
filled at their limit or expire at their gate against the intraday price **proxy**, aFRR
energy bids are activated or not against the quarter hour's activation price (see
`trading.exchange.clearing_rules` and docs/exchange.md). Every held bid whose gate has
passed leaves at the next `clear_due` with an outcome and a reason, whatever its market:
none stays pending past its gate. Time comes only from the injected `Clock`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

import pandas as pd
import structlog
from prometheus_client import CollectorRegistry

from markets.bids import Bid, BlockBid, product_ids_of
from markets.calendar import iso_z, local_label
from markets.products import MarketId, Product
from markets.registry import MarketRegistry, default_registry
from trading.exchange.admission import Admitted, admit
from trading.exchange.clearing import clear_bid
from trading.exchange.clock import Clock
from trading.exchange.errors import GateClosedError, SubmissionRefusedError, UnknownBidError
from trading.exchange.metrics import exchange_metrics
from trading.exchange.price_book import PriceBook
from trading.exchange.records import Clearing, ClearingStatus, PendingBid
from trading.optimiser.inputs import PriceInputs

HOW_IT_CLEARS: dict[MarketId, str] = {
    MarketId.AFRR_ENERGY: (
        "activated in full at its gate closure {gate} if its price is within the quarter "
        "hour's aFRR energy activation price, else rejected; rejected if there is no such price"
    ),
    MarketId.INTRADAY_CONTINUOUS: (
        "filled at its limit at its gate closure {gate} if the intraday price proxy (a proxy, "
        "not market data) of its delivery crosses the limit, else expires unfilled"
    ),
}
"""How a held bid of a market judged by its own rule (not a uniform price) will leave."""


@dataclass(frozen=True)
class _Held:
    """A pending bid with its products and its place in submission order."""

    pending: PendingBid
    products: tuple[Product, ...]
    sequence: int


class SimulatedExchange:
    """A `MarketGateway` that clears every market it holds against `prices` at each gate.

    - `prices`: clearing prices per market and zone (see `trading.exchange.price_book`);
      copied when the exchange is made.
    - `clock`: the time; `ManualClock` in tests and backtests, `SystemClock` in service.
    - `registry`: the market plugins (default: `markets.registry.default_registry()`).
    - `metrics_registry`: where the Prometheus counters live (default: the module registry
      of `trading.exchange.metrics`).
    - `balancing_energy`: aFRR energy activation prices [EUR/MWh] per (bidding zone, "pos"
      or "neg") and quarter hour, e.g. from `trading.prices.readers.read_balancing_prices`;
      without them aFRR energy bids are rejected at their gate for want of a price.
    """

    def __init__(
        self,
        prices: PriceInputs,
        clock: Clock,
        registry: MarketRegistry | None = None,
        *,
        metrics_registry: CollectorRegistry | None = None,
        balancing_energy: Mapping[tuple[str, str], pd.Series] | None = None,
    ) -> None:
        self._book = PriceBook(prices, balancing_energy)
        self._clock = clock
        self._registry = default_registry() if registry is None else registry
        self._metrics = exchange_metrics(metrics_registry)
        self._log = structlog.get_logger(__name__).bind(exchange="simulated")
        self._lock = threading.RLock()
        self._pending: dict[str, _Held] = {}
        self._results: dict[str, Clearing] = {}
        self._timezone_of: dict[str, str] = {}
        self._keys_made = 0
        self._bids_held = 0

    def now(self) -> datetime:
        """The exchange clock's current instant [UTC]."""
        return self._clock.now()

    # --- MarketGateway -------------------------------------------------------------------

    def submit(self, bids: Sequence[Bid]) -> tuple[str, ...]:
        """Hold every bid or none; each bid's key (its `bid_id`, or ``sim-NNNNNN``), in order.

        Each bid is validated by its country's market plugin at the clock's now (gates,
        bounds, ticks, steps, order types, linked blocks); a bid key already in use, a
        product id of no known country and linked blocks in a cycle are refused too.
        `SubmissionRefusedError` lists every refused bid with every problem.
        """
        return self._admit_and_hold(bids, self._clock.now())

    def submit_as_of(self, bids: Sequence[Bid], submitted_at: datetime) -> tuple[str, ...]:
        """Hold bids that the book of record accepted at `submitted_at`, as of that instant.

        For a loop fed by the store: it holds bids that the API accepted before their gate,
        maybe while this exchange was not running. Each is validated at `submitted_at`
        [UTC], not now,
        so one whose gate passed while the server was down is still held and clears at the
        next `clear_due`, on the prices of its products. All or nothing, as `submit`.
        """
        if submitted_at > self._clock.now():
            raise ValueError(f"submitted_at {iso_z(submitted_at)} is after the clock's now")
        return self._admit_and_hold(bids, submitted_at)

    def _admit_and_hold(self, bids: Sequence[Bid], now: datetime) -> tuple[str, ...]:
        with self._lock:
            try:
                admitted = admit(
                    bids,
                    now=now,
                    registry=self._registry,
                    held=self._pending,
                    cleared=self._results,
                    new_key=self._next_key,
                )
            except SubmissionRefusedError as refused:
                self._metrics.submissions_refused.inc()
                self._log.warning(
                    "submission_refused",
                    bids=len(bids),
                    refused=[r.describe() for r in refused.refusals],
                )
                raise
            for bid in admitted:
                self._hold(bid, now)
            return tuple(bid.key for bid in admitted)

    def withdraw(self, bid_key: str) -> None:
        """Remove a held bid from clearing, if its gate has not closed at the clock's now.

        `GateClosedError` names the gate closure (UTC and market-local) once it has passed or
        the bid has been cleared; `UnknownBidError` for a key never held or already withdrawn.
        """
        now = self._clock.now()
        with self._lock:
            held = self._pending.get(bid_key)
            if held is None:
                done = self._results.get(bid_key)
                if done is None:
                    raise UnknownBidError(
                        f"no bid {bid_key!r} is held: never submitted, or already withdrawn"
                    )
                gate = done.gate_closure
                raise GateClosedError(
                    f"bid {bid_key} cannot be withdrawn: it was cleared ({done.status.value}) "
                    f"at its gate closure {iso_z(gate)} "
                    f"({local_label(gate, self._timezone_of[bid_key])})"
                )
            gate = held.pending.gate_closure
            if now >= gate:
                raise GateClosedError(
                    f"bid {bid_key} cannot be withdrawn at {iso_z(now)}: its gate closed at "
                    f"{iso_z(gate)} ({local_label(gate, held.products[0].timezone)})"
                )
            del self._pending[bid_key]
            del self._timezone_of[bid_key]
            self._metrics.bids_withdrawn.labels(market=held.pending.market.value).inc()
            self._log.info(
                "bid_withdrawn",
                bid_key=bid_key,
                market=held.pending.market.value,
                product_ids=list(held.pending.product_ids),
                at=iso_z(now),
            )

    def clear_due(self) -> tuple[Clearing, ...]:
        """Clear every held bid whose gate closure is at or before the clock's now.

        Every market: a bid with no price, or of a market without a rule, is rejected with
        the reason, so no bid stays pending past its gate. Returns the new outcomes, in
        gate-closure then submission order (a linked block after its parent). A bid is
        cleared once: calling again returns only bids that became due since, and never
        changes an outcome.
        """
        now = self._clock.now()
        with self._lock:
            due = [held for held in self._pending.values() if held.pending.gate_closure <= now]
            due.sort(key=lambda h: (h.pending.gate_closure, self._link_depth(h), h.sequence))
            cleared: list[Clearing] = []
            for held in due:
                clearing = clear_bid(
                    held.pending,
                    held.products,
                    self._book,
                    now,
                    parent_problem=self._parent_problem(held.pending.bid),
                )
                del self._pending[clearing.bid_key]
                self._results[clearing.bid_key] = clearing
                self._report(clearing)
                cleared.append(clearing)
            return tuple(cleared)

    def results(self) -> Mapping[str, Clearing]:
        """Every outcome so far, by bid key (a read-only snapshot)."""
        with self._lock:
            return MappingProxyType(dict(self._results))

    def pending(self) -> Mapping[str, PendingBid]:
        """Every bid held without an outcome, by bid key (a read-only snapshot)."""
        with self._lock:
            return MappingProxyType({key: held.pending for key, held in self._pending.items()})

    # --- submission ----------------------------------------------------------------------

    def _next_key(self) -> str:
        self._keys_made += 1
        return f"sim-{self._keys_made:06d}"

    def _hold(self, admitted: Admitted, now: datetime) -> None:
        key, products = admitted.key, admitted.products
        market = products[0].market
        gate = max(p.gate_closure for p in products)
        gate_label = f"{iso_z(gate)} ({local_label(gate, products[0].timezone)})"
        rule = HOW_IT_CLEARS.get(market)
        reason = (
            f"clears at its gate closure {gate_label}"
            if rule is None
            else rule.format(gate=gate_label)
        )
        pending = PendingBid(
            bid_key=key,
            bid=admitted.bid,
            market=market,
            product_ids=product_ids_of(admitted.bid),
            gate_closure=gate,
            submitted_at=now,
            clears=True,
            reason=reason,
        )
        self._bids_held += 1
        self._pending[key] = _Held(pending, products, self._bids_held)
        self._timezone_of[key] = products[0].timezone
        self._metrics.bids_submitted.labels(market=market.value).inc()
        self._log.info(
            "bid_submitted",
            bid_key=key,
            market=market.value,
            product_ids=list(pending.product_ids),
            gate_closure=iso_z(gate),
        )

    # --- clearing ------------------------------------------------------------------------

    def _link_depth(self, held: _Held) -> int:
        """How many parent blocks stand above a linked block (0 for any other bid)."""
        depth = 0
        bid: Bid | None = held.pending.bid
        seen: set[str] = set()
        while isinstance(bid, BlockBid) and bid.linked_to and bid.linked_to not in seen:
            seen.add(bid.linked_to)
            bid = self._bid_of(bid.linked_to)
            depth += 0 if bid is None else 1
        return depth

    def _bid_of(self, bid_key: str) -> Bid | None:
        """The bid held or cleared under `bid_key`; None if withdrawn or unknown."""
        held = self._pending.get(bid_key)
        if held is not None:
            return held.pending.bid
        done = self._results.get(bid_key)
        return None if done is None else done.bid

    def _parent_problem(self, bid: Bid) -> str | None:
        """Why a linked block's parent does not let it clear; None if it may."""
        if not isinstance(bid, BlockBid) or bid.linked_to is None:
            return None
        parent = self._results.get(bid.linked_to)
        if parent is not None:
            if parent.status is ClearingStatus.ACCEPTED:
                return None
            return f"its parent block {bid.linked_to} was rejected"
        if bid.linked_to in self._pending:
            return f"its parent block {bid.linked_to} is not cleared by this gate closure"
        return f"its parent block {bid.linked_to} was withdrawn"

    def _report(self, clearing: Clearing) -> None:
        self._metrics.clearings.labels(
            market=clearing.market.value, status=clearing.status.value
        ).inc()
        event = "bid_cleared" if clearing.accepted else "bid_rejected"
        self._log.info(
            event,
            bid_key=clearing.bid_key,
            market=clearing.market.value,
            product_ids=list(clearing.product_ids),
            status=clearing.status.value,
            cleared_volumes_mw=list(clearing.cleared_volumes_mw),
            clearing_price_eur_per_mwh=clearing.clearing_price_eur_per_mwh,
            capacity_price_eur_per_mw_h=clearing.capacity_price_eur_per_mw_h,
            remuneration_eur_per_mwh=clearing.remuneration_eur_per_mwh,
            remuneration_eur_per_mw_h=clearing.remuneration_eur_per_mw_h,
            gate_closure=iso_z(clearing.gate_closure),
            reason=clearing.reason,
        )
