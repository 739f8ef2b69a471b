"""Probing pairs with a slow member: the pool's setpoints still sum to its target.

A CHP ramping at 0.05 MW/s reaches an upward probe over several ticks while its battery
partner takes its whole downward move at once; before, the pool's setpoints summed to
less than the target until the CHP got there (at 20,000 assets in 4 partitions, 2,000 such
pairs put the devices' truth 300-400 MW below the target: `docs/scale.md`). Now the assets
that do not probe give the difference back; the probing moves themselves are unchanged."""

from __future__ import annotations

import numpy as np
from hand_clock import HandClock, hand_context, hand_pool

from dispatch.actor import ActorConfig, AssetActor
from dispatch.board import BoardEntry, TelemetryBoard
from dispatch.control.budget import BreakerConfig, CircuitBreaker
from dispatch.control.confirmation import ConfirmationPolicy
from dispatch.control.probe_balance import balance_probes
from dispatch.device import DeviceLimits, Telemetry
from dispatch.devices.physics import Battery, Chp
from dispatch.inproc import InProcessDevice
from dispatch.pool import PoolController

PLAN = {"chp": 0.6, "bat-0": 0.0, "bat-1": 0.0, "bat-2": 0.0, "bat-3": 0.0}


def _pool() -> tuple[PoolController, list[AssetActor], TelemetryBoard, HandClock]:
    """A 1 MW CHP (min load 0.3 MW, 0.05 MW/s) and four 1 MW batteries (0.5 MW/s), no
    site meter, planned flat (CHP 0.6 MW, batteries 0)."""
    clock = HandClock()
    board = TelemetryBoard()
    context = hand_context(clock, board, tolerance_mw=0.05)
    actors = []
    for name in PLAN:
        if name == "chp":
            physics, limits, energy = (
                Chp(1.0, 0.3, ramp_mw_per_s=0.05),
                DeviceLimits(1.0, 0.0, 0.05, 3.0, min_stable_mw=0.3),
                None,
            )
        else:
            physics, limits, energy = (
                Battery(1.0, -1.0, 2.0, soc=0.5, ramp_mw_per_s=0.5),
                DeviceLimits(1.0, -1.0, 0.5, 3.0),
                2.0,
            )
        policy = ConfirmationPolicy(ack_timeout_s=1, response_s=3, dwell_s=0, tolerance_mw=0.02)
        actors.append(
            AssetActor(
                InProcessDevice(name, physics, clock, name.split("-")[0]),
                limits,
                context,
                ActorConfig(policy=policy),
                CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
                energy_mwh=energy,
            )
        )
    pool = hand_pool(PLAN, actors, board, clock, context)
    return pool, actors, board, clock


def test_a_slow_units_probe_leaves_the_pools_total_at_its_target() -> None:
    pool, actors, board, clock = _pool()
    chp_moves = []
    for second in range(40):
        clock.t = float(second)
        for actor in actors:  # every unit reads at its setpoint (it got there)
            wanted = actor._wanted[0] if actor._wanted is not None else PLAN[actor.asset_id]
            soc = None if actor.asset_id == "chp" else 0.5
            board.post(
                BoardEntry(
                    actor.asset_id,
                    Telemetry(clock.utc(), wanted, wanted, soc, 1.0, actor.limits.min_mw),
                    "available",
                    True,
                    clock.t,
                )
            )
        pool.tick(clock.t)
        setpoints = {a.asset_id: a._wanted[0] for a in actors}
        chp_moves.append(setpoints["chp"] - PLAN["chp"])
        assert abs(sum(setpoints.values()) - sum(PLAN.values())) < 1e-9, (second, setpoints)
    # The CHP was probed, upwards by more than one tick's ramp (so its move was clipped).
    assert max(chp_moves) > 0.05 + 1e-9


def test_the_probing_assets_keep_their_moves_and_the_free_ones_take_the_rest() -> None:
    allocated = np.array([0.6, 0.0, 0.0, 0.0, 0.0, np.nan])
    probed = np.array([0.65, -0.25, 0.0, 0.0, 0.0, np.nan])  # the CHP's +0.25 clipped to +0.05
    running = np.array([True, True, False, False, False, False])
    # The fifth is out of the pool (or behind a site meter) but could move: it must not.
    free = np.array([True, True, True, True, False, False])
    lo = np.array([0.55, -0.75, -0.5, -0.1, -1.0, np.nan])
    hi = np.array([0.65, 0.5, 0.5, 0.1, 1.0, np.nan])
    out = balance_probes(allocated, probed, running, free, lo, hi)
    assert out[:2].tolist() == probed[:2].tolist()
    assert out[4] == 0.0
    assert np.isnan(out[5])
    assert abs(float(np.nansum(out)) - float(np.nansum(allocated))) < 1e-12
    assert out[2] > 0.0
    assert 0.0 < out[3] <= 0.1  # within what it can reach


def test_a_surplus_lowers_storage_first_and_never_a_pv_cap() -> None:
    # A CHP at the top probed down (-0.25 clipped to -0.05) beside a battery taking +0.25:
    # the pair adds 0.2 MW; a PV plant at its cap has the most room but must not be curtailed.
    allocated = np.array([1.0, 0.0, 0.0, 5.0, 0.0])
    probed = np.array([0.95, 0.25, 0.0, 5.0, 0.0])
    running = np.array([True, True, False, False, False])
    free = np.array([False, False, True, True, True])
    lo = np.array([0.95, -1.0, -0.15, 0.0, -1.0])
    hi = np.array([1.0, 1.0, 0.5, 5.0, 1.0])
    storage = np.array([False, True, True, False, False])
    caps = np.array([False, False, False, True, False])
    out = balance_probes(allocated, probed, running, free, lo, hi, storage=storage, caps=caps)
    assert out[3] == 5.0  # the PV cap stays
    assert out[2] == -0.15  # storage first, to what it can reach
    assert abs(out[4] - -0.05) < 1e-12  # the rest from the other free unit
    assert abs(float(out.sum()) - float(allocated.sum())) < 1e-12


def test_with_too_little_room_the_free_assets_give_what_they_can() -> None:
    allocated = np.array([0.6, 0.0, 0.0])
    probed = np.array([0.65, -0.25, 0.0])
    running = np.array([True, True, False])
    free = np.array([False, False, True])
    lo = np.array([0.55, -0.75, -0.05])
    hi = np.array([0.65, 0.5, 0.05])
    out = balance_probes(allocated, probed, running, free, lo, hi)
    assert out[2] == 0.05  # all of its room
    assert out[:2].tolist() == probed[:2].tolist()
