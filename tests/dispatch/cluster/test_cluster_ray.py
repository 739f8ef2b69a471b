"""The partitions as Ray actors on a two-node local cluster: a node killed mid-run is
detected by its lapsed leases, its partitions are taken over on the other node with the
next token, and no device took commands from two owners. Skipped without Ray."""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
import urllib.request

import pytest

ray = pytest.importorskip("ray", reason="the cluster extra (vpp-engine[cluster]) is not installed")

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from dispatch.cluster.ray_run import SLOT, run_on_ray, start_local_cluster  # noqa: E402
from dispatch.simulation import SimulationOptions  # noqa: E402
from trading.cli.cluster import open_leases  # noqa: E402
from trading.store import upgrade  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scrape(url: str, until: float, found: list[str]) -> None:
    """Scrape `url` until a tick count of both partitions shows (or time is up)."""
    while time.monotonic() < until and not found:
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                body = answer.read().decode()
        except OSError:
            time.sleep(0.5)
            continue
        if body.count("vpp_dispatch_tick_seconds_count{") >= 2:
            found.append(body)
        time.sleep(0.5)


def test_a_killed_node_s_partitions_are_taken_over_by_the_other_node(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'leases.sqlite3'}"
    upgrade(url)
    port = _free_port()
    found: list[str] = []
    scraper = threading.Thread(
        target=_scrape,
        args=(f"http://127.0.0.1:{port}/metrics", time.monotonic() + 120, found),
        daemon=True,
    )
    scraper.start()
    report = run_on_ray(
        SimulationOptions(assets=200, duration_s=16, site_size=0),
        2,
        functools.partial(open_leases, url),
        address="local",
        kill_node_at_s=6.0,
        metrics_port=port,
    )
    scraper.join(timeout=1)
    assert len(report["nodes"]) == 2  # SPREAD: one partition on each node
    (loss,) = report["losses"]
    assert loss["detection_s"] <= 3.0 + 1.0  # TTL 2 s; slack for a machine under load
    survivors = [o for o in report["owners"] if o.get("token") is not None]
    taken = [o for o in survivors if o["partition"] == loss["partition"]]
    assert [o["token"] for o in taken] == [2]
    assert taken[0]["node"] == loss["standby_node"] != report["placement"][loss["partition"]]
    assert report["double_commands"] == 0
    assert report["commands_accepted"] > 0
    assert all(o["ticks"] > 0 for o in survivors)
    # One endpoint for the cluster: each partition's series, with partition and node.
    assert found, "no scrape of the cluster's /metrics showed both partitions"
    families = {f.name: f for f in text_string_to_metric_families(found[0])}
    labels = {
        (s.labels["pool"], s.labels["node"]) for s in families["vpp_dispatch_tick_seconds"].samples
    }
    assert {pool for pool, _ in labels} == set(report["placement"])
    assert {node for _, node in labels} <= set(report["nodes"])


def test_the_local_cluster_s_workers_run_at_the_caller_s_priority() -> None:
    """Ray nices its workers by 15 by default: the partitions' control loops and the devices
    then ran as background work and, on a shared machine, lost the CPU to everything else
    (at 20,000 assets most of their reads missed the actors' deadline)."""
    cluster = start_local_cluster(2, 1)
    try:
        ray.init(address=cluster.address, log_to_driver=False)

        @ray.remote(num_cpus=0, resources={SLOT: 1})
        def niceness() -> int:
            return os.nice(0)

        spread = niceness.options(scheduling_strategy="SPREAD")
        got = ray.get([spread.remote() for _ in range(2)], timeout=120)
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert got == [os.nice(0)] * 2
