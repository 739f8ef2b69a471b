"""One /metrics for a cluster: every partition's dispatch series with partition (pool)
and node labels, merged into valid families, served over real HTTP."""

from __future__ import annotations

import asyncio
import urllib.request

from cluster_db import leases_on, migrated_url
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from dispatch.clock import VirtualClock
from dispatch.cluster.leases import PartitionLeases
from dispatch.cluster.local import build, run_local
from dispatch.cluster.metrics import ClusterCollector
from dispatch.metrics_server import exposition, serve_metrics
from dispatch.simulation import START, SimulationOptions


async def _run(leases: PartitionLeases) -> None:
    cluster = build(SimulationOptions(assets=40, duration_s=10), 2, leases, VirtualClock(START))
    await run_local(cluster)


def test_one_endpoint_shows_each_partition_with_its_node(tmp_path) -> None:
    for url in migrated_url("sqlite", tmp_path):
        leases = leases_on(url)

        asyncio.run(_run(leases))
        leases.engine.dispose()
    text = exposition(REGISTRY).decode()  # this process's partitions: two pools
    # As if each partition's text came from another node: the collector keeps each
    # partition's own samples from its node's text.
    fetched = [("node-a", text), ("node-b", text)]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ClusterCollector(lambda: fetched))
    server = serve_metrics(0, registry=registry)
    try:
        with urllib.request.urlopen(server.url, timeout=30) as answer:
            body = answer.read().decode()
    finally:
        server.close()
    families = {f.name: f for f in text_string_to_metric_families(body)}
    ticks = families["vpp_dispatch_tick_seconds"]
    seen = {(s.labels["pool"], s.labels["node"]) for s in ticks.samples}
    for partition in ("DE_LU-50Hertz.0", "DE_LU-50Hertz.1"):
        assert (partition, "node-a") in seen
        assert (partition, "node-b") in seen
    assert all(not n.startswith("python_") for n in families)  # only dispatch series
    assert all("asset" not in s.labels for f in families.values() for s in f.samples)
    counts = [
        s.value
        for s in ticks.samples
        if s.name.endswith("_count") and s.labels["pool"] == "DE_LU-50Hertz.0"
    ]
    assert counts
    assert all(c >= 8 for c in counts)  # ten seconds of one-second ticks
