"""The server's heap, settled once it has started: what was built to start it is frozen.

CPython's cyclic garbage collector holds the interpreter lock while it walks its objects,
and a full (oldest-generation) collection walks every object it tracks. A started server
holds about 200,000 of them (modules, pydantic schemas, the app, plugins), none of which
ever becomes garbage, and a 5,000-bid batch allocates enough to trigger a full collection:
measured on a loaded 2-core machine, 300-350 ms per batch in which no thread, the event
loop included, ran. `gc.freeze` moves everything alive at start-up into a generation the
collector skips; a full collection then walks only what was made since (30-60 ms under
the same load). Garbage made later is collected as before.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator


def settle_heap() -> int:
    """Collect what start-up left over, then freeze every object still alive (`gc.freeze`);
    the number of objects frozen in all."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


NEVER = 1_000_000_000
"""A collection count no run reaches: the oldest generation's threshold while deferred."""

_lock = threading.Lock()
_deferrals = 0
_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def full_collections_deferred() -> Iterator[None]:
    """While in the block (any thread; nested and concurrent uses share it), no full
    collection starts on its own; young ones still do.

    A full collection walks every object the collector tracks, a large batch's in flight
    included: measured on `vpp serve` with 5,000-bid batches arriving, one every second or
    so, 12-30 ms each with the interpreter lock held (the event loop stopped), most of them
    finding no garbage at all. Deferred for the batch's lifetime, the next one runs once its
    objects are gone. Cycles that outlived the young generations wait until the last block
    ends (young cycles are collected as before)."""
    global _deferrals, _saved
    with _lock:
        if _deferrals == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(_saved[0], _saved[1], NEVER)
        _deferrals += 1
    try:
        yield
    finally:
        with _lock:
            _deferrals -= 1
            if _deferrals == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
