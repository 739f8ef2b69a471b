"""The engine's schedule carries the capacity the markets cleared, and only that.

In-process on a virtual clock (1 s ticks), on the sample's Essen site (a battery
prequalified for 10 MW of aFRR each way, 8 MW of PV, DE_LU): the book holds 2 MW of aFRR+
from 14:00 to 18:00Z. Every schedule version's `capacity_sold_mw` is that band per
quarter hour (not the battery's 10 MW, not a share of the fleet's rating, nothing outside
the block), the plan reserves exactly that headroom, the pool's aFRR band and the
activation asked of the pool are clamped to it, and a capacity clearing arriving during
the day is in the next version.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from engine_setup import folder_config, seeded_repository

from dispatch.clock import VirtualClock
from regulatory.assets.base import BalancingProduct
from trading.engine.activation import ActivationPattern
from trading.engine.live_books import LiveConfig, delivery_day
from trading.engine.live_day import LiveDay
from trading.engine.positions import BookEntry
from trading.store import Repository

TENANT, ZONE, BATTERY = "acme", "DE_LU", "bat-de-essen-01"
START = datetime(2026, 6, 14, 15, 0, 10, tzinfo=UTC)
UP = BookEntry(
    "b-up",
    "afrr_capacity",
    "DE:afrr_capacity:4h:pos:2026-06-14T14:00Z",
    ZONE,
    datetime(2026, 6, 14, 14, 0, tzinfo=UTC),
    datetime(2026, 6, 14, 18, 0, tzinfo=UTC),
    2.0,
    "pos",
    ZONE,
    10.0,
)
DOWN = BookEntry(
    "b-down",
    "afrr_capacity",
    "DE:afrr_capacity:4h:neg:2026-06-14T18:00Z",
    ZONE,
    datetime(2026, 6, 14, 18, 0, tzinfo=UTC),
    datetime(2026, 6, 14, 22, 0, tzinfo=UTC),
    3.0,
    "neg",
    ZONE,
    8.0,
)


def config() -> LiveConfig:
    everything = ActivationPattern(np.ones(96), np.ones(96), "test: the whole band, always")
    return folder_config(activation=everything, tick_s=1.0)


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    repo = seeded_repository(tmp_path / "capacity.sqlite3", TENANT)
    return repo


def quarters(start_h: int, end_h: int, index: tuple[datetime, ...]) -> np.ndarray:
    """Mask of the schedule's quarter hours from `start_h` to `end_h` o'clock UTC."""
    return np.array(
        [
            datetime(2026, 6, 14, start_h, tzinfo=UTC)
            <= t
            < datetime(2026, 6, 14, end_h, tzinfo=UTC)
            for t in index
        ]
    )


def test_the_band_sold_is_the_capacity_cleared_and_bounds_headroom_and_activation(
    repository: Repository,
) -> None:
    record = repository.get_portfolio(TENANT, "essen")
    assert record is not None
    clock = VirtualClock(START)
    live = LiveDay(repository, TENANT, record.portfolio(), delivery_day(START), config(), clock)
    live.book.add([UP])
    asked: list[tuple[float, float, float]] = []

    async def main() -> None:
        stop = asyncio.Event()
        run = asyncio.ensure_future(
            live.run(stop, until=datetime(2026, 6, 14, 15, 3, 30, tzinfo=UTC))
        )
        while ZONE not in live.zones or live.zones[ZONE].pool is None:
            if run.done():
                run.result()
            await clock.sleep_until(clock.now() + 0.25)
        pool = live.zones[ZONE].pool
        activation = live.activations[ZONE]
        pool.observers.append(
            lambda t, target: asked.append(
                (t, activation.requested_mw, pool.afrr_band_mw(clock.utc()))
            )
        )
        await clock.sleep_until(clock.now() + 60.0)
        live.receive([DOWN])  # a capacity clearing for the evening, booked next round
        await run

    asyncio.run(main())

    first = live.builder.versions[0].schedule
    index = first.index
    block = quarters(14, 18, index)
    sold = first.capacity_sold_mw[ZONE]
    assert set(sold) == {BalancingProduct.AFRR_POS}  # no phantom aFRR- or FCR
    up = np.array(sold[BalancingProduct.AFRR_POS])
    assert np.all(up[block] == 2.0)
    assert np.all(up[~block] == 0.0)
    # the plan holds headroom for exactly the band cleared, not the 10 MW prequalified
    reserved = np.array(first.bands_mw[BATTERY][BalancingProduct.AFRR_POS])
    assert reserved.max() == pytest.approx(2.0)
    assert np.all(reserved[~block] <= 1e-9)
    assert BalancingProduct.AFRR_NEG not in first.bands_mw.get(BATTERY, {})
    # the pool's band and the activation asked of it: the 2 MW cleared, though the pattern
    # asks the whole band and the battery could give 10 MW
    assert asked
    assert {band for _t, _req, band in asked} == {2.0}
    assert max(req for _t, req, _band in asked) == pytest.approx(2.0)

    # the evening's aFRR- clearing is in the next version, as cleared
    latest = live.builder.versions[-1]
    assert latest.version == 2
    evening = quarters(18, 22, index)
    down = np.array(latest.schedule.capacity_sold_mw[ZONE][BalancingProduct.AFRR_NEG])
    assert np.all(down[evening] == 3.0)
    assert np.all(down[~evening] == 0.0)
    assert np.all(np.array(latest.schedule.capacity_sold_mw[ZONE][BalancingProduct.AFRR_POS]) == up)
