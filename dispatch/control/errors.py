"""The error of the control state machines."""

from __future__ import annotations


class InvalidTransitionError(RuntimeError):
    """A state machine was asked for a transition its rules do not allow.

    `from_state` and `to_state` are the states' names (e.g. "EXECUTED", "SENT"); `event`
    is the method or reason that asked for it.
    """

    def __init__(self, subject: str, from_state: str, to_state: str, event: str) -> None:
        super().__init__(
            f"{subject}: invalid transition from {from_state} to {to_state} (event {event!r})"
        )
        self.from_state = from_state
        self.to_state = to_state
        self.event = event
