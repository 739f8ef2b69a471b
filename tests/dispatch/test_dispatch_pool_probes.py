"""The pool's probing moves behind a site meter, tick by tick on a hand-driven clock: a site
watch that cannot tell twin moves apart gets one of the twins moved alone at once, and a
probing pair is not the same pair twice in a row (two fake meters probed together make
opposite unseen moves that cancel at the meter)."""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import pairwise

from hand_clock import (
    HandClock,
    hand_battery,
    hand_context,
    hand_pool,
    obedient_tick,
    reads_then_tick,
)

from dispatch.actor import ActorConfig, ActorContext, AssetActor
from dispatch.board import BoardEntry, TelemetryBoard
from dispatch.control.budget import BreakerConfig, CircuitBreaker
from dispatch.control.confirmation import ConfirmationPolicy
from dispatch.device import DeviceLimits, Telemetry
from dispatch.devices.physics import Battery, Chp, Pv
from dispatch.devices.site_meter import SiteMeter
from dispatch.inproc import InProcessDevice
from dispatch.pool import PoolConfig, PoolController
from dispatch.sites import SiteWatch

LEVEL_MW = 0.2


def _context(tolerance_mw: float) -> tuple[HandClock, TelemetryBoard, ActorContext]:
    """A hand clock, a board and the actors' context, the KPI judged at `tolerance_mw`."""
    clock = HandClock()
    board = TelemetryBoard()
    context = hand_context(clock, board, tolerance_mw=tolerance_mw)
    return clock, board, context


def _pool(
    plan: dict[str, float],
    actors: list[AssetActor],
    board: TelemetryBoard,
    clock: HandClock,
    context: ActorContext,
) -> PoolController:
    """The pool of `actors` on a flat quarter-hour schedule: `plan` [MW] per asset."""
    return hand_pool(plan, actors, board, clock, context)


def _site(
    n: int, slow: frozenset[str] = frozenset()
) -> tuple[PoolController, list[AssetActor], TelemetryBoard, HandClock]:
    """`n` 1 MW batteries behind one site meter, planned flat at LEVEL_MW each, ramping at
    0.5 MW/s (those in `slow` at 20 kW/s), probed in pairs (as PV plants and CHPs)."""
    clock, board, context = _context(tolerance_mw=0.1)
    actors = [
        hand_battery(
            f"bat-{i}",
            clock,
            context,
            ramp_mw_per_s=0.02 if f"bat-{i}" in slow else 0.5,
            tolerance_mw=0.01,
            site="site-1",
        )
        for i in range(n)
    ]
    pool = _pool({a.asset_id: LEVEL_MW for a in actors}, actors, board, clock, context)
    # Pairs, as a site's PV plants and CHPs probe: no storage rounds (their own tests are
    # in test_dispatch_storage_rounds.py).
    pool.config = replace(pool.config, storage_probe_share=0.0)
    return pool, actors, board, clock


def _tick(
    pool: PoolController, actors: list[AssetActor], board: TelemetryBoard, clock: HandClock
) -> dict[str, float]:
    """Every asset reads at its setpoint (an obedient, instant fleet), then one tick; the
    setpoints it hands out [MW]."""
    return obedient_tick(pool, actors, board, clock, LEVEL_MW)


def test_an_asked_twin_moves_alone_at_the_next_tick_though_its_setpoint_was_not_flat() -> None:
    pool, actors, board, clock = _site(6)
    first = _tick(pool, actors, board, clock)
    assert all(abs(sp - LEVEL_MW) < 1e-9 for sp in first.values())  # nobody due yet
    clock.t = 1.0
    pool.request_probe(["bat-3", "bat-4"])  # the site cannot tell these two apart
    moved = {
        a: sp for a, sp in _tick(pool, actors, board, clock).items() if abs(sp - LEVEL_MW) > 1e-6
    }
    assert "bat-3" in moved  # one twin, alone
    assert "bat-4" not in moved
    assert len(moved) == 2  # and one partner of the site, the other way
    (partner,) = set(moved) - {"bat-3"}
    assert moved[partner] - LEVEL_MW == -(moved["bat-3"] - LEVEL_MW)
    # Asked once, it is not moved again after the probe unless asked again.
    assert pool.probes == 2


def test_a_running_probe_the_site_asks_about_returns_at_once() -> None:
    # bat-3 probes (asked at 1 s) with a partner of its site, held until 4 s. At 2 s the
    # site watch cannot tell bat-3 from bat-5 (a skipped comparison merged the site's
    # previous probe's return with this one's start, by the same step; or the activation
    # moved bat-5 alike): bat-3 returns now, a move of its own, with its partner. Before,
    # both held to 4 s and the watch could tell them apart only from the reading after, a
    # liar named 3.5-4.5 s after its lie showed.
    pool, actors, board, clock = _site(6)
    _tick(pool, actors, board, clock)
    clock.t = 1.0
    pool.request_probe(["bat-3", "bat-5"])  # in the tick it starts, a probe holds
    moved = {a for a, sp in _tick(pool, actors, board, clock).items() if abs(sp - LEVEL_MW) > 1e-6}
    assert "bat-3" in moved
    assert len(moved) == 2
    clock.t = 2.0
    pool.request_probe(["bat-3", "bat-5"])
    back = _tick(pool, actors, board, clock)
    assert all(abs(sp - LEVEL_MW) < 1e-9 for sp in back.values()), back
    assert pool.probes == 2  # ended, not started again in the same tick


def _probed_again_by(
    seen_at: float | None, until_s: int = 12, probe_after_s: float = 10.0
) -> list[float]:
    """bat-3 probes from 1 s (asked), held to 4 s; its site's comparisons saw its move at
    `seen_at` [s] (None: every one of them was skipped). The times [s] until `until_s` at
    which bat-3 started another probing move (routine probes after `probe_after_s`)."""
    pool, actors, board, clock = _site(6)
    pool.config = replace(pool.config, probe_after_s=probe_after_s)
    _tick(pool, actors, board, clock)
    clock.t = 1.0
    pool.request_probe(["bat-3"])
    _tick(pool, actors, board, clock)
    starts = []
    for second in range(2, until_s + 1):
        clock.t = float(second)
        if seen_at is not None and second == int(seen_at) + 1:
            for actor in actors:
                actor.site_compared_t = seen_at
        before = pool._probe_start[3]
        _tick(pool, actors, board, clock)
        if pool._probe_start[3] != before:
            starts.append(clock.t)
    return starts


def test_a_probe_no_comparison_saw_is_made_again_at_once() -> None:
    # Every comparison of bat-3's site during its probe was skipped (a member's read lost
    # while on its way, or its own): its move is made again as soon as its site is free,
    # not at its next routine probe 10 s after this one ended, at 14 s (a fake meter's lie
    # waited that long, or for the run's end). Its partner, unseen too, went first (5-8 s:
    # one pair of a site at a time); bat-3 follows at once.
    assert _probed_again_by(None) == [9.0]
    # Seen by one comparison (2.5 s): it waits for its next routine probe, as always.
    assert _probed_again_by(2.5) == []


def test_with_routine_probing_off_an_unseen_asked_probe_is_not_made_again_for_ever() -> None:
    # Routine probing off (`probe_after_s` infinite), no comparison ever sees bat-3's
    # asked move: it is made again `probe_retries` (2) times, then left alone. Before, it
    # was made again every 5 s to the run's end (its flat time set to minus infinity).
    starts = _probed_again_by(None, until_s=60, probe_after_s=math.inf)
    assert len(starts) == PoolConfig().probe_retries, starts


class Alternating:
    """An activation that changes every second by 0.8 MW: assets that can follow it move
    each tick by more than a probing move."""

    def activation_mw(self, t: float) -> float:
        return 0.8 * (int(t) % 2)


def test_a_probing_pair_is_not_the_same_pair_the_next_time() -> None:
    # bat-0 and bat-1 ramp too slowly to follow the activation (they move by 0.02 MW): they
    # are the only flat members, due for a probe together again and again. The others move
    # every second.
    pool, actors, board, clock = _site(6, slow=frozenset({"bat-0", "bat-1"}))
    pool.activation = Alternating()
    probed: list[frozenset[str]] = []
    for second in range(120):
        clock.t = float(second)
        setpoints = _tick(pool, actors, board, clock)
        fast = sorted(setpoints[f"bat-{i}"] for i in range(2, 6))
        usual = fast[1]  # the activation's share; a probe stands out
        pair = frozenset(
            a
            for a, sp in setpoints.items()
            if (a in ("bat-0", "bat-1") and abs(sp - LEVEL_MW) > 0.05)
            or (a not in ("bat-0", "bat-1") and abs(sp - usual) > 1e-6)
        )
        if len(pair) == 2 and (not probed or probed[-1] != pair):
            probed.append(pair)  # (a slow asset ramping back alone shows as one)
    assert len(probed) >= 3, probed
    # Never the same two twice in a row: the slow pair is split up by a moving partner.
    assert all(a != b for a, b in pairwise(probed)), probed


def _mixed_site(
    chp_ramp_mw_per_s: float,
) -> tuple[PoolController, list[AssetActor], TelemetryBoard, HandClock, dict[str, float]]:
    """The Modbus fleet's units behind one site meter: a 60 kW PV plant (ramp 60 kW/s, its
    setpoint a cap), two 3 kW batteries (5 kW/s) and a 50 kW CHP (min load 25 kW, ramping
    at `chp_ramp_mw_per_s`); each planned flat (PV 30 kW, batteries 1 kW, CHP 30 kW)."""
    clock, board, context = _context(tolerance_mw=0.003)
    units = {
        "pv": (Pv(0.06, ramp_mw_per_s=0.06), DeviceLimits(0.06, 0.0, 0.06, 3.0, True), None),
        "bat-a": (Battery(0.003, -0.003, 0.005), DeviceLimits(0.003, -0.003, 0.005, 3.0), 0.005),
        "bat-b": (Battery(0.003, -0.003, 0.005), DeviceLimits(0.003, -0.003, 0.005, 3.0), 0.005),
        "chp": (
            Chp(0.05, 0.025, ramp_mw_per_s=chp_ramp_mw_per_s),
            DeviceLimits(0.05, 0.0, chp_ramp_mw_per_s, 3.0, min_stable_mw=0.025),
            None,
        ),
    }
    plan = {"pv": 0.03, "bat-a": 0.001, "bat-b": 0.001, "chp": 0.03}
    actors = []
    for name, (physics, limits, energy) in units.items():
        kind = name.split("-")[0].replace("bat", "battery")
        rating = max(abs(limits.max_mw), abs(limits.min_mw))
        policy = ConfirmationPolicy(
            ack_timeout_s=1, response_s=3, dwell_s=0, tolerance_mw=0.02 * rating
        )
        actor = AssetActor(
            InProcessDevice(name, physics, clock, kind),
            limits,
            context,
            ActorConfig(policy=policy),
            CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
            energy_mwh=energy,
        )
        actor.site_id = "site-1"
        actors.append(actor)
    return _pool(plan, actors, board, clock, context), actors, board, clock, plan


def _mixed_tick(
    pool: PoolController,
    actors: list[AssetActor],
    board: TelemetryBoard,
    clock: HandClock,
    plan: dict[str, float],
) -> dict[str, float]:
    """Every unit reads at its setpoint (PV with 60 kW of sun), then one tick."""
    batteries = {a.asset_id: 0.5 for a in actors if a.asset_id.startswith("bat")}
    return reads_then_tick(pool, actors, board, clock, plan, batteries, {"pv": 0.06})


def test_a_pv_plant_is_probed_by_what_a_slow_ramp_cannot_hide() -> None:
    # A PV plant ramping at a tenth of its rate (6 kW/s) covers a 2 kW probe (what a 3 kW
    # battery partner can take back) within a read period: never seen. Paired with the
    # CHP, which moves up while the cap moves down, it moves by 10 kW or more.
    pool, actors, board, clock, plan = _mixed_site(chp_ramp_mw_per_s=0.05)
    _mixed_tick(pool, actors, board, clock, plan)
    clock.t = 1.0
    pool.request_probe(["pv"])
    setpoints = _mixed_tick(pool, actors, board, clock, plan)
    pv_move = setpoints["pv"] - plan["pv"]
    assert pv_move <= -0.01
    assert abs(setpoints["chp"] - plan["chp"] + pv_move) < 1e-9  # the pool's total kept
    assert all(abs(setpoints[b] - plan[b]) < 1e-9 for b in ("bat-a", "bat-b"))


def test_a_slow_up_only_unit_is_no_partner_for_a_pv_plant() -> None:
    # A CHP at a twentieth of the PV's ramp would hold the pair's probe for many ticks:
    # the PV's partner is a battery, as before.
    pool, actors, board, clock, plan = _mixed_site(chp_ramp_mw_per_s=0.003)
    _mixed_tick(pool, actors, board, clock, plan)
    clock.t = 1.0
    pool.request_probe(["pv"])
    setpoints = _mixed_tick(pool, actors, board, clock, plan)
    assert setpoints["pv"] < plan["pv"]
    assert abs(setpoints["chp"] - plan["chp"]) < 1e-9
    assert any(setpoints[b] > plan[b] for b in ("bat-a", "bat-b"))


class Falling:
    """An activation that asks the site for 40 kW less from t = 1 s [MW]."""

    def activation_mw(self, t: float) -> float:
        return -0.04 if t >= 1.0 else 0.0


def test_a_running_chp_is_never_asked_for_less_than_its_minimum_stable_load() -> None:
    # Below 25 kW the CHP clamps (or its adapter refuses) what it is asked, and an honest
    # unit looked like drifting. The pool takes the rest from the others.
    pool, actors, board, clock, plan = _mixed_site(chp_ramp_mw_per_s=0.05)
    pool.activation = Falling()
    for second in range(8):
        clock.t = float(second)
        setpoints = _mixed_tick(pool, actors, board, clock, plan)
        assert setpoints["chp"] >= 0.025 - 1e-9
    assert setpoints["pv"] < plan["pv"] - 0.01  # the PV plant took the cut instead


def test_a_chp_is_probed_by_what_its_site_meter_can_pin_on_it_not_by_a_batterys_room() -> None:
    # The CHP is asked for (its site watch suspects it) while, beside it, only the two 3 kW
    # batteries are due (they probe in a storage round): paired with a battery it moved by
    # 4 kW, less than the meter may put down to every member's band at once, so a fake
    # meter's lie went unnamed until its next probe 20 s later. Paired with the PV plant
    # (not due, but free to move) it moves by more than that.
    pool, actors, board, clock, plan = _mixed_site(chp_ramp_mw_per_s=0.05)
    meter = SiteMeter("site-1", [a.adapter for a in actors], clock)  # type: ignore[misc]
    watch = SiteWatch(meter, actors, board, clock, threshold_mw=0.003)
    _mixed_tick(pool, actors, board, clock, plan)
    pool._moved_t[0] = 5.0  # the PV plant's cap moved at 5 s (a cloud): not flat yet
    clock.t = 11.0
    pool.request_probe(["chp"])
    setpoints = _mixed_tick(pool, actors, board, clock, plan)
    chp_move = setpoints["chp"] - plan["chp"]
    assert chp_move > watch.min_move_mw
    assert abs(setpoints["pv"] - plan["pv"] + chp_move) < 1e-9  # the pool's total kept
    # The two batteries, due too, probe in a round of their own: their moves cancel.
    assert abs(sum(setpoints[b] - plan[b] for b in ("bat-a", "bat-b"))) < 1e-9


def _mixed_sites(
    sites: int,
) -> tuple[PoolController, list[AssetActor], TelemetryBoard, HandClock, dict[str, float]]:
    """`sites` site meters, each over a 60 kW PV plant, a 50 kW CHP (ramp 50 kW/s) and a
    3 kW battery (the Modbus fleet's units), planned flat (PV and CHP 30 kW, battery 1 kW)."""
    clock, board, context = _context(tolerance_mw=0.003)
    actors: list[AssetActor] = []
    plan: dict[str, float] = {}
    for k in range(sites):
        units = {
            f"pv-{k}": (Pv(0.06, ramp_mw_per_s=0.06), DeviceLimits(0.06, 0.0, 0.06, 3.0, True)),
            f"chp-{k}": (
                Chp(0.05, 0.025, ramp_mw_per_s=0.05),
                DeviceLimits(0.05, 0.0, 0.05, 3.0, min_stable_mw=0.025),
            ),
            f"battery-{k}": (
                Battery(0.003, -0.003, 0.005),
                DeviceLimits(0.003, -0.003, 0.005, 3.0),
            ),
        }
        members = []
        for name, (physics, limits) in units.items():
            rating = max(abs(limits.max_mw), abs(limits.min_mw))
            policy = ConfirmationPolicy(
                ack_timeout_s=1, response_s=3, dwell_s=0, tolerance_mw=0.02 * rating
            )
            members.append(
                AssetActor(
                    InProcessDevice(name, physics, clock, name.split("-")[0]),
                    limits,
                    context,
                    ActorConfig(policy=policy),
                    CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
                    energy_mwh=0.005 if name.startswith("battery") else None,
                )
            )
            plan[name] = 0.001 if name.startswith("battery") else 0.03
        meter = SiteMeter(f"site-{k}", [a.adapter for a in members], clock)  # type: ignore[misc]
        SiteWatch(meter, members, board, clock, threshold_mw=0.003)  # sets sites and floors
        actors += members
    return _pool(plan, actors, board, clock, context), actors, board, clock, plan


def test_a_pv_plant_or_chp_behind_a_meter_moves_with_a_partner_behind_another_meter() -> None:
    # Paired inside their site, two fake meters (a PV plant and a CHP of one site) made
    # opposite moves their shared meter never saw: their lies cancelled, again and again
    # (on the Modbus benchmark's fleet, 3 of 120 never named and 5 named late, seed 1).
    # Partnered across sites, each meter sees one move at a time.
    pool, actors, board, clock, plan = _mixed_sites(3)
    moves: list[dict[str, float]] = []
    for second in range(40):
        clock.t = float(second)
        for actor in actors:
            wanted = actor._wanted[0] if actor._wanted is not None else plan[actor.asset_id]
            top = 0.06 if actor.asset_id.startswith("pv") else actor.limits.max_mw
            soc = 0.5 if actor.asset_id.startswith("battery") else None
            board.post(
                BoardEntry(
                    actor.asset_id,
                    Telemetry(clock.utc(), wanted, wanted, soc, top, actor.limits.min_mw),
                    "available",
                    True,
                    clock.t,
                )
            )
        pool.tick(clock.t)
        moved = {
            a.asset_id: a._wanted[0] - plan[a.asset_id]
            for a in actors
            if a._wanted is not None
            and not a.asset_id.startswith("battery")
            and abs(a._wanted[0] - plan[a.asset_id]) > 1e-9
        }
        moves.append(moved)
        for k in range(3):  # one moving PV plant or CHP per meter at a time
            assert len([a for a in moved if a.endswith(f"-{k}")]) <= 1, (second, moved)
    probed = {a for moved in moves for a in moved}
    assert probed == {f"{kind}-{k}" for kind in ("pv", "chp") for k in range(3)}
    # Each such move is matched by the opposite move of a unit behind another meter.
    for moved in moves:
        if len(moved) == 2:
            (a, up), (b, down) = moved.items()
            assert a[-1] != b[-1]
            assert abs(up + down) < 1e-9
