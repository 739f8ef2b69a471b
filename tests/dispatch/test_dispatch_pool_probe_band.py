"""While the schedule holds an aFRR band, the pool's probing moves in flight stay within
`PoolConfig.probe_band_share` of it (the TSO reads the measured power back and allows 2 %
of the band off the truth); probing goes on within that share, and a probe a site watch
asks for still goes."""

from __future__ import annotations

import pytest
from hand_clock import START, HandClock, hand_context, obedient_tick, quarter_schedule

from dispatch.activation import NoActivation
from dispatch.actor import ActorConfig, AssetActor
from dispatch.board import TelemetryBoard
from dispatch.control.budget import BreakerConfig, CircuitBreaker
from dispatch.control.confirmation import ConfirmationPolicy
from dispatch.device import DeviceLimits
from dispatch.devices.physics import Battery
from dispatch.inproc import InProcessDevice
from dispatch.pool import PoolController
from regulatory.assets.base import BalancingProduct

LEVEL_MW = 0.2
ASSETS = 40
"""1 MW batteries: 40 MW of fleet in 10 sites of four, each site's batteries probed
together (a storage round)."""


def _fleet(band_mw: float) -> tuple[PoolController, list[AssetActor], TelemetryBoard, HandClock]:
    """`ASSETS` batteries planned flat at `LEVEL_MW`, four behind each site meter (one
    storage round per site at a time), with `band_mw` of aFRR sold up and down (none if 0)."""
    clock = HandClock()
    board = TelemetryBoard()
    context = hand_context(clock, board)
    policy = ConfirmationPolicy(ack_timeout_s=1, response_s=3, dwell_s=0, tolerance_mw=0.01)
    actors = [
        AssetActor(
            InProcessDevice(f"bat-{i}", Battery(1.0, -1.0, 2.0, soc=0.5), clock, "battery"),
            DeviceLimits(1.0, -1.0, 0.5, 3.0),
            context,
            ActorConfig(policy=policy),
            CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
            energy_mwh=2.0,
        )
        for i in range(ASSETS)
    ]
    for i, actor in enumerate(actors):
        actor.site_id = f"site-{i // 4}"
    sold = (
        {"DE_LU": {BalancingProduct.AFRR_POS: (band_mw,), BalancingProduct.AFRR_NEG: (band_mw,)}}
        if band_mw
        else {}
    )
    schedule = quarter_schedule({a.asset_id: LEVEL_MW for a in actors}, capacity_sold_mw=sold)
    pool = PoolController(
        "pool", schedule, NoActivation(), actors, board, clock, context.metrics, context.kpi
    )
    return pool, actors, board, clock


def _tick(
    pool: PoolController, actors: list[AssetActor], board: TelemetryBoard, clock: HandClock
) -> dict[str, float]:
    """Every asset reads at its setpoint (an obedient, instant fleet), then one tick; the
    setpoints it hands out [MW]."""
    return obedient_tick(pool, actors, board, clock, LEVEL_MW)


def _in_flight(setpoints: dict[str, float]) -> float:
    """The probing moves in flight [MW]: one move per pair (half the moves off the plan)."""
    return 0.5 * sum(abs(sp - LEVEL_MW) for sp in setpoints.values())


def _run(band_mw: float, seconds: int = 120) -> tuple[float, int]:
    """(largest probing total in flight [MW], probes started) over `seconds` of 1 s ticks."""
    pool, actors, board, clock = _fleet(band_mw)
    worst = 0.0
    for second in range(seconds):
        clock.t = float(second)
        worst = max(worst, _in_flight(_tick(pool, actors, board, clock)))
    return worst, pool.probes


def test_without_a_band_the_fleet_budget_alone_puts_more_in_flight() -> None:
    # What the cap changes: the same fleet without a band has several pairs in flight.
    worst, probes = _run(0.0)
    assert worst > 0.5
    assert probes > 0


@pytest.mark.parametrize("band_mw", [25.0, 50.0, 100.0])
def test_probes_in_flight_stay_within_their_share_of_the_band_and_still_run(
    band_mw: float,
) -> None:
    pool, _, _, _ = _fleet(band_mw)
    assert pool.afrr_band_mw(START) == band_mw
    share = pool.config.probe_band_share
    worst, probes = _run(band_mw)
    assert worst <= share * band_mw + 1e-9
    # A round of a site's four batteries (15 % of a battery, 0.15 MW a side, while a band
    # is held) fits and runs.
    assert worst >= 0.15 - 1e-9
    # Within two minutes, every asset of the fleet was probed at least once.
    assert probes >= ASSETS


def test_a_band_too_small_for_any_pair_leaves_only_the_asked_probes() -> None:
    pool, actors, board, clock = _fleet(2.0)  # 1 % of it: 20 kW, less than one pair
    for second in range(60):
        clock.t = float(second)
        assert _in_flight(_tick(pool, actors, board, clock)) < 1e-9
    assert pool.probes == 0
    clock.t = 60.0
    pool.request_probe(["bat-7"])  # a site watch doubts this one: it is probed at once
    setpoints = _tick(pool, actors, board, clock)
    moved = {a for a, sp in setpoints.items() if abs(sp - LEVEL_MW) > 1e-6}
    # With its site's other storage (a round), the site's total unchanged.
    assert "bat-7" in moved
    assert moved <= {"bat-4", "bat-5", "bat-6", "bat-7"}
    assert sum(setpoints[a] - LEVEL_MW for a in moved) == pytest.approx(0.0, abs=1e-9)
    assert pool.probes == len(moved)
