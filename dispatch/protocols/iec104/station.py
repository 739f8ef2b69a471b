"""The VPP's controlled station for one pool: the TSO's aFRR setpoint in, pool power out.

`TsoStation` is the pool's `ActivationSource`. The TSO's setpoint (C_SE_NC_1, MW, + up)
arrives in c104's thread and is kept as the *request*; at each tick the pool asks
`activation_mw(t)`, which

1. clamps the request to the band SOLD in that quarter hour (`band`: by default the
   schedule's `capacity_sold_mw` of the zone, aFRR+ and aFRR-; never the fleet's rating)
   and logs ``afrr_setpoint_clamped`` with the request, the band and what is in force;
2. follows it along the ramp of `ramp.ActivationRamp` (reached within `ramp_share` of the
   FAT);
3. returns the pool to its schedule (activation 0, along the same ramp) when the TSO's
   link is lost (no started connection any more), logging ``tso_disconnected``. IEC 104's
   own supervision (t1 = 15 s, t3 test frames) closes a dead link, so a silent TSO ends up
   here too.

After each tick (as a pool observer) it publishes the measured pool power (the sum of the
FRESH readings the tick used, plus what site meters see of unread members; stale readings
never count), tagged with the tick's UTC instant and flagged invalid (IV) while no asset
has a fresh reading and not topical (NT) while some have none or one is older than
`TOPICAL_PERIODS` tick periods (a busy machine's late reads), and the other points of
`PointsMap`:
spontaneously when a value moved by more than `change_share` of the band (or a single
point flipped), and cyclically every `report_s` (real seconds: c104's timer).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from dispatch.board import TelemetryBoard
from dispatch.clock import DispatchClock
from dispatch.observability import event_log
from dispatch.protocols.iec104.points import PointsMap
from dispatch.protocols.iec104.ramp import AFRR_FAT_S, RAMP_SHARE, ActivationRamp
from dispatch.protocols.iec104.transport import StationServer
from dispatch.schedule import Schedule
from regulatory.assets.base import BalancingProduct

TOPICAL_PERIODS = 1.0
"""A measured value is flagged not topical (NT) when one of its readings is older than
this many tick periods: the pool still counts such a reading (up to its own deadline), but
a sum of readings from different periods is not the pool's power at one instant."""

BandSource = Callable[[datetime], tuple[float, float]]
"""(up, down) band sold [MW, both >= 0] at a UTC instant."""


class Pool(Protocol):
    """What the station reads of a `dispatch.pool.PoolController`."""

    pool: str
    schedule: Schedule
    board: TelemetryBoard
    actors: list[Any]
    metered_unseen: list[Callable[[float], float]]
    observers: list[Callable[[float, float], None]]

    @property
    def config(self) -> Any:  # PoolConfig
        """The pool's configuration (its reading deadline)."""
        ...


def schedule_band(pool: Pool, zone: str) -> BandSource:
    """The aFRR band sold by `zone` in the pool's schedule in force [MW], (up, down)."""

    def band(at: datetime) -> tuple[float, float]:
        schedule = pool.schedule
        if not schedule.start <= at < schedule.end:
            return 0.0, 0.0
        sold = schedule.capacity_sold_mw.get(zone, {})
        k = schedule.index.index(_quarter(at))
        return (
            float(sold[BalancingProduct.AFRR_POS][k]) if BalancingProduct.AFRR_POS in sold else 0.0,
            float(sold[BalancingProduct.AFRR_NEG][k]) if BalancingProduct.AFRR_NEG in sold else 0.0,
        )

    return band


class TsoStation:
    """One pool's IEC 104 station (see the module docstring)."""

    def __init__(
        self,
        clock: DispatchClock,
        zone: str,
        *,
        host: str = "127.0.0.1",
        port: int = 2404,
        points: PointsMap | None = None,
        fat_s: float = AFRR_FAT_S,
        ramp_share: float = RAMP_SHARE,
        band: BandSource | None = None,
        report_s: float = 1.0,
        change_share: float = 0.005,
    ) -> None:
        if not 0 < ramp_share <= 1:
            raise ValueError(f"ramp_share={ramp_share} must be in (0, 1]: a step within the FAT")
        self.clock, self.zone = clock, zone
        self.points = points if points is not None else PointsMap()
        self.fat_s = fat_s
        self.ramp = ActivationRamp(ramp_share * fat_s)
        self.change_share = change_share
        self.events: list[dict[str, Any]] = []
        """What happened on the link, in order (each also logged): connected,
        disconnected, setpoint clamped or refused."""
        self.in_force_mw = 0.0
        """The setpoint in force: the request clamped to the band [MW]."""
        self._band = band
        self._band_given = band is not None
        """Whether `band` was given (else each attached pool's schedule gives it)."""
        self._lock = threading.Lock()
        self._request: float | None = None
        """The TSO's last setpoint [MW] (None: none since the link came up)."""
        self._connected = False
        self._clamped: tuple[float, float] | None = None
        self._pool: Pool | None = None
        self._sent: dict[int, float | bool] = {}
        self._plan: tuple[object, datetime, float] | None = None
        self._origin = _origin(clock)
        self._log = event_log(zone=zone, protocol="iec104")
        self._server = StationServer(
            host, port, self.points, self._on_setpoint, report_ms=max(50, round(report_s * 1000))
        )

    def attach(self, pool: Pool) -> None:
        """Serve `pool`: read its board and schedule, publish after each of its ticks. A
        station serves one pool at a time: attaching the next (e.g. the engine's pool of
        the next day) serves that one from its next tick, over the same link."""
        self._origin = _origin(self.clock)
        self._pool = pool
        if not self._band_given:
            self._band = schedule_band(pool, self.zone)
        self._log = event_log(pool=pool.pool, zone=self.zone, protocol="iec104")
        pool.observers.append(self.publish)

    def start(self) -> None:
        """Listen for the TSO."""
        self._server.start()

    def stop(self) -> None:
        """Close the link."""
        self._server.stop()

    def __enter__(self) -> TsoStation:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        """Whether a TSO's connection is open and started."""
        return self._server.active_connections() > 0

    def status(self) -> dict[str, Any]:
        """The link seen from the VPP: connection, the TSO's last setpoint, what is in
        force and asked of the pool now [MW], the latest events."""
        with self._lock:
            request = self._request
        return {
            "connected": self.connected,
            "common_address": self.points.common_address,
            "setpoint_mw": request,
            "in_force_mw": round(self.in_force_mw, 6),
            "activation_mw": round(self.ramp.value_mw, 6),
            "fat_s": self.fat_s,
            "events": [dict(e) for e in self.events[-5:]],
        }

    def _on_setpoint(self, mw: float) -> bool:
        """A setpoint [MW] from the TSO (c104's thread): kept, or refused if not finite."""
        if not math.isfinite(mw):
            self._event("afrr_setpoint_refused", requested_mw=mw, rule="must be a finite MW")
            return False
        with self._lock:
            self._request = mw
        return True

    def activation_mw(self, t: float) -> float:
        """The activation requested of the pool at `t` [s] [MW, + up] (module doc)."""
        if self._pool is None or self._band is None:
            return 0.0
        connected = self._server.active_connections() > 0
        if connected != self._connected:
            self._connected = connected
            if connected:
                self._event("tso_connected", t=t)
            else:
                with self._lock:
                    self._request = None
                self._event("tso_disconnected", t=t, action="pool returns to its schedule")
        with self._lock:
            request = self._request
        up, down = (max(0.0, mw) for mw in self._band(self.clock.utc()))
        wanted = 0.0 if request is None else request
        self.in_force_mw = min(up, max(-down, wanted))
        if request is None or self.in_force_mw == wanted:
            self._clamped = None
        else:
            key = (wanted, self.in_force_mw)  # once per clamp, not per repeated setpoint
            if key != self._clamped:
                self._clamped = key
                self._event(
                    "afrr_setpoint_clamped",
                    t=t,
                    requested_mw=wanted,
                    band_up_mw=up,
                    band_down_mw=down,
                    in_force_mw=self.in_force_mw,
                    rule="an aFRR setpoint is clamped to the band sold",
                )
        return self.ramp.follow(t, self.in_force_mw, max(up, down))

    def publish(self, t: float, target_mw: float) -> None:
        """Report the pool after its tick at `t` [s] (a pool observer)."""
        pool = self._pool
        if pool is None or self._band is None:
            return
        at = self._origin + timedelta(seconds=t)  # the tick's instant
        measured, room_up, room_down, fresh, oldest = self._measure(pool, t)
        up, down = self._band(at)
        p = self.points
        values: dict[int, float | bool] = {
            p.measured: measured,
            p.scheduled: self._scheduled(pool, at),
            p.setpoint_in_force: self.in_force_mw,
            p.activation_requested: self.ramp.value_mw,
            p.band_up: up,
            p.band_down: down,
            p.available_up: room_up,
            p.available_down: room_down,
            p.afrr_available: (up > 0 or down > 0) and fresh > 0,
            p.afrr_active: self.ramp.value_mw != 0.0,
        }
        threshold = self.change_share * max(up, down, 1e-3)
        changed = frozenset(
            ioa
            for ioa, value in values.items()
            if ioa not in self._sent
            or (
                value != self._sent[ioa]
                if isinstance(value, bool)
                else abs(float(value) - float(self._sent[ioa])) > threshold
            )
        )
        unknown = len(pool.actors) - fresh
        late = oldest > TOPICAL_PERIODS * pool.config.tick_s
        flags = {
            p.measured: ("Invalid",) if fresh == 0 else ("NonTopical",) if unknown or late else ()
        }
        self._server.publish(values, at, changed, flags)
        for ioa in changed:
            self._sent[ioa] = values[ioa]

    def _measure(self, pool: Pool, t: float) -> tuple[float, float, float, int, float]:
        """(measured pool power, room up, room down [MW], fresh assets, age of the oldest
        fresh reading [s]) from the board."""
        snapshot = pool.board.snapshot()
        max_age = pool.config.max_reading_age_s
        measured = room_up = room_down = oldest = 0.0
        fresh = 0
        for actor in pool.actors:
            entry = snapshot.get(actor.asset_id)
            if entry is None or entry.telemetry is None or not entry.fresh(t, max_age):
                continue
            reading = entry.telemetry
            fresh += 1
            oldest = max(oldest, t - (entry.read_t if entry.read_t is not None else t))
            measured += reading.power_mw
            if entry.in_pool:
                hi = actor.limits.max_mw if reading.max_mw is None else reading.max_mw
                lo = actor.limits.min_mw if reading.min_mw is None else reading.min_mw
                room_up += max(0.0, min(hi, actor.limits.max_mw) - reading.power_mw)
                room_down += max(0.0, reading.power_mw - max(lo, actor.limits.min_mw))
        measured += sum(source(t) for source in pool.metered_unseen)
        return measured, room_up, room_down, fresh, oldest

    def _scheduled(self, pool: Pool, at: datetime) -> float:
        """The pool's planned injection in the quarter hour of `at` [MW]."""
        schedule = pool.schedule
        quarter = _quarter(at)
        if self._plan is None or self._plan[0] is not schedule or self._plan[1] != quarter:
            inside = schedule.start <= quarter < schedule.end
            total = sum(
                schedule.planned_mw(actor.asset_id, quarter)
                for actor in pool.actors
                if inside and actor.asset_id in schedule.injection_mw
            )
            self._plan = (schedule, quarter, total)
        return self._plan[2]

    def _event(self, name: str, **fields: Any) -> None:
        record = {"event": name, "utc": self.clock.utc().isoformat(), **fields}
        self.events.append(record)
        log = self._log.warning if name != "tso_connected" else self._log.info
        log(name, **fields)


def _quarter(at: datetime) -> datetime:
    """Start of the quarter hour containing `at`."""
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def _origin(clock: DispatchClock) -> datetime:
    """The UTC instant of the clock's t = 0 (every dispatcher clock's utc() is its origin
    plus now()): read where utc() and now() were taken closest together, so that a thread
    switch between the two calls does not shift every time tag."""
    best: tuple[float, datetime] | None = None
    for _ in range(5):
        before = clock.now()
        utc = clock.utc()
        after = clock.now()
        origin = utc - timedelta(seconds=(before + after) / 2)
        if best is None or after - before < best[0]:
            best = (after - before, origin)
    assert best is not None
    return best[1]
