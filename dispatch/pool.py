"""The pool controller: every tick, the sold schedule plus the TSO's activation becomes one
setpoint per asset.

Each tick (1 s by default), on a snapshot of the telemetry board that does not change while
the tick computes:

1. target [MW] = the schedule's planned pool injection for the quarter hour of now + the
   `ActivationSource`'s activation;
2. measured [MW] = the sum of every asset's latest measured power (failed assets too: what
   they inject counts);
3. a PI correction (anti-windup, rate limit) on target - measured is added, so that assets
   that do less than asked are made up for by the others;
4. what the assets in the pool must produce = target + correction - what the assets out of
   the pool measure; each asset in the pool starts from its own planned injection (clipped
   to what it can reach this tick, given its limits, ramp and state of charge), and the
   rest is shared by headroom (`dispatch.control.allocation.water_fill`);
5. each actor is handed its setpoint (`AssetActor.command`, latest wins): the tick never
   waits on a device.

A tick that starts more than a whole period late counts as missed (the next one runs at
once, on the then-current snapshot).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from dispatch.activation import ActivationSource
from dispatch.actor import AssetActor
from dispatch.board import TelemetryBoard
from dispatch.clock import DispatchClock
from dispatch.control.allocation import reachable_interval, soc_power_limits, water_fill
from dispatch.control.pi import PIConfig, PIController
from dispatch.ids import new_dispatch_id
from dispatch.kpi import KpiRecorder
from dispatch.observability import DispatchMetrics, event_log
from dispatch.schedule import Schedule


@dataclass(frozen=True)
class PoolConfig:
    """How the pool is controlled [s, 1, 1/s, MW, MW/s]."""

    tick_s: float = 1.0
    kp: float = 0.1
    ki: float = 0.1
    correction_limit_mw: float = 10.0
    """Bound of the PI correction [MW] (anti-windup acts here)."""
    correction_rate_mw_per_s: float = 5.0
    soc_horizon_s: float = 900.0
    """Storage is only asked for power it can hold this long [s]."""


class PoolController:
    """Ticks the pool (see the module docstring)."""

    def __init__(
        self,
        pool: str,
        schedule: Schedule,
        activation: ActivationSource,
        actors: Sequence[AssetActor],
        board: TelemetryBoard,
        clock: DispatchClock,
        metrics: DispatchMetrics,
        kpi: KpiRecorder,
        config: PoolConfig | None = None,
    ) -> None:
        self.pool = pool
        self.schedule = schedule
        self.activation = activation
        self.actors = list(actors)
        self.board = board
        self.clock = clock
        self.metrics = metrics
        self.kpi = kpi
        self.config = config if config is not None else PoolConfig()
        limit = self.config.correction_limit_mw
        self.pi = PIController(
            PIConfig(
                kp=self.config.kp,
                ki=self.config.ki,
                min_mw=-limit,
                max_mw=limit,
                rate_mw_per_s=self.config.correction_rate_mw_per_s,
            )
        )
        self.ticks = 0
        self._ids = [a.asset_id for a in self.actors]
        self._max = np.array([a.limits.max_mw for a in self.actors])
        self._min = np.array([a.limits.min_mw for a in self.actors])
        self._ramp = np.array([a.limits.ramp_mw_per_s for a in self.actors])
        self._energy = np.array(
            [np.nan if a.energy_mwh is None else a.energy_mwh for a in self.actors]
        )
        self._is_limit = np.array([a.limits.setpoint_is_limit for a in self.actors])
        self._band = np.array([a.config.policy.band_mw(a.limits.max_mw) for a in self.actors])
        self._log = event_log(pool=pool)
        self._plan_cache: tuple[object, np.ndarray] | None = None

    async def run(self, until_s: float) -> None:
        """Tick every `tick_s` until the clock reaches `until_s` [s]."""
        period = self.config.tick_s
        due = self.clock.now()
        while due < until_s:
            await self.clock.sleep_until(due)
            now = self.clock.now()
            if now - due >= period:
                missed = int((now - due) // period)
                for _ in range(missed):
                    self.kpi.missed_tick()
                    self.metrics.missed_ticks.labels(self.pool).inc()
                due += missed * period
            self.tick(now)
            due += period

    def tick(self, t: float) -> None:
        """One control step at `t` [s]; never awaits."""
        started = time.perf_counter()
        self.ticks += 1
        dispatch_id = new_dispatch_id(self.schedule)  # unique; names schedule, plan, bids
        utc = self.clock.utc()
        snapshot = self.board.snapshot()
        n = len(self.actors)
        measured = np.zeros(n)
        soc = np.full(n, np.nan)
        cap_hi, cap_lo = self._max.copy(), self._min.copy()
        include = np.zeros(n, dtype=bool)
        planned = self._planned_at(utc)
        for i, asset_id in enumerate(self._ids):
            entry = snapshot.get(asset_id)
            if entry is None or entry.telemetry is None:
                continue
            reading = entry.telemetry
            measured[i] = reading.power_mw
            if reading.soc is not None:
                soc[i] = reading.soc
            if reading.max_mw is not None:
                cap_hi[i] = min(cap_hi[i], reading.max_mw)
            if (
                self._is_limit[i]
                and reading.setpoint_mw is not None
                and reading.power_mw < reading.setpoint_mw - self._band[i]
            ):
                cap_hi[i] = min(cap_hi[i], reading.power_mw)  # below its cap: all there is
            if reading.min_mw is not None:
                cap_lo[i] = max(cap_lo[i], reading.min_mw)
            include[i] = entry.in_pool
        activation = self.activation.activation_mw(t)
        target = float(planned.sum()) + activation
        total_measured = float(measured.sum())
        correction = self.pi.update(t, target, total_measured)
        setpoints = self._allocate(
            target + correction - float(measured[~include].sum()),
            planned,
            measured,
            cap_lo,
            cap_hi,
            soc,
            include,
        )
        product = "schedule" if activation == 0 else "afrr"
        for i in np.flatnonzero(include):
            self.actors[i].command(float(setpoints[i]), dispatch_id, product)
        duration = time.perf_counter() - started
        self.metrics.tick_seconds.labels(self.pool).observe(duration)
        self.metrics.tracking_error.labels(self.pool).set(target - total_measured)
        self.kpi.tick(t, utc, duration, target, total_measured)

    def _planned_at(self, utc: datetime) -> np.ndarray:
        """Each asset's planned injection [MW] in the quarter hour of `utc` (0 outside the
        schedule or for an asset it does not name), computed once per quarter hour."""
        quarter = utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)
        if self._plan_cache is None or self._plan_cache[0] != quarter:
            planned = np.zeros(len(self._ids))
            inside = self.schedule.start <= quarter < self.schedule.end
            for i, asset_id in enumerate(self._ids):
                if inside and asset_id in self.schedule.injection_mw:
                    planned[i] = self.schedule.planned_mw(asset_id, quarter)
            self._plan_cache = (quarter, planned)
        return self._plan_cache[1]

    def _allocate(
        self,
        wanted_mw: float,
        planned: np.ndarray,
        measured: np.ndarray,
        cap_lo: np.ndarray,
        cap_hi: np.ndarray,
        soc: np.ndarray,
        include: np.ndarray,
    ) -> np.ndarray:
        """Setpoints [MW] of the assets in the pool summing to `wanted_mw` where they can:
        each from its plan, the rest by headroom."""
        if not include.any():
            return np.full(len(planned), np.nan)
        lo_soc, hi_soc = soc_power_limits(soc, self._energy, self.config.soc_horizon_s)
        storage = ~np.isnan(soc) & ~np.isnan(self._energy)
        lo_cap = np.where(storage, np.maximum(cap_lo, lo_soc), cap_lo)
        hi_cap = np.where(storage, np.minimum(cap_hi, hi_soc), cap_hi)
        lo_cap = np.minimum(lo_cap, hi_cap)
        lo, hi = reachable_interval(measured, lo_cap, hi_cap, self._ramp, self.config.tick_s)
        lo, hi = lo[include], hi[include]
        base = np.clip(planned[include], lo, hi)
        missing = wanted_mw - float(base.sum())
        weights = np.ones(len(base))
        if missing >= 0:
            chosen = base + water_fill(missing, hi - base, weights)
        else:
            chosen = base - water_fill(-missing, base - lo, weights)
        setpoints = np.full(len(planned), np.nan)
        setpoints[include] = np.clip(chosen, lo, hi)
        return setpoints
