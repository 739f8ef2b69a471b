"""A first tick that waited for the first contacts does not shift the later ticks.

A partition's first tick may wait up to two ticks past its due time for its actors' first
readings (`run_fleet(first_contact_s=...)`); the ticks after it must stay on the run's
grid (start + k tick), where the quarter hours begin and the actors' turns are phased,
instead of keeping the wait's offset for the rest of the run."""

from __future__ import annotations

import asyncio

from hand_clock import HandClock, hand_context, hand_pool

from dispatch.actor import ActorConfig, AssetActor
from dispatch.board import TelemetryBoard
from dispatch.control.budget import BreakerConfig, CircuitBreaker
from dispatch.device import DeviceLimits
from dispatch.devices.physics import Battery
from dispatch.inproc import InProcessDevice


def _tick_times(start_at: float, grid_s: float | None) -> list[float]:
    """The times [s] at which a one-battery pool ticks (1 s period) from `start_at` to 5 s."""
    clock = HandClock()
    board = TelemetryBoard()
    context = hand_context(clock, board)
    actor = AssetActor(
        InProcessDevice("bat", Battery(1.0, -1.0, 2.0, soc=0.5), clock, "bat"),
        DeviceLimits(1.0, -1.0, 0.5, 3.0),
        context,
        ActorConfig(),
        CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
        energy_mwh=2.0,
    )
    pool = hand_pool({"bat": 0.0}, [actor], board, clock, context)
    times: list[float] = []
    pool.observers.append(lambda t, _target: times.append(round(t, 9)))
    clock.t = start_at
    asyncio.run(pool.run(5.0, grid_s=grid_s))
    return times


def test_ticks_after_a_late_first_one_fall_back_on_the_grid() -> None:
    assert _tick_times(1.3, grid_s=0.0) == [1.3, 2.0, 3.0, 4.0]


def test_a_first_tick_on_the_grid_keeps_the_period() -> None:
    assert _tick_times(1.0, grid_s=0.0) == [1.0, 2.0, 3.0, 4.0]


def test_without_a_grid_the_ticks_keep_the_first_ones_phase() -> None:
    assert _tick_times(1.3, grid_s=None) == [1.3, 2.3, 3.3, 4.3]
