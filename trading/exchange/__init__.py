"""Exchange gateways: where bids go, and where their outcomes come from.

- `gateway`: `MarketGateway`, the interface every exchange connection offers.
- `simulated`: `SimulatedExchange`, the embedded default, clearing auctions and balancing
  capacity against price series at each gate closure, continuous intraday against the
  intraday price proxy and aFRR energy against its activation price (backtests, the
  server); see docs/exchange.md.
- `clock`: `Clock`, `SystemClock`, `ManualClock` (tests walk a delivery day in milliseconds),
  `ScaledClock` (a day in minutes, for a running server).
- `records`: `Clearing` and `PendingBid`, what a trader reads back.
- `admission`: whether a submission may be held (keys, market rules, linked blocks).
- `price_book`, `clearing_rules`, `clearing`: which price clears a product, the arithmetic
  of one bid against it, and the record it yields.
- `errors`, `metrics`: what a gateway refuses; its Prometheus counters.
"""

from trading.exchange.clock import Clock, ManualClock, ScaledClock, SystemClock
from trading.exchange.errors import (
    ExchangeError,
    GateClosedError,
    Refusal,
    SubmissionRefusedError,
    UnknownBidError,
)
from trading.exchange.gateway import MarketGateway
from trading.exchange.metrics import EXCHANGE_METRICS_REGISTRY, ExchangeMetrics, exchange_metrics
from trading.exchange.price_book import NoClearingPriceError, PriceBook
from trading.exchange.records import Clearing, ClearingStatus, PendingBid
from trading.exchange.simulated import SimulatedExchange

__all__ = [
    "EXCHANGE_METRICS_REGISTRY",
    "Clearing",
    "ClearingStatus",
    "Clock",
    "ExchangeError",
    "ExchangeMetrics",
    "GateClosedError",
    "ManualClock",
    "MarketGateway",
    "NoClearingPriceError",
    "PendingBid",
    "PriceBook",
    "Refusal",
    "ScaledClock",
    "SimulatedExchange",
    "SubmissionRefusedError",
    "SystemClock",
    "UnknownBidError",
    "exchange_metrics",
]
