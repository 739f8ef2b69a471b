"""Split a pool setpoint [MW] over the assets that can take it, this tick.

Each included asset gets a setpoint inside its *reachable interval*: its power limits now
(headroom, and for storage what its state of charge can sustain for a horizon), intersected
with what its ramp reaches from the measured power within `dt_s`. Starting from each asset's
measured power (clamped into that interval), the pool's missing power is shared in
proportion to `weight × headroom in the needed direction`, water-filled so that no asset
leaves its interval: what a capped asset cannot take goes to the others. The result is
exact (a sort and a cumulative sum, no iteration): 10,000 assets take well under 10 ms.

Units: MW (+ injection, - consumption), MW/s, MWh, s. Arrays are 1-D float64 of one length.
Excluded assets (mask False: unavailable, quarantined, degraded) get NaN, "do not command",
and count for nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Allocation:
    """The result of `allocate_arrays`.

    - `setpoint_mw`: per asset [MW]; NaN for an excluded asset (send it nothing).
    - `lo_mw` / `hi_mw`: each asset's reachable interval this tick [MW] (NaN if excluded).
    - `allocated_mw`: sum of the setpoints [MW] = the target clamped to what the fleet reaches.
    - `unallocated_mw`: `target - allocated` [MW]; + the fleet cannot inject enough,
      - it cannot absorb enough; 0 when the target is reachable.
    """

    setpoint_mw: FloatArray
    lo_mw: FloatArray
    hi_mw: FloatArray
    allocated_mw: float
    unallocated_mw: float


def soc_power_limits(
    soc: npt.ArrayLike,
    energy_mwh: npt.ArrayLike,
    horizon_s: float,
    soc_min: float = 0.0,
    soc_max: float = 1.0,
) -> tuple[FloatArray, FloatArray]:
    """The power [MW] storage can hold for `horizon_s` [s] given its state of charge.

    Returns `(lo, hi)`: `hi >= 0` the discharge power the stored energy above `soc_min`
    sustains, `lo <= 0` the charge power the room below `soc_max` absorbs. Energy is taken at
    the grid connection (no efficiency applied). An asset with NaN `soc` or `energy_mwh` is
    not storage: `(-inf, +inf)`.
    """
    if not horizon_s > 0:
        raise ValueError(f"horizon_s must be > 0, got {horizon_s}")
    soc_a = np.asarray(soc, dtype=np.float64)
    energy = np.asarray(energy_mwh, dtype=np.float64)
    hours = horizon_s / 3600.0
    with np.errstate(invalid="ignore"):
        hi = np.clip(soc_a - soc_min, 0.0, None) * energy / hours
        lo = -np.clip(soc_max - soc_a, 0.0, None) * energy / hours
    not_storage = np.isnan(soc_a) | np.isnan(energy)
    hi = np.where(not_storage, np.inf, hi)
    lo = np.where(not_storage, -np.inf, lo)
    return lo, hi


def reachable_interval(
    measured_mw: npt.ArrayLike,
    min_mw: npt.ArrayLike,
    max_mw: npt.ArrayLike,
    ramp_mw_per_s: npt.ArrayLike,
    dt_s: float,
) -> tuple[FloatArray, FloatArray]:
    """Where each asset can be within `dt_s` [s]: `[min, max] ∩ measured ± ramp·dt` [MW].

    When the measured power is outside `[min, max]` farther than the ramp reaches (a limit
    just dropped), the power limit wins: the interval is the nearest bound.
    """
    p = np.asarray(measured_mw, dtype=np.float64)
    mn = np.asarray(min_mw, dtype=np.float64)
    mx = np.asarray(max_mw, dtype=np.float64)
    step = np.asarray(ramp_mw_per_s, dtype=np.float64) * dt_s
    lo = np.maximum(mn, np.minimum(p - step, mx))
    hi = np.minimum(mx, np.maximum(p + step, mn))
    return lo, hi


def water_fill(amount_mw: float, headroom_mw: FloatArray, weight: FloatArray) -> FloatArray:
    """Share `amount_mw >= 0` over assets with `headroom_mw >= 0`, in proportion to
    `weight × headroom`, none above its headroom; what capped assets cannot take goes to the
    others. If the amount exceeds the total headroom every asset gets its headroom.

    Exact: each asset gets `headroom · min(1, λ·weight)` with the λ that makes the sum equal
    the amount; λ is found among the breakpoints `1/weight` sorted (O(n log n)).
    """
    total = float(headroom_mw.sum())
    if amount_mw <= 0 or total <= 0:
        return np.zeros_like(headroom_mw)
    if amount_mw >= total:
        return headroom_mw.copy()
    order = np.argsort(-weight, kind="stable")
    h = headroom_mw[order]
    wh = weight[order] * h
    tau = 1.0 / weight[order]  # ascending: the λ at which each asset fills up
    filled_before = np.concatenate(([0.0], np.cumsum(h)[:-1]))  # Σ h_j, j < m
    wh_from = np.cumsum(wh[::-1])[::-1]  # Σ w_j h_j, j >= m
    reached = filled_before + tau * wh_from  # f(τ_m), nondecreasing
    m = int(np.searchsorted(reached, amount_mw, side="left"))
    m = min(m, len(h) - 1)
    lam = (amount_mw - filled_before[m]) / max(wh_from[m], np.finfo(np.float64).tiny)
    return headroom_mw * np.minimum(1.0, lam * weight)


def allocate_arrays(
    target_mw: float,
    measured_mw: npt.ArrayLike,
    min_mw: npt.ArrayLike,
    max_mw: npt.ArrayLike,
    ramp_mw_per_s: npt.ArrayLike,
    dt_s: float,
    *,
    weight: npt.ArrayLike | None = None,
    include: npt.ArrayLike | None = None,
    soc: npt.ArrayLike | None = None,
    energy_mwh: npt.ArrayLike | None = None,
    horizon_s: float = 900.0,
) -> Allocation:
    """Split `target_mw` [MW] over the assets; arrays in, arrays out (see the module doc).

    - `measured_mw` [MW]: each asset's measured power now.
    - `min_mw` / `max_mw` [MW]: what each asset can do now (e.g. battery: -charge, +discharge
      limit; PV: 0 and available power).
    - `ramp_mw_per_s` [MW/s] and `dt_s` [s]: how far each asset can move this tick.
    - `weight` (> 0, default 1): relative share of the headroom an asset is asked to use.
    - `include` (default all True): False excludes the asset (setpoint NaN).
    - `soc` [0..1] and `energy_mwh` [MWh] (NaN for non-storage): storage limits so the asset
      can hold its power for `horizon_s` [s].
    """
    p = np.asarray(measured_mw, dtype=np.float64)
    n = p.shape[0]
    mn = np.broadcast_to(np.asarray(min_mw, dtype=np.float64), (n,))
    mx = np.broadcast_to(np.asarray(max_mw, dtype=np.float64), (n,))
    w = np.ones(n) if weight is None else np.broadcast_to(np.asarray(weight, np.float64), (n,))
    inc = np.ones(n, bool) if include is None else np.broadcast_to(np.asarray(include, bool), (n,))
    if np.any(mn[inc] > mx[inc]):
        bad = int(np.flatnonzero(inc & (mn > mx))[0])
        raise ValueError(f"asset #{bad}: min_mw {mn[bad]} > max_mw {mx[bad]}")
    if not np.all((w[inc] > 0) & np.isfinite(w[inc])):
        raise ValueError("weights of included assets must be finite and > 0")
    if soc is not None and energy_mwh is not None:
        s_lo, s_hi = soc_power_limits(soc, energy_mwh, horizon_s)
        # SoC wins over the device's limits; s_lo <= 0 <= s_hi keeps min <= max.
        mn, mx = np.clip(mn, s_lo, s_hi), np.clip(mx, s_lo, s_hi)
    lo, hi = reachable_interval(p, mn, mx, ramp_mw_per_s, dt_s)
    lo = np.where(inc, lo, np.nan)
    hi = np.where(inc, hi, np.nan)

    setpoint = np.full(n, np.nan)
    lo_i, hi_i = lo[inc], hi[inc]
    if lo_i.size == 0:
        return Allocation(setpoint, lo, hi, 0.0, float(target_mw))
    base = np.clip(p[inc], lo_i, hi_i)
    goal = min(max(float(target_mw), float(lo_i.sum())), float(hi_i.sum()))
    missing = goal - float(base.sum())
    if missing >= 0:
        sp = base + water_fill(missing, hi_i - base, w[inc])
    else:
        sp = base - water_fill(-missing, base - lo_i, w[inc])
    sp = np.clip(sp, lo_i, hi_i)
    setpoint[inc] = sp
    allocated = float(sp.sum())
    return Allocation(setpoint, lo, hi, allocated, float(target_mw) - allocated)


@dataclass(frozen=True)
class AssetInput:
    """One asset for `allocate`: the per-asset values of `allocate_arrays` (same units);
    `soc`/`energy_mwh` None for non-storage; `included=False` to exclude it."""

    asset_id: str
    measured_mw: float
    min_mw: float
    max_mw: float
    ramp_mw_per_s: float
    weight: float = 1.0
    soc: float | None = None
    energy_mwh: float | None = None
    included: bool = True


@dataclass(frozen=True)
class PoolAllocation:
    """The result of `allocate`: setpoints [MW] of the included assets only (an asset absent
    from `setpoints_mw` must not be commanded), and the pool's allocated and unallocated MW."""

    setpoints_mw: dict[str, float]
    allocated_mw: float
    unallocated_mw: float


def allocate(
    target_mw: float, assets: Sequence[AssetInput], dt_s: float, horizon_s: float = 900.0
) -> PoolAllocation:
    """Convenience wrapper of `allocate_arrays` for a list of assets (small pools, tests)."""

    def col(name: str) -> FloatArray:
        values = [getattr(a, name) for a in assets]
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

    result = allocate_arrays(
        target_mw,
        col("measured_mw"),
        col("min_mw"),
        col("max_mw"),
        col("ramp_mw_per_s"),
        dt_s,
        weight=col("weight"),
        include=np.array([a.included for a in assets], dtype=bool),
        soc=col("soc"),
        energy_mwh=col("energy_mwh"),
        horizon_s=horizon_s,
    )
    setpoints = {
        a.asset_id: float(sp)
        for a, sp in zip(assets, result.setpoint_mw, strict=True)
        if a.included
    }
    return PoolAllocation(setpoints, result.allocated_mw, result.unallocated_mw)
