"""An asset's availability as the dispatcher sees it, and the table of allowed changes.

- AVAILABLE: healthy, no command in flight; may be allocated and written.
- COMMANDED: a command was sent, no answer yet.
- ACKNOWLEDGED: the command was acked; not yet executed.
- EXECUTING: measured power holds the commanded setpoint.
- DEGRADED: state drift (acked but not executing) or a deviation; excluded from allocation
  and not written until a health check passes (DEGRADED -> AVAILABLE).
- UNAVAILABLE: the device does not answer.
- QUARANTINED: its register map no longer fits (map mismatch, firmware change): never
  written until an operator or a successful re-negotiation clears it (`clear_quarantine`).

Times `t` are monotonic seconds injected by the caller.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from dispatch.control.errors import InvalidTransitionError


class AssetState(StrEnum):
    """An asset's availability."""

    AVAILABLE = "available"
    COMMANDED = "commanded"
    ACKNOWLEDGED = "acknowledged"
    EXECUTING = "executing"
    DEGRADED = "degraded"
    UNAVAILABLE = "unavailable"
    QUARANTINED = "quarantined"


class QuarantineClearance(StrEnum):
    """Who may take an asset out of quarantine."""

    OPERATOR = "operator"
    RENEGOTIATION = "renegotiation"
    """The adapter identified the device again and a register map fits."""


_S = AssetState

ALLOWED_TRANSITIONS: MappingProxyType[AssetState, frozenset[AssetState]] = MappingProxyType(
    {
        _S.AVAILABLE: frozenset({_S.COMMANDED, _S.DEGRADED, _S.UNAVAILABLE, _S.QUARANTINED}),
        # COMMANDED -> COMMANDED: a newer command superseded the one in flight.
        # COMMANDED -> AVAILABLE / DEGRADED: refused (the policy decides which).
        _S.COMMANDED: frozenset(
            {
                _S.COMMANDED,
                _S.ACKNOWLEDGED,
                _S.AVAILABLE,
                _S.DEGRADED,
                _S.UNAVAILABLE,
                _S.QUARANTINED,
            }
        ),
        # ACKNOWLEDGED -> DEGRADED: execution timeout (state drift).
        _S.ACKNOWLEDGED: frozenset(
            {_S.EXECUTING, _S.COMMANDED, _S.DEGRADED, _S.UNAVAILABLE, _S.QUARANTINED}
        ),
        # EXECUTING -> DEGRADED: deviation; -> AVAILABLE: the command ended (released).
        _S.EXECUTING: frozenset(
            {_S.COMMANDED, _S.AVAILABLE, _S.DEGRADED, _S.UNAVAILABLE, _S.QUARANTINED}
        ),
        # DEGRADED -> AVAILABLE: a health check passed. Never COMMANDED directly.
        _S.DEGRADED: frozenset({_S.AVAILABLE, _S.UNAVAILABLE, _S.QUARANTINED}),
        # UNAVAILABLE -> DEGRADED: answers again but its state is unknown until checked.
        _S.UNAVAILABLE: frozenset({_S.AVAILABLE, _S.DEGRADED, _S.QUARANTINED}),
        # Only through `clear_quarantine`.
        _S.QUARANTINED: frozenset({_S.AVAILABLE}),
    }
)
"""For each state, the states it may move to."""

ALLOCATABLE_STATES: frozenset[AssetState] = frozenset(
    {_S.AVAILABLE, _S.COMMANDED, _S.ACKNOWLEDGED, _S.EXECUTING}
)
"""States in which an asset takes part in allocation (the `include` mask)."""

WRITABLE_STATES: frozenset[AssetState] = ALLOCATABLE_STATES
"""States in which a setpoint may be written to the asset."""


@dataclass(frozen=True)
class AssetTransition:
    """One recorded change of an asset's state at monotonic time `t` [s], and why."""

    from_state: AssetState
    to_state: AssetState
    t: float
    reason: str


class AssetStateMachine:
    """One asset's availability, changed only along `ALLOWED_TRANSITIONS`, every change
    recorded with its time and reason (the latest `keep` of them, if given)."""

    def __init__(
        self,
        asset_id: str,
        t: float,
        initial: AssetState = AssetState.UNAVAILABLE,
        *,
        keep: int | None = None,
    ) -> None:
        """Start in `initial` at `t` (default UNAVAILABLE: not yet connected); keep the
        latest `keep` changes (None: all). An asset actor changes state about three times
        a second (commanded, acknowledged, executing): kept for a whole run, 5,000 assets
        add 15,000 records a second that every garbage collection of the older
        generations walks."""
        if keep is not None and keep < 1:
            raise ValueError(f"keep={keep}: keep at least the latest change")
        self.asset_id = asset_id
        self._state = initial
        self._history: deque[AssetTransition] = deque(maxlen=keep)
        self._since = t

    @property
    def state(self) -> AssetState:
        """The current state."""
        return self._state

    @property
    def since(self) -> float:
        """Monotonic time [s] of the last change (or of creation)."""
        return self._since

    @property
    def history(self) -> tuple[AssetTransition, ...]:
        """Every change so far (the latest `keep`), oldest first."""
        return tuple(self._history)

    @property
    def allocatable(self) -> bool:
        """True if the asset may take part in allocation now."""
        return self._state in ALLOCATABLE_STATES

    @property
    def writable(self) -> bool:
        """True if a setpoint may be written to the asset now."""
        return self._state in WRITABLE_STATES

    def can(self, to_state: AssetState) -> bool:
        """True if `transition(to_state, ...)` would be accepted now."""
        return (
            self._state is not AssetState.QUARANTINED
            and to_state in ALLOWED_TRANSITIONS[self._state]
        )

    def transition(self, to_state: AssetState, t: float, reason: str) -> None:
        """Move to `to_state` at `t` [s] for `reason`; `InvalidTransitionError` if the table
        forbids it (leaving QUARANTINED always needs `clear_quarantine`)."""
        if not self.can(to_state):
            hint = " (use clear_quarantine)" if self._state is AssetState.QUARANTINED else ""
            raise InvalidTransitionError(
                f"asset {self.asset_id}", self._state.name, to_state.name, reason + hint
            )
        self._record(to_state, t, reason)

    def clear_quarantine(self, t: float, by: QuarantineClearance, reason: str) -> None:
        """Take the asset out of quarantine to AVAILABLE at `t`: an operator's decision or a
        successful re-negotiation of its map, recorded with who and why."""
        if self._state is not AssetState.QUARANTINED:
            raise InvalidTransitionError(
                f"asset {self.asset_id}",
                self._state.name,
                AssetState.AVAILABLE.name,
                "clear_quarantine",
            )
        self._record(AssetState.AVAILABLE, t, f"quarantine cleared by {by.value}: {reason}")

    def _record(self, to_state: AssetState, t: float, reason: str) -> None:
        if t < self._since:
            raise ValueError(f"asset {self.asset_id}: time went backwards ({t} < {self._since})")
        self._history.append(AssetTransition(self._state, to_state, t, reason))
        self._state = to_state
        self._since = t
