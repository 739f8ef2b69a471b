"""Dispatch ids: RFC 9562 version 7 UUIDs, unique and in the order they were made, naming
the schedule, plan and bids they serve."""

from __future__ import annotations

import json
import threading
import time
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.ids import (
    DispatchId,
    Uuid7Source,
    dispatch_fields,
    new_dispatch_id,
    uuid7,
    uuid7_time_ms,
)


def test_a_uuid7_has_its_version_variant_and_the_time_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = uuid7()
    after = time.time_ns() // 1_000_000
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert before <= uuid7_time_ms(made) <= after + 1  # +1: a borrowed millisecond


@settings(max_examples=50)
@given(st.lists(st.integers(min_value=1_600_000_000_000, max_value=1_900_000_000_000), min_size=2))
def test_ids_sort_in_the_order_they_were_made_even_when_the_clock_steps_back(
    clock_ms: list[int],
) -> None:
    times = iter(clock_ms)
    source = Uuid7Source(lambda: next(times))
    made = [source() for _ in clock_ms]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(m.version == 7 for m in made)


def test_thousands_of_ids_in_one_millisecond_stay_unique_and_ordered() -> None:
    source = Uuid7Source(lambda: 2_000_000_000_000)
    made = [source() for _ in range(5000)]  # beyond the 12-bit counter
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert uuid7_time_ms(made[-1]) - uuid7_time_ms(made[0]) <= 3  # borrowed, not jumped


def test_threads_making_ids_at_once_never_get_the_same_one() -> None:
    made: list[uuid.UUID] = []
    lock = threading.Lock()

    def make() -> None:
        mine = [uuid7() for _ in range(2000)]
        with lock:
            made.extend(mine)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 8000


class _Schedule:
    schedule_id = "sch-0123456789abcdef0123"
    plan_id = "plan-NL-2026-06-13-1a2b3c4d"
    bid_ids = ("NL:DA-1", "NL:aFRR-pos-2")


def test_a_dispatch_id_is_text_and_names_what_it_serves() -> None:
    dispatch_id = new_dispatch_id(_Schedule())
    assert isinstance(dispatch_id, str)
    assert uuid.UUID(dispatch_id).version == 7
    fields = dispatch_fields(dispatch_id)
    assert fields == {
        "dispatch_id": str(dispatch_id),
        "schedule_id": "sch-0123456789abcdef0123",
        "plan_id": "plan-NL-2026-06-13-1a2b3c4d",
        "bid_ids": ["NL:DA-1", "NL:aFRR-pos-2"],
    }
    assert json.loads(json.dumps(fields)) == fields  # goes out as a JSON event unchanged
    assert dispatch_fields("pool-1-000001") == {"dispatch_id": "pool-1-000001"}
    assert dispatch_fields(None) == {"dispatch_id": None}
    assert DispatchId("x").fields()["bid_ids"] == []
