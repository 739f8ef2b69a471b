"""The dispatcher's key figures of a run: ticks, tracking, faults, command rate.

`KpiRecorder` is fed by the pool controller (ticks and tracking) and by whoever injects
faults (`fault_injected`) and watches asset states (`asset_failed`); `report()` gives the
figures `vpp simulate` prints:

- ticks: count, duration p50/p99/max [ms], missed ticks;
- tracking: RMS of target - measured [MW] over ticks, and the energy deviation per
  15-minute imbalance settlement period (ISP) as % of scheduled energy:
  100 * sum over ISPs of |sum (measured - target) dt| / sum over ISPs of sum |target| dt;
- faults: per injected fault, the asset, the kind, when it was injected [s], how long until
  the asset was detected as failed [s] and until the pool was back within tolerance [s]
  (None if it never was);
- commands per second written to devices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

ISP_S = 900
"""Length of an imbalance settlement period [s]."""


@dataclass
class FaultRecord:
    """One injected fault and what the dispatcher did about it [s since run start]."""

    asset: str
    kind: str
    injected_at_s: float
    detected_s: float | None = None
    """Seconds from injection to the asset leaving the pool (degraded, unavailable,
    quarantined); None if it never was."""
    recovered_s: float | None = None
    """Seconds from injection until the pool tracked within tolerance again."""
    after_deadline_s: float | None = None
    """For state drift: seconds from the missed execution deadline to detection."""


@dataclass
class KpiRecorder:
    """Collects a run's figures; `tolerance_mw` is the pool's tracking tolerance [MW]."""

    tolerance_mw: float
    recovery_ticks: int = 3
    """Consecutive ticks within tolerance that count as recovered."""
    tick_ms: list[float] = field(default_factory=list)
    missed: int = 0
    commands: int = 0
    faults: list[FaultRecord] = field(default_factory=list)
    _samples: list[tuple[float, float, float, float]] = field(default_factory=list)
    _within: int = 0
    _start: float | None = None

    def tick(
        self, t: float, utc: datetime, duration_s: float, target_mw: float, measured_mw: float
    ) -> None:
        """A tick at `t` [s] took `duration_s`; it aimed at `target_mw`, measured `measured_mw`."""
        if self._start is None:
            self._start = t
        self.tick_ms.append(duration_s * 1000.0)
        self._samples.append((t, utc.timestamp(), target_mw, measured_mw))
        within = abs(target_mw - measured_mw) <= self.tolerance_mw
        self._within = self._within + 1 if within else 0
        if self._within >= self.recovery_ticks:
            for fault in self.faults:
                if fault.recovered_s is None and fault.detected_s is not None:
                    first_ok = t - (self.recovery_ticks - 1) * self._period()
                    fault.recovered_s = max(0.0, first_ok - fault.injected_at_s)

    def started(self, t: float) -> None:
        """The run started at `t` [s]: fault times are reported from here."""
        self._start = t

    def missed_tick(self) -> None:
        """A tick whose period passed before it could start."""
        self.missed += 1

    def command_sent(self, count: int = 1) -> None:
        """`count` setpoints were written."""
        self.commands += count

    def fault_injected(self, asset: str, kind: str, t: float) -> FaultRecord:
        """Record a fault injected into `asset` at `t` [s]."""
        record = FaultRecord(asset, kind, t)
        self.faults.append(record)
        self._within = 0
        return record

    def asset_failed(self, asset: str, t: float, deadline: float | None = None) -> None:
        """The dispatcher took `asset` out of the pool at `t` [s]; `deadline` [s] is the
        execution deadline it missed, for state drift."""
        for fault in self.faults:
            if fault.asset == asset and fault.detected_s is None and t >= fault.injected_at_s:
                fault.detected_s = t - fault.injected_at_s
                if deadline is not None:
                    fault.after_deadline_s = max(0.0, t - deadline)

    def report(self, assets: int) -> dict[str, Any]:
        """The figures as JSON data (see the module docstring)."""
        duration = self._duration()
        ticks = np.asarray(self.tick_ms) if self.tick_ms else np.zeros(1)
        return {
            "assets": assets,
            "duration_s": round(duration, 3),
            "ticks": {
                "count": len(self.tick_ms),
                "p50_ms": round(float(np.percentile(ticks, 50)), 3),
                "p99_ms": round(float(np.percentile(ticks, 99)), 3),
                "max_ms": round(float(ticks.max()), 3),
                "missed": self.missed,
            },
            "tracking": {
                "rms_mw": round(self._rms(), 6),
                "isp_deviation_pct": round(self._isp_deviation_pct(), 4),
                "tolerance_mw": self.tolerance_mw,
            },
            "faults": [
                {
                    "asset": f.asset,
                    "kind": f.kind,
                    "injected_at_s": round(f.injected_at_s - (self._start or 0.0), 3),
                    "detected_s": None if f.detected_s is None else round(f.detected_s, 3),
                    "recovered_s": None if f.recovered_s is None else round(f.recovered_s, 3),
                    **(
                        {"after_deadline_s": round(f.after_deadline_s, 3)}
                        if f.after_deadline_s is not None
                        else {}
                    ),
                }
                for f in self.faults
            ],
            "fault_summary": self._fault_summary(),
            "commands_per_s": round(self.commands / duration, 3) if duration > 0 else 0.0,
        }

    def _fault_summary(self) -> dict[str, Any]:
        """p50/p95/max of detection and recovery times [s] over the faults that had one,
        and how many never had one."""
        summary: dict[str, Any] = {}
        for name in ("detected_s", "recovered_s"):
            values = [getattr(f, name) for f in self.faults if getattr(f, name) is not None]
            entry: dict[str, Any] = {"missing": len(self.faults) - len(values)}
            if values:
                array = np.asarray(values)
                entry |= {
                    "p50": round(float(np.percentile(array, 50)), 3),
                    "p95": round(float(np.percentile(array, 95)), 3),
                    "max": round(float(array.max()), 3),
                }
            summary[name] = entry
        return summary

    def _period(self) -> float:
        if len(self._samples) < 2:
            return 1.0
        return (self._samples[-1][0] - self._samples[0][0]) / (len(self._samples) - 1)

    def _duration(self) -> float:
        if not self._samples:
            return 0.0
        first = self._samples[0][0] if self._start is None else self._start
        return self._samples[-1][0] - first + self._period()

    def _rms(self) -> float:
        if not self._samples:
            return 0.0
        errors = [target - measured for _, _, target, measured in self._samples]
        return math.sqrt(sum(e * e for e in errors) / len(errors))

    def _isp_deviation_pct(self) -> float:
        dt = self._period()
        deviation: dict[int, float] = {}
        scheduled: dict[int, float] = {}
        for _, stamp, target, measured in self._samples:
            isp = int(stamp // ISP_S)
            deviation[isp] = deviation.get(isp, 0.0) + (measured - target) * dt
            scheduled[isp] = scheduled.get(isp, 0.0) + abs(target) * dt
        total = sum(scheduled.values())
        if total == 0:
            return 0.0
        return 100.0 * sum(abs(v) for v in deviation.values()) / total
