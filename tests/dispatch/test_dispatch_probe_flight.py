"""The probing moves in flight stay within their share of the pool's rating.

A pair's two moves land at different instants, so every pair in flight can put up to its
move into the pool's true error; bounding only the pairs that start per tick let about
2,000 CHP pairs be in flight in one partition of 20,000 assets, 387 MW of true error
(`docs/scale.md`). Now `PoolConfig.probe_flight_share` bounds those in flight."""

from __future__ import annotations

from hand_clock import HandClock, hand_batteries, hand_context, hand_pool, obedient_tick

from dispatch.board import TelemetryBoard
from dispatch.pool import PoolConfig


def _in_flight_by_tick(n: int, config: PoolConfig) -> list[float]:
    """Per tick of 40 s, the probing moves in flight [MW] (one move per pair) of a pool of
    `n` 1 MW batteries planned flat at 0, every one reading at its setpoint."""
    clock = HandClock()
    board = TelemetryBoard()
    context = hand_context(clock, board)
    actors = hand_batteries(n, clock, context)
    pool = hand_pool({a.asset_id: 0.0 for a in actors}, actors, board, clock, context, config)
    flight = []
    for second in range(40):
        clock.t = float(second)
        obedient_tick(pool, actors, board, clock, 0.0)
        flight.append(0.5 * float(abs(pool._probe).sum()))
    return flight


def test_the_moves_in_flight_stay_within_their_share_of_the_rating() -> None:
    config = PoolConfig()
    flight = _in_flight_by_tick(40, config)
    bound = config.probe_flight_share * 40.0  # 2 MW of 40 MW
    # The last pair to start may cross the bound by its own move (0.25 MW here).
    assert max(flight) <= bound + 0.25 + 1e-9
    assert max(flight) >= bound - 0.25  # and probing goes on up to it


def test_a_small_pool_still_probes() -> None:
    # Two 1 MW batteries: 5 % of 2 MW is less than one probing move; one pair still goes.
    assert max(_in_flight_by_tick(2, PoolConfig())) > 0.0
