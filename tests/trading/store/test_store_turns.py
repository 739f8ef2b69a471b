"""The writers' lock is granted in the order asked for: one releasing it cannot take it
straight back ahead of one waiting (as a batch looping over its chunks would)."""

from __future__ import annotations

import contextlib
import threading
import time

from trading.store.turns import TurnLock


def _queued(lock: TurnLock, name: str, order: list[str]) -> threading.Thread:
    def run() -> None:
        with lock:
            order.append(name)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.05)  # it asks for the lock before the next one does
    return thread


def test_the_lock_goes_to_the_longest_waiter_not_back_to_its_holder() -> None:
    lock = TurnLock()
    order: list[str] = []
    lock.__enter__()
    waiters = [_queued(lock, name, order) for name in ("first", "second")]
    lock.__exit__(None, None, None)
    with lock:  # asked again at once: after those already waiting
        order.append("holder again")
    for waiter in waiters:
        waiter.join(5)
    assert order == ["first", "second", "holder again"]


def test_the_lock_is_reentrant_for_its_holder() -> None:
    lock = TurnLock()
    order: list[str] = []
    with lock:
        with lock:
            order.append("inner")
        waiter = _queued(lock, "other", order)
        order.append("outer")  # still held: the other waits
    waiter.join(5)
    assert order == ["inner", "outer", "other"]


def test_a_waiter_that_gives_up_does_not_block_the_ones_behind_it() -> None:
    lock = TurnLock()
    order: list[str] = []
    lock.__enter__()
    real_wait = lock._changed.wait
    gave_up = threading.Event()

    def quitter() -> None:
        def interrupted(*_args: object) -> bool:
            lock._changed.wait = real_wait  # type: ignore[method-assign]
            raise KeyboardInterrupt

        lock._changed.wait = interrupted  # type: ignore[method-assign]
        with contextlib.suppress(KeyboardInterrupt), lock:
            order.append("quitter")
        gave_up.set()

    threading.Thread(target=quitter, daemon=True).start()
    assert gave_up.wait(5)
    waiter = _queued(lock, "behind", order)
    lock.__exit__(None, None, None)
    waiter.join(5)
    assert not waiter.is_alive()
    assert order == ["behind"]
