"""`vpp serve` freezes what start-up built, so full collections skip it (`settle_heap`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from trading.api.heap import settle_heap


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
