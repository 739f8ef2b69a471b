"""Metrics and events of the dispatcher: one incident can be followed by its dispatch id.

Prometheus metrics (on a registry of the caller's, default the process registry):

- ``vpp_dispatch_commands_total{asset,product,protocol}``: setpoints written;
- ``vpp_dispatch_acks_total{asset,protocol,outcome}``: acknowledged | refused | timeout;
- ``vpp_dispatch_executions_total{asset,protocol,outcome}``: executed | exec_timeout |
  deviated;
- ``vpp_dispatch_ack_latency_seconds{protocol}``, ``vpp_dispatch_execution_latency_seconds
  {protocol}``: from write to acknowledgement, and to measured execution [s]
  (histograms by protocol only: a histogram per asset would multiply series by ten
  thousand);
- ``vpp_dispatch_tracking_error_mw{pool}``: target minus measured at the last tick [MW];
- ``vpp_dispatch_tick_seconds{pool}``: time to compute a tick [s];
- ``vpp_dispatch_missed_ticks_total{pool}``;
- ``vpp_dispatch_budget_total{pool,protocol,outcome}``: retry tokens granted | denied;
- ``vpp_dispatch_breaker_open{asset}``: 1 while the asset's circuit breaker is open;
- ``vpp_dispatch_asset_state_total{state}``: assets entering each state.

Events are structlog JSON lines; every one about a command carries ``dispatch_id``,
``asset``, ``product`` and ``protocol``.
"""

from __future__ import annotations

from typing import Any

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)


class DispatchMetrics:
    """The dispatcher's Prometheus metrics on `registry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        on = registry if registry is not None else REGISTRY
        self.registry = on
        self.commands = Counter(
            "vpp_dispatch_commands",
            "Setpoints written, by asset, market product and protocol",
            ["asset", "product", "protocol"],
            registry=on,
        )
        self.acks = Counter(
            "vpp_dispatch_acks",
            "Write outcomes: acknowledged, refused or timeout",
            ["asset", "protocol", "outcome"],
            registry=on,
        )
        self.executions = Counter(
            "vpp_dispatch_executions",
            "Execution outcomes: executed, exec_timeout or deviated",
            ["asset", "protocol", "outcome"],
            registry=on,
        )
        self.ack_latency = Histogram(
            "vpp_dispatch_ack_latency_seconds",
            "From setpoint write to acknowledgement [s]",
            ["protocol"],
            buckets=LATENCY_BUCKETS,
            registry=on,
        )
        self.execution_latency = Histogram(
            "vpp_dispatch_execution_latency_seconds",
            "From setpoint write to measured execution [s]",
            ["protocol"],
            buckets=LATENCY_BUCKETS,
            registry=on,
        )
        self.tracking_error = Gauge(
            "vpp_dispatch_tracking_error_mw",
            "Pool target minus measured injection at the last tick [MW]",
            ["pool"],
            registry=on,
        )
        self.tick_seconds = Histogram(
            "vpp_dispatch_tick_seconds",
            "Time to compute one control tick [s]",
            ["pool"],
            buckets=(0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0),
            registry=on,
        )
        self.missed_ticks = Counter(
            "vpp_dispatch_missed_ticks",
            "Ticks that started after their whole period had passed",
            ["pool"],
            registry=on,
        )
        self.budget = Counter(
            "vpp_dispatch_budget",
            "Retry tokens asked of the pool's and protocol's budgets, by outcome",
            ["pool", "protocol", "outcome"],
            registry=on,
        )
        self.breaker_open = Gauge(
            "vpp_dispatch_breaker_open",
            "1 while the asset's circuit breaker is open",
            ["asset"],
            registry=on,
        )
        self.asset_states = Counter(
            "vpp_dispatch_asset_state",
            "Assets entering each state",
            ["state"],
            registry=on,
        )


def event_log(**context: Any) -> Any:
    """A structlog logger bound to `context` (e.g. pool, asset, protocol)."""
    return structlog.get_logger("dispatch").bind(**context)
