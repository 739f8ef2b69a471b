"""One asyncio actor per asset: it alone talks to its device and owns the asset's state.

The pool controller hands an actor its wanted setpoint (`command`: latest wins, never
waits); the actor runs its own period (1 s by default, at its own phase so that a fleet's
reads spread over the second) and in each:

1. reads telemetry (with a deadline) and posts it on the `TelemetryBoard`;
2. feeds the reading to its command's confirmation state machine (acknowledged and
   executed are two events, each with its deadline) and notices state drift: a device
   that acknowledged but whose measured power did not reach the band of its setpoint
   within its response time, across superseding commands, is marked degraded and leaves
   the pool (the controller re-dispatches its share at the next tick);
3. writes a new setpoint if the wanted one moved by more than the deadband.

Failed assets (no answers: unavailable; drift or refusals: degraded) are probed again only
when their circuit breaker admits a probe (exponential backoff with jitter) and the pool's
and protocol's retry budgets grant a token, so a mass outage never multiplies traffic. An
asset whose device no longer matches its register map (firmware change) is quarantined
and never written to again in this run.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from dispatch.board import BoardEntry, TelemetryBoard
from dispatch.clock import DispatchClock
from dispatch.control.asset_state import AssetState, AssetStateMachine
from dispatch.control.budget import CircuitBreaker, RetryBudgets
from dispatch.control.confirmation import Command, CommandState, ConfirmationPolicy
from dispatch.device import (
    DeviceAdapter,
    DeviceError,
    DeviceLimits,
    DeviceRefusedError,
    DeviceTimeoutError,
    MapMismatchError,
    Telemetry,
)
from dispatch.kpi import KpiRecorder
from dispatch.observability import DispatchMetrics, dispatch_fields, event_log

T = TypeVar("T")

FAILED_STATES = frozenset({AssetState.DEGRADED, AssetState.UNAVAILABLE, AssetState.QUARANTINED})


@dataclass(frozen=True)
class ActorConfig:
    """How an actor works [s, MW]."""

    period_s: float = 1.0
    phase_s: float = 0.0
    """Offset of this actor's reads within the period (spreads a fleet's traffic)."""
    io_timeout_s: float = 0.5
    """Deadline of one read or write."""
    deadband_mw: float = 0.001
    """A wanted setpoint closer than this to the commanded one is not sent."""
    unavailable_after: int = 2
    """Consecutive failed reads after which the asset is unavailable."""
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
        self.state = AssetStateMachine(self.asset_id, context.clock.now())
        self.telemetry: Telemetry | None = None
        self.command_now: Command | None = None
        self._wanted: tuple[float, str, str] | None = None  # setpoint, dispatch id, product
        self._identified = False
        self._failed_reads = 0
        self._drift_since: float | None = None
        self._acked: deque[tuple[float, float]] = deque()
        """(acknowledged at [s], setpoint [MW]) of recent commands, oldest first."""
        self._log = event_log(pool=context.pool, asset=self.asset_id, protocol=adapter.protocol)

    # --- from the pool controller --------------------------------------------------------

    def command(self, setpoint_mw: float, dispatch_id: str, product: str) -> None:
        """Ask for `setpoint_mw` [MW]; written at this actor's next turn (latest wins)."""
        self._wanted = (setpoint_mw, dispatch_id, product)

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
        """One period's work: connect or probe, read, confirm, write, post."""
        t = self.context.clock.now()
        state = self.state.state
        if state is AssetState.QUARANTINED:
            self._post()
            return
        if state in FAILED_STATES or not self._identified:
            await self._probe(t)
        else:
            await self._read(t)
            if self.state.writable:
                await self._write_wanted(t)
        self._post()

    # --- steps ---------------------------------------------------------------------------

    async def _probe(self, t: float) -> None:
        """A failed or new asset: try again only if its breaker and the budgets allow."""
        first_contact = not self._identified and not self.state.history
        if not first_contact:
            if not self.breaker.allow(t):
                return
            if not self._retry_token(t):
                self.breaker.release_probe()
                return
        try:
            if not self._identified:
                await self._io(self.adapter.identify())
                self._identified = True
            reading = await self._io(self.adapter.read())
        except MapMismatchError as exc:
            self._quarantine(t, exc.reason)
            return
        except DeviceError as exc:
            self.breaker.record_failure(t)
            if self.state.state is not AssetState.UNAVAILABLE and self.state.can(
                AssetState.UNAVAILABLE
            ):
                self._fail(AssetState.UNAVAILABLE, t, f"no answer: {exc.reason}")
            return
        self.telemetry = reading
        if self.state.state is AssetState.DEGRADED and not self._healthy(reading):
            self.breaker.record_failure(t)
            return
        self.breaker.record_success(t)
        self._failed_reads = 0
        self._drift_since = None
        self._acked.clear()
        self.command_now = None
        self.context.metrics.breaker_open.labels(self.asset_id).set(0)
        self._enter(AssetState.AVAILABLE, t, "health check passed")

    def _healthy(self, reading: Telemetry) -> bool:
        """A degraded asset is healthy again once it sits at what it was last told."""
        command = self.command_now
        if command is None:
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
        except DeviceError as exc:
            self._failed_reads += 1
            self.breaker.record_failure(t)
            if self._failed_reads >= self.config.unavailable_after:
                self._fail(AssetState.UNAVAILABLE, t, f"no answer: {exc.reason}")
            return
        self._failed_reads = 0
        self.breaker.record_success(t)
        self.telemetry = reading
        self._confirm(t, reading.power_mw)

    def _confirm(self, t: float, measured_mw: float) -> None:
        """Feed the reading to the command; detect execution and state drift."""
        command = self.command_now
        if command is None:
            return
        if self.limits.setpoint_is_limit and measured_mw <= command.setpoint_mw:
            # A cap is obeyed whenever the power is at or below it (less sun is no fault);
            # only a device that stays above its cap is not executing.
            measured_mw = command.setpoint_mw
        before = command.state
        command.observe(t, measured_mw)
        command.tick(t)
        after = command.state
        protocol = self.adapter.protocol
        if after is CommandState.EXECUTED and before is not CommandState.EXECUTED:
            self._drift_since = None
            latency = command.execution_latency_s
            if latency is not None:
                self.context.metrics.execution_latency.labels(protocol).observe(latency)
            self.context.metrics.executions.labels(self.asset_id, protocol, "executed").inc()
            self._enter(AssetState.EXECUTING, t, "measured power reached the setpoint")
        elif command.in_band(measured_mw):
            self._drift_since = None
        if after is CommandState.DEVIATED and before is not CommandState.DEVIATED:
            self.context.metrics.executions.labels(self.asset_id, protocol, "deviated").inc()
            self._fail(AssetState.DEGRADED, t, f"left its setpoint: measured {measured_mw:.3f} MW")
            return
        drifting = after is CommandState.EXEC_TIMEOUT or (
            self._drift_since is not None
            and t - self._drift_since >= self.config.policy.response_s
            and not self._on_its_way(t, command, measured_mw)
        )
        if drifting:
            self.context.metrics.executions.labels(self.asset_id, protocol, "exec_timeout").inc()
            since = self._drift_since if self._drift_since is not None else command.acked_t
            deadline = None if since is None else since + self.config.policy.response_s
            self._fail(
                AssetState.DEGRADED,
                t,
                f"state drift: acknowledged {command.setpoint_mw:.3f} MW but measured "
                f"{measured_mw:.3f} MW after {self.config.policy.response_s:g} s",
                deadline=deadline,
            )

    def _on_its_way(self, t: float, command: Command, measured_mw: float) -> bool:
        """True if the measured power is where a device that follows could be: between the
        setpoint it acknowledged one response time ago and the current one (band added).

        A device that lags a moving setpoint by less than its response time passes; one
        that does not move, or moves slower than it should, falls behind that interval."""
        band = command.policy.band_mw(command.setpoint_mw)
        earlier = [sp for acked_t, sp in self._acked if acked_t <= t - command.policy.response_s]
        reference = earlier[-1] if earlier else command.setpoint_mw
        low = min(reference, command.setpoint_mw) - band
        high = max(reference, command.setpoint_mw) + band
        return low <= measured_mw <= high

    async def _write_wanted(self, t: float) -> None:
        if self._wanted is None:
            return
        setpoint, dispatch_id, product = self._wanted
        setpoint = min(self.limits.max_mw, max(self.limits.min_mw, setpoint))
        current = self.command_now
        retry = current is not None and current.state in (
            CommandState.NACKED,
            CommandState.ACK_TIMEOUT,
        )
        if (
            current is not None
            and not retry
            and abs(current.setpoint_mw - setpoint) <= self.config.deadband_mw
        ):
            return
        if retry and not self._retry_token(t):
            return
        command = Command(self.asset_id, setpoint, self.config.policy, t)
        if current is not None and not current.is_terminal:
            current.supersede(t)
        self.command_now = command
        log = self._log.bind(product=product, **dispatch_fields(dispatch_id))
        protocol = self.adapter.protocol
        command.sent(t)
        self._enter(AssetState.COMMANDED, t, f"setpoint {setpoint:.3f} MW")
        self.context.metrics.commands.labels(self.asset_id, product, protocol).inc()
        self.context.kpi.command_sent()
        log.debug("command_sent", setpoint_mw=setpoint)
        try:
            ack = await self._io(self.adapter.write_setpoint(setpoint))
        except MapMismatchError as exc:
            self._quarantine(t, exc.reason)
            return
        except DeviceRefusedError as exc:
            command.refused(self.context.clock.now(), exc.reason)
            self.context.metrics.acks.labels(self.asset_id, protocol, "refused").inc()
            log.warning("command_refused", setpoint_mw=setpoint, reason=exc.reason)
            self.breaker.record_failure(t)
            self._fail(AssetState.DEGRADED, t, f"refused {setpoint:.3f} MW: {exc.reason}")
            self.command_now = None  # a refused setpoint is no test of health
            return
        except (DeviceTimeoutError, DeviceError) as exc:
            self.context.metrics.acks.labels(self.asset_id, protocol, "timeout").inc()
            log.warning("command_unanswered", setpoint_mw=setpoint, reason=exc.reason)
            self.breaker.record_failure(t)
            return  # the command's ack deadline fires on a later tick
        acked_at = self.context.clock.now()
        command.acked(acked_at, ack.read_back_mw)
        self.breaker.record_success(acked_at)
        if command.state is CommandState.NACKED:
            self.context.metrics.acks.labels(self.asset_id, protocol, "refused").inc()
            self._fail(AssetState.DEGRADED, acked_at, "read back another setpoint")
            self.command_now = None
            return
        self.context.metrics.acks.labels(self.asset_id, protocol, "acknowledged").inc()
        self.context.metrics.ack_latency.labels(protocol).observe(ack.latency_s)
        if self._drift_since is None:
            self._drift_since = acked_at
        self._acked.append((acked_at, setpoint))
        horizon = acked_at - 2 * self.config.policy.response_s
        while len(self._acked) > 1 and self._acked[1][0] <= horizon:
            self._acked.popleft()
        self._enter(AssetState.ACKNOWLEDGED, acked_at, "write acknowledged")
        log.debug("command_acknowledged", setpoint_mw=setpoint, latency_s=ack.latency_s)

    # --- helpers -------------------------------------------------------------------------

    async def _io(self, call: Awaitable[T]) -> T:
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
        self.context.metrics.asset_states.labels(to_state.value).inc()
        self._log.debug(
            "asset_state", from_state=before.value, to_state=to_state.value, reason=reason, t=t
        )

    def _fail(
        self, to_state: AssetState, t: float, reason: str, *, deadline: float | None = None
    ) -> None:
        if self.state.state is to_state or not self.state.can(to_state):
            return
        before = self.state.state
        self.state.transition(to_state, t, reason)
        self.context.metrics.asset_states.labels(to_state.value).inc()
        self.context.metrics.breaker_open.labels(self.asset_id).set(1)
        self.context.kpi.asset_failed(self.asset_id, t, deadline)
        dispatch_id = self._wanted[1] if self._wanted else None
        self._log.warning(
            "asset_left_pool",
            from_state=before.value,
            state=to_state.value,
            reason=reason,
            t=t,
            **dispatch_fields(dispatch_id),
        )

    def _quarantine(self, t: float, reason: str) -> None:
        self._fail(AssetState.QUARANTINED, t, f"quarantined: {reason}")

    def _post(self) -> None:
        self.context.board.post(
            BoardEntry(self.asset_id, self.telemetry, self.state.state.value, self.in_pool)
        )
