"""Background work gives way to the event loop while the loop has work of its own.

A large batch's checks, rows and answer are Python run in worker threads (the API's thread
pool, the bid writer's bulk lane). They share the interpreter lock with the event loop,
which CPython hands between runnable threads every switch interval: while a 5,000-bid
batch is worked on, every other client's request ran at about half speed, and a single
long C call (one ``json.dumps`` of the whole batch, one pydantic call over every bid)
stopped the loop for its whole length (50 ms and more).

`Pacer` gives the loop priority. The loop beats (`Pacer.beat`, from `Pacer.watch`'s task,
only while background work is in flight) whenever it is free; background code calls
`pace` between small steps (a bid, a row, a chunk), which does nothing unless its thread
runs as background (`background`, `in_background`), has worked `work_s` since it last gave
way, and the loop has not beaten for `lag_s` (it is busy, or waiting for the lock). Then
the thread sleeps `yield_s`, holding no lock, so that the loop runs alone. An idle loop
beats every millisecond, and a batch then runs at full speed; under load it runs at a
fraction (`work_s / (work_s + yield_s)` at least) while the loop's requests go first.

Never pace while holding a lock another request waits for (SQLite's write lock: see
`held`): the wait would be passed on to every writer behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

WORK_S = 0.002
"""Background work between two chances to give way [s]."""
YIELD_S = 0.004
"""How long background work sleeps when the loop is busy [s]."""
LAG_S = 0.002
"""The loop counts as busy when it has not beaten for this long [s]."""
BEAT_S = 0.001
"""How often a free loop beats while background work is in flight [s]."""


class Pacer:
    """Process-wide priority of the event loop over background threads (module docstring).

    Times in seconds. `clock` and `sleep` may be replaced in tests.
    """

    def __init__(
        self,
        *,
        work_s: float = WORK_S,
        yield_s: float = YIELD_S,
        lag_s: float = LAG_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.work_s, self.yield_s, self.lag_s = work_s, yield_s, lag_s
        self._clock, self._sleep = clock, sleep
        self._beat = clock()
        self._watchers = 0
        self._ticker: asyncio.Task[None] | None = None
        self._local = threading.local()
        self.yields = 0
        """How often background work gave way (for tests and diagnosis)."""

    # --- the loop's side -------------------------------------------------------------------

    def beat(self) -> None:
        """The loop is free now."""
        self._beat = self._clock()

    @contextlib.asynccontextmanager
    async def watch(self) -> AsyncIterator[None]:
        """While in the block (on the event loop), the loop beats every `BEAT_S` it is free:
        enter it around background work the loop waits for (nested and concurrent uses
        share one beating task)."""
        self._watchers += 1
        if self._ticker is None or self._ticker.done():
            self.beat()
            self._ticker = asyncio.get_running_loop().create_task(self._tick())
        try:
            yield
        finally:
            self._watchers -= 1
            if self._watchers == 0 and self._ticker is not None:
                self._ticker.cancel()
                self._ticker = None

    async def _tick(self) -> None:
        while True:
            self.beat()
            await asyncio.sleep(BEAT_S)

    # --- the background's side -------------------------------------------------------------

    @contextlib.contextmanager
    def background(self) -> Iterator[None]:
        """The calling thread's work in the block is background: `pace` may pause it."""
        local = self._local
        before = getattr(local, "depth", 0)
        local.depth = before + 1
        if before == 0:
            local.since = self._clock()
        try:
            yield
        finally:
            local.depth = before

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """While in the block the calling thread holds a lock others wait for: no pauses."""
        local = self._local
        local.holding = getattr(local, "holding", 0) + 1
        try:
            yield
        finally:
            local.holding -= 1

    def pace(self) -> None:
        """Give way to the loop if this thread is background, has worked `work_s` since it
        last did, holds no lock others wait for, and the loop is busy; else return at once."""
        local = self._local
        if not getattr(local, "depth", 0) or getattr(local, "holding", 0):
            return
        now = self._clock()
        if now - local.since < self.work_s:
            return
        if self._watchers and now - self._beat > self.lag_s:
            self.yields += 1
            self._sleep(self.yield_s)
            now = self._clock()
        local.since = now


PACER = Pacer()
"""The process's pacer: the API's loop watches it, batch work paces by it."""


def pace() -> None:
    """`PACER.pace`: call between small steps of work that may run as background."""
    PACER.pace()


def in_background(function: Callable[P, T]) -> Callable[P, T]:
    """`function`, run as background work of `PACER` (for a worker thread)."""

    @wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with PACER.background():
            return function(*args, **kwargs)

    return run
