"""The dispatcher's key figures of a run, in two views: what the controller measured
(`tracking`) and what the fleet physically did (`truth`).

`KpiRecorder` is fed by the pool controller (`tick`: target, the sum of FRESH readings,
how much is unknown, the age of the telemetry used), by the actors (`asset_failed` with the
evidence, `command_acked`, `command_executed`), and by the simulation, which alone knows
the physics (`truth`: the devices' real power at each tick; `fault_injected`).

`report(assets)` returns a dict (the JSON of `vpp simulate --json`; `benchmarks/dispatch.py`
reads the same keys). Units: MW, MWh, s, ms; positive = injection. Keys:

- ``assets``, ``duration_s``, ``commands_per_s``;
- ``ticks``: ``count``, ``p50_ms``, ``p99_ms``, ``max_ms`` (synchronous compute of a tick),
  ``missed`` (ticks whose period passed before they could start);
- ``latency``: end-to-end figures, each ``{"count", "p50_ms", "p99_ms", "max_ms"}``:
  ``setpoint_to_ack`` (from the tick that issued a setpoint to the device's answer to its
  write), ``setpoint_to_execution`` (from that tick to measured power inside the band),
  ``telemetry_age`` (age of every fresh reading a tick used, at that tick);
- ``tracking`` (the controller's view, from fresh readings only): ``rms_mw``,
  ``max_abs_mw`` (of target - measured), ``isp_deviation_pct``, ``tolerance_mw``, ``met``
  (rms within tolerance), ``unknown_assets`` and ``unknown_planned_mw`` (``max``,
  ``last``: assets whose reading is stale or missing, and the planned power they carry);
- ``truth`` (the physics, sampled by the simulation at every tick): ``rms_mw``,
  ``max_abs_mw``, ``isp_deviation_pct``, ``tolerance_mw``, ``met``, ``per_isp`` (list of
  ``{"isp_start", "rms_mw", "max_abs_mw", "deviation_mwh", "scheduled_mwh",
  "deviation_pct"}``); absent (None) when nobody sampled the physics;
- ``if_stale_counted``: the controller's view as it would be if every asset's LAST reading
  counted, stale or not (the old, wrong KPI): ``rms_mw``, ``max_abs_mw``, ``met``. Kept
  to show what stale readings hide; never a verdict;
- ``faults``: per injected fault ``asset``, ``kind``, ``injected_at_s`` (since the run
  start), ``observable_at_s`` (first moment the fault could be seen through its own
  evidence: the first missed read, the first setpoint it failed, or, where the
  simulation says so from the physics (`fault_seen`), earlier: a fake meter's lie first
  moving its site meter; None if never),
  ``detected_s`` (from observable to detection, None if never detected by the evidence
  that belongs to its kind), ``detected_after_injection_s``, ``evidence`` (kind of
  evidence and the words of the detection), ``unanswered_since_s`` (the asset had not
  answered since then when the fault came: already out of the pool, it shows the fault
  only at the next read tried; None if it was answering), ``answered_again_s`` (when such
  a device first answered again after the fault; None if never), ``other_evidence``
  (failures of that asset that do NOT match its fault kind: not counted as detection),
  ``recovered_s``, ``recovered`` and ``why`` (from the recovery of its injection, below);
- ``recovery``: per injection time: ``injected_at_s``, ``left_tolerance`` (did the TRUE
  error leave tolerance after it), ``left_at_s``, ``recovered`` (True / False),
  ``recovered_s`` (seconds from injection to the first of `recovery_ticks` consecutive
  truth samples within tolerance after leaving it; None when it never recovered or never
  left), ``excursions`` (every stretch out of tolerance after the fault: ``left_at_s``,
  ``back_at_s``, ``lasted_s``; None where it never came back), ``longest_excursion_s``
  (None if one never came back), ``why`` in words, ``shortfall_mw`` (true target -
  delivered at the end of the run),
  ``headroom`` (could the fleet physically meet the target after the fault: ``enough``,
  ``min_room_mw``, ``max_gap_mw``; faulted assets as they physically are, the rest anywhere
  within their static limits; None where the simulation did not record it);
- ``unfaulted_failures``: failures found on assets no fault was injected into (an honest
  device blamed, or one that did not answer in time): ``assets``, how many assets per
  ``by_evidence``, and per ``by_reason`` the assets, ``first_s``, ``last_s``, ``examples``;
- ``fault_summary``: per fault kind ``injected``, ``detected``, ``max_detected_s``,
  ``p50_detected_s``, ``undetected`` (asset ids, at most 10), ``unanswered_when_injected``
  (faults given to assets that were not answering then: counted, never left out),
  ``unanswered_unobservable`` (of those, the ones whose device neither answered again nor
  missed a read their kind shows by within the run: nothing could be seen of them).

Detection is matched to the fault's own evidence (`EVIDENCE_FOR`): a trip or a silence by
missed reads, an execution fault by a setpoint not followed, a fake meter by a cross-check,
a firmware change by a map mismatch or a device fault (codec / layout check).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

ISP_S = 900
"""Length of an imbalance settlement period [s]."""

MISSED_READS = "missed_reads"
EXECUTION = "execution"
CROSS_CHECK = "cross_check"
MAP_MISMATCH = "map_mismatch"
DEVICE_FAULT = "device_fault"
REFUSED = "refused"
"""A write refused or read back as another value: the asset leaves the pool, but a refusal
proves no particular fault (the setpoint may have been one the device cannot take)."""

EVIDENCE_FOR: dict[str, frozenset[str]] = {
    "trip": frozenset({MISSED_READS}),
    "silence": frozenset({MISSED_READS}),
    "outage": frozenset({MISSED_READS}),
    "ack_no_exec": frozenset({EXECUTION}),
    "partial": frozenset({EXECUTION}),
    "slow_ramp": frozenset({EXECUTION}),
    "stuck": frozenset({EXECUTION}),
    "fake_meter": frozenset({CROSS_CHECK}),
    "firmware": frozenset({MAP_MISMATCH, DEVICE_FAULT}),
    "firmware_inplace": frozenset({DEVICE_FAULT, MAP_MISMATCH}),
}
"""Which evidence detects which fault kind."""

_AGE_BIN_MS = 1.0
_AGE_BINS = 60_001  # up to 60 s; older readings land in the last bin


@dataclass
class FaultRecord:
    """One injected fault and what the dispatcher did about it (monotonic times [s])."""

    asset: str
    kind: str
    injected_at: float
    observable_at: float | None = None
    detected_at: float | None = None
    evidence: str | None = None
    reason: str = ""
    other_evidence: list[str] = field(default_factory=list)
    unanswered_since: float | None = None
    """The asset had not answered since this time [s] when the fault was injected (it was
    already out of the pool, unknown): it has no read to miss and no setpoint to fail, so
    its fault shows only at the next read the dispatcher tries (`asset_still_failing`);
    None if it was answering."""
    answered_at: float | None = None
    """For a fault given to an asset that was not answering: when it first answered again
    after the fault [s] (its fault could then show by its own evidence); None if never."""
    seen_at: float | None = None
    """When the simulation, from the physics, first saw the fault at work in a way its
    evidence can show (`KpiRecorder.fault_seen`: a fake meter whose report is off its real
    power by more than its site meter can be asked to overlook) [s]; None if never or not
    watched. The detector's own account of when a fault became observable cannot hide a
    slow detection behind a late window: the earlier of the two counts."""

    @property
    def observable_from(self) -> float | None:
        """The first moment [s] the fault was observable: the earlier of its evidence's
        account and the simulation's (`seen_at`), never before its injection; None if
        neither says."""
        times = [t for t in (self.observable_at, self.seen_at) if t is not None]
        if not times:
            return None
        return max(min(times), self.injected_at)

    @property
    def detected_s(self) -> float | None:
        """Seconds from the moment it was observable to its detection; None if never."""
        if self.detected_at is None:
            return None
        start = self.observable_from
        start = self.injected_at if start is None else start
        return max(0.0, self.detected_at - max(start, self.injected_at))


def _percentiles_ms(values_s: list[float]) -> dict[str, Any]:
    if not values_s:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    array = np.asarray(values_s) * 1000.0
    return {
        "count": len(values_s),
        "p50_ms": round(float(np.percentile(array, 50)), 3),
        "p99_ms": round(float(np.percentile(array, 99)), 3),
        "max_ms": round(float(array.max()), 3),
    }


@dataclass
class KpiRecorder:
    """Collects a run's figures; `tolerance_mw` is the pool's tracking tolerance [MW]."""

    tolerance_mw: float
    recovery_ticks: int = 3
    """Consecutive truth samples within tolerance that count as recovered."""
    tick_ms: list[float] = field(default_factory=list)
    missed: int = 0
    commands: int = 0
    faults: list[FaultRecord] = field(default_factory=list)
    ack_latencies_s: list[float] = field(default_factory=list)
    execution_latencies_s: list[float] = field(default_factory=list)
    _samples: list[tuple[float, float, float, float]] = field(default_factory=list)
    _stale_view: list[float] = field(default_factory=list)
    _unknown: list[tuple[int, float]] = field(default_factory=list)
    _truth: list[tuple[float, float, float, float]] = field(default_factory=list)
    _reachable: list[tuple[float, float, float, float]] = field(default_factory=list)
    _ages: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(_AGE_BINS, np.int64))
    _start: float | None = None
    _by_asset: dict[str, list[FaultRecord]] = field(default_factory=dict)
    blamed: list[tuple[str, float, str, str]] = field(default_factory=list)
    """(asset, t [s], evidence, reason) of each failure found on an asset no fault was
    injected into: an honest device taken out of the pool."""

    # --- feeding -------------------------------------------------------------------------

    def started(self, t: float) -> None:
        """The run started at `t` [s]: fault times are reported from here."""
        self._start = t

    def tick(
        self,
        t: float,
        utc: datetime,
        duration_s: float,
        target_mw: float,
        measured_mw: float,
        *,
        unknown_assets: int = 0,
        unknown_planned_mw: float = 0.0,
        measured_if_stale_mw: float | None = None,
        telemetry_ages_s: npt.NDArray[np.float64] | None = None,
    ) -> None:
        """A tick at `t` [s] took `duration_s` [s] to compute; it aimed at `target_mw` and
        measured `measured_mw` (fresh readings only); `unknown_assets` had no fresh reading
        and carry `unknown_planned_mw` of plan; `measured_if_stale_mw` is what the sum of
        every last reading would have said; `telemetry_ages_s` the age of each fresh reading."""
        if self._start is None:
            self._start = t
        self.tick_ms.append(duration_s * 1000.0)
        self._samples.append((t, utc.timestamp(), target_mw, measured_mw))
        self._stale_view.append(
            target_mw - (measured_mw if measured_if_stale_mw is None else measured_if_stale_mw)
        )
        self._unknown.append((unknown_assets, unknown_planned_mw))
        if telemetry_ages_s is not None and telemetry_ages_s.size:
            bins = np.clip((telemetry_ages_s * 1000.0 / _AGE_BIN_MS).astype(np.int64), 0, None)
            self._ages += np.bincount(np.minimum(bins, _AGE_BINS - 1), minlength=_AGE_BINS)

    def truth(
        self,
        t: float,
        utc: datetime,
        target_mw: float,
        physical_mw: float,
        *,
        reachable_mw: tuple[float, float] | None = None,
    ) -> None:
        """The simulation's sample at `t` [s]: the pool's target and what the devices
        physically inject in total [MW] (not what they report); `reachable_mw` the (low,
        high) range the true total could reach with the faulted assets as they are and the
        others anywhere within their limits [MW]."""
        self._truth.append((t, utc.timestamp(), target_mw, physical_mw))
        if reachable_mw is not None:
            self._reachable.append((t, target_mw, *reachable_mw))

    def missed_tick(self) -> None:
        """A tick whose period passed before it could start."""
        self.missed += 1

    def command_sent(self, count: int = 1) -> None:
        """`count` setpoints were written."""
        self.commands += count

    def command_acked(self, latency_s: float) -> None:
        """A setpoint was acknowledged `latency_s` [s] after the tick that issued it."""
        self.ack_latencies_s.append(latency_s)

    def command_executed(self, latency_s: float) -> None:
        """Measured power reached a setpoint's band `latency_s` [s] after the tick that
        issued it."""
        self.execution_latencies_s.append(latency_s)

    def fault_injected(
        self, asset: str, kind: str, t: float, *, unanswered_since: float | None = None
    ) -> FaultRecord:
        """Record a fault injected into `asset` at `t` [s]; `unanswered_since` [s]: the
        asset had not answered since then (None: it was answering)."""
        record = FaultRecord(asset, kind, t, unanswered_since=unanswered_since)
        self.faults.append(record)
        self._by_asset.setdefault(asset, []).append(record)
        return record

    def fault_seen(self, asset: str, t: float) -> None:
        """The simulation sees `asset`'s fault at work at `t` [s] (from the physics, e.g. a
        fake meter reporting a power its site meter must show as a lie): the fault is
        observable from the first such moment, whatever the detector says."""
        for fault in self._by_asset.get(asset, ()):
            if fault.seen_at is None and t >= fault.injected_at:
                fault.seen_at = t

    def asset_failed(
        self,
        asset: str,
        t: float,
        evidence: str,
        *,
        since: float | None = None,
        reason: str = "",
    ) -> None:
        """The dispatcher found `asset` failed at `t` [s] by `evidence` (one of
        MISSED_READS, EXECUTION, CROSS_CHECK, MAP_MISMATCH, DEVICE_FAULT), observable
        since `since` [s] (the first missed read, the first setpoint not followed).

        It counts as the detection of an injected fault of that asset only if the evidence
        belongs to the fault's kind (`EVIDENCE_FOR`); otherwise it is kept as other
        evidence. On an asset with no injected fault it is kept in `blamed`."""
        if asset not in self._by_asset:
            self.blamed.append((asset, t, evidence, reason))
        for fault in self._by_asset.get(asset, ()):
            if fault.detected_at is not None or t < fault.injected_at:
                continue
            if evidence in EVIDENCE_FOR.get(fault.kind, frozenset()):
                fault.detected_at = t
                fault.evidence = evidence
                fault.reason = reason
                fault.observable_at = (
                    fault.injected_at if since is None else max(since, fault.injected_at)
                )
            else:
                fault.other_evidence.append(f"{evidence} at {self._rel(t):.3f} s: {reason}")

    def asset_still_failing(
        self,
        asset: str,
        t: float,
        evidence: str,
        *,
        reason: str = "",
        found: float | None = None,
    ) -> None:
        """A read of `asset`, already out of the pool for that `evidence`, asked for at `t`
        [s], failed again (found so at `found` [s], the read's deadline; `t` if None). Not a
        new failure (nothing is booked against an asset with no fault), but for a fault
        injected while it was out (a trip on a device that had not answered) this is the
        first read it could miss: the fault is observable from `t`, detected at `found`."""
        found = t if found is None else max(t, found)
        for fault in self._by_asset.get(asset, ()):
            # As `asset_failed`: by when it was found, not asked for.
            if fault.detected_at is not None or found < fault.injected_at:
                continue
            if evidence in EVIDENCE_FOR.get(fault.kind, frozenset()):
                fault.detected_at = found
                fault.observable_at = t
                fault.evidence = evidence
                fault.reason = reason

    def asset_answered(self, asset: str, t: float) -> None:
        """`asset`, out of the pool for want of an answer, answered again at `t` [s]."""
        for fault in self._by_asset.get(asset, ()):
            if (
                fault.unanswered_since is not None
                and fault.answered_at is None
                and t >= fault.injected_at
            ):
                fault.answered_at = t

    # --- the report ----------------------------------------------------------------------

    def report(self, assets: int) -> dict[str, Any]:
        """The figures as JSON data (see the module docstring)."""
        duration = self._duration()
        ticks = np.asarray(self.tick_ms) if self.tick_ms else np.zeros(1)
        recovery = self._recovery()
        by_time = {r["injected_at"]: r for r in recovery}
        faults = []
        for f in self.faults:
            rec = by_time[f.injected_at]
            faults.append(
                {
                    "asset": f.asset,
                    "kind": f.kind,
                    "injected_at_s": round(self._rel(f.injected_at), 3),
                    "observable_at_s": None
                    if f.observable_from is None
                    else round(self._rel(f.observable_from), 3),
                    "detected_s": None if f.detected_s is None else round(f.detected_s, 3),
                    "detected_after_injection_s": None
                    if f.detected_at is None
                    else round(f.detected_at - f.injected_at, 3),
                    "evidence": None if f.evidence is None else f"{f.evidence}: {f.reason}",
                    "unanswered_since_s": None
                    if f.unanswered_since is None
                    else round(self._rel(f.unanswered_since), 3),
                    "answered_again_s": None
                    if f.answered_at is None
                    else round(self._rel(f.answered_at), 3),
                    "other_evidence": f.other_evidence[:5],
                    "recovered": rec["recovered"],
                    "recovered_s": rec["recovered_s"],
                    "why": rec["why"],
                }
            )
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
            "latency": {
                "setpoint_to_ack": _percentiles_ms(self.ack_latencies_s),
                "setpoint_to_execution": _percentiles_ms(self.execution_latencies_s),
                "telemetry_age": self._age_percentiles(),
            },
            "tracking": self._tracking(),
            "truth": self._truth_view(),
            "if_stale_counted": self._stale_counted(),
            "faults": faults,
            "recovery": [{k: v for k, v in r.items() if k != "injected_at"} for r in recovery],
            "fault_summary": self._fault_summary(),
            "unfaulted_failures": self._unfaulted(),
            "commands_per_s": round(self.commands / duration, 3) if duration > 0 else 0.0,
        }

    def _rel(self, t: float) -> float:
        return t - (self._start or 0.0)

    def _tracking(self) -> dict[str, Any]:
        errors = [target - measured for _, _, target, measured in self._samples]
        rms = _rms(errors)
        unknown = self._unknown or [(0, 0.0)]
        return {
            "rms_mw": round(rms, 6),
            "max_abs_mw": round(max((abs(e) for e in errors), default=0.0), 6),
            "isp_deviation_pct": round(_isp_deviation_pct(self._samples, self._period()), 4),
            "tolerance_mw": self.tolerance_mw,
            "met": rms <= self.tolerance_mw,
            "unknown_assets": {
                "max": max(u[0] for u in unknown),
                "last": unknown[-1][0],
            },
            "unknown_planned_mw": {
                "max": round(max(abs(u[1]) for u in unknown), 6),
                "last": round(unknown[-1][1], 6),
            },
        }

    def _stale_counted(self) -> dict[str, Any]:
        rms = _rms(self._stale_view)
        return {
            "rms_mw": round(rms, 6),
            "max_abs_mw": round(max((abs(e) for e in self._stale_view), default=0.0), 6),
            "met": rms <= self.tolerance_mw,
        }

    def _truth_view(self) -> dict[str, Any] | None:
        if not self._truth:
            return None
        errors = [target - physical for _, _, target, physical in self._truth]
        rms = _rms(errors)
        period = _period_of(self._truth)
        per_isp: dict[int, list[tuple[float, float]]] = {}
        for _, stamp, target, physical in self._truth:
            per_isp.setdefault(int(stamp // ISP_S), []).append((target, physical))
        isps = []
        for isp, rows in sorted(per_isp.items()):
            errs = [t - p for t, p in rows]
            deviation = sum(p - t for t, p in rows) * period / 3600.0
            scheduled = sum(abs(t) for t, _ in rows) * period / 3600.0
            isps.append(
                {
                    "isp_start": datetime.fromtimestamp(isp * ISP_S, UTC).isoformat(),
                    "rms_mw": round(_rms(errs), 6),
                    "max_abs_mw": round(max(abs(e) for e in errs), 6),
                    "deviation_mwh": round(deviation, 6),
                    "scheduled_mwh": round(scheduled, 6),
                    "deviation_pct": round(100.0 * abs(deviation) / scheduled, 4)
                    if scheduled
                    else 0.0,
                }
            )
        return {
            "rms_mw": round(rms, 6),
            "max_abs_mw": round(max(abs(e) for e in errors), 6),
            "isp_deviation_pct": round(_isp_deviation_pct(self._truth, period), 4),
            "tolerance_mw": self.tolerance_mw,
            "met": rms <= self.tolerance_mw,
            "per_isp": isps,
        }

    def _recovery(self) -> list[dict[str, Any]]:
        """Per distinct injection time, whether and when the TRUE error came back."""
        out: list[dict[str, Any]] = []
        times = sorted({f.injected_at for f in self.faults})
        samples = self._truth
        for at in times:
            entry: dict[str, Any] = {
                "injected_at": at,
                "injected_at_s": round(self._rel(at), 3),
                "left_tolerance": False,
                "left_at_s": None,
                "recovered": None,
                "recovered_s": None,
                "why": "",
                "shortfall_mw": None,
                "headroom": None,
                "excursions": [],
                "longest_excursion_s": None,
            }
            out.append(entry)
            if not samples:
                entry["why"] = "no truth samples: the physics was not observed"
                continue
            after = [(t, target - physical) for t, _, target, physical in samples if t >= at]
            if not after:
                entry["why"] = "injected after the last truth sample"
                continue
            entry["shortfall_mw"] = round(after[-1][1], 6)
            entry["headroom"] = self._headroom(at)
            left = next((i for i, (_, e) in enumerate(after) if abs(e) > self.tolerance_mw), None)
            if left is None:
                entry["recovered"] = True
                entry["why"] = "the true error never left tolerance after the fault"
                continue
            entry["left_tolerance"] = True
            entry["left_at_s"] = round(self._rel(after[left][0]), 3)
            entry["excursions"] = self._excursions(after[left:])
            spans = [e["lasted_s"] for e in entry["excursions"]]
            entry["longest_excursion_s"] = None if None in spans else max(spans)
            run = 0
            for i in range(left + 1, len(after)):
                run = run + 1 if abs(after[i][1]) <= self.tolerance_mw else 0
                if run >= self.recovery_ticks:
                    first = after[i - self.recovery_ticks + 1][0]
                    entry["recovered"] = True
                    entry["recovered_s"] = round(first - at, 3)
                    entry["why"] = (
                        f"true error within {self.tolerance_mw:.3f} MW for "
                        f"{self.recovery_ticks} ticks from {self._rel(first):.1f} s"
                    )
                    break
            else:
                entry["recovered"] = False
                entry["why"] = (
                    "did not recover: the true error left tolerance at "
                    f"{self._rel(after[left][0]):.1f} s and was {after[-1][1]:.3f} MW "
                    f"(tolerance {self.tolerance_mw:.3f} MW) at the end of the run"
                )
        return out

    def _excursions(self, errors: list[tuple[float, float]]) -> list[dict[str, Any]]:
        """Each stretch of (time [s], true error [MW]) samples out of tolerance, from its
        first sample out to the first of `recovery_ticks` samples back within: ``left_at_s``,
        ``back_at_s`` and ``lasted_s`` (both None if it never came back)."""
        out: list[dict[str, Any]] = []
        start: float | None = None
        run = 0
        for i, (t, error) in enumerate(errors):
            if abs(error) > self.tolerance_mw:
                if start is None:
                    start = t
                run = 0
                continue
            run += 1
            if start is not None and run >= self.recovery_ticks:
                back = errors[i - self.recovery_ticks + 1][0]
                out.append(
                    {
                        "left_at_s": round(self._rel(start), 3),
                        "back_at_s": round(self._rel(back), 3),
                        "lasted_s": round(back - start, 3),
                    }
                )
                start = None
        if start is not None:
            out.append(
                {"left_at_s": round(self._rel(start), 3), "back_at_s": None, "lasted_s": None}
            )
        return out

    def _headroom(self, at: float) -> dict[str, Any] | None:
        """Whether the fleet could physically meet the target after the fault at `at`: at
        every sample from then on the target lies within the reachable range (faulted assets
        as they are, the rest within their limits) with a margin of the tolerance. None if
        the simulation did not record the range."""
        samples = [r for r in self._reachable if r[0] >= at]
        if not samples:
            return None
        margin = self.tolerance_mw
        gaps = [max(target - high, low - target, 0.0) for _, target, low, high in samples]
        tight = [
            min(target - low, high - target) for _, target, low, high in samples
        ]  # room left on the nearer side [MW]
        return {
            "enough": all(room >= margin for room in tight),
            "min_room_mw": round(min(tight), 6),
            "max_gap_mw": round(max(gaps), 6),
        }

    def _unfaulted(self) -> dict[str, Any]:
        """Failures found on assets no fault was injected into: the number of such assets
        per evidence, and per reason (its words before the first colon or figure) the
        assets, the first and last time since the start [s] and the first few in full."""
        by_evidence: dict[str, set[str]] = {}
        by_reason: dict[str, dict[str, Any]] = {}
        for asset, t, evidence, reason in self.blamed:
            by_evidence.setdefault(evidence, set()).add(asset)
            entry = by_reason.setdefault(
                _reason_kind(reason),
                {"assets": set(), "first_s": self._rel(t), "last_s": 0.0, "examples": []},
            )
            entry["assets"].add(asset)
            if len(entry["examples"]) < 6:
                entry["examples"].append(f"{asset} at {self._rel(t):.3f} s: {reason}")
            entry["last_s"] = self._rel(t)
        return {
            "assets": len({a for a, _, _, _ in self.blamed}),
            "by_evidence": {e: len(a) for e, a in sorted(by_evidence.items())},
            "by_reason": {
                r: {
                    **e,
                    "assets": len(e["assets"]),
                    "first_s": round(e["first_s"], 3),
                    "last_s": round(e["last_s"], 3),
                }
                for r, e in sorted(by_reason.items())
            },
        }

    def _fault_summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {}
        for kind in sorted({f.kind for f in self.faults}):
            faults = [f for f in self.faults if f.kind == kind]
            detected = [f.detected_s for f in faults if f.detected_s is not None]
            summary[kind] = {
                "injected": len(faults),
                "detected": len(detected),
                "max_detected_s": round(max(detected), 3) if detected else None,
                "p50_detected_s": round(float(np.percentile(detected, 50)), 3)
                if detected
                else None,
                "undetected": [f.asset for f in faults if f.detected_s is None][:10],
                "unanswered_when_injected": sum(f.unanswered_since is not None for f in faults),
                "unanswered_unobservable": sum(_unobservable(f) for f in faults),
            }
        return summary

    def _age_percentiles(self) -> dict[str, Any]:
        count = int(self._ages.sum())
        if count == 0:
            return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
        cumulative = np.cumsum(self._ages)

        def at(q: float) -> float:
            return float(np.searchsorted(cumulative, q * count, side="left")) * _AGE_BIN_MS

        top = float(np.flatnonzero(self._ages)[-1]) * _AGE_BIN_MS
        return {"count": count, "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": top}

    def _period(self) -> float:
        return _period_of(self._samples)

    def _duration(self) -> float:
        if not self._samples:
            return 0.0
        first = self._samples[0][0] if self._start is None else self._start
        return self._samples[-1][0] - first + self._period()


def _unobservable(fault: FaultRecord) -> bool:
    """Given to a device that was not answering, which neither answered nor missed a read
    its fault could show by after it: nothing the dispatcher could have seen."""
    return (
        fault.unanswered_since is not None
        and fault.answered_at is None
        and fault.observable_from is None
    )


def _reason_kind(reason: str) -> str:
    """The kind of a failure's reason: its words before the first colon or figure."""
    words = []
    for word in reason.split(":")[0].split():
        if any(c.isdigit() for c in word):
            break
        words.append(word)
    return " ".join(words[:4])


def _period_of(samples: list[tuple[float, float, float, float]]) -> float:
    if len(samples) < 2:
        return 1.0
    return (samples[-1][0] - samples[0][0]) / (len(samples) - 1)


def _rms(errors: list[float]) -> float:
    if not errors:
        return 0.0
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def _isp_deviation_pct(samples: list[tuple[float, float, float, float]], dt: float) -> float:
    """100 * sum over ISPs of |sum (measured - target) dt| / sum over ISPs of sum |target| dt."""
    deviation: dict[int, float] = {}
    scheduled: dict[int, float] = {}
    for _, stamp, target, measured in samples:
        isp = int(stamp // ISP_S)
        deviation[isp] = deviation.get(isp, 0.0) + (measured - target) * dt
        scheduled[isp] = scheduled.get(isp, 0.0) + abs(target) * dt
    total = sum(scheduled.values())
    if total == 0:
        return 0.0
    return 100.0 * sum(abs(v) for v in deviation.values()) / total
