"""One asyncio actor per asset: it alone talks to its device and owns the asset's state.

The pool controller hands an actor its wanted setpoint (`command`: latest wins, never
waits); the actor runs its own period (1 s by default, at its own phase so that a fleet's
reads spread over the second) and in each:

1. reads telemetry (with a deadline) and posts it on the `TelemetryBoard` with the time it
   was read; a failed read posts the old reading as stale (the pool never counts it);
2. checks the reading: against the reference trajectory of the setpoints it was sent
   (`control.execution.ExecutionWatch`: a device that acknowledged but does not follow,
   follows only part of the way or too slowly, is degraded and leaves the pool), and, for a
   battery, its reported power against its reported state-of-charge change
   (`control.crosscheck.SocCheck`: a meter that reports what it does not inject);
3. feeds the reading to its command's confirmation state machine (acknowledged and
   executed are two events; their latencies from the tick that issued the setpoint go to
   the KPIs);
4. writes a new setpoint if the wanted one moved by more than the deadband, which is a
   share of the asset's rating (`ActorConfig.deadband_share`).

Every failure is reported to the KPIs with its evidence and the time it became observable:
missed reads (from the first one; a failed first contact counts), execution (from the
first setpoint not followed), cross-check, map mismatch (quarantine) and device fault (a
`DeviceFaultError`: an answer that cannot be decoded or cannot be true; handled like
drift: degraded, out of the pool, re-dispatched).

Failed assets are probed again only when their circuit breaker admits a probe (exponential
backoff with jitter) and the pool's and protocol's retry budgets grant a token, so a mass
outage never multiplies traffic. An asset that answers again after an outage rejoins only
if it sits at the last setpoint it acknowledged; otherwise it is degraded (execution
evidence). An asset whose device no longer matches its register map is quarantined and
never written to again in this run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dispatch.board import BoardEntry, TelemetryBoard
from dispatch.clock import DispatchClock
from dispatch.control.asset_state import AssetState, AssetStateMachine
from dispatch.control.budget import CircuitBreaker, RetryBudgets
from dispatch.control.confirmation import Command, CommandState, ConfirmationPolicy
from dispatch.control.crosscheck import SocCheck
from dispatch.control.execution import ExecutionWatch
from dispatch.device import (
    DeviceAdapter,
    DeviceError,
    DeviceFaultError,
    DeviceLimits,
    DeviceRefusedError,
    DeviceTimeoutError,
    MapMismatchError,
    SetpointOutsideLimitsError,
    Telemetry,
)
from dispatch.devices.fencing import DeviceFencedError, FenceHolder
from dispatch.kpi import (
    CROSS_CHECK,
    DEVICE_FAULT,
    EXECUTION,
    MAP_MISMATCH,
    MISSED_READS,
    REFUSED,
    KpiRecorder,
)
from dispatch.observability import DispatchMetrics, dispatch_fields, event_log

T = TypeVar("T")

FAILED_STATES = frozenset({AssetState.DEGRADED, AssetState.UNAVAILABLE, AssetState.QUARANTINED})

STATE_HISTORY = 64
"""The changes of state an actor keeps (`AssetStateMachine.history`), the latest: nothing
reads older ones, and all of them grew a 5,000-asset partition by 15,000 records a second."""


@dataclass(frozen=True)
class ActorConfig:
    """How an actor works [s, MW, share of the asset's rating]."""

    period_s: float = 1.0
    phase_s: float = 0.0
    """Offset of this actor's reads within the period (spreads a fleet's traffic)."""
    io_timeout_s: float = 0.5
    """Deadline of one read or write."""
    deadband_share: float = 0.005
    """A wanted setpoint closer than this share of the asset's rating to the commanded one
    is not sent."""
    deadband_mw: float | None = None
    """An absolute deadband [MW] instead of the share (None: use the share)."""
    unavailable_after: int = 2
    """Consecutive failed reads after which the asset is unavailable."""
    execution_lag_s: float = 0.6
    """How long after a setpoint's acknowledgement an obeying device may start acting on
    it [s] (its dead time; the timing of reads is covered by stamping each setpoint with
    both its send and its acknowledgement)."""
    policy: ConfirmationPolicy = field(default_factory=ConfirmationPolicy)


@dataclass
class ActorContext:
    """What every actor of a pool shares."""

    pool: str
    clock: DispatchClock
    board: TelemetryBoard
    budgets: RetryBudgets
    metrics: DispatchMetrics
    kpi: KpiRecorder
    fence: FenceHolder | None = None
    """With a partition lease (`dispatch.cluster`): every write carries its current fence
    (partition, token, owner) and the device refuses older tokens; None: unfenced."""


class AssetActor:
    """The actor of one asset (see the module docstring)."""

    def __init__(
        self,
        adapter: DeviceAdapter,
        limits: DeviceLimits,
        context: ActorContext,
        config: ActorConfig,
        breaker: CircuitBreaker,
        *,
        energy_mwh: float | None = None,
    ) -> None:
        self.asset_id = adapter.asset_id
        self.adapter = adapter
        self.limits = limits
        self.energy_mwh = energy_mwh
        self.context = context
        self.config = config
        self.breaker = breaker
        self.state = AssetStateMachine(self.asset_id, context.clock.now(), keep=STATE_HISTORY)
        self.telemetry: Telemetry | None = None
        self.read_t: float | None = None
        """When `telemetry` was read [s, monotonic]."""
        self.answered_t: float | None = None
        """When the read that gave `telemetry` answered [s, monotonic]: the device took it
        somewhere between `read_t` and this (a site meter compares it at that span)."""
        self.last_read_failed = False
        self.untrusted = False
        """A cross-check proved its readings wrong: they never count, and it does not
        rejoin by itself in this run (its own meter would vouch for it)."""
        self.command_now: Command | None = None
        self.site_id: str | None = None
        """The site (meter) the asset sits behind, if one watches it: the pool probes at
        most one asset per direction of a site at a time."""
        self.site_nameable_mw = 0.0
        """The least reported move [MW] its site meter can pin on it as a lie (the
        watch's `min_move_mw`; 0 without a site): the pool probes it by more."""
        self.site_compared_t = -float("inf")
        """The meter's reading time [s] of its site's latest comparison of every member
        (-inf: none, or no site): the pool probes again at once a member whose probing
        move no comparison saw."""
        self._wanted: tuple[float, str, str, float | None] | None = None
        """setpoint [MW], dispatch id, product, issued at [s]."""
        self._command_issued_t: float | None = None
        self._identified = False
        self._contacted = False
        self._failed_by: str | None = None
        """The evidence of the latest failure (`dispatch.kpi`), so that new evidence of a
        failure the asset already left the pool for is still booked, once."""
        self._failed_reads = 0
        self._missed_since: float | None = None
        self._unsure_until = -float("inf")
        """Until when [s] the watch cannot know what the device was sent: a write whose
        answer was lost may have landed (until a later write is acknowledged and an obeying
        device had the time to finish any move)."""
        self._lost: tuple[float, float, float | None, float | None, float | None] | None = None
        """The latest write whose answer was lost: (sent [s], setpoint [MW], what the
        device could do then (lo, hi) [MW], the setpoint it was sent before [MW]); its
        reading's setpoint register tells whether it landed."""
        rating = max(abs(limits.max_mw), abs(limits.min_mw))
        self.rating_mw = rating
        self.deadband_mw = (
            config.deadband_mw if config.deadband_mw is not None else config.deadband_share * rating
        )
        band = config.policy.band_mw(rating)
        self.watch = ExecutionWatch(
            limits.ramp_mw_per_s,
            band,
            lag_s=config.execution_lag_s,
            is_limit=limits.setpoint_is_limit,
        )
        self.soc_check = (
            SocCheck(
                energy_mwh,
                band,
                max_mw=limits.max_mw,
                min_mw=limits.min_mw,
                ramp_mw_per_s=limits.ramp_mw_per_s,
            )
            if energy_mwh
            else None
        )
        self._log = event_log(pool=context.pool, asset=self.asset_id, protocol=adapter.protocol)
        # Looked up on the class: a generic structlog logger answers any attribute with a
        # method that logs an event of that name.
        enabled = getattr(type(self._log), "is_enabled_for", None)
        self._debug = enabled is None or bool(enabled(self._log, logging.DEBUG))
        """The logger (its level fixed when it was bound) keeps debug events: an actor that
        would only drop them does not build them (three a second per asset)."""
        bound = getattr(adapter, "answers_within_s", None)
        self._in_process = adapter.protocol == "inproc" or (
            bound is not None and bound <= config.io_timeout_s
        )
        """The adapter answers or raises within the deadline by itself (in process, or a
        partition's field link that keeps it: `dispatch.cluster.link`): no deadline task."""
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        """Metric series this actor writes, by (family, label values): looking a series up
        by its labels on every turn was 8 % of a 10,000-asset fleet's actor time (profiled)."""
        self.fenced = 0
        """Writes the device refused for an older fencing token (this actor's owner lost
        the partition's lease)."""

    # --- from the pool controller --------------------------------------------------------

    def command(
        self, setpoint_mw: float, dispatch_id: str, product: str, issued_t: float | None = None
    ) -> None:
        """Ask for `setpoint_mw` [MW], issued by the tick at `issued_t` [s]; written at this
        actor's next turn (latest wins)."""
        self._wanted = (setpoint_mw, dispatch_id, product, issued_t)

    def cross_check_failed(self, t: float, reason: str, since: float) -> None:
        """Another source (a site meter) proves this asset's readings wrong at `t` [s],
        observable since `since` [s]: it leaves the pool with cross-check evidence."""
        self._fail(AssetState.DEGRADED, t, reason, CROSS_CHECK, since)
        self.untrusted = True

    @property
    def unanswered_since(self) -> float | None:
        """Since when [s] an unavailable asset has not answered (None if it is not
        unavailable for want of an answer)."""
        if self.state.state is not AssetState.UNAVAILABLE:
            return None
        return self._missed_since

    def held_mw(
        self, t: float, max_age_s: float, spread_mw: float = 0.0
    ) -> tuple[float, float] | None:
        """This asset's power [MW] at `t` [s] although its read of the period got no
        answer (or none yet), where an obeying device's envelope pins it down, and how far
        [MW] its true power may be from that either way: the latest reading, at most
        `max_age_s` [s] old and not proven wrong, moved into where an obeying device is at
        `t` (`ExecutionWatch.interval`, its setpoints since included), off by 0 once that
        envelope has narrowed to its band; while it is wider (a move under way), the
        envelope's middle, off by up to half its width, if that is at most `spread_mw`. A
        liar estimated so is put where it says it is (at its setpoint). None where the
        envelope is wider, while a write whose answer was lost may have landed unseen, or
        for an asset out of the pool."""
        reading = self.telemetry
        if (
            reading is None
            or self.read_t is None
            or t - self.read_t > max_age_s
            or self.untrusted
            or t < self._unsure_until
            or self.state.state in FAILED_STATES
        ):
            return None
        lo, hi = self.watch.interval(t)
        if hi - lo <= 3.0 * self.watch.band_mw:
            return min(hi, max(lo, reading.power_mw)), 0.0
        lo, hi = max(lo, self.limits.min_mw), min(hi, self.limits.max_mw)
        if 0.5 * (hi - lo) > spread_mw:
            return None  # on its way: where it is now is not known closely enough
        return 0.5 * (lo + hi), 0.5 * (hi - lo)

    @property
    def in_pool(self) -> bool:
        """True if the controller may give this asset setpoints."""
        return self.state.allocatable

    # --- the actor's loop ----------------------------------------------------------------

    async def run(self, until_s: float) -> None:
        """Work one turn per period until the clock reaches `until_s` [s]."""
        clock = self.context.clock
        turn = clock.now() + self.config.phase_s
        while turn < until_s:
            await clock.sleep_until(turn)
            try:
                await self.turn()
            except Exception:  # an actor never dies silently; the others go on
                self._log.exception("actor_turn_failed")
            turn += self.config.period_s
            now = clock.now()
            if turn < now:  # fell behind (a slow device): skip to the next whole period
                turn += ((now - turn) // self.config.period_s + 1) * self.config.period_s
        await self.adapter.close()

    async def turn(self) -> None:
        """One period's work: connect or probe, read, check, confirm, write, post."""
        t = self.context.clock.now()
        state = self.state.state
        if state is AssetState.QUARANTINED:
            self._post()
            return
        if (
            state is AssetState.DEGRADED
            and self._identified
            and (self.untrusted or not self.last_read_failed)
        ):
            await self._watch_degraded(t)  # it answers: keep its power known
        elif state in FAILED_STATES or not self._identified:
            await self._probe(t)
        else:
            await self._read(t)
            if self.state.writable:
                await self._write_wanted(t)
        self._post()

    # --- steps ---------------------------------------------------------------------------

    async def _probe(self, t: float) -> None:
        """A failed or new asset: try again only if its breaker and the budgets allow."""
        first_contact = not self._contacted
        self._contacted = True
        if not first_contact:
            if not self.breaker.allow(t):
                return
            if not self._retry_token(t):
                self.breaker.release_probe()
                return
        was = self.state.state
        try:
            if not self._identified:
                await self._io(self.adapter.identify())
                self._identified = True
            reading = await self._io(self.adapter.read())
        except MapMismatchError as exc:
            self._quarantine(t, exc.reason)
            return
        except DeviceFaultError as exc:
            self._read_failed()
            self.breaker.record_failure(t)
            self._fail(AssetState.DEGRADED, t, f"device fault: {exc.reason}", DEVICE_FAULT, t)
            return
        except DeviceError as exc:
            self._read_failed()
            self.breaker.record_failure(t)
            if self._missed_since is None:
                self._missed_since = t
            if first_contact:  # starts unavailable: no transition, but a detection
                self.context.kpi.asset_failed(
                    self.asset_id,
                    max(t, self.context.clock.now()),  # found when the read gave up
                    MISSED_READS,
                    since=t,
                    reason=f"no answer at first contact: {exc.reason}",
                )
                self._log.warning("first_contact_failed", reason=exc.reason, t=t)
            elif self.state.state is not AssetState.UNAVAILABLE:
                self._fail(
                    AssetState.UNAVAILABLE,
                    t,
                    f"no answer: {exc.reason}",
                    MISSED_READS,
                    self._missed_since,
                )
            else:  # out already: a fault given meanwhile (a trip) shows at this read
                self.context.kpi.asset_still_failing(
                    self.asset_id,
                    t,
                    MISSED_READS,
                    reason=f"still no answer: {exc.reason}",
                    found=self.context.clock.now(),
                )
            return
        self._read_ok(t, reading)
        if was is AssetState.UNAVAILABLE and not first_contact:
            self.context.kpi.asset_answered(self.asset_id, t)
        if not self._healthy(reading):
            self.breaker.record_failure(t)
            if was is AssetState.UNAVAILABLE:  # answers again, but not where it was told
                command = self.command_now
                since = command.sent_t if command is not None else t
                self._fail(
                    AssetState.DEGRADED,
                    t,
                    f"answers again at {reading.power_mw:.3f} MW, not at its last setpoint",
                    EXECUTION,
                    since,
                )
            return
        self.breaker.record_success(t)
        self._rejoin(t, reading)

    async def _watch_degraded(self, t: float) -> None:
        """A degraded asset that answers is read every period (its power counts, fresh),
        and rejoins once its breaker admits a health check and it sits at its setpoint.
        One whose answers failed is read again only when its breaker admits it."""
        if self.last_read_failed and not self.untrusted and not self.breaker.allow(t):
            return
        try:
            reading = await self._io(self.adapter.read())
        except MapMismatchError as exc:
            self._quarantine(t, exc.reason)
            return
        except DeviceFaultError:
            self._read_failed()
            self.breaker.record_failure(t)
            return
        except DeviceError as exc:
            self._missed_read(t, exc)
            return
        self._failed_reads = 0
        self._missed_since = None
        self._read_ok(t, reading)
        if self.untrusted or not self.breaker.allow(t):
            return
        if not self._healthy(reading):
            self.breaker.record_failure(t)
            return
        self.breaker.record_success(t)
        self._rejoin(t, reading)

    def _missed_read(self, t: float, exc: DeviceError) -> None:
        """A read got no answer: unavailable after `unavailable_after` in a row, observable
        since the first of them."""
        self._read_failed()
        if self.soc_check is not None:
            self.soc_check.missed()  # its power until the next reading is unknown
        self.breaker.record_failure(t)
        self._failed_reads += 1
        if self._missed_since is None:
            self._missed_since = t
        if self._failed_reads >= self.config.unavailable_after:
            self._fail(
                AssetState.UNAVAILABLE,
                t,
                f"no answer: {exc.reason}",
                MISSED_READS,
                self._missed_since,
            )

    def _rejoin(self, t: float, reading: Telemetry) -> None:
        self._failed_reads = 0
        self._missed_since = None
        self.command_now = None
        self._command_issued_t = None
        self.watch.reset(t, reading.power_mw)
        if self.soc_check is not None:
            self.soc_check.reset()
        self._lost = None
        self.context.metrics.breaker_open.labels(self.asset_id).set(0)
        self._enter(AssetState.AVAILABLE, t, "health check passed")

    def _healthy(self, reading: Telemetry) -> bool:
        """A failed asset is healthy again once it sits at what it was last told."""
        command = self.command_now
        if command is None or command.acked_t is None:
            return True
        if self.limits.setpoint_is_limit:  # a cap: at or below it is obeying
            return reading.power_mw <= command.setpoint_mw + command.policy.band_mw(
                command.setpoint_mw
            )
        return command.in_band(reading.power_mw)

    async def _read(self, t: float) -> None:
        try:
            reading = await self._io(self.adapter.read())
        except MapMismatchError as exc:
            self._quarantine(t, exc.reason)
            return
        except DeviceFaultError as exc:
            self._read_failed()
            self.breaker.record_failure(t)
            self._fail(AssetState.DEGRADED, t, f"device fault: {exc.reason}", DEVICE_FAULT, t)
            return
        except DeviceError as exc:
            self._missed_read(t, exc)
            return
        self._failed_reads = 0
        self._missed_since = None
        self.breaker.record_success(t)
        self._read_ok(t, reading)
        if self._check(t, reading, self.context.clock.now()):
            self._confirm(t, reading.power_mw)

    def _read_ok(self, t: float, reading: Telemetry) -> None:
        self.telemetry = reading
        self.read_t = t
        self.answered_t = self.context.clock.now()
        self.last_read_failed = self.untrusted

    def _read_failed(self) -> None:
        self.last_read_failed = True

    def _check(self, t: float, reading: Telemetry, answered_t: float | None = None) -> bool:
        """The reading, asked for at `t` and answered at `answered_t` [s] (the device took
        it somewhere in between), against the reference trajectory and, for a battery, its
        SoC; False (and the asset degraded) if it cannot be an obeying, truthful device."""
        if t < self._unsure_until:
            self.watch.reanchor(t, reading.power_mw, answered_t)
            self._landed(t, reading, answered_t)
            since, overtook = None, False
        else:
            # A cap's device may report its nameplate as its maximum (SunSpec WMax): that
            # is not what the weather allows now (a PV plant under 48 kW of sun, its cap
            # raised to 50 kW after a trip, was called drifting: 93 of 400 Modbus devices).
            available = reading.max_mw
            if available is not None and available >= self.limits.max_mw:
                available = None
            since, overtook = self.watch.judge(t, reading.power_mw, available, answered_t)
        if since is not None and overtook:
            lo, hi = self.watch.interval(t)
            self.cross_check_failed(
                t,
                f"reported {reading.power_mw:.3f} MW moved faster than its ramp allows: an "
                f"obeying device would be within [{lo:.3f}, {hi:.3f}] MW",
                since,
            )
            self.last_read_failed = True
            return False
        if since is not None:
            lo, hi = self.watch.interval(t)
            end = t if answered_t is None else answered_t
            if end > t:
                lo_end, hi_end = self.watch.interval(end)
                lo, hi = min(lo, lo_end), max(hi, hi_end)
            self._series(
                self.context.metrics.executions,
                self.asset_id,
                self.adapter.protocol,
                "exec_timeout",
            ).inc()
            self._fail(
                AssetState.DEGRADED,
                t,
                f"state drift: measured {reading.power_mw:.5f} MW, an obeying device would be "
                f"within [{lo:.5f}, {hi:.5f}] MW over the {end - t:.3f} s the read took",
                EXECUTION,
                since,
            )
            return False
        if self.soc_check is not None and reading.soc is not None:
            span = 0.0 if answered_t is None else answered_t - t
            since = self.soc_check.observe(t, reading.power_mw, reading.soc, span)
            if since is not None:
                self.cross_check_failed(
                    t,
                    f"reported {reading.power_mw:.3f} MW does not match its state-of-charge change",
                    since,
                )
                self.last_read_failed = True
                return False
        return True

    def _landed(self, t: float, reading: Telemetry, answered_t: float | None) -> None:
        """After writes whose answers were lost (and none answered since), a reading whose
        setpoint register holds the latest of them shows it landed, by `answered_t` [s] at
        the latest: the command counts as acknowledged by that read, and the watch takes
        it from then and judges from here on.

        Before, judgement waited for a later write to be answered and for an obeying
        device to have had the time to cross its range: with half the answers lost (a busy
        host's acknowledgements take about the 0.5 s deadline), 63 of 120 stuck devices
        went unseen for the 40 s after their fault (in process, the Modbus benchmark's
        fleet), and over Modbus 67 of 120.

        Any number of lost writes in a row: a device takes the writes of one link in
        order, so the register holding the latest one means it took that one last. Only a
        single lost write was settled at first, and a held command was not resent either:
        a stuck device whose two writes in a row went unanswered (the read between them
        timing out, as over Modbus on a busy host) was never judged again while its
        setpoint stayed flat (`test_dispatch_actor`)."""
        lost = self._lost
        held = reading.setpoint_mw
        if lost is None or held is None:
            return
        if self._unsure_until != float("inf"):
            return
        sent, setpoint, lo, hi, before = lost
        off = abs(held - setpoint)
        if off > self.config.policy.read_back_tolerance_mw:
            return
        if before is not None and off >= abs(held - before):
            return  # as close to the setpoint it held before: cannot tell
        self.watch.commanded(sent, setpoint, lo, hi, answered_t if answered_t is not None else t)
        self._unsure_until = -float("inf")
        self._lost = None
        self._read_back(t, held)

    def _read_back(self, t: float, held_mw: float) -> None:
        """The current command's write landed (its setpoint register, read at `t` [s],
        holds `held_mw` [MW]) though its answer was lost: acknowledged by that read, so
        that its execution is judged (deadline, health check on rejoining) as any answered
        write's. A health check of a command never acknowledged passes whatever the
        power: a stuck device that missed a few reads rejoined unchecked."""
        command = self.command_now
        if command is None or abs(command.setpoint_mw - held_mw) > (
            self.config.policy.read_back_tolerance_mw
        ):
            return
        if command.state is CommandState.SENT:
            command.acked(t, held_mw)
        elif command.state is CommandState.ACK_TIMEOUT and command.sent_t is not None:
            # Terminal: the same setpoint, sent then and acknowledged now by the read.
            settled = Command(self.asset_id, command.setpoint_mw, command.policy, command.sent_t)
            settled.sent(command.sent_t)
            settled.acked(t, held_mw)
            self.command_now = settled
        self._enter(AssetState.ACKNOWLEDGED, t, "write read back")

    def _confirm(self, t: float, measured_mw: float) -> None:
        """Feed the reading to the command: execution confirmed, its latency recorded."""
        command = self.command_now
        if command is None:
            return
        if self.limits.setpoint_is_limit and measured_mw <= command.setpoint_mw:
            # A cap is obeyed whenever the power is at or below it (less sun is no fault).
            measured_mw = command.setpoint_mw
        before = command.state
        command.observe(t, measured_mw)
        command.tick(t)
        after = command.state
        if after is CommandState.EXECUTED and before is not CommandState.EXECUTED:
            protocol = self.adapter.protocol
            latency = command.execution_latency_s
            if latency is not None:
                self._series(self.context.metrics.execution_latency, protocol).observe(latency)
            if self._command_issued_t is not None and command.reached_t is not None:
                self.context.kpi.command_executed(command.reached_t - self._command_issued_t)
            self._series(self.context.metrics.executions, self.asset_id, protocol, "executed").inc()
            self._enter(AssetState.EXECUTING, t, "measured power reached the setpoint")

    async def _write_wanted(self, t: float) -> None:
        if self._wanted is None:
            return
        setpoint, dispatch_id, product, issued_t = self._wanted
        setpoint = min(self.limits.max_mw, max(self.limits.min_mw, setpoint))
        current = self.command_now
        retry = current is not None and current.state in (
            CommandState.NACKED,
            CommandState.ACK_TIMEOUT,
        )
        # A timed-out write the device was read holding is acknowledged by that read
        # (`_landed`), so it is no retry; one still in doubt is resent: only an answer ends
        # the doubt, and a held command left alone kept a stuck device unjudged for good.
        if (
            current is not None
            and not retry
            and abs(current.setpoint_mw - setpoint) <= self.deadband_mw
        ):
            return
        if retry and not self._retry_token(t):
            return
        command = Command(self.asset_id, setpoint, self.config.policy, t)
        if current is not None and not current.is_terminal:
            current.supersede(t)
        self.command_now = command
        self._command_issued_t = issued_t if issued_t is not None else t
        log = _CommandLog(self._log, product, dispatch_id)
        protocol = self.adapter.protocol
        command.sent(t)
        self._enter(AssetState.COMMANDED, t, f"setpoint {setpoint:.3f} MW")
        self._series(self.context.metrics.commands, self.asset_id, product, protocol).inc()
        self.context.kpi.command_sent()
        if self._debug:
            log.bound.debug("command_sent", setpoint_mw=setpoint)
        fence = self.context.fence
        try:
            if fence is None:
                ack = await self._io(self.adapter.write_setpoint(setpoint))
            else:
                write = self.adapter.write_setpoint(setpoint, fence=fence.current)  # type: ignore[call-arg]
                ack = await self._io(write)
        except MapMismatchError as exc:
            self._quarantine(t, exc.reason)
            return
        except DeviceFencedError as exc:
            # Not the device's failure: this owner lost the partition; nothing executed.
            self.fenced += 1
            log.bound.warning("command_fenced", setpoint_mw=setpoint, reason=exc.reason)
            self.command_now = None
            return
        except SetpointOutsideLimitsError as exc:
            # Our request, not its failure: nothing was sent, the device stays at what it
            # was last told (the watch still expects that); the next wanted setpoint goes.
            log.bound.info("setpoint_outside_limits", setpoint_mw=setpoint, reason=exc.reason)
            self.command_now = None
            return
        except DeviceRefusedError as exc:
            command.refused(self.context.clock.now(), exc.reason)
            self._series(self.context.metrics.acks, self.asset_id, protocol, "refused").inc()
            log.bound.warning("command_refused", setpoint_mw=setpoint, reason=exc.reason)
            self.breaker.record_failure(t)
            self._fail(
                AssetState.DEGRADED, t, f"refused {setpoint:.3f} MW: {exc.reason}", REFUSED, t
            )
            self.command_now = None  # a refused setpoint is no test of health
            return
        except DeviceFaultError as exc:
            self.breaker.record_failure(t)
            self._fail(AssetState.DEGRADED, t, f"device fault: {exc.reason}", DEVICE_FAULT, t)
            return
        except (DeviceTimeoutError, DeviceError) as exc:
            self._series(self.context.metrics.acks, self.asset_id, protocol, "timeout").inc()
            log.bound.warning("command_unanswered", setpoint_mw=setpoint, reason=exc.reason)
            self.breaker.record_failure(t)
            self._unsure_until = float("inf")
            reading = self.telemetry
            self._lost = (
                t,
                setpoint,
                None if reading is None else reading.min_mw,
                None if reading is None else reading.max_mw,
                None if current is None else current.setpoint_mw,
            )
            return  # the command's ack deadline fires on a later tick
        acked_at = self.context.clock.now()
        command.acked(acked_at, ack.read_back_mw)
        self._lost = None
        if self._unsure_until == float("inf"):  # the first answer after a lost one
            swing = self.limits.max_mw - self.limits.min_mw
            self._unsure_until = (
                acked_at
                + self.config.execution_lag_s
                + swing / max(self.limits.ramp_mw_per_s, 1e-9)
            )
        self.breaker.record_success(acked_at)
        if command.state is CommandState.NACKED:
            self._series(self.context.metrics.acks, self.asset_id, protocol, "refused").inc()
            self._fail(AssetState.DEGRADED, acked_at, "read back another setpoint", REFUSED, t)
            self.command_now = None
            return
        self._series(self.context.metrics.acks, self.asset_id, protocol, "acknowledged").inc()
        self._series(self.context.metrics.ack_latency, protocol).observe(ack.latency_s)
        self.context.kpi.command_acked(acked_at - self._command_issued_t)
        reading = self.telemetry  # the reference follows it from when it was sent
        self.watch.commanded(
            t,
            setpoint,
            None if reading is None else reading.min_mw,
            None if reading is None else reading.max_mw,
            acked_at,
        )
        self._enter(AssetState.ACKNOWLEDGED, acked_at, "write acknowledged")
        if self._debug:
            log.bound.debug("command_acknowledged", setpoint_mw=setpoint, latency_s=ack.latency_s)

    # --- helpers -------------------------------------------------------------------------

    def _series(self, family: Any, *labels: str) -> Any:
        """`family.labels(*labels)`, looked up once per actor."""
        key = (id(family), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(*labels)
        return child

    def _io(self, call: Awaitable[T]) -> Awaitable[T]:
        """`call` with the actor's deadline (`DeviceTimeoutError` past it); an adapter that
        keeps the deadline itself (`_in_process`) is awaited as it is: no deadline task,
        and no coroutine of its own wrapping each call (at 5,000 assets every read and
        write resumed through it)."""
        if self._in_process:  # answers or raises in time by itself
            return call
        return self._within_deadline(call)

    async def _within_deadline(self, call: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(call, self.config.io_timeout_s)
        except TimeoutError:
            raise DeviceTimeoutError(
                self.asset_id, f"no answer within {self.config.io_timeout_s:g} s"
            ) from None

    def _retry_token(self, t: float) -> bool:
        granted = self.context.budgets.try_acquire(self.context.pool, self.adapter.protocol, t)
        outcome = "granted" if granted else "denied"
        self.context.metrics.budget.labels(self.context.pool, self.adapter.protocol, outcome).inc()
        return granted

    def _enter(self, to_state: AssetState, t: float, reason: str) -> None:
        if self.state.state is to_state and to_state is not AssetState.COMMANDED:
            return
        if not self.state.can(to_state):
            return
        before = self.state.state
        self.state.transition(to_state, t, reason)
        self._series(self.context.metrics.asset_states, to_state.value).inc()
        if self._debug:
            self._log.debug(
                "asset_state", from_state=before.value, to_state=to_state.value, reason=reason, t=t
            )

    def _fail(
        self,
        to_state: AssetState,
        t: float,
        reason: str,
        evidence: str,
        since: float | None = None,
    ) -> None:
        """Take the asset out of the pool at `t` [s] for `reason`, found by `evidence`
        (`dispatch.kpi`), observable since `since` [s].

        The KPIs count the failure as found when the evidence arrived (now), not at `t`:
        a read's answer comes back up to a few hundred ms after the turn that asked for it
        began, and detection stamped with the turn's start (as it was) read up to 0.4 s
        early over a busy Modbus link."""
        found = max(t, self.context.clock.now())
        if self.state.state is to_state or not self.state.can(to_state):
            if evidence != self._failed_by:  # new evidence of a failure already acted on
                self._failed_by = evidence
                self.context.kpi.asset_failed(
                    self.asset_id, found, evidence, since=since, reason=reason
                )
            return
        self._failed_by = evidence
        before = self.state.state
        self.state.transition(to_state, t, reason)
        self._series(self.context.metrics.asset_states, to_state.value).inc()
        self.context.metrics.breaker_open.labels(self.asset_id).set(1)
        self.context.kpi.asset_failed(self.asset_id, found, evidence, since=since, reason=reason)
        dispatch_id = self._wanted[1] if self._wanted else None
        self._log.warning(
            "asset_left_pool",
            from_state=before.value,
            state=to_state.value,
            reason=reason,
            evidence=evidence,
            t=t,
            **dispatch_fields(dispatch_id),
        )

    def _quarantine(self, t: float, reason: str) -> None:
        """Found by the answer to a request of the turn that began at `t` [s]: found now (a
        firmware change during the request is after the turn began)."""
        self._read_failed()
        now = max(t, self.context.clock.now())
        self._fail(AssetState.QUARANTINED, now, f"quarantined: {reason}", MAP_MISMATCH, t)

    def _post(self) -> None:
        self.context.board.post(
            BoardEntry(
                self.asset_id,
                self.telemetry,
                self.state.state.value,
                self.in_pool,
                self.read_t,
                self.last_read_failed,
            )
        )


class _CommandLog:
    """The actor's logger bound to one command's product and dispatch fields, bound when
    first used (most commands log nothing that is kept)."""

    __slots__ = ("_bound", "_dispatch_id", "_log", "_product")

    def __init__(self, log: Any, product: str, dispatch_id: str) -> None:
        self._log = log
        self._product = product
        self._dispatch_id = dispatch_id
        self._bound: Any = None

    @property
    def bound(self) -> Any:
        """The logger with ``product`` and the dispatch id's fields."""
        if self._bound is None:
            self._bound = self._log.bind(
                product=self._product, **dispatch_fields(self._dispatch_id)
            )
        return self._bound
