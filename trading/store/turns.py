"""A reentrant lock granted in the order it was asked for.

`threading.RLock` wakes a waiting thread when it is released, but the thread that released
it runs on and usually takes it straight back: a writer looping over many short
transactions (the chunks of a large batch, `trading.store.chunked`) would then hold the
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

    def __enter__(self) -> TurnLock:
        me = threading.get_ident()
        with self._changed:
            if self._owner == me:
                self._depth += 1
                return self
            ticket = self._next_ticket
            self._next_ticket += 1
            while self._serving != ticket:
                self._changed.wait()
            self._owner, self._depth = me, 1
        return self

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
                self._changed.notify_all()
