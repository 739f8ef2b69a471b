"""Globally unique, time-ordered ids for the dispatcher, and what a dispatch serves.

`uuid7()` builds an RFC 9562 version 7 UUID (Python 3.11's `uuid` has none): the first 48
bits are the Unix time in milliseconds, then the version (7), 12 bits that count up within
one millisecond (seeded at random each new millisecond, so two processes rarely collide
even there), the variant (0b10) and 62 random bits from `os.urandom`. Ids made in one
process sort in the order they were made, even when the wall clock steps back (the last
millisecond is kept until the clock passes it); ids of different processes sort by time
to the millisecond and never repeat in practice (73 random bits per millisecond).

`DispatchId` is such an id as text that also names the schedule, plan and bids the
dispatch serves; `new_dispatch_id(schedule)` makes one per pool decision, and
`DispatchId.fields()` gives the fields every command event carries.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

_COUNTER_MAX = 0xFFF


class Uuid7Source:
    """Makes version 7 UUIDs in order (see the module docstring); `clock_ms` gives the time
    [ms since 1970-01-01 UTC] (default the wall clock). One per process is `uuid7`."""

    def __init__(self, clock_ms: Callable[[], int] | None = None) -> None:
        self._clock_ms = clock_ms if clock_ms is not None else _wall_clock_ms
        self._lock = threading.Lock()
        self._last_ms = -1
        self._counter = 0

    def __call__(self) -> uuid.UUID:
        """A new id, after every one this source made before."""
        ms = self._clock_ms()
        with self._lock:
            if ms > self._last_ms:
                self._last_ms = ms
                self._counter = int.from_bytes(os.urandom(2), "big") & 0x7FF  # room to count
            else:
                self._counter += 1
                if self._counter > _COUNTER_MAX:  # 2048+ ids in 1 ms: borrow the next one
                    self._last_ms += 1
                    self._counter = 0
            ms, counter = self._last_ms, self._counter
        rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
        return uuid.UUID(int=value)


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


uuid7 = Uuid7Source()
"""The process's source of version 7 UUIDs: ``uuid7()`` is a new one."""


def uuid7_time_ms(value: uuid.UUID | str) -> int:
    """The Unix time [ms] a version 7 UUID was made at."""
    return uuid.UUID(str(value)).int >> 80


class ServedSchedule(Protocol):
    """What a dispatch id needs to know of the schedule it serves."""

    @property
    def schedule_id(self) -> str | None: ...

    @property
    def plan_id(self) -> str: ...

    @property
    def bid_ids(self) -> tuple[str, ...]: ...


class DispatchId(str):
    """A dispatch id (a version 7 UUID as text) that names what the dispatch serves.

    It is a `str`, so any code that passes dispatch ids along keeps working; events read
    the references with `fields()`."""

    schedule_id: str | None
    plan_id: str | None
    bid_ids: tuple[str, ...]

    def __new__(
        cls,
        value: str,
        *,
        schedule_id: str | None = None,
        plan_id: str | None = None,
        bid_ids: tuple[str, ...] = (),
    ) -> DispatchId:
        made = super().__new__(cls, value)
        made.schedule_id = schedule_id
        made.plan_id = plan_id
        made.bid_ids = tuple(bid_ids)
        return made

    def fields(self) -> dict[str, Any]:
        """The event fields: ``dispatch_id``, ``schedule_id``, ``plan_id``, ``bid_ids``."""
        return {
            "dispatch_id": str(self),
            "schedule_id": self.schedule_id,
            "plan_id": self.plan_id,
            "bid_ids": list(self.bid_ids),
        }


def new_dispatch_id(schedule: ServedSchedule | None = None) -> DispatchId:
    """A new globally unique dispatch id serving `schedule` (its schedule, plan and bid ids)."""
    if schedule is None:
        return DispatchId(str(uuid7()))
    return DispatchId(
        str(uuid7()),
        schedule_id=schedule.schedule_id,
        plan_id=schedule.plan_id,
        bid_ids=tuple(schedule.bid_ids),
    )


def dispatch_fields(dispatch_id: str | None) -> dict[str, Any]:
    """The event fields of `dispatch_id`: its references if it is a `DispatchId`, else the
    id alone (None when there is none)."""
    if isinstance(dispatch_id, DispatchId):
        return dispatch_id.fields()
    return {"dispatch_id": dispatch_id}
