"""Prometheus metrics of the API, on a registry of each app's own.

- ``vpp_api_requests_total{method,route,status}``: answered requests; ``route`` is the
  path template (``/v1/bids/{bid_id}``), never a raw path, so ids do not explode labels.
- ``vpp_api_request_duration_seconds{method,route}``: latency histogram [s].
- ``vpp_api_bids_total{status,market}``: bids the API moved into a status (submitted,
  withdrawn), by market.

The API serves them at ``/metrics`` to admin keys only (`trading.api.admin`); with
``VPP_METRICS_PORT`` set, `vpp serve` also serves them without a key on that port of its
own (same host), for a scraper on a network the traders do not reach.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    start_http_server,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METRICS_PORT_ENV = "VPP_METRICS_PORT"
"""The environment variable of the metrics' own port (unset: only ``/metrics``, admin key)."""

UNMATCHED_ROUTE = "unmatched"
"""The route label of a request that matched no endpoint."""


class ApiMetrics:
    """The API's counters and histogram on `registry` (a new one by default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "vpp_api_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vpp_api_request_duration_seconds",
            "Time to answer an HTTP request [s], by method and route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.bids = Counter(
            "vpp_api_bids",
            "Bids moved into a status through the API, by status and market",
            ["status", "market"],
            registry=self.registry,
        )

        self.exposed: CollectorRegistry = self.registry
        """What ``/metrics`` shows: this registry, and those `include` added."""

    def include(self, *registries: CollectorRegistry) -> None:
        """Also show the families of `registries` (e.g. the process registry, where the
        dispatcher's pools keep theirs, and the exchange's) on ``/metrics`` and the
        metrics port. Families must not share names across them."""
        sources = (self.registry, *registries)
        self.exposed = CollectorRegistry(auto_describe=False)
        self.exposed.register(_Union(sources))

    def exposition(self) -> Response:
        """The Prometheus text exposition of what ``/metrics`` shows."""
        return Response(generate_latest(self.exposed), media_type=CONTENT_TYPE_LATEST)

    def serve_on(self, host: str, port: int) -> None:
        """Also serve what ``/metrics`` shows, without a key, on `host`:`port` (a thread of
        its own); registries included later are shown there too."""
        start_http_server(port, addr=host, registry=_Live(self))

    def install(self, app: FastAPI) -> None:
        """Count and time every request `app` answers (a plain ASGI middleware: no extra
        task or stream per request, as ``@app.middleware("http")`` would add)."""
        app.add_middleware(_Measure, metrics=self)


class _Measure:
    """ASGI middleware: latency and count of each HTTP request, by route template."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")  # set by the router once a route matched
            label = getattr(route, "path_format", None) or UNMATCHED_ROUTE
            method = scope["method"]
            self.metrics.latency.labels(method, label).observe(time.perf_counter() - started)
            self.metrics.requests.labels(method, label, str(status)).inc()


class _Union(Collector):
    """The families of several registries, collected in turn at each scrape."""

    def __init__(self, sources: tuple[CollectorRegistry, ...]) -> None:
        self.sources = sources

    def collect(self) -> Iterable[Metric]:
        """Each family once: one of the same name in several sources (the dispatcher's, in
        the process and from a cluster's partitions) has all their samples."""
        families: dict[str, Metric] = {}
        for source in self.sources:
            for family in source.collect():
                found = families.get(family.name)
                if found is None:
                    families[family.name] = family
                elif found.type == family.type:
                    found.samples = [*found.samples, *family.samples]
        yield from families.values()


class _Live(CollectorRegistry):
    """What an `ApiMetrics` shows at the moment of each scrape (for the metrics port)."""

    def __init__(self, metrics: ApiMetrics) -> None:
        super().__init__(auto_describe=False)
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        yield from self._metrics.exposed.collect()
