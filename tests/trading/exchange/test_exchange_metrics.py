"""The exchange counters: shared per registry, and safe to import twice."""

from __future__ import annotations

import importlib.util
import sys

from prometheus_client import CollectorRegistry

import trading.exchange.metrics as metrics_module
from trading.exchange import exchange_metrics


def test_exchanges_on_one_registry_share_its_counters() -> None:
    registry = CollectorRegistry()
    assert exchange_metrics(registry) is exchange_metrics(registry)
    exchange_metrics(registry).clearings.labels(market="day_ahead", status="accepted").inc()
    value = registry.get_sample_value(
        "vpp_exchange_clearings_total", {"market": "day_ahead", "status": "accepted"}
    )
    assert value == 1.0


def test_importing_the_metrics_module_twice_does_not_clash() -> None:
    spec = importlib.util.spec_from_file_location(
        "second_exchange_metrics", metrics_module.__file__
    )
    assert spec is not None
    assert spec.loader is not None
    second = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(second)
    assert "second_exchange_metrics" not in sys.modules
    assert second.exchange_metrics() is not exchange_metrics()
    second.exchange_metrics().bids_submitted.labels(market="day_ahead").inc()
