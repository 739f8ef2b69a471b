"""Metering: energy per imbalance settlement period (ISP, 15 minutes) from power samples.

Power [MW, + injection] is sampled at irregular instants (each dispatcher tick); the energy
of an ISP [MWh] is the integral of the power over it, taken **trapezoid by trapezoid**
between consecutive samples. A segment that crosses an ISP boundary is split there at the
linearly interpolated power, so each ISP gets exactly its part. Before the first sample
and after the last nothing is counted (an ISP the meter did not see whole is marked
`incomplete`). A sample that is missing (`None`) ends the segment: the gap counts
nothing and is reported as unmetered seconds.

The measured meter (`meter_tick`) samples each asset's reading at every tick where it is
fresh for control. A tick where the reading is late, but is at most
`METER_GAP_BRIDGED_S` old, adds no sample: the next fresh reading joins the last one by the
trapezoid, which is the linear estimate of a short gap that meter data validation uses
(a dispatcher on a busy machine reads a little late now and then, and the device kept
running). A reading older than that, an asset never read, or a quarantined one (what a
mismatched register map decodes is not a measurement) ends the segment: that gap is not
metered, and a tripped asset that never answers again is never counted past its last
fresh reading.

Two meters run side by side in a simulation: `measured` (what the dispatcher read from the
devices, fresh readings only) and `truth` (what the simulated devices physically injected).
Settlement takes the truth in simulation and the measured meter against real devices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from dispatch.pool import PoolController
    from dispatch.simulation import FleetMember

SECONDS_PER_HOUR = 3600.0
METER_GAP_BRIDGED_S = 60.0
"""Longest wait [s] for a late reading that the measured meter still bridges linearly."""


@dataclass
class IspMeter:
    """Integrates one power signal into energy per ISP.

    `edges`: the ISP boundaries as seconds on the caller's time axis (n + 1 of them for n
    ISPs, ascending). Samples come in time order through `sample(t, mw)`.
    """

    edges: np.ndarray
    energy_mwh: np.ndarray = field(init=False)
    covered_s: np.ndarray = field(init=False)
    """Seconds of each ISP covered by consecutive samples."""
    _last: tuple[float, float] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.edges = np.asarray(self.edges, dtype=float)
        if self.edges.ndim != 1 or len(self.edges) < 2 or np.any(np.diff(self.edges) <= 0):
            raise ValueError("edges: need at least two ascending ISP boundaries [s]")
        self.energy_mwh = np.zeros(len(self.edges) - 1)
        self.covered_s = np.zeros(len(self.edges) - 1)

    def sample(self, t: float, mw: float | None) -> None:
        """Power `mw` [MW] at `t` [s]; None: no reading (the gap before the next one is
        not counted)."""
        if mw is None:
            self._last = None
            return
        if self._last is not None:
            t0, p0 = self._last
            if t < t0:
                raise ValueError(f"sample at t={t} s is before the previous one at {t0} s")
            self._segment(t0, p0, t, mw)
        self._last = (t, mw)

    def _segment(self, t0: float, p0: float, t1: float, p1: float) -> None:
        if t1 == t0:
            return
        slope = (p1 - p0) / (t1 - t0)
        start = t0
        while start < t1:
            k = int(np.searchsorted(self.edges, start, side="right")) - 1
            if k < 0:  # before the first ISP: skip to it
                start = min(t1, float(self.edges[0]))
                continue
            if k >= len(self.energy_mwh):
                return  # after the last ISP
            end = min(t1, float(self.edges[k + 1]))
            pa = p0 + slope * (start - t0)
            pb = p0 + slope * (end - t0)
            self.energy_mwh[k] += (pa + pb) / 2.0 * (end - start) / SECONDS_PER_HOUR
            self.covered_s[k] += end - start
            start = end

    def complete(self) -> np.ndarray:
        """Per ISP: whether samples covered all of it (to within a millisecond)."""
        return self.covered_s >= np.diff(self.edges) - 1e-3


def integrate(
    times_s: Sequence[float], powers_mw: Sequence[float | None], edges: Sequence[float]
) -> np.ndarray:
    """Energy per ISP [MWh] of the samples (`IspMeter`, trapezoids): a pure helper."""
    meter = IspMeter(np.asarray(edges, dtype=float))
    for t, p in zip(times_s, powers_mw, strict=True):
        meter.sample(float(t), p)
    return meter.energy_mwh.copy()


def meter_tick(
    pool: PoolController,
    members: Sequence[FleetMember],
    measured: Mapping[str, IspMeter],
    truth: Mapping[str, IspMeter],
    t: float,
) -> float:
    """Meter one tick at `t` [s]: each member's reading of the pool's board [MW] into its
    measured meter where it is fresh (at most the pool's `max_reading_age_s` old); a late
    one at most `METER_GAP_BRIDGED_S` old adds nothing (the next fresh one bridges the gap),
    and anything else ends that meter's segment (see the module docstring). The simulated
    device's physical power [MW] goes into its truth meter; returns the members' physical
    power summed [MW, + injection] (NaN if one has none: a real device)."""
    snapshot = pool.board.snapshot()
    max_age = pool.config.max_reading_age_s
    total = 0.0
    for member in members:
        asset = member.adapter.asset_id
        entry = snapshot.get(asset)
        if entry is not None and entry.telemetry is not None and entry.fresh(t, max_age):
            measured[asset].sample(t, entry.telemetry.power_mw)
        elif (
            entry is None
            or entry.telemetry is None
            or entry.read_t is None
            or entry.state == "quarantined"
            or t - entry.read_t > METER_GAP_BRIDGED_S
        ):
            measured[asset].sample(t, None)
        physical = member.device.physical_power_mw()
        truth[asset].sample(t, physical)
        total = math.nan if physical is None else total + physical
    return total
