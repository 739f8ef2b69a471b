"""The coordinator: a pool's activation split among its partitions, their telemetry
summed, and a lost partition's share carried by the others.

Each partition's pool controller follows its own assets' schedule plus the share the
coordinator hands it (`PartitionActivation`, an `ActivationSource`). At `t`, for a pool:

    extra(t)   = activation(t) + sum over lost partitions l of (planned_l(t) - held_l)
    share_p(t) = extra(t) * available_p / sum of available_q over live partitions q

`available_p` [MW] is the rating of the partition's assets in its pool now (its last
report; its static rating before the first). A lost partition's assets are not steered by
anyone: they hold their last setpoints, so they are counted at `held_l`, the power the
partition last reported, and what its schedule wants beyond that goes to the others.
Shares of the live partitions of a pool always sum to `extra(t)`; the pool's target
(all planned power plus the activation) is kept whatever partitions are away.

Units MW, + injection; `t` in the dispatcher's monotonic seconds, `utc` its UTC instant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dispatch.activation import ActivationSource
from dispatch.cluster.partitions import PartitionSpec
from dispatch.schedule import Schedule


@dataclass
class PartitionReport:
    """What a partition said at its last tick [s, MW]."""

    t: float
    target_mw: float
    measured_mw: float
    available_mw: float


@dataclass
class _State:
    spec: PartitionSpec
    rating_mw: float
    report: PartitionReport | None = None
    lost_at: float | None = None
    held_mw: float = 0.0


class Coordinator:
    """Splits each pool's activation among its live partitions (see the module doc)."""

    def __init__(
        self,
        specs: Sequence[PartitionSpec],
        ratings_mw: Mapping[str, float],
        activation: Mapping[str, ActivationSource],
        schedule: Schedule,
        utc_at: Callable[[float], datetime],
    ) -> None:
        """`ratings_mw`: asset id -> rating [MW]; `activation`: pool -> its TSO signal;
        `utc_at`: the UTC instant of a dispatcher time [s] (to look the schedule up)."""
        missing = sorted({s.pool for s in specs} - set(activation))
        if missing:
            raise ValueError(f"activation: no signal for pools {missing}")
        self.schedule = schedule
        self.utc_at = utc_at
        self.activation = dict(activation)
        self._states = {s.id: _State(s, sum(ratings_mw[a] for a in s.assets)) for s in specs}
        self.events: list[tuple[float, str, str]] = []
        """(t, partition, "lost" | "back"), in order."""

    # --- from the partitions -------------------------------------------------------------

    def report(self, partition: str, report: PartitionReport) -> None:
        """A partition's tick: its target, measured power and available rating [MW]."""
        state = self._states[partition]
        state.report = report
        if state.lost_at is not None:
            state.lost_at = None
            self.events.append((report.t, partition, "back"))

    def lost(self, partition: str, t: float) -> None:
        """`partition` stopped answering at `t` [s]: its assets are held at what it last
        measured, and the others of its pool carry the rest of its share."""
        state = self._states[partition]
        if state.lost_at is not None:
            return
        state.lost_at = t
        state.held_mw = 0.0 if state.report is None else state.report.measured_mw
        self.events.append((t, partition, "lost"))

    # --- to the partitions ---------------------------------------------------------------

    def share_mw(self, partition: str, t: float) -> float:
        """The activation (and lost partitions' remainder) `partition` must add to its own
        schedule at `t` [MW]; 0 for a partition marked lost."""
        state = self._states[partition]
        if state.lost_at is not None:
            return 0.0
        live = self._live(state.spec.pool)
        total = sum(self._available(s) for s in live)
        extra = self.extra_mw(state.spec.pool, t)
        if total <= 0:
            return extra / len(live)
        return extra * (self._available(state) / total)  # the ratio first: a subnormal
        # room times the extra underflows to 0, and the shares would not add up

    def extra_mw(self, pool: str, t: float) -> float:
        """The pool's activation plus what its lost partitions' schedules want beyond the
        power they are held at [MW]."""
        extra = self.activation[pool].activation_mw(t)
        for state in self._states.values():
            if state.spec.pool == pool and state.lost_at is not None:
                extra += self.planned_mw(state.spec, t) - state.held_mw
        return extra

    def planned_mw(self, spec: PartitionSpec, t: float) -> float:
        """The schedule's injection of `spec`'s assets at `t` [MW]."""
        utc = self.utc_at(t)
        quarter = utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)
        if not self.schedule.start <= quarter < self.schedule.end:
            return 0.0
        return sum(
            self.schedule.planned_mw(a, quarter)
            for a in spec.assets
            if a in self.schedule.injection_mw
        )

    def pool_target_mw(self, pool: str, t: float) -> float:
        """What the whole pool must inject at `t` [MW]: every partition's plan plus the
        activation."""
        planned = sum(
            self.planned_mw(s.spec, t) for s in self._states.values() if s.spec.pool == pool
        )
        return planned + self.activation[pool].activation_mw(t)

    def telemetry(self) -> dict[str, dict[str, float]]:
        """Per pool, the sums of the partitions' last reports [MW] (a lost partition at
        the power it is held at) and how many partitions are live."""
        out: dict[str, dict[str, float]] = {}
        for state in self._states.values():
            pool = out.setdefault(
                state.spec.pool, {"target_mw": 0.0, "measured_mw": 0.0, "live": 0.0}
            )
            if state.lost_at is not None:
                pool["measured_mw"] += state.held_mw
                continue
            pool["live"] += 1
            if state.report is not None:
                pool["target_mw"] += state.report.target_mw
                pool["measured_mw"] += state.report.measured_mw
        return out

    def is_lost(self, partition: str) -> bool:
        """True while `partition` is marked lost."""
        return self._states[partition].lost_at is not None

    def _live(self, pool: str) -> list[_State]:
        return [s for s in self._states.values() if s.spec.pool == pool and s.lost_at is None]

    @staticmethod
    def _available(state: _State) -> float:
        return state.rating_mw if state.report is None else state.report.available_mw


@dataclass
class PartitionActivation:
    """The `ActivationSource` of one partition's pool controller: its coordinator share."""

    coordinator: Coordinator
    partition: str

    def activation_mw(self, t: float) -> float:
        """This partition's share at `t` [MW] (see `Coordinator.share_mw`)."""
        return self.coordinator.share_mw(self.partition, t)


__all__ = ["Coordinator", "PartitionActivation", "PartitionReport"]
