"""`vpp serve` freezes what start-up built, so full collections skip it (`settle_heap`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from trading.api.heap import full_collections_deferred, settle_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_what_lives_at_start_is_frozen_and_later_garbage_is_still_collected(
    unfrozen: None,
) -> None:
    before = len(gc.get_objects())
    frozen = settle_heap()
    assert frozen >= before // 2  # the modules and objects of the test process itself
    assert len(gc.get_objects()) < before - frozen // 2  # out of every collection's walk
    cycle = _Cycle()
    gone = id(cycle)
    del cycle
    gc.collect()
    assert all(id(o) != gone for o in gc.get_objects())


def _full_collections_while_keeping(count: int) -> int:
    """Full collections that start on their own while `count` new containers pile up."""
    started: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            started.append(1)

    gc.callbacks.append(seen)
    try:
        kept = [[i] for i in range(count)]  # a large batch's objects, alive while in flight
        del kept
    finally:
        gc.callbacks.remove(seen)
    return len(started)


def test_while_a_batch_is_in_flight_no_full_collection_starts_and_after_it_they_do() -> None:
    gc.collect()
    before = gc.get_threshold()
    with full_collections_deferred(), full_collections_deferred():  # two batches at once
        assert _full_collections_while_keeping(1_000_000) == 0
        assert gc.get_threshold()[:2] == before[:2]  # young collections as before
    assert gc.get_threshold() == before
    assert _full_collections_while_keeping(1_000_000) >= 1
