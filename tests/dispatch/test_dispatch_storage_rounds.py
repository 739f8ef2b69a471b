"""Storage rounds: the small batteries behind one site meter probed together, by most of
their rating, their moves summing to zero (`dispatch.control.storage_rounds`)."""

from __future__ import annotations

import numpy as np
from hand_clock import (
    HandClock,
    hand_batteries,
    hand_battery,
    hand_context,
    hand_pool,
    reads_then_tick,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.actor import ActorConfig, ActorContext, AssetActor
from dispatch.board import TelemetryBoard
from dispatch.control.budget import BreakerConfig, CircuitBreaker
from dispatch.control.confirmation import ConfirmationPolicy
from dispatch.control.storage_rounds import balance_groups, round_moves
from dispatch.device import DeviceLimits
from dispatch.devices.physics import Pv
from dispatch.inproc import InProcessDevice
from dispatch.pool import PoolController

KW = 0.001


@st.composite
def _sites(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    n = draw(st.integers(2, 12))
    floats = st.floats(0.0, 5.0, allow_nan=False)
    site = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    up = np.array(draw(st.lists(floats, min_size=n, max_size=n)))
    down = np.array(draw(st.lists(floats, min_size=n, max_size=n)))
    size = np.array(draw(st.lists(st.floats(0.1, 3.0), min_size=n, max_size=n)))
    last = np.array(draw(st.lists(st.sampled_from([-1.0, 0.0, 1.0]), min_size=n, max_size=n)))
    return site, up, down, size, last, np.full(n, 0.05)


@settings(max_examples=300, deadline=None)
@given(_sites())
def test_a_round_sums_to_zero_in_each_site_and_keeps_every_member_within_its_room(
    arrays: tuple[np.ndarray, ...],
) -> None:
    site, up, down, size, last, least = arrays
    moves = round_moves(site, up, down, size, last, least)
    for s in np.unique(site):
        assert abs(moves[site == s].sum()) < 1e-9
        moving = moves[site == s] != 0.0
        assert moving.sum() != 1  # a round is two members or more, or none
    assert np.all(moves <= np.minimum(up, size) + 1e-12)
    assert np.all(-moves <= np.minimum(down, size) + 1e-12)


def test_a_member_goes_the_other_way_from_last_time_and_one_without_room_sits_out() -> None:
    site = np.zeros(4, dtype=np.int64)
    room = np.array([3.0, 3.0, 3.0, 0.01])
    moves = round_moves(
        site, room, room, np.full(4, 2.0), np.array([1.0, -1.0, 1.0, 0.0]), np.full(4, 0.05)
    )
    assert moves[0] < 0  # each turned
    assert moves[1] > 0
    assert moves[2] < 0
    assert moves[3] == 0.0  # 10 W of room: no probe
    assert abs(moves.sum()) < 1e-12
    assert moves[1] == 2.0  # the one going up moves in full, the two down share it


def test_a_clipped_member_takes_the_same_share_off_the_other_side() -> None:
    allocated = np.array([0.1, 0.1, 0.1, 0.1])
    # Round 0: +0.5 up, two -0.25; the one up reached only +0.2 this tick. Not running: 3.
    probed = np.array([0.3, -0.15, -0.15, 0.9])
    group = np.array([0, 0, 0, -1])
    running = np.array([True, True, True, False])
    out = balance_groups(allocated, probed, group, running)
    assert np.allclose(out, [0.3, 0.0, 0.0, 0.9])
    assert abs((out - allocated)[:3].sum()) < 1e-12


def _small_battery(
    name: str, clock: HandClock, context: ActorContext, site: str, soc: float = 0.5
) -> AssetActor:
    """The Modbus benchmark's battery behind `site`'s meter: 3 kW, 5 kWh at `soc`, 5 kW/s,
    its execution judged within 60 W."""
    return hand_battery(
        name,
        clock,
        context,
        rating_mw=3 * KW,
        energy_mwh=0.005,
        ramp_mw_per_s=5 * KW,
        soc=soc,
        tolerance_mw=0.06 * KW,
        site=site,
    )


def _battery_site(
    soc: dict[str, float], plan_mw: float
) -> tuple[PoolController, list[AssetActor], TelemetryBoard, HandClock]:
    """The Modbus benchmark's 3 kW, 5 kWh batteries (5 kW/s) behind one site meter, at the
    states of charge `soc`, each planned flat at `plan_mw` [MW]."""
    clock = HandClock()
    board = TelemetryBoard()
    context = hand_context(clock, board, tolerance_mw=0.003)
    actors = [
        _small_battery(name, clock, context, "site-1", charge) for name, charge in soc.items()
    ]
    pool = hand_pool({a.asset_id: plan_mw for a in actors}, actors, board, clock, context)
    return pool, actors, board, clock


def _tick(
    pool: PoolController,
    actors: list[AssetActor],
    board: TelemetryBoard,
    clock: HandClock,
    soc: dict[str, float],
    plan_mw: float,
) -> dict[str, float]:
    """Every battery reads at its setpoint at its state of charge, then one tick."""
    return reads_then_tick(pool, actors, board, clock, dict.fromkeys(soc, plan_mw), soc)


def test_every_battery_of_a_site_is_probed_by_most_of_its_rating_within_seconds() -> None:
    soc = {f"bat-{i}": 0.5 for i in range(4)}
    pool, actors, board, clock = _battery_site(soc, 1 * KW)
    largest = dict.fromkeys(soc, 0.0)
    for second in range(8):
        clock.t = float(second)
        setpoints = _tick(pool, actors, board, clock, soc, 1 * KW)
        for name, sp in setpoints.items():
            largest[name] = max(largest[name], abs(sp - 1 * KW))
        assert abs(sum(setpoints.values()) - 4 * KW) < 1e-12  # the site's total kept
    # Routine pairs moved a 3 kW battery by 15 % of it (0.45 kW), two of a site at a time.
    assert all(move >= 0.5 * 3 * KW for move in largest.values()), largest


def test_a_nearly_empty_battery_does_not_make_its_site_drift() -> None:
    # The review's case for probes of 90 %: two batteries of one site, one nearly empty. Its
    # room up was taken from its power limit, not its charge: clipped, its partner moved in
    # full and the site went from its 0.4 target to -0.99 (1 MW batteries). Now its room
    # comes from what it can hold, and a clipped member takes its share off the other side.
    soc = {"bat-0": 0.001, "bat-1": 0.6}
    pool, actors, board, clock = _battery_site(soc, 0.5 * KW)
    seen: list[float] = []
    for second in range(30):
        clock.t = float(second)
        setpoints = _tick(pool, actors, board, clock, soc, 0.5 * KW)
        assert abs(sum(setpoints.values()) - 1 * KW) < 1e-12, (second, setpoints)
        seen.append(setpoints["bat-0"])
    # The rounds ran: the empty one charged by more than 1 kW in them.
    assert pool.probes > 0
    assert max(seen) - min(seen) > 1 * KW


def test_group_numbers_however_large_balance_alike() -> None:
    # Group numbers only grow over a run (one per round started); the balance compacts
    # them, so a day's numbers cost what the first minute's did.
    allocated = np.zeros(4)
    probed = np.array([0.3, -0.15, -0.25, 0.2])
    running = np.ones(4, dtype=bool)
    small = balance_groups(allocated, probed, np.array([0, 0, 1, 1]), running)
    large = balance_groups(allocated, probed, np.array([10**12, 10**12, 7, 7]), running)
    assert np.allclose(small, large)
    assert np.allclose(small, [0.15, -0.15, -0.2, 0.2])


def _obedient(
    pool: PoolController,
    actors: list[AssetActor],
    board: TelemetryBoard,
    clock: HandClock,
    plan_mw: float,
    out: str | None = None,
) -> dict[str, float]:
    """Every asset reads at its setpoint at half charge (`out` not in the pool), then one
    tick."""
    names = [a.asset_id for a in actors]
    plan = dict.fromkeys(names, plan_mw)
    return reads_then_tick(pool, actors, board, clock, plan, dict.fromkeys(names, 0.5), out=out)


def test_a_member_its_ramp_holds_back_takes_the_same_share_off_the_others() -> None:
    # Three 1 MW batteries ramping 0.5 MW/s, planned at 0.2 MW: two go up by 0.45 and one
    # down by 0.9 MW, which it reaches only over two ticks. Unbalanced, the site would be
    # 0.4 MW over its plan in the round's first tick.
    clock = HandClock()
    board = TelemetryBoard()
    context = hand_context(clock, board)
    actors = hand_batteries(3, clock, context)
    for actor in actors:
        actor.site_id = "site-1"
    pool = hand_pool({a.asset_id: 0.2 for a in actors}, actors, board, clock, context)
    largest = 0.0
    for second in range(12):
        clock.t = float(second)
        setpoints = _obedient(pool, actors, board, clock, 0.2)
        assert abs(sum(setpoints.values()) - 0.6) < 1e-9, (second, setpoints)
        largest = max(largest, max(abs(sp - 0.2) for sp in setpoints.values()))
    assert largest >= 0.5 - 1e-9  # the rounds ran, by more than a tick's ramp


def test_a_round_whose_member_leaves_the_pool_stops_as_a_whole() -> None:
    soc = {f"bat-{i}": 0.5 for i in range(4)}
    pool, actors, board, clock = _battery_site(soc, 1 * KW)
    out: str | None = None
    for second in range(12):
        clock.t = float(second)
        setpoints = _obedient(pool, actors, board, clock, 1 * KW, out)
        if out is not None:
            # The others stop with it at once (alone they would move the site's total).
            assert not (pool._probe_until[1:] > clock.t).any(), second
            return
        if any(abs(sp - 1 * KW) > 1e-9 for sp in setpoints.values()):
            out = "bat-0"  # a round runs: bat-0 leaves the pool at the next tick
    raise AssertionError("no round ran")


def test_a_round_broken_by_a_member_leaving_is_made_again_once_flat_from_the_break() -> None:
    # A member misses one read (out of the pool for a tick) in its round's first second.
    # Its site counts as flat from the break: the next round starts 3 s later, not 3 s
    # after the end the broken round was given (a fifth of the reads lost, two lying
    # batteries' round broken at 20 s were probed again only at 26 s).
    soc = {f"bat-{i}": 0.5 for i in range(4)}
    pool, actors, board, clock = _battery_site(soc, 1 * KW)
    starts: list[float] = []
    broken: float | None = None
    for second in range(20):
        clock.t = float(second)
        out = "bat-0" if starts and clock.t == starts[0] + 1.0 else None
        setpoints = _obedient(pool, actors, board, clock, 1 * KW, out)
        if out is not None:
            broken = clock.t
            # The others stop with it at once (alone they would move the site's total).
            assert not (pool._probe_until[1:] > clock.t).any()
            continue
        members_moved = sum(abs(sp - 1 * KW) > 1e-9 for sp in setpoints.values())
        if members_moved >= 2 and (not starts or (broken is not None and len(starts) == 1)):
            starts.append(clock.t)
    assert broken is not None
    assert len(starts) == 2, (starts, broken)
    after = pool.config.storage_probe_after_share * pool.config.probe_after_s
    assert starts[1] - broken <= after + 1.0, (starts, broken)


def test_batteries_left_alone_in_their_sites_are_probed_together_across_them() -> None:
    # Once the other batteries of its site are named, a battery is alone there: no round,
    # and no partner in its site. A fake one whose lie had shown in its last round was
    # never moved again (in process with Modbus timing, seed 16: two never named in the
    # 37 s after their lie showed). Two such batteries behind two meters pair, as often
    # as rounds run.
    clock = HandClock()
    board = TelemetryBoard()
    context = hand_context(clock, board, tolerance_mw=0.003)
    actors = [_small_battery(f"b{s}", clock, context, f"site-{s}") for s in range(2)]
    plan = {a.asset_id: 1 * KW for a in actors}
    charge = dict.fromkeys(plan, 0.5)
    pool = hand_pool(plan, actors, board, clock, context)
    moved: dict[str, float] = {}
    for second in range(12):
        clock.t = float(second)
        setpoints = reads_then_tick(pool, actors, board, clock, plan, charge)
        for name, sp in setpoints.items():
            if abs(sp - 1 * KW) > 0.5 * KW and name not in moved:
                moved[name] = clock.t
        assert abs(sum(setpoints.values()) - 2 * KW) < 1e-12  # the pool's total kept
    assert set(moved) == {"b0", "b1"}, moved
    after = pool.config.storage_probe_after_share * pool.config.probe_after_s
    assert max(moved.values()) <= after + 2.0, moved


def test_a_lone_small_battery_and_a_pv_plant_of_its_site_are_still_probed() -> None:
    # A home: one 3 kW battery beside a PV plant. A round needs two storage units; the
    # battery pairs with the PV plant as before (in rounds it was never probed, and a site
    # watch's ask for it was dropped).
    clock = HandClock()
    board = TelemetryBoard()
    context = hand_context(clock, board, tolerance_mw=0.003)
    policy = ConfirmationPolicy(ack_timeout_s=1, response_s=3, dwell_s=0, tolerance_mw=0.06 * KW)
    pv = AssetActor(
        InProcessDevice("pv", Pv(0.06, ramp_mw_per_s=0.06), clock, "pv"),
        DeviceLimits(0.06, 0.0, 0.06, 3.0, True),
        context,
        ActorConfig(policy=policy),
        CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
    )
    pv.site_id = "site-1"
    actors = [pv, _small_battery("bat", clock, context, "site-1")]
    for actor in actors:
        actor.site_nameable_mw = 0.01
    plan = {"pv": 0.03, "bat": 1 * KW}
    pool = hand_pool(plan, actors, board, clock, context)
    moved = dict.fromkeys(plan, 0)
    for second in range(40):
        clock.t = float(second)
        setpoints = reads_then_tick(pool, actors, board, clock, plan, {"bat": 0.5}, {"pv": 0.06})
        for name, sp in setpoints.items():
            moved[name] += abs(sp - plan[name]) > 1e-7
    assert moved["pv"] > 0
    assert moved["bat"] > 0


def test_sites_that_cannot_make_a_round_do_not_hold_up_the_others() -> None:
    # 45 sites of two 3 kW batteries; the first two sites' batteries are full and idle
    # (room only up: no round). Never probed, they stayed the longest waiting and took the
    # rounds' bound (2 % of 270 kW) from every other site: no round in the pool for a
    # minute. Now 88 probes, as many as with no such site (114 when rounds were held 2 s
    # instead of 3: under the bound, fewer longer rounds fit in a minute).
    clock = HandClock()
    board = TelemetryBoard()
    context = hand_context(clock, board, tolerance_mw=0.003)
    actors, plan, charge = [], {}, {}
    for s in range(45):
        for j in range(2):
            name = f"b{s}-{j}"
            actor = _small_battery(name, clock, context, f"site-{s}")
            actor.site_nameable_mw = 0.01
            actors.append(actor)
            plan[name] = 0.0 if s < 2 else 1 * KW
            charge[name] = 1.0 if s < 2 else 0.5
    pool = hand_pool(plan, actors, board, clock, context)
    for second in range(60):
        clock.t = float(second)
        reads_then_tick(pool, actors, board, clock, plan, charge)
    assert pool.probes >= 80
