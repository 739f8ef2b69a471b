"""A partition's wall clock wakes its sleepers due within one quantum on one timer, none of
them before its time and none much after it; one cancelled does not hold up the others."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dispatch.cluster.field import WAKE_QUANTUM_S, WallClock


def test_sleepers_due_within_a_quantum_share_a_timer_and_wake_in_time() -> None:
    clock = WallClock(time.time())

    async def main() -> tuple[int, list[float], bool]:
        loop = asyncio.get_running_loop()
        timers = 0
        call_at = loop.call_at

        def counting(when: float, callback: Any, *args: Any, **kw: Any) -> Any:
            nonlocal timers
            timers += 1
            return call_at(when, callback, *args, **kw)

        loop.call_at = counting  # type: ignore[method-assign]
        start = clock.now() + 0.05
        due = [start + 0.0002 * k for k in range(40)]  # 8 ms of turns: two or three quanta
        lateness: list[float] = []

        async def sleeper(t: float) -> None:
            await clock.sleep_until(t)
            lateness.append(clock.now() - t)

        cancelled = asyncio.ensure_future(clock.sleep_until(due[5]))
        tasks = [asyncio.ensure_future(sleeper(t)) for t in due]
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(*tasks)
        await clock.sleep_until(clock.now() - 1.0)  # in the past: at once, no timer
        loop.call_at = call_at  # type: ignore[method-assign]
        return timers, lateness, cancelled.cancelled()

    timers, lateness, cancelled = asyncio.run(main())
    assert timers <= 3  # one per quantum (8 ms: two or three), not one per sleeper
    assert len(lateness) == 40
    assert min(lateness) >= -0.002  # the loop's own clock resolution, at most
    assert max(lateness) <= WAKE_QUANTUM_S + 0.5  # a quantum, and a busy machine's slack
    assert cancelled


def test_sleepers_of_one_quantum_wake_in_the_order_they_are_due() -> None:
    """A scripted event due before a tick in the same quantum must not come after it."""
    clock = WallClock(time.time())

    async def main() -> list[int]:
        woke: list[int] = []
        start = clock.now() + 0.05
        # due last first: went to sleep in the opposite order of their times
        due = [start + 0.0009 * k for k in range(4, -1, -1)]  # within 3.6 ms

        async def sleeper(k: int, t: float) -> None:
            await clock.sleep_until(t)
            woke.append(k)

        await asyncio.gather(*(sleeper(k, t) for k, t in enumerate(due)))
        return woke

    woke = asyncio.run(main())
    assert woke == [4, 3, 2, 1, 0]
