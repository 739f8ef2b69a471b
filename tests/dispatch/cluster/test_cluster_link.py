"""The field link sends a batch every period without waiting for the ones still out, so a
call waits for one round trip, not two; it bounds the batches in flight."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dispatch.cluster.link import FieldLink


def test_a_batch_leaves_while_the_one_before_is_still_out() -> None:
    sent: list[list[str]] = []

    async def main() -> tuple[tuple[list[list[str]], bool], Any]:
        gate = asyncio.Event()

        async def exchange(writes: Any, reads: list[str]) -> Any:
            sent.append(reads)
            if len(sent) == 1:
                await gate.wait()  # the first batch stays out until the second has left
            return [], [None] * len(reads)

        link = FieldLink(exchange, batch_s=0.01)
        stop = asyncio.Event()
        running = asyncio.ensure_future(link.run(stop.is_set))
        first = asyncio.ensure_future(link.read("a"))
        while not sent:
            await asyncio.sleep(0.01)
        second = asyncio.ensure_future(link.read("b"))
        answer_b = await asyncio.wait_for(second, timeout=10)
        out_while_first_waits = (list(sent), first.done())
        gate.set()
        await asyncio.wait_for(first, timeout=10)
        stop.set()
        await asyncio.wait_for(running, timeout=10)
        return out_while_first_waits, answer_b

    (batches, first_done), answer_b = asyncio.run(main())
    assert batches == [["a"], ["b"]]
    assert first_done is False  # "b" was answered while "a" was still out
    assert answer_b is None


def test_no_more_batches_in_flight_than_allowed() -> None:
    async def main() -> int:
        out = 0
        most = 0
        gate = asyncio.Event()

        async def exchange(writes: Any, reads: list[str]) -> Any:
            nonlocal out, most
            out += 1
            most = max(most, out)
            await gate.wait()
            out -= 1
            return [], [None] * len(reads)

        link = FieldLink(exchange, batch_s=0.005, max_in_flight=2)
        stop = asyncio.Event()
        running = asyncio.ensure_future(link.run(stop.is_set))
        reads = []
        for k in range(6):  # one read every 4 periods: a batch each, all held at the field
            reads.append(asyncio.ensure_future(link.read(f"a{k}")))
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.wait_for(asyncio.gather(*reads), timeout=10)
        stop.set()
        await asyncio.wait_for(running, timeout=10)
        return most

    assert asyncio.run(main()) == 2


@pytest.mark.parametrize(("batch_s", "max_in_flight"), [(0.0, 8), (0.05, 0)])
def test_a_link_without_period_or_room_is_refused(batch_s: float, max_in_flight: int) -> None:
    async def exchange(writes: Any, reads: Any) -> Any:
        return [], []

    with pytest.raises(ValueError, match=r"batch_s=.*max_in_flight="):
        FieldLink(exchange, batch_s=batch_s, max_in_flight=max_in_flight)


def test_the_link_fails_a_call_left_unanswered_past_its_deadline() -> None:
    """The actors' deadline kept by the link (one sweep per departure instead of a task
    per call): a read the field holds fails within the deadline and one period; a read
    answered in time is answered; an answer that comes after the deadline is dropped."""

    async def main() -> tuple[float, BaseException | None, Any, int]:
        held = asyncio.Event()

        async def exchange(writes: Any, reads: list[str]) -> Any:
            if "slow" in reads:
                await held.wait()
            return [], [("reading", r) for r in reads]

        link = FieldLink(exchange, batch_s=0.02, deadline_s=0.2)
        stop = asyncio.Event()
        running = asyncio.ensure_future(link.run(stop.is_set))
        loop = asyncio.get_running_loop()
        started = loop.time()
        slow = asyncio.ensure_future(link.read("slow"))
        failure: BaseException | None = None
        try:
            await asyncio.wait_for(slow, timeout=10)
        except TimeoutError as exc:
            failure = exc
        waited = loop.time() - started
        fast = await asyncio.wait_for(link.read("fast"), timeout=10)
        held.set()  # the slow answer comes late: dropped
        await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(running, timeout=10)
        return waited, failure, fast, link.expired

    waited, failure, fast, expired = asyncio.run(main())
    assert isinstance(failure, TimeoutError)
    assert 0.2 <= waited <= 0.2 + 0.02 + 0.2  # deadline, one period, a loaded machine's slack
    assert fast == ("reading", "fast")
    assert expired == 1
