"""A tick tells its `metered_unseen` sources which assets it found without a fresh reading,
and `HeldPower` walks only those in a tick: the same held power and count as the walk of
every asset, and the full walk outside a tick."""

from __future__ import annotations

from hand_clock import HandClock, hand_batteries, hand_context, quarter_schedule

from dispatch.activation import NoActivation
from dispatch.board import BoardEntry, TelemetryBoard
from dispatch.cluster.held import HeldPower
from dispatch.device import Telemetry
from dispatch.pool import PoolController


def _pool(n: int) -> tuple[PoolController, TelemetryBoard, HandClock]:
    clock = HandClock()
    board = TelemetryBoard()
    context = hand_context(clock, board)
    actors = hand_batteries(n, clock, context)
    schedule = quarter_schedule({a.asset_id: 0.1 for a in actors})
    pool = PoolController(
        "pool", schedule, NoActivation(), actors, board, clock, context.metrics, context.kpi
    )
    return pool, board, clock


def test_held_power_in_a_tick_walks_only_the_unread_assets_and_sums_the_same() -> None:
    pool, board, clock = _pool(8)
    held = HeldPower(pool)
    pool.metered_unseen.append(held)
    clock.t = 10.0
    # (read at [s], last read failed, state) per asset; bat-7 never posted.
    posts = {
        "bat-0": (9.5, False, "executing"),  # fresh
        "bat-1": (5.0, False, "executing"),  # too old
        "bat-2": (9.8, True, "executing"),  # its latest read failed
        "bat-3": (9.9, False, "executing"),  # fresh
        "bat-4": (1.0, False, "quarantined"),  # out: counts as nothing
        "bat-5": (6.0, False, "unavailable"),  # too old
        "bat-6": (9.0, False, "available"),  # fresh
    }
    for k, (asset, (read_t, failed, state)) in enumerate(posts.items()):
        power = 0.1 * (k + 1)
        reading = Telemetry(clock.utc(), power, power, 0.5, 1.0, -1.0)
        board.post(BoardEntry(asset, reading, state, state != "unavailable", read_t, failed))
    pool.tick(clock.t)
    assert pool.unread == (10.0, [1, 2, 4, 5])
    in_tick = (held.mw, held.assets)
    assert in_tick == (0.2 + 0.3 + 0.6, 3)
    pool.unread = (-float("inf"), None)  # not known: every asset walked
    assert held(10.0) == in_tick[0]
    assert (held.mw, held.assets) == in_tick
    assert held(10.0) == HeldPower(pool)(10.0)
