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

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.metrics_server import exposition_of, serve_text

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

        self.sources: tuple[CollectorRegistry, ...] = (self.registry,)
        """What ``/metrics`` shows: this registry, and those `include` added."""

    def include(self, *registries: CollectorRegistry) -> None:
        """Also show the families of `registries` (e.g. the process registry, where the
        dispatcher's pools keep theirs, the exchange's, a cluster's partitions') on
        ``/metrics`` and the metrics port; a family several hold (same name and type) is
        shown once with all their samples."""
        self.sources = (self.registry, *registries)

    def render(self) -> bytes:
        """The Prometheus text of what ``/metrics`` shows, rendered now."""
        return exposition_of(self.sources)

    def exposition(self) -> Response:
        """The Prometheus text exposition of what ``/metrics`` shows."""
        return Response(self.render(), media_type=CONTENT_TYPE_LATEST)

    def serve_on(self, host: str, port: int) -> None:
        """Also serve what ``/metrics`` shows, without a key, on `host`:`port` (a thread of
        its own); registries included later are shown there too."""
        serve_text(port, host, self.render)

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
