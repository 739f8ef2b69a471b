"""Pool setpoint allocation: every asset stays reachable, the pool gets its target (or says
how much it misses), excluded assets are left alone and their share goes to the others."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.control.allocation import (
    AssetInput,
    allocate,
    allocate_arrays,
    reachable_interval,
    soc_power_limits,
    water_fill,
)

DT = 1.0  # control tick [s]


@st.composite
def fleets(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """Random fleets of batteries and PV: limits, measured power (sometimes outside its
    limits), ramps, weights, SoC (NaN for PV), inclusion mask."""
    n = draw(st.integers(1, 40))
    rows = []
    for _ in range(n):
        battery = draw(st.booleans())
        if battery:
            cap = draw(st.floats(0.1, 10))
            mn, mx = -cap, cap
            soc = draw(st.floats(0, 1))
            energy = draw(st.floats(0.05, 20))
        else:
            mn, mx = 0.0, draw(st.floats(0, 10))
            soc = energy = math.nan
        measured = draw(st.floats(mn - 2, mx + 2))
        ramp = draw(st.floats(0, 5))
        weight = draw(st.floats(0.01, 100))
        include = draw(st.booleans()) or battery
        rows.append((measured, mn, mx, ramp, weight, soc, energy, include))
    cols = list(zip(*rows, strict=True))
    names = ["measured", "min", "max", "ramp", "weight", "soc", "energy"]
    out = {name: np.array(col, dtype=float) for name, col in zip(names, cols, strict=False)}
    out["include"] = np.array(cols[7], dtype=bool)
    return out


def run(fleet: dict[str, np.ndarray], target: float, horizon_s: float = 900.0):
    return allocate_arrays(
        target,
        fleet["measured"],
        fleet["min"],
        fleet["max"],
        fleet["ramp"],
        DT,
        weight=fleet["weight"],
        include=fleet["include"],
        soc=fleet["soc"],
        energy_mwh=fleet["energy"],
        horizon_s=horizon_s,
    )


@given(fleet=fleets(), target=st.floats(-300, 300))
def test_allocation_invariants(fleet, target) -> None:
    result = run(fleet, target)
    inc = fleet["include"]
    sp, lo, hi = result.setpoint_mw[inc], result.lo_mw[inc], result.hi_mw[inc]
    # Every commanded asset can reach its setpoint this tick.
    assert np.all(lo <= sp + 1e-9)
    assert np.all(sp <= hi + 1e-9)
    # The pool gets its target, or as close as the fleet can reach, and says what it misses.
    goal = min(max(target, lo.sum()), hi.sum())
    assert sp.sum() == pytest.approx(goal, abs=1e-6)
    assert result.allocated_mw == pytest.approx(sp.sum(), abs=1e-9)
    assert result.unallocated_mw == pytest.approx(target - sp.sum(), abs=1e-9)
    # Excluded assets get no setpoint at all.
    assert np.all(np.isnan(result.setpoint_mw[~inc]))
    # Storage is never asked for more than it can hold for the horizon.
    s_lo, s_hi = soc_power_limits(fleet["soc"], fleet["energy"], 900.0)
    assert np.all(sp <= np.maximum(s_hi[inc], 0) + 1e-9)
    assert np.all(sp >= np.minimum(s_lo[inc], 0) - 1e-9)


@given(fleet=fleets(), target=st.floats(-300, 300))
def test_assets_move_only_in_the_needed_direction(fleet, target) -> None:
    """No asset is pushed down while the pool needs more (no wasteful circulation)."""
    result = run(fleet, target)
    inc = fleet["include"]
    base = np.clip(fleet["measured"][inc], result.lo_mw[inc], result.hi_mw[inc])
    move = result.setpoint_mw[inc] - base
    if result.allocated_mw >= base.sum():
        assert np.all(move >= -1e-9)
    else:
        assert np.all(move <= 1e-9)


def test_share_is_proportional_to_headroom() -> None:
    # Three PV plants at 0 MW with 10, 20, 30 MW available and ramps that reach them.
    result = allocate_arrays(12.0, [0, 0, 0], 0.0, [10, 20, 30], 100.0, DT)
    np.testing.assert_allclose(result.setpoint_mw, [2, 4, 6])
    assert result.unallocated_mw == pytest.approx(0.0)


def test_weights_water_fill_capped_assets() -> None:
    # A heavy weight asks the first asset for everything it has; the rest goes to the others.
    result = allocate_arrays(14.0, [0, 0, 0], 0.0, [4, 10, 10], 100.0, DT, weight=[100.0, 1.0, 1.0])
    np.testing.assert_allclose(result.setpoint_mw, [4, 5, 5])


def test_removed_asset_share_goes_to_the_others() -> None:
    """Re-dispatch: when one battery is quarantined, the others take its share and the pool
    still meets its target; the removed one is not commanded at all."""
    fleet = [AssetInput(f"bat-{i}", 2.0, -5.0, 5.0, 10.0) for i in range(4)]
    before = allocate(8.0, fleet, DT)
    assert before.setpoints_mw == pytest.approx({f"bat-{i}": 2.0 for i in range(4)})
    fleet[2] = AssetInput("bat-2", 2.0, -5.0, 5.0, 10.0, included=False)
    after = allocate(8.0, fleet, DT)
    assert "bat-2" not in after.setpoints_mw
    assert after.setpoints_mw == pytest.approx({"bat-0": 8 / 3, "bat-1": 8 / 3, "bat-3": 8 / 3})
    assert after.unallocated_mw == pytest.approx(0.0)


def test_empty_battery_is_not_asked_to_discharge() -> None:
    """A battery at 1% SoC cannot sustain discharge for 15 minutes: the full one covers the
    target; an empty one can still charge."""
    fleet = [
        AssetInput("empty", 0.0, -2.0, 2.0, 10.0, soc=0.01, energy_mwh=4.0),
        AssetInput("full", 0.0, -2.0, 2.0, 10.0, soc=0.9, energy_mwh=4.0),
    ]
    discharge = allocate(2.0, fleet, DT, horizon_s=900)
    assert discharge.setpoints_mw["empty"] <= 0.01 * 4.0 * 4 + 1e-9  # 0.16 MW for 15 min
    assert discharge.setpoints_mw["full"] == pytest.approx(2.0 - discharge.setpoints_mw["empty"])
    charge = allocate(-5.0, fleet, DT, horizon_s=900)
    assert charge.setpoints_mw["full"] == pytest.approx(-0.1 * 4.0 * 4)  # room for 1.6 MW
    assert charge.setpoints_mw["empty"] == pytest.approx(-2.0)
    assert charge.unallocated_mw == pytest.approx(-5.0 + 2.0 + 1.6)


def test_unreachable_target_reports_the_remainder() -> None:
    fleet = [AssetInput("pv", 3.0, 0.0, 5.0, 0.5)]  # ramps 0.5 MW per 1 s tick
    up = allocate(10.0, fleet, DT)
    assert up.setpoints_mw == {"pv": 3.5}
    assert up.unallocated_mw == pytest.approx(6.5)
    down = allocate(-4.0, fleet, DT)
    assert down.setpoints_mw == {"pv": 2.5}
    assert down.unallocated_mw == pytest.approx(-6.5)


def test_no_asset_included_leaves_everything_unallocated() -> None:
    result = allocate(5.0, [AssetInput("a", 1.0, 0.0, 2.0, 1.0, included=False)], DT)
    assert result.setpoints_mw == {}
    assert result.unallocated_mw == 5.0


def test_power_limit_wins_over_ramp_when_a_limit_drops() -> None:
    # Measured 8 MW, available power just dropped to 3 MW, ramp 1 MW/s: the limit wins.
    lo, hi = reachable_interval([8.0], [0.0], [3.0], [1.0], DT)
    assert (lo[0], hi[0]) == (3.0, 3.0)


def test_invalid_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="min_mw"):
        allocate_arrays(0.0, [0.0], [1.0], [0.0], [1.0], DT)
    with pytest.raises(ValueError, match="weights"):
        allocate_arrays(0.0, [0.0], [0.0], [1.0], [1.0], DT, weight=[0.0])


@given(
    amount=st.floats(0, 100),
    rows=st.lists(st.tuples(st.floats(0, 10), st.floats(0.01, 100)), min_size=1, max_size=30),
)
def test_water_fill_takes_what_fits_and_no_more(amount, rows) -> None:
    head = np.array([r[0] for r in rows])
    weight = np.array([r[1] for r in rows])
    share = water_fill(amount, head, weight)
    assert np.all(share >= -1e-12)
    assert np.all(share <= head + 1e-9)
    assert share.sum() == pytest.approx(min(amount, head.sum()), abs=1e-6)


def test_ten_thousand_assets() -> None:
    rng = np.random.default_rng(7)
    n = 10_000
    cap = rng.uniform(0.1, 5.0, n)
    battery = rng.random(n) < 0.5
    mn = np.where(battery, -cap, 0.0)
    measured = rng.uniform(mn, cap)
    soc = np.where(battery, rng.random(n), np.nan)
    energy = np.where(battery, cap * 2, np.nan)
    include = rng.random(n) > 0.3
    kwargs = {"weight": rng.uniform(0.5, 2, n), "include": include, "soc": soc}
    result = allocate_arrays(
        5_000.0, measured, mn, cap, cap / 10, DT, energy_mwh=energy, horizon_s=900.0, **kwargs
    )
    sp, lo, hi = result.setpoint_mw[include], result.lo_mw[include], result.hi_mw[include]
    assert np.all((lo - 1e-9 <= sp) & (sp <= hi + 1e-9))
    assert sp.sum() == pytest.approx(min(5_000.0, hi.sum()), abs=1e-6)
    assert np.isnan(result.setpoint_mw[~include]).all()
