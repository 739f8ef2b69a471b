"""A server's zone dispatched by partitions elsewhere: the plain-data side (no Ray).

`vpp serve --cluster ADDRESS` keeps what the engine owns in the server (the embedded
simulated devices, which its meters read; the schedule versions; the zone's aFRR
activation) and runs the zone's pool as partitions on a Ray cluster
(`dispatch.cluster.ray_serve`). This module holds what both sides share:

- `EnginePartitionPlan`: what a partition's owner needs of a zone (its assets' limits,
  the schedule restricted to them, the server's time line), sent to the partition's
  process; `run_owner` takes it as it takes a simulated run's `PartitionPlan`;
- `ClusterPool`: what the server's day sees of the zone's pool (the engine's
  `LiveDay` reads a `PoolController`'s board, configuration, missed ticks and schedule):
  the partitions' boards merged, their missed ticks summed, and a schedule that, set,
  goes to every partition (read at its pool's next quarter-hour boundary, as in process).

Units MW, MWh, + injection; times in seconds of the server's dispatch clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dispatch.board import BoardEntry, TelemetryBoard
from dispatch.cluster.field import WallClock
from dispatch.cluster.link import FieldLink, RemoteDevice
from dispatch.cluster.partitions import PartitionSpec
from dispatch.device import DeviceLimits
from dispatch.pool import PoolConfig
from dispatch.schedule import Schedule
from dispatch.simulation import FleetMember


@dataclass(frozen=True)
class MemberSpec:
    """One asset of a partition as its owner builds it: id, kind, limits, energy [MWh]."""

    asset_id: str
    kind: str
    limits: DeviceLimits
    energy_mwh: float | None


@dataclass(frozen=True)
class EnginePartitionPlan:
    """One partition of a server's zone (see the module docstring); an `OwnerPlan`."""

    spec: PartitionSpec
    epoch: float
    """POSIX time at which the server's dispatch clock read 0 [real s]."""
    offset_s: float
    """The server's UTC at `epoch` less `epoch` [s] (`vpp serve --clock-start`)."""
    speed: float
    """The server's seconds per real second (`vpp serve --clock-speed`)."""
    assets: tuple[MemberSpec, ...]
    followed: Schedule
    """The schedule version in force when the partition started, restricted to it."""
    tick_s: float = 1.0
    seed: int = 1
    response_s: float = 3.0
    ttl_s: float = 2.0
    count_held: bool = True
    timeline: bool = False
    """No per-tick timeline: a served partition runs for days."""

    def dispatch_clock(self) -> WallClock:
        """The server's time line in this process (same seconds, same UTC)."""
        return WallClock(self.epoch, self.offset_s, self.speed)

    def members(self, link: FieldLink) -> list[FleetMember]:
        """The partition's assets, each reached through `link`."""
        out = []
        for m in self.assets:
            device = RemoteDevice(m.asset_id, m.kind, link)
            out.append(FleetMember(device, m.limits, m.kind, m.energy_mwh, _no_plan, device))  # type: ignore[arg-type]
        return out

    def schedule(self) -> Schedule:
        """The schedule the partition follows from its start."""
        return self.followed


def _no_plan(_k: int) -> float:
    """Members' own plans are unused: the partition follows `followed`."""
    return 0.0


def member_specs(members: list[FleetMember]) -> dict[str, MemberSpec]:
    """Asset id -> its `MemberSpec`, from the server's fleet members."""
    return {
        m.adapter.asset_id: MemberSpec(m.adapter.asset_id, m.kind, m.limits, m.energy_mwh)
        for m in members
    }


@dataclass
class PartitionView:
    """What the server last heard of a partition's run (`ClusterPool.partitions`)."""

    partition: str
    assets: int
    node: str | None = None
    owner: str | None = None
    token: int | None = None
    ticks: int = 0
    missed: int = 0
    last_target_mw: float | None = None
    last_measured_mw: float | None = None
    runs: int = 1
    missed_earlier: int = 0
    """Ticks the partition's earlier runs missed (`missed` counts its current run's)."""
    allocation: str | None = None
    """The allocation strategy the partition's pool used at its latest tick."""
    """Runs started (a lost partition is run again)."""
    lost_at: list[float] = field(default_factory=list)
    """When its lease was seen lapsed [s]."""

    def run_again(self) -> None:
        """The partition is run again: its new run counts ticks and missed ticks from 0,
        and what the earlier runs missed is kept (`ClusterPool.kpi.missed` never falls)."""
        self.runs += 1
        self.missed_earlier += self.missed
        self.missed = self.ticks = 0

    def as_dict(self) -> dict[str, Any]:
        """For the engine's status."""
        return {
            "partition": self.partition,
            "assets": self.assets,
            "node": self.node,
            "owner": self.owner,
            "token": self.token,
            "ticks": self.ticks,
            "missed_ticks": self.missed,
            "target_mw": self.last_target_mw,
            "measured_mw": self.last_measured_mw,
            "runs": self.runs,
            "allocation": self.allocation,
            "lost_at_s": list(self.lost_at),
        }


JUDGED_AFTER_TICKS = 3
"""A partition's posted asset states count for the day (lost assets) once its current run
has ticked this many times."""


@dataclass
class _Kpi:
    views: Mapping[str, PartitionView]

    @property
    def missed(self) -> int:
        """Ticks the partitions missed, in all, over all their runs (never falls)."""
        return sum(v.missed + v.missed_earlier for v in self.views.values())


class ClusterPool:
    """The zone's pool as the server's day sees it (see the module docstring)."""

    def __init__(
        self,
        address: str,
        schedule: Schedule,
        views: Mapping[str, PartitionView],
        push: Callable[[Schedule], None],
        tick_s: float = 1.0,
    ) -> None:
        self.address = address
        """The Ray cluster's address."""
        self.board = TelemetryBoard()
        """The partitions' boards merged (posted by the server each tick)."""
        self.config = PoolConfig(tick_s=tick_s, max_reading_age_s=2.5 * tick_s)
        """The tick and reading age the partitions' pools run with (`run_fleet`'s)."""
        self.partitions = views
        self.kpi = _Kpi(views)
        self.actors: list[Any] = []
        """No asset actors in the server: what the partitions judged of each asset is the
        state on its board entry (the day re-plans around those lost from it)."""
        self.observers: list[Callable[[float, float], None]] = []
        """Called with (t, pool target [MW]) at each of the server's ticks."""
        self.allocator: Any = None
        """Set by the day (a `ChosenAllocation` behind the pool's flag): the server sends
        the strategy it chooses to the partitions, which allocate with it."""
        self.pushed_allocation: tuple[str, dict[str, Any]] | None = None
        """The strategy (and move costs) last sent to the partitions (None: none yet)."""
        self._schedule = schedule
        self._push = push
        self._partition_of: dict[str, str] = {}

    @property
    def schedule(self) -> Schedule:
        """The schedule version the partitions follow."""
        return self._schedule

    @schedule.setter
    def schedule(self, schedule: Schedule) -> None:
        self._schedule = schedule
        self._push(schedule)

    def merge(self, entries: Mapping[str, BoardEntry], partition: str | None = None) -> None:
        """Post a partition's board entries (`partition`: whose they are)."""
        for entry in entries.values():
            self.board.post(entry)
            if partition is not None:
                self._partition_of[entry.asset_id] = partition

    def asset_states(self) -> list[tuple[str, str]]:
        """(asset, the state its partition posted) for the assets of partitions whose
        current run has ticked `JUDGED_AFTER_TICKS` times: a partition run again (or just
        started) posts 'unavailable' for assets its first reads have not reached yet,
        which says nothing of the devices."""
        judged = {p for p, v in self.partitions.items() if v.ticks >= JUDGED_AFTER_TICKS}
        return [
            (asset, entry.state)
            for asset, entry in self.board.snapshot().items()
            if self._partition_of.get(asset) in judged
        ]

    def status(self) -> dict[str, Any]:
        """The dispatcher part of the engine's status: where the partitions run."""
        views = [v.as_dict() for v in self.partitions.values()]
        return {
            "mode": "cluster",
            "address": self.address,
            "nodes": sorted({v["node"] for v in views if v["node"]}),
            "partitions": views,
        }


__all__ = [
    "ClusterPool",
    "EnginePartitionPlan",
    "MemberSpec",
    "PartitionView",
    "member_specs",
]
