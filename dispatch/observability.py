"""Metrics and events of the dispatcher: one incident can be followed by its dispatch id.

One process-wide Prometheus registry holds the dispatcher's series (default
`prometheus_client.REGISTRY`, which also carries the process and Python collectors): the
metric families are made there once (`DispatchSeries.on`), and every run or pool in the
process (tests, a server) makes its own `DispatchMetrics(pool=..., zones=...)` over them,
told apart by the ``pool`` label. `dispatch.metrics_server.serve_metrics` serves the
registry on ``/metrics``. A `DispatchMetrics` fills in the pool and each asset's bidding
zone, so the actors' calls stay ``metrics.commands.labels(asset, product, protocol)``.

Series updated as things happen (labels in braces):

- ``vpp_dispatch_commands_total{pool,zone,asset,market,protocol}``: setpoints written;
  ``market`` is the product the setpoint serves (``schedule`` or ``afrr``);
- ``vpp_dispatch_acks_total{pool,zone,asset,protocol,outcome}``: acknowledged | refused |
  timeout;
- ``vpp_dispatch_executions_total{pool,zone,asset,protocol,outcome}``: executed |
  exec_timeout | deviated;
- ``vpp_dispatch_ack_latency_seconds{pool,protocol}``,
  ``vpp_dispatch_execution_latency_seconds{pool,protocol}``: from write to acknowledgement,
  and to measured execution [s] (histograms by pool and protocol only: one per asset would
  multiply the series by ten thousand);
- ``vpp_dispatch_tracking_error_mw{pool}``: target minus measured at the last tick [MW];
- ``vpp_dispatch_tick_seconds{pool}``: time to compute a tick [s] (its count is the
  number of ticks);
- ``vpp_dispatch_missed_ticks_total{pool}``;
- ``vpp_dispatch_budget_total{pool,protocol,outcome}``: retry tokens granted | denied;
- ``vpp_dispatch_breaker_open{pool,zone,asset}``: 1 while the asset's circuit breaker is open;
- ``vpp_dispatch_asset_state_total{pool,state}``: assets entering each state.

Series read when scraped, from the pools being dispatched (`DispatchMetrics.watch`; nothing is
done per tick, so 10,000 assets cost the tick nothing and a scrape some tens of ms; the
per-asset series above and these live in `dispatch.asset_series`, cheap to update and to
scrape):

- ``vpp_dispatch_asset_power_mw{pool,zone,asset,protocol}``: the asset's last measured
  power [MW], positive = injection (no series before its first reading);
- ``vpp_dispatch_asset_state{pool,zone,asset,state}``: 1, with the asset's current state as
  a label (one series per asset, not one per asset and state);
- ``vpp_dispatch_assets{pool,state}``: how many assets are in each state;
- ``vpp_dispatch_device_errors_total{pool,zone,asset,protocol,kind}`` and
  ``vpp_dispatch_device_reconnects_total{pool,zone,asset,protocol}``: a device adapter's own
  counters (``errors: dict[str, int]``, ``reconnects: int``), for adapters that keep them.

Events are structlog JSON lines; every one about a command carries ``dispatch_id`` (a
time-ordered UUID, `dispatch.ids`), ``schedule_id``, ``plan_id``, ``bid_ids``, ``asset``,
``product`` and ``protocol``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from dispatch.asset_series import NO_ZONE, AssetSeriesCollector, AssetTable, WatchedActor
from dispatch.ids import dispatch_fields

LATENCY_BUCKETS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
_ATTRIBUTE = "_vpp_dispatch_series"

__all__ = [
    "NO_ZONE",
    "DispatchMetrics",
    "DispatchSeries",
    "dispatch_fields",
    "event_log",
    "sample_value",
    "series_on",
]


class DispatchSeries:
    """The dispatcher's metric families on one registry (see the module docstring); get
    them with `DispatchSeries.on(registry)`, which makes them once per registry."""

    _made_lock = threading.Lock()

    def __init__(self, registry: CollectorRegistry) -> None:
        on = registry
        self.registry = on
        asset = ["pool", "zone", "asset"]
        # per-asset families: plain tables, cheap to update and to scrape (asset_series.py)
        self.commands = AssetTable(
            "vpp_dispatch_commands",
            "Setpoints written, by pool, zone, asset, market product and protocol",
            [*asset, "market", "protocol"],
            "counter",
        )
        self.acks = AssetTable(
            "vpp_dispatch_acks",
            "Write outcomes: acknowledged, refused or timeout",
            [*asset, "protocol", "outcome"],
            "counter",
        )
        self.executions = AssetTable(
            "vpp_dispatch_executions",
            "Execution outcomes: executed, exec_timeout or deviated",
            [*asset, "protocol", "outcome"],
            "counter",
        )
        self.breaker_open = AssetTable(
            "vpp_dispatch_breaker_open",
            "1 while the asset's circuit breaker is open",
            asset,
            "gauge",
        )
        self.ack_latency = Histogram(
            "vpp_dispatch_ack_latency_seconds",
            "From setpoint write to acknowledgement [s]",
            ["pool", "protocol"],
            buckets=LATENCY_BUCKETS,
            registry=on,
        )
        self.execution_latency = Histogram(
            "vpp_dispatch_execution_latency_seconds",
            "From setpoint write to measured execution [s]",
            ["pool", "protocol"],
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
        self.asset_states = Counter(
            "vpp_dispatch_asset_state",
            "Assets entering each state",
            ["pool", "state"],
            registry=on,
        )
        self.fleet = AssetSeriesCollector(
            [self.commands, self.acks, self.executions, self.breaker_open]
        )
        on.register(self.fleet)

    @classmethod
    def on(cls, registry: CollectorRegistry | None = None) -> DispatchSeries:
        """The families on `registry` (default the process registry), made on first use."""
        target = registry if registry is not None else REGISTRY
        with cls._made_lock:  # kept on the registry itself: it lives exactly as long
            found = getattr(target, _ATTRIBUTE, None)
            if not isinstance(found, DispatchSeries):
                found = cls(target)
                setattr(target, _ATTRIBUTE, found)
            return found


def series_on(registry: CollectorRegistry) -> DispatchSeries | None:
    """The dispatch families made on `registry`, if any."""
    found = getattr(registry, _ATTRIBUTE, None)
    return found if isinstance(found, DispatchSeries) else None


def sample_value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    """The value of sample `name` with exactly `labels` on `registry` (None if absent)."""
    return registry.get_sample_value(name, labels)


class _Labelled(Protocol):
    def labels(self, *values: str) -> Any: ...


class _AssetSeries:
    """A metric whose label values start with pool, zone, asset: called with the asset and
    what follows it, it fills in the pool and the asset's zone."""

    def __init__(self, metric: _Labelled, pool: str, zones: Mapping[str, str]) -> None:
        self._metric, self._pool, self._zones = metric, pool, zones

    def labels(self, asset: str, *rest: str) -> Any:
        return self._metric.labels(self._pool, self._zones.get(asset, NO_ZONE), asset, *rest)


class _PoolSeries:
    """A metric whose first label is the pool: called with the others, it fills it in."""

    def __init__(self, metric: _Labelled, pool: str) -> None:
        self._metric, self._pool = metric, pool

    def labels(self, *rest: str) -> Any:
        return self._metric.labels(self._pool, *rest)


class DispatchMetrics:
    """The dispatcher's metrics as one pool uses them: the shared families of `registry`
    (default the process registry; made there on first use, so any number of runs and
    pools in one process can each make their own `DispatchMetrics`), with `pool` and each
    asset's bidding zone (`zones`: asset id -> zone; `NO_ZONE` for one it does not name)
    filled in. Label values as the actors and the controller pass them:

    - ``commands.labels(asset, product, protocol)``, ``acks.labels(asset, protocol,
      outcome)``, ``executions.labels(asset, protocol, outcome)``,
      ``breaker_open.labels(asset)``;
    - ``ack_latency.labels(protocol)``, ``execution_latency.labels(protocol)``,
      ``asset_states.labels(state)``;
    - ``tick_seconds``, ``tracking_error``, ``missed_ticks``: ``labels(pool)``;
      ``budget.labels(pool, protocol, outcome)`` (the pool is passed, as before).
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        pool: str = "",
        zones: Mapping[str, str] | None = None,
    ) -> None:
        self.series = DispatchSeries.on(registry)
        self.registry = self.series.registry
        self.pool = pool
        self.zones = dict(zones or {})
        series = self.series
        self.commands = _AssetSeries(series.commands, pool, self.zones)
        self.acks = _AssetSeries(series.acks, pool, self.zones)
        self.executions = _AssetSeries(series.executions, pool, self.zones)
        self.breaker_open = _AssetSeries(series.breaker_open, pool, self.zones)
        self.ack_latency = _PoolSeries(series.ack_latency, pool)
        self.execution_latency = _PoolSeries(series.execution_latency, pool)
        self.asset_states = _PoolSeries(series.asset_states, pool)
        self.tick_seconds = series.tick_seconds
        self.tracking_error = series.tracking_error
        self.missed_ticks = series.missed_ticks
        self.budget = series.budget

    def watch(self, actors: Sequence[WatchedActor]) -> None:
        """Serve the per-asset series of `actors` (see the module docstring) from now on,
        until another run of this pool is watched (a finished run's last values stay, as
        any gauge's would)."""
        self.series.fleet.watch(self.pool, actors, self.zones)

    def value(self, name: str, **labels: str) -> float | None:
        """The current value of sample `name` with exactly `labels` (None if absent)."""
        return sample_value(self.registry, name, **labels)


def event_log(**context: Any) -> Any:
    """A structlog logger bound to `context` (e.g. pool, asset, protocol)."""
    return structlog.get_logger("dispatch").bind(**context)
