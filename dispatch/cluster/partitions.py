"""The fleet split into partitions: by pool (bidding zone and control area, the unit a TSO
activates), then into parts of bounded size, each owned by one controller at a time.

A partition never spans two pools, so a pool's activation is split among its own
partitions only (`dispatch.cluster.coordinator`). Within a pool the assets are taken in id
order and cut into parts of near-equal size, at most `max_assets` each: the same fleet
always gives the same partitions, on every node.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from dispatch.schedule import Schedule

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class PartitionSpec:
    """One partition: its id, the pool it belongs to, and its assets (in id order)."""

    id: str
    pool: str
    assets: tuple[str, ...]


def pool_key(zone: str, control_area: str) -> str:
    """The pool of an asset: its bidding zone and control area, e.g. ``DE_LU/50Hertz``."""
    if not zone or not control_area:
        raise ValueError(f"zone={zone!r}, control_area={control_area!r}: both must be given")
    return f"{zone}/{control_area}"


def split_fleet(pools: Mapping[str, str], max_assets: int) -> list[PartitionSpec]:
    """Partitions of the assets in `pools` (asset id -> pool key) with at most
    `max_assets` each; per pool ceil(n / max_assets) parts of near-equal size. Ids are
    ``<pool>.<k>`` with unsafe characters replaced (``DE_LU-50Hertz.0``)."""
    if max_assets < 1:
        raise ValueError(f"max_assets={max_assets}: a partition holds at least one asset")
    by_pool: dict[str, list[str]] = {}
    for asset, pool in pools.items():
        by_pool.setdefault(pool, []).append(asset)
    specs: list[PartitionSpec] = []
    for pool in sorted(by_pool):
        assets = sorted(by_pool[pool])
        parts = -(-len(assets) // max_assets)
        base, extra = divmod(len(assets), parts)
        start = 0
        for k in range(parts):
            size = base + (1 if k < extra else 0)
            specs.append(
                PartitionSpec(
                    f"{_UNSAFE.sub('-', pool)}.{k}", pool, tuple(assets[start : start + size])
                )
            )
            start += size
    return specs


def split_count(pools: Mapping[str, str], partitions: int) -> list[PartitionSpec]:
    """About `partitions` partitions in all: the bound is the fleet's size over that count
    (a pool smaller than the bound is one partition of its own)."""
    if partitions < 1:
        raise ValueError(f"partitions={partitions}: at least one")
    return split_fleet(pools, max(1, -(-len(pools) // partitions)))


def partition_schedule(schedule: Schedule, spec: PartitionSpec) -> Schedule:
    """`schedule` restricted to the assets of `spec` (their injections and bands; the
    zone-level positions and capacity stay whole). Same id, plan and bids: the partition
    serves the same schedule version."""
    wanted = set(spec.assets)
    return schedule.model_copy(
        update={
            "injection_mw": {a: s for a, s in schedule.injection_mw.items() if a in wanted},
            "bands_mw": {a: s for a, s in schedule.bands_mw.items() if a in wanted},
        }
    )


__all__ = [
    "PartitionSpec",
    "partition_schedule",
    "pool_key",
    "split_count",
    "split_fleet",
]
