"""Serve the process-wide Prometheus registry on ``/metrics`` while the dispatcher runs.

`serve_metrics(port)` starts a small threaded HTTP server in a daemon thread (it never
touches the event loop the dispatcher runs on) and returns a `MetricsServer` that knows the
port it got (port 0: any free port) and closes it. `metrics_port_from_env()` reads
``VPP_METRICS_PORT``, the setting every command that dispatches honours.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from dispatch.observability import series_on
from dispatch.settings import DispatchSettings

METRICS_PORT_ENV = "VPP_METRICS_PORT"
"""Environment variable: the port to serve ``/metrics`` on (unset or empty: not served)."""
SWITCH_INTERVAL_S = 0.0005
"""The interpreter's thread switch interval while /metrics is served [s] (Python's default
is 0.005): a scrape thread holding the GIL makes the dispatcher wait up to one interval
each time it takes the GIL back (numpy releases it in every large operation), which at
10,000 assets stretched a tick by tens of milliseconds."""
DEFAULT_ADDRESS = "127.0.0.1"
"""Loopback by default: exposing metrics beyond the host is the operator's decision."""


class MetricsPortError(OSError):
    """The ``/metrics`` port cannot be had (taken, or not ours to bind); the message says
    which and why."""


@dataclass
class MetricsServer:
    """A running ``/metrics`` endpoint."""

    address: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        """Where the metrics are, e.g. ``http://127.0.0.1:9464/metrics``."""
        return f"http://{self.address}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)


def serve_metrics(
    port: int, address: str = DEFAULT_ADDRESS, registry: CollectorRegistry | None = None
) -> MetricsServer:
    """Serve `registry` (default the process registry) on ``http://address:port/metrics``;
    `port` 0 picks a free one. Raises `OSError` if the port is taken.

    Counters' ``_created`` samples are switched off for the process: with a few series per
    asset they would add a third to every scrape and nobody reads them."""
    disable_created_metrics()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    on = registry if registry is not None else REGISTRY
    return serve_text(port, address, lambda: exposition(on))


def serve_text(port: int, address: str, render: Callable[[], bytes]) -> MetricsServer:
    """Serve what `render()` writes (Prometheus text, rendered at each scrape) on
    ``http://address:port/metrics`` from a daemon thread; `port` 0 picks a free one. No
    process-wide setting is changed (`serve_metrics` changes two for a dispatcher)."""
    server = make_server(address, port, _app(render), _ThreadingServer, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="vpp-metrics", daemon=True)
    thread.start()
    return MetricsServer(address, int(server.server_port), server, thread)


def exposition(registry: CollectorRegistry) -> bytes:
    """`registry` as Prometheus text: prometheus_client's pass for everything but the
    dispatcher's per-asset series, which `AssetSeriesCollector.exposition` writes itself
    (the same series, a few times faster at 10,000 assets)."""
    series = series_on(registry)
    if series is None:
        return generate_latest(registry)
    with series.fleet.without_me():
        head = generate_latest(registry)
    return head + series.fleet.exposition().encode()


def exposition_of(registries: Sequence[CollectorRegistry]) -> bytes:
    """Several registries as one Prometheus text: a family several of them hold (same name
    and type: the dispatcher's, made in this process and gathered from a cluster's
    partitions) once, with all their samples. Where one registry holds the dispatcher's
    per-asset series and no other holds a family of theirs, those are written by their own
    fast pass (`exposition`); otherwise every family goes through the merge."""
    if len(registries) == 1:
        return exposition(registries[0])
    union = CollectorRegistry(auto_describe=False)
    union.register(_Union(tuple(registries)))
    fleets = [found.fleet for found in map(series_on, registries) if found is not None]
    if len(fleets) != 1:
        return generate_latest(union)
    (fleet,) = fleets
    with fleet.without_me():
        head = generate_latest(union)
    tail = fleet.exposition()
    written = {line.split()[2] for line in head.decode().splitlines() if line.startswith("# TYPE")}
    if any(line.split()[2] in written for line in tail.splitlines() if line.startswith("# TYPE")):
        return generate_latest(union)  # a partition's family of the same name: merge all
    return head + tail.encode()


class _Union(Collector):
    """The families of several registries at each scrape, merged by name and type."""

    def __init__(self, sources: tuple[CollectorRegistry, ...]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        families: dict[tuple[str, str], Metric] = {}
        for source in self.sources:
            for family in source.collect():
                found = families.get((family.name, family.type))
                if found is None:
                    families[(family.name, family.type)] = family
                else:
                    found.samples = [*found.samples, *family.samples]
        yield from families.values()


def _app(render: Callable[[], bytes]) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: try /metrics\n"]
        body = render()
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return  # no line on stderr per scrape


def metrics_port_from_env(environ: dict[str, str] | None = None) -> int | None:
    """The port ``VPP_METRICS_PORT`` asks for, None if unset or empty; `ValueError` names
    the variable if it is not a port number."""
    return DispatchSettings.from_environ(environ).metrics_port


@contextmanager
def metrics_endpoint(port: int | None) -> Iterator[MetricsServer | None]:
    """``/metrics`` on `port` for the duration of the block (None: not served); the URL is
    printed on stderr as ``metrics: http://127.0.0.1:PORT/metrics``. `MetricsPortError` if
    the port cannot be had (raised on entering, before the block runs)."""
    if port is None:
        yield None
        return
    try:
        server = serve_metrics(port)
    except OSError as exc:
        raise MetricsPortError(
            f"cannot serve /metrics on {DEFAULT_ADDRESS}:{port}: {exc.strerror or exc}"
        ) from None
    print(f"metrics: {server.url}", file=sys.stderr, flush=True)
    try:
        yield server
    finally:
        server.close()
