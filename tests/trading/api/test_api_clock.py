"""One clock per server: with a simulated clock, a bid's history holds no wall-clock time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import AsgiClient, single

from trading.exchange.clock import ManualClock
from trading.store.timestamps import use_clock, utc_now


@pytest.fixture
def server_clock(clock: ManualClock) -> Iterator[ManualClock]:
    """The store takes its own times from the API's clock, as `vpp serve` arranges."""
    use_clock(clock.now)
    yield clock
    use_clock(None)


def test_a_bid_history_is_all_on_the_server_clock(
    api: AsgiClient, server_clock: ManualClock
) -> None:
    submitted_at = server_clock.now()
    (bid,) = api.post("/v1/bids", json=single(0, bid_id="c/1")).json()["bids"]
    server_clock.advance(timedelta(minutes=7))
    withdrawn = api.post(f"/v1/bids/{bid['id']}/withdraw", json={"reason": "flat"})
    assert withdrawn.status_code == 200, withdrawn.text
    history = api.get(f"/v1/bids/{bid['id']}").json()["history"]
    times = [event["at"] for event in history]
    assert times == [
        submitted_at.isoformat().replace("+00:00", "Z"),
        (submitted_at + timedelta(minutes=7)).isoformat().replace("+00:00", "Z"),
    ]


def test_without_a_server_clock_the_store_reads_the_system_clock(clock: ManualClock) -> None:
    assert abs((utc_now() - clock.now()).total_seconds()) > 3600  # the fixture is in 2026-06
