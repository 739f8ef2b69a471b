"""Background work (a large batch's checks and rows) gives way to a busy event loop, never
to an idle one, never while holding a lock others wait for; and the batch's work done in
small steps gives the same request hash and the same answer as done in one call."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects.sqlite import pysqlite

from markets.bids import SingleBid
from markets.registry import default_registry
from trading.api.bids import _SUBMISSION_JSON, STEP_BIDS, _rendered
from trading.api.schemas import SubmissionPublic
from trading.pacing import Pacer
from trading.store import Actor, NewBid, Role
from trading.store.ops import bids as bid_ops
from trading.store.repository import prepare_submission

NOW = datetime(2026, 6, 14, 8, 0, tzinfo=UTC)
"""Before the gate of the day-ahead products of 2026-06-15."""


class _FakeTime:
    """A clock that only moves when told to, and a sleep that moves it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _pacer(fake: _FakeTime) -> Pacer:
    return Pacer(work_s=0.002, yield_s=0.004, lag_s=0.002, clock=fake.clock, sleep=fake.sleep)


def test_background_work_gives_way_only_while_the_loop_is_busy() -> None:
    fake = _FakeTime()
    pacer = _pacer(fake)
    pacer._watchers = 1  # a loop is watching; it beat at 100.0
    pacer.beat()
    with pacer.background():
        fake.now += 0.001
        pacer.pace()  # worked 1 ms only
        assert fake.slept == []
        fake.now += 0.0015
        pacer.pace()  # worked 2.5 ms and the loop has not beaten for 2.5 ms: busy
        assert fake.slept == [0.004]
        pacer.beat()  # the loop got its turn and is free again
        fake.now += 0.003
        pacer.pace()  # worked 3 ms since it gave way, but the loop beat 3 ms ago: busy
        assert fake.slept == [0.004, 0.004]
        fake.now += 0.0025
        pacer.beat()
        pacer.pace()  # the loop just beat: free, the work goes on
        assert fake.slept == [0.004, 0.004]
    assert pacer.yields == 2


def test_foreground_work_never_pauses_nor_does_background_work_holding_a_lock() -> None:
    fake = _FakeTime()
    pacer = _pacer(fake)
    pacer._watchers = 1
    fake.now += 1.0  # the loop has not beaten for a second
    pacer.pace()  # the loop's own thread, a small submission's writer: not background
    with pacer.background(), pacer.held():
        fake.now += 0.01
        pacer.pace()
    assert fake.slept == []
    with pacer.background():
        fake.now += 0.01
        pacer.pace()
    assert fake.slept == [0.004]


def test_without_a_watching_loop_background_work_runs_at_full_speed() -> None:
    fake = _FakeTime()
    pacer = _pacer(fake)
    with pacer.background():
        for _ in range(100):
            fake.now += 0.001
            pacer.pace()
    assert fake.slept == []


def test_a_busy_loop_gets_background_work_out_of_its_way() -> None:
    """Real threads, a real loop: 40 ms of background steps under a loop that keeps busy
    (a request's work, here a sleep that holds the loop) are paused, more than once."""
    pacer = Pacer()
    busy = threading.Event()
    busy.set()
    paused_while_busy: list[int] = []

    def work() -> None:
        with pacer.background():
            end = time.monotonic() + 0.04
            while time.monotonic() < end:
                pacer.pace()
            paused_while_busy.append(pacer.yields)
            busy.clear()

    async def main() -> None:
        worker = threading.Thread(target=work)
        async with pacer.watch():
            worker.start()
            while busy.is_set():
                time.sleep(0.005)  # the loop busy: no beat
                await asyncio.sleep(0)
        worker.join()

    asyncio.run(main())
    assert paused_while_busy[0] >= 2


def _prepared(count: int, prefix: str = "b") -> bid_ops.Submission:
    """`count` day-ahead single bids of the first 8 quarter hours of 2026-06-15 (DE),
    checked and hashed as the API does."""
    plugin = default_registry().get("DE")
    products = []
    for i in range(8):
        hour, quarter = divmod(i, 4)
        product = plugin.product(
            f"DE:day_ahead:SDAC:2026-06-14T{22 + hour:02d}:{quarter * 15:02d}Z"
        )
        assert product is not None
        products.append(product)
    bids = [
        NewBid.from_product(
            SingleBid(
                product_id=products[i % 8].product_id,
                volume_mw=0.5 + i % 7,
                price_eur_per_mwh=40.0 + i % 13,
                bid_id=f"{prefix}/{i}",
            ),
            products[i % 8],
        )
        for i in range(count)
    ]
    return prepare_submission("acme", "key-1", bids, "req-1", NOW)


def _old_digest(submission: bid_ops.Submission) -> str:
    """The request hash as every earlier release stored it: one dump of the whole list."""
    canonical = json.dumps(
        [bid.canonical() for bid in submission.bids], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp")),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(count=st.integers(1, 120), prefix=_NAMES)
def test_the_request_hash_written_bid_by_bid_is_the_one_stored_before(
    count: int, prefix: str
) -> None:
    submission = _prepared(count, prefix)
    assert submission.digest == _old_digest(submission)


def test_an_answer_rendered_in_steps_is_the_answer_rendered_whole() -> None:
    submission = _prepared(3 * STEP_BIDS + 7)
    actor = Actor("acme", "key-1", Role.TRADER)
    result = bid_ops.stage(pysqlite.dialect(), submission, actor, NOW).result
    for one in (result, replace(result, created=False)):
        whole = _SUBMISSION_JSON.dump_json(SubmissionPublic.of(one), by_alias=True)
        assert _rendered(one) == whole
