"""The next delivery day planned on a second thread while the day before is booked.

A backtest's days depend on each other only through what a day's plan leaves behind (the
batteries' state of charge, units on or off, heat and EV energy): once day D's plan is
known, day D+1 can be planned, while D is still being cleared, settled and written into
the tables. `NextDay` runs D+1's planning on one worker thread meanwhile. HiGHS solves
outside the GIL, so on a machine with a second core the booking of D and most of D+1's
solve happen at the same time (measured in `benchmarks/backtest.py`).

The result never depends on the thread: a plan started ahead is used only if it was
started for the same day from the very inputs the day is planned from (the same
objects: `inputs` are compared by identity);
otherwise it is waited for, thrown away and the day planned again in the calling thread.
Exceptions raised while planning ahead are raised again where the plan is taken, as if
the day had been planned there.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from typing import Any, Generic, TypeVar

__all__ = ["NextDay"]

T = TypeVar("T")


class NextDay(Generic[T]):
    """At most one planning job ahead, keyed by its day and the objects it reads."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="backtest-next-day")
        self._pending: tuple[date, tuple[Any, ...], Future[T]] | None = None
        self.used = 0
        """Plans taken from the thread (for tests and the benchmark)."""
        self.discarded = 0
        """Plans started ahead and thrown away because the inputs changed."""

    def start(self, day: date, inputs: tuple[Any, ...], job: Callable[[], T]) -> None:
        """Run `job` (the plan of `day`) on the worker thread; `inputs` are the objects it
        reads that the booking of the day before could still replace."""
        self._drop()
        self._pending = (day, inputs, self._pool.submit(job))

    def take(self, day: date, inputs: tuple[Any, ...], job: Callable[[], T]) -> T:
        """`job`'s result: the one started ahead for `day` from the same `inputs` (the same
        objects), else `job` run now in the calling thread."""
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == day and _same(pending[1], inputs):
            self.used += 1
            return pending[2].result()
        if pending is not None:
            self._pending = pending
            self._drop()
        return job()

    def close(self) -> None:
        """Wait for a job still running and stop the thread."""
        self._drop()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> NextDay[T]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _drop(self) -> None:
        if self._pending is None:
            return
        future = self._pending[2]
        self._pending = None
        self.discarded += 1
        future.exception()  # wait: a plan must never run beside the one that replaces it


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))
