"""Prometheus counters of an exchange gateway, registered once per registry.

- ``vpp_exchange_bids_submitted_total{market}``: bids held after a submission.
- ``vpp_exchange_submissions_refused_total``: submissions refused (none of their bids held).
- ``vpp_exchange_bids_withdrawn_total{market}``: bids withdrawn before gate closure.
- ``vpp_exchange_clearings_total{market,status}``: outcomes, ``status`` accepted or rejected.

By default the counters live on `EXCHANGE_METRICS_REGISTRY`, a registry of this module's
own: importing the module twice (as test runners sometimes do) makes a second registry
rather than a clash on prometheus_client's global one. A service exposes it with
``prometheus_client.generate_latest(EXCHANGE_METRICS_REGISTRY)``, or passes its own registry
(``prometheus_client.REGISTRY`` included) to `exchange_metrics`.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Counter

EXCHANGE_METRICS_REGISTRY = CollectorRegistry()
"""The default registry of the exchange counters."""


class ExchangeMetrics:
    """The exchange counters on one registry; make them with `exchange_metrics`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.bids_submitted = Counter(
            "vpp_exchange_bids_submitted",
            "Bids an exchange gateway holds after a submission",
            ["market"],
            registry=registry,
        )
        self.submissions_refused = Counter(
            "vpp_exchange_submissions_refused",
            "Submissions refused by an exchange gateway; none of their bids is held",
            registry=registry,
        )
        self.bids_withdrawn = Counter(
            "vpp_exchange_bids_withdrawn",
            "Bids withdrawn before their gate closure",
            ["market"],
            registry=registry,
        )
        self.clearings = Counter(
            "vpp_exchange_clearings",
            "Bid outcomes at gate closure, by market and status (accepted, rejected)",
            ["market", "status"],
            registry=registry,
        )


_BY_REGISTRY: WeakKeyDictionary[CollectorRegistry, ExchangeMetrics] = WeakKeyDictionary()


def exchange_metrics(registry: CollectorRegistry | None = None) -> ExchangeMetrics:
    """The exchange counters on `registry` (default `EXCHANGE_METRICS_REGISTRY`), made once.

    Exchanges sharing a registry share its counters.
    """
    target = EXCHANGE_METRICS_REGISTRY if registry is None else registry
    found = _BY_REGISTRY.get(target)
    if found is None:
        found = ExchangeMetrics(target)
        _BY_REGISTRY[target] = found
    return found
