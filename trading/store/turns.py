"""A reentrant lock granted in the order it was asked for.

`threading.RLock` wakes a waiting thread when it is released, but the thread that released
it runs on and usually takes it straight back: a writer looping over many short
transactions (the chunks of a large batch, `Repository._add_chunked`) would then hold the
database's one write lock for the whole batch after all. `TurnLock` hands it to the
longest waiter instead, so a small submission waits for at most one chunk.
"""

from __future__ import annotations

import threading
from types import TracebackType


class TurnLock:
    """Reentrant lock, first come first served (tickets), for a handful of threads."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._next_ticket = 0
        self._serving = 0
        self._owner: int | None = None
        self._depth = 0
        self._abandoned: set[int] = set()

    def __enter__(self) -> TurnLock:
        me = threading.get_ident()
        with self._changed:
            if self._owner == me:
                self._depth += 1
                return self
            ticket = self._next_ticket
            self._next_ticket += 1
            try:
                while self._serving != ticket:
                    self._changed.wait()
            except BaseException:  # interrupted while waiting: give the turn up
                self._abandoned.add(ticket)
                self._skip_abandoned()
                raise
            self._owner, self._depth = me, 1
        return self

    def _skip_abandoned(self) -> None:
        """Pass over the turns of waiters that gave up (the lock must be free)."""
        if self._owner is not None:
            return
        while self._serving in self._abandoned:
            self._abandoned.discard(self._serving)
            self._serving += 1
        self._changed.notify_all()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        with self._changed:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._serving += 1
                self._skip_abandoned()
