"""Every allocation strategy keeps each asset inside the limits the pool respects (power and
cap limits, state of charge over the horizon, ramp from the measured power) and hands out
the wanted MW whenever the assets can reach it; ``merit_order`` moves no dearer asset while
a cheaper one still has room in the direction needed, and its costs come from the
portfolio's own fields."""

from __future__ import annotations

import numpy as np
import pytest
from hand_clock import HandClock, hand_context, quarter_schedule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.activation import NoActivation
from dispatch.actor import ActorConfig, AssetActor
from dispatch.allocation import MERIT_ORDER, STRATEGIES, merit_fill, strategy
from dispatch.board import TelemetryBoard
from dispatch.control.allocation import soc_power_limits
from dispatch.control.budget import BreakerConfig, CircuitBreaker
from dispatch.device import DeviceLimits
from dispatch.devices.physics import Battery
from dispatch.inproc import InProcessDevice
from dispatch.merit import MoveCost, move_costs
from dispatch.pool import PoolController
from regulatory import read_portfolio
from trading.samples import sample_portfolio_path

EPS = 1e-6


def _pool(specs: list[dict]) -> PoolController:
    """A pool of assets with the given limits (the devices are never driven here)."""
    clock = HandClock()
    board = TelemetryBoard()
    context = hand_context(clock, board)
    actors = [
        AssetActor(
            InProcessDevice(f"a-{i}", Battery(1.0, -1.0, 2.0, soc=0.5), clock, "battery"),
            DeviceLimits(
                s["max"], s["min"], s["ramp"], setpoint_is_limit=s["cap"], min_stable_mw=0.0
            ),
            context,
            ActorConfig(),
            CircuitBreaker(BreakerConfig(), rng=lambda: 0.5),
            energy_mwh=s["energy"],
        )
        for i, s in enumerate(specs)
    ]
    schedule = quarter_schedule({a.asset_id: 0.0 for a in actors})
    return PoolController(
        "pool", schedule, NoActivation(), actors, board, clock, context.metrics, context.kpi
    )


@st.composite
def _asset(draw: st.DrawFn) -> dict:
    """One asset: a battery (storage), a PV plant (a cap, 0..max), a CHP-like unit (0..max,
    running at or above a minimum load given as its lower cap) or a load (-max..0)."""
    kind = draw(st.sampled_from(["battery", "pv", "chp", "load"]))
    size = draw(st.floats(0.1, 20.0))
    low, high = {"battery": (-size, size), "pv": (0.0, size), "chp": (0.0, size)}.get(
        kind, (-size, 0.0)
    )
    measured = draw(st.floats(low, high))
    cap_lo, cap_hi = low, high
    if kind == "pv":
        cap_hi = draw(st.floats(0.0, high))  # what the weather gives now
    if kind == "chp" and draw(st.booleans()):
        cap_lo = draw(st.floats(0.0, high))  # running: at or above its minimum stable load
    return {
        "max": high,
        "min": low,
        "ramp": draw(st.floats(0.01, 5.0)),
        "cap": kind == "pv",
        "energy": draw(st.floats(0.1, 40.0)) if kind == "battery" else None,
        "soc": draw(st.floats(0.0, 1.0)) if kind == "battery" else float("nan"),
        "measured": measured,
        "planned": draw(st.floats(low - 2.0, high + 2.0)),
        "cap_lo": cap_lo,
        "cap_hi": cap_hi,
        "include": draw(st.booleans()) or kind == "battery",
        "up": float(draw(st.integers(-3, 3)) * 10),
        "down": float(draw(st.integers(-3, 3)) * 10),
    }


def _independent_interval(pool: PoolController, s: dict) -> tuple[float, float]:
    """Where the asset may be, from its caps and state of charge alone [MW]."""
    hi, lo = s["cap_hi"], s["cap_lo"]
    if s["energy"] is not None:
        lo_soc, hi_soc = soc_power_limits(
            np.array([s["soc"]]), np.array([s["energy"]]), pool.config.soc_horizon_s
        )
        hi, lo = min(hi, float(hi_soc[0])), max(lo, float(lo_soc[0]))
    return min(lo, hi), hi


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(_asset(), min_size=1, max_size=7),
    wanted=st.floats(-60.0, 60.0),
    name=st.sampled_from(sorted(STRATEGIES)),
)
def test_every_strategy_stays_within_limits_and_hands_out_the_wanted_mw(
    specs: list[dict], wanted: float, name: str
) -> None:
    pool = _pool(specs)
    costs = {f"a-{i}": MoveCost(s["up"], s["down"]) for i, s in enumerate(specs)}
    column = {
        key: np.array([s[key] for s in specs], dtype=float)
        for key in specs[0]
        if key not in ("cap", "energy", "include")
    }
    include = np.array([s["include"] for s in specs])
    setpoints, lo, hi = strategy(name, pool, costs)(
        wanted,
        column["planned"],
        column["measured"],
        column["cap_lo"],
        column["cap_hi"],
        column["soc"],
        include,
    )
    assert np.isnan(setpoints[~include]).all()  # an asset out of the pool is not commanded
    for i, s in enumerate(specs):
        if not include[i]:
            continue
        sp = setpoints[i]
        assert lo[i] - EPS <= sp <= hi[i] + EPS
        low, high = _independent_interval(pool, s)
        assert low - EPS <= sp <= high + EPS, (s, sp)
        if low <= s["measured"] <= high:  # reachable by its ramp: never asked beyond it
            assert abs(sp - s["measured"]) <= s["ramp"] * pool.config.tick_s + EPS
    total = float(setpoints[include].sum())
    reach_lo, reach_hi = float(lo[include].sum()), float(hi[include].sum())
    assert total == pytest.approx(min(max(wanted, reach_lo), reach_hi), abs=1e-6)

    if name == MERIT_ORDER:  # no dearer asset moves while a cheaper one has room
        base = np.clip(column["planned"], lo, hi)
        up = wanted >= float(base[include].sum())
        cost = column["up"] if up else column["down"]
        moved = (setpoints - base > EPS) if up else (base - setpoints > EPS)
        room = (hi - setpoints > EPS) if up else (setpoints - lo > EPS)
        for i in np.flatnonzero(include & moved):
            cheaper_with_room = include & room & (cost < cost[i])
            assert not cheaper_with_room.any(), (i, cost, setpoints, lo, hi)


@given(
    amount=st.floats(0.0, 50.0),
    rooms=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=8),
    data=st.data(),
)
def test_merit_fill_fills_the_cheapest_first_and_shares_a_tie_by_room(
    amount: float, rooms: list[float], data: st.DataObject
) -> None:
    room = np.array(rooms)
    cost = np.array(
        data.draw(st.lists(st.integers(0, 2), min_size=len(rooms), max_size=len(rooms))),
        dtype=float,
    )
    out = merit_fill(amount, room, cost)
    assert (out >= -EPS).all()
    assert (out <= room + EPS).all()
    assert float(out.sum()) == pytest.approx(min(amount, float(room.sum())), abs=1e-9)
    for level in np.unique(cost):
        group = cost == level
        if (out[group] < room[group] - EPS).any():  # this level is not full: none dearer moved
            assert (out[cost > level] <= EPS).all()
            # shares by room where a share can be told (a subnormal room rounds it away)
            real = room[group] > EPS
            share = out[group][real] / room[group][real]
            if share.size:
                assert np.ptp(share) == pytest.approx(0.0, abs=1e-9)


def test_merit_order_gives_an_activation_to_the_cheapest_battery_the_default_shares_it() -> None:
    battery = {"max": 5.0, "min": -5.0, "ramp": 10.0, "cap": False, "energy": 10.0}
    pool = _pool([battery, battery])
    costs = {"a-0": MoveCost(20.0, 20.0), "a-1": MoveCost(2.0, 2.0)}
    args = (
        2.0,
        np.zeros(2),
        np.zeros(2),
        np.array([-5.0, -5.0]),
        np.array([5.0, 5.0]),
        np.array([0.5, 0.5]),
        np.array([True, True]),
    )
    shared, _, _ = strategy("plan_then_headroom", pool, costs)(*args)
    merit, _, _ = strategy("merit_order", pool, costs)(*args)
    assert shared == pytest.approx([1.0, 1.0])
    assert merit == pytest.approx([0.0, 2.0])
    with pytest.raises(ValueError, match="must be one of plan_then_headroom, merit_order"):
        strategy("random", pool, costs)


def test_move_costs_come_from_the_portfolios_cost_fields() -> None:
    costs = move_costs(read_portfolio(sample_portfolio_path()))
    assert costs["bat-de-essen-01"] == MoveCost(8.0, 8.0)  # wear, either way
    assert costs["chp-de-stuttgart"] == MoveCost(95.0 - 31.0, 31.0 - 95.0)  # fuel less support
    assert costs["pv-de-essen-roof"] == MoveCost(-58.0, 58.0)  # curtailing loses the premium
    assert costs["load-de-hamburg-cold"] == MoveCost(5.0, 5.0)
    assert costs["hp-de-stuttgart"] == MoveCost(0.0, 0.0)
    priced = move_costs(read_portfolio(sample_portfolio_path()), market_value_eur_per_mwh=40.0)
    assert priced["pv-de-essen-roof"] == MoveCost(-18.0, 18.0)
    assert priced["bat-de-essen-01"].up_eur_per_mwh > 8.0  # plus the round-trip loss
