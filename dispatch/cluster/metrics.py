"""One Prometheus endpoint for every partition of a cluster, with partition and node
labels.

Each partition runs in its own process with its own registry; its dispatch series carry
its partition id as their ``pool`` label already (the partition is the pool its controller
runs). `ClusterCollector` gathers the partitions' texts (`fetch`: (node, exposition text)
per partition), adds a ``node`` label to every sample and merges the families, so one
scrape of the driver's endpoint (`dispatch.metrics_server.serve_metrics(port,
registry=...)`) sees the whole cluster. Only the ``vpp_dispatch_`` families are taken (a
partition's process and Python collectors would clash), and by default only series
without an ``asset`` label: the per-asset series of 20,000 assets are 140,000 samples,
a scrape's worth of parsing per partition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

PREFIX = "vpp_dispatch_"

Fetch = Callable[[], Sequence[tuple[str, str]]]
"""Each partition's (node id, Prometheus text) now."""


class ClusterCollector(Collector):
    """Merges partitions' dispatch series with a ``node`` label (see the module doc)."""

    def __init__(self, fetch: Fetch, *, per_asset: bool = False) -> None:
        self.fetch = fetch
        self.per_asset = per_asset

    def collect(self) -> Iterator[Metric]:
        """The merged families."""
        families: dict[str, Metric] = {}
        for node, text in self.fetch():
            for family in text_string_to_metric_families(text):
                if not family.name.startswith(PREFIX):
                    continue
                merged = families.get(family.name)
                if merged is None:
                    merged = Metric(family.name, family.documentation, family.type)
                    families[family.name] = merged
                for s in family.samples:
                    if "asset" in s.labels and not self.per_asset:
                        continue
                    labels = {**s.labels, "node": node}
                    merged.samples.append(Sample(s.name, labels, s.value, s.timestamp))
        yield from (f for f in families.values() if f.samples)


__all__ = ["ClusterCollector", "Fetch"]
