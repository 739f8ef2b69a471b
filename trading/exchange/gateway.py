"""`MarketGateway`: what any connection to an exchange or a TSO platform offers a trader.

The embedded default is `trading.exchange.simulated.SimulatedExchange`. A real gateway (EPEX
SPOT's M7/ETS for day-ahead and the intraday auctions, regelleistung.net for German
balancing capacity) implements the same five methods:

- `submit(bids)` sends bids that the market plugin has validated; it is all or nothing: it
  either holds every bid and returns their keys, or raises `SubmissionRefusedError` naming
  each bad bid and holds none. A real gateway maps its exchange's order ids to these keys.
- `withdraw(bid_key)` cancels a bid before its gate closure; at or after it, it raises
  `GateClosedError` naming the gate closure time; an unknown key raises `UnknownBidError`.
- `clear_due()` brings in the outcome of every bid whose result is due by the gateway's
  clock: the simulation clears at gate closure; a real gateway polls for the published
  results (SDAC: from about 12:45 D-1, CET). It returns only the records new since the
  previous call, each bid exactly once, so calling it again is harmless.
- `results()` is every outcome so far, by bid key; `pending()` is every bid still held
  without an outcome, by bid key, with the reason it is waiting.

Units and signs as in `markets.bids` and `trading.exchange.records`: MW, EUR/MWh for energy,
EUR/MW/h for capacity; positive energy volume = sale (injection). Times are timezone-aware
UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from markets.bids import Bid
from trading.exchange.records import Clearing, PendingBid


@runtime_checkable
class MarketGateway(Protocol):
    """A connection to the markets: submit, withdraw, collect outcomes."""

    def submit(self, bids: Sequence[Bid]) -> tuple[str, ...]:
        """Hold every bid of `bids` or none; the key of each, in order."""
        ...

    def withdraw(self, bid_key: str) -> None:
        """Cancel the bid `bid_key` before its gate closure."""
        ...

    def clear_due(self) -> tuple[Clearing, ...]:
        """The outcomes that became due since the last call (each bid once, ever)."""
        ...

    def results(self) -> Mapping[str, Clearing]:
        """Every outcome so far, by bid key (a snapshot)."""
        ...

    def pending(self) -> Mapping[str, PendingBid]:
        """Every bid held without an outcome yet, by bid key (a snapshot)."""
        ...
