"""The two-phase life of one command (a setpoint [MW]) to one asset.

A write answered is not a setpoint executed (see `dispatch.device`): a command is first
*acked* (the device took the write and read it back) and only later *executed* (measured
power stayed within tolerance of the setpoint for a dwell time). Times `t` are monotonic
seconds injected by the caller.

    CREATED --sent--> SENT --acked--> ACKED --observe (in band for dwell_s)--> EXECUTED
                        |               |                                         |
                  refused/bad read-back |                                  observe (out of band
                        v               | tick/observe past the deadline      for deviation_dwell_s)
                     NACKED             v                                         v
                 tick past ack      EXEC_TIMEOUT ("state drift")              DEVIATED
                 deadline: ACK_TIMEOUT
    any non-terminal --supersede--> SUPERSEDED

Terminal states never change again. EXECUTED is not terminal: it is watched for deviation
until superseded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dispatch.control.errors import InvalidTransitionError


class CommandState(StrEnum):
    """Where a command is in its life."""

    CREATED = "created"
    SENT = "sent"
    ACKED = "acked"
    """The write was answered and read back within tolerance; not yet executed."""
    EXECUTED = "executed"
    """Measured power stayed in the band for the dwell time."""
    NACKED = "nacked"
    """The device refused the write, or read back another value."""
    ACK_TIMEOUT = "ack_timeout"
    """No answer by the ack deadline: the device may have executed; read back before
    re-sending."""
    EXEC_TIMEOUT = "exec_timeout"
    """Acked but not executed by the execution deadline: state drift."""
    DEVIATED = "deviated"
    """Was executed, then measured power left the band."""
    SUPERSEDED = "superseded"
    """A newer command replaced it."""


TERMINAL_STATES: frozenset[CommandState] = frozenset(
    {
        CommandState.NACKED,
        CommandState.ACK_TIMEOUT,
        CommandState.EXEC_TIMEOUT,
        CommandState.DEVIATED,
        CommandState.SUPERSEDED,
    }
)


@dataclass(frozen=True)
class CommandTransition:
    """One recorded change of state at monotonic time `t` [s], with the reason in words."""

    from_state: CommandState
    to_state: CommandState
    t: float
    reason: str


@dataclass(frozen=True)
class ConfirmationPolicy:
    """Deadlines [s] and tolerances [MW] of command confirmation.

    - `ack_timeout_s`: from `sent` to the latest ack.
    - `response_s`: from the ack to the execution deadline (the asset's response time,
      `DeviceLimits.response_s`). The dwell must complete by then, so the asset must reach
      the band by `deadline - dwell_s`: keep `dwell_s` well below `response_s`.
    - `dwell_s`: how long measured power must stay in the band to count as executed.
    - `tolerance_mw` / `tolerance_rel`: the band half-width is the larger of the absolute
      tolerance [MW] and the relative one (fraction of |setpoint|).
    - `read_back_tolerance_mw`: an ack whose read-back differs more than this is a refusal.
    - `deviation_dwell_s`: how long an executed command may be out of band before DEVIATED
      (0: the first out-of-band reading).
    """

    ack_timeout_s: float = 2.0
    response_s: float = 5.0
    dwell_s: float = 1.0
    tolerance_mw: float = 0.01
    tolerance_rel: float = 0.0
    read_back_tolerance_mw: float = 0.001
    deviation_dwell_s: float = 0.0

    def band_mw(self, setpoint_mw: float) -> float:
        """Half-width [MW] of the execution band around `setpoint_mw`."""
        return max(self.tolerance_mw, self.tolerance_rel * abs(setpoint_mw))


class Command:
    """One setpoint [MW, + injection] to one asset, from creation to its last state.

    Feed it events in time order: `sent`, `acked` or `refused`, then `observe` for each
    telemetry reading and `tick` on each control tick (deadlines fire only on these). At the
    same `t`, give observations before the tick. `observe` and `tick` never raise on a state
    they do not concern; `sent`, `acked`, `refused` and `supersede` raise
    `InvalidTransitionError` where they make no sense. Time going backwards raises ValueError.
    """

    def __init__(
        self, asset_id: str, setpoint_mw: float, policy: ConfirmationPolicy, t: float
    ) -> None:
        self.asset_id = asset_id
        self.setpoint_mw = setpoint_mw
        self.policy = policy
        self.created_t = t
        self._state = CommandState.CREATED
        self._transitions: list[CommandTransition] = []
        self._last_t = t
        self.sent_t: float | None = None
        self.acked_t: float | None = None
        self.read_back_mw: float | None = None
        self.reached_t: float | None = None
        """When measured power entered the band for the dwell that confirmed execution."""
        self.executed_t: float | None = None
        """When execution was confirmed (dwell complete)."""
        self._in_band_since: float | None = None
        self._out_of_band_since: float | None = None

    # --- state -------------------------------------------------------------------------

    @property
    def state(self) -> CommandState:
        """The current state."""
        return self._state

    @property
    def transitions(self) -> tuple[CommandTransition, ...]:
        """Every change of state so far, oldest first."""
        return tuple(self._transitions)

    @property
    def is_terminal(self) -> bool:
        """True once the command can no longer change state."""
        return self._state in TERMINAL_STATES

    @property
    def needs_read_back(self) -> bool:
        """True after an ack timeout: read the device's setpoint before sending again."""
        return self._state is CommandState.ACK_TIMEOUT

    @property
    def ack_deadline(self) -> float | None:
        """Monotonic time [s] by which the ack is due; None before `sent`."""
        return None if self.sent_t is None else self.sent_t + self.policy.ack_timeout_s

    @property
    def exec_deadline(self) -> float | None:
        """Monotonic time [s] by which execution must be confirmed; None before the ack."""
        return None if self.acked_t is None else self.acked_t + self.policy.response_s

    @property
    def ack_latency_s(self) -> float | None:
        """Seconds from `sent` to the ack; None if not acked."""
        if self.acked_t is None or self.sent_t is None:
            return None
        return self.acked_t - self.sent_t

    @property
    def execution_latency_s(self) -> float | None:
        """Seconds from the ack to when measured power entered the band for good (the
        device's response, without the dwell); None if not executed."""
        if self.reached_t is None or self.acked_t is None:
            return None
        return self.reached_t - self.acked_t

    def in_band(self, measured_mw: float) -> bool:
        """True if `measured_mw` [MW] is within tolerance of the setpoint."""
        return abs(measured_mw - self.setpoint_mw) <= self.policy.band_mw(self.setpoint_mw)

    # --- events ------------------------------------------------------------------------

    def sent(self, t: float) -> None:
        """The write left for the device at `t`."""
        self._require(CommandState.SENT, "sent", t, CommandState.CREATED)
        self.sent_t = t
        self._move(CommandState.SENT, t, "write sent")

    def acked(self, t: float, read_back_mw: float | None) -> None:
        """The device answered the write at `t`; `read_back_mw` [MW] is the setpoint read
        back (None where it cannot be read). A read-back off by more than the tolerance makes
        the command NACKED. A late ack (past the deadline, before a `tick` saw it) counts."""
        self._require(CommandState.ACKED, "acked", t, CommandState.SENT)
        self.read_back_mw = read_back_mw
        if (
            read_back_mw is not None
            and abs(read_back_mw - self.setpoint_mw) > self.policy.read_back_tolerance_mw
        ):
            self._move(
                CommandState.NACKED,
                t,
                f"read back {read_back_mw} MW, setpoint {self.setpoint_mw} MW",
            )
            return
        self.acked_t = t
        self._move(CommandState.ACKED, t, "write acknowledged")

    def refused(self, t: float, reason: str) -> None:
        """The device refused the write at `t` (e.g. a Modbus exception)."""
        self._require(CommandState.NACKED, "refused", t, CommandState.SENT)
        self._move(CommandState.NACKED, t, f"refused: {reason}")

    def supersede(self, t: float, reason: str = "a newer command replaced it") -> None:
        """A newer command to the same asset replaces this one at `t`."""
        self._require(
            CommandState.SUPERSEDED,
            "supersede",
            t,
            CommandState.CREATED,
            CommandState.SENT,
            CommandState.ACKED,
            CommandState.EXECUTED,
        )
        self._move(CommandState.SUPERSEDED, t, reason)

    def observe(self, t: float, measured_mw: float) -> None:
        """A telemetry reading [MW] at `t`: may confirm execution, expire it, or detect a
        deviation. Ignored before the ack and in terminal states."""
        self._advance(t)
        inside = self.in_band(measured_mw)
        if self._state is CommandState.ACKED:
            deadline = self.exec_deadline
            assert deadline is not None
            if not inside:
                self._in_band_since = None
            elif self._in_band_since is None:
                self._in_band_since = t
            if (
                self._in_band_since is not None
                and t - self._in_band_since >= self.policy.dwell_s
                and t <= deadline
            ):
                self.reached_t = self._in_band_since
                self.executed_t = t
                self._move(CommandState.EXECUTED, t, f"at {measured_mw} MW for the dwell")
            elif t >= deadline:
                self._expire(t, measured_mw)
        elif self._state is CommandState.EXECUTED:
            if inside:
                self._out_of_band_since = None
                return
            if self._out_of_band_since is None:
                self._out_of_band_since = t
            if t - self._out_of_band_since >= self.policy.deviation_dwell_s:
                self._move(
                    CommandState.DEVIATED,
                    t,
                    f"measured {measured_mw} MW, setpoint {self.setpoint_mw} MW",
                )

    def tick(self, t: float) -> None:
        """The control clock at `t`: fires the ack and execution deadlines."""
        self._advance(t)
        if self._state is CommandState.SENT:
            deadline = self.ack_deadline
            assert deadline is not None
            if t >= deadline:
                self._move(
                    CommandState.ACK_TIMEOUT,
                    t,
                    f"no answer within {self.policy.ack_timeout_s} s; read back before resending",
                )
        elif self._state is CommandState.ACKED:
            deadline = self.exec_deadline
            assert deadline is not None
            if t >= deadline:
                self._expire(t, None)

    # --- internals ---------------------------------------------------------------------

    def _expire(self, t: float, measured_mw: float | None) -> None:
        seen = "" if measured_mw is None else f", measured {measured_mw} MW"
        self._move(
            CommandState.EXEC_TIMEOUT,
            t,
            f"acked but not executed within {self.policy.response_s} s"
            f" (setpoint {self.setpoint_mw} MW{seen})",
        )

    def _advance(self, t: float) -> None:
        if t < self._last_t:
            raise ValueError(
                f"command to {self.asset_id}: time went backwards ({t} < {self._last_t})"
            )
        self._last_t = t

    def _require(
        self, to_state: CommandState, event: str, t: float, *from_states: CommandState
    ) -> None:
        if self._state not in from_states:
            raise InvalidTransitionError(
                f"command to {self.asset_id}", self._state.name, to_state.name, event
            )
        self._advance(t)

    def _move(self, to_state: CommandState, t: float, reason: str) -> None:
        self._transitions.append(CommandTransition(self._state, to_state, t, reason))
        self._state = to_state
