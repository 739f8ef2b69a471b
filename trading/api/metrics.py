"""Prometheus metrics of the API, on a registry of each app's own.

- ``vpp_api_requests_total{method,route,status}``: answered requests; ``route`` is the
  path template (``/v1/bids/{bid_id}``), never a raw path, so ids do not explode labels.
- ``vpp_api_request_duration_seconds{method,route}``: latency histogram [s].
- ``vpp_api_bids_total{status,market}``: bids the API moved into a status (submitted,
  withdrawn), by market.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

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

    def exposition(self) -> Response:
        """The Prometheus text exposition of this registry."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    def install(self, app: FastAPI) -> None:
        """Count and time every request `app` answers."""

        @app.middleware("http")
        async def _measure(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            started = time.perf_counter()
            status = 500
            try:
                response = await call_next(request)
                status = response.status_code
                return response
            finally:
                route = request.scope.get("route")
                label = getattr(route, "path_format", None) or UNMATCHED_ROUTE
                self.latency.labels(request.method, label).observe(time.perf_counter() - started)
                self.requests.labels(request.method, label, str(status)).inc()
