"""The pool's allocation strategies, by name: how a tick's wanted MW becomes one setpoint
per asset.

Every strategy starts each asset in the pool from its planned injection and differs in who
takes the deviation from plan (aFRR activation, the PI correction, a lost asset's share):

- ``plan_then_headroom`` (the default): `dispatch.pool.PoolController._allocate` as it
  always was: the rest shared by headroom, downward moves to storage first;
- ``merit_order``: the rest taken by the assets cheapest to move in the direction needed
  first (`dispatch.merit.MoveCost`, [EUR/MWh], from the portfolio), assets of equal cost
  sharing by headroom, each up to the edge of its interval before the next dearer one moves.

A strategy never widens the limits: ``merit_order`` takes each asset's reachable interval
this tick (power limits, state-of-charge limits over the pool's horizon, ramp, minimum
stable load, caps) from `_allocate` itself, so it obeys whatever that interval holds, and
its setpoints sum to the wanted MW whenever the intervals reach it (to the nearest edge
otherwise, as the default does).

A pool obeys a strategy chosen per tick through `ChosenAllocation` (the hook
`PoolController.allocator`); with none set the pool calls `_allocate` as before.

Units: MW (+ injection), EUR/MWh. Arrays are per asset of the pool, NaN outside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from dispatch.control.allocation import water_fill
from dispatch.merit import MoveCost

if TYPE_CHECKING:
    from dispatch.pool import PoolController

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

Allocate = Callable[
    [float, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, BoolArray],
    tuple[FloatArray, FloatArray, FloatArray],
]
"""(wanted_mw, planned, measured, cap_lo, cap_hi, soc, include) -> (setpoints, lo, hi):
the signature of `PoolController._allocate` [MW; soc 0..1]."""

PLAN_THEN_HEADROOM = "plan_then_headroom"
MERIT_ORDER = "merit_order"
DEFAULT = PLAN_THEN_HEADROOM

STRATEGIES: Mapping[str, str] = MappingProxyType(
    {
        PLAN_THEN_HEADROOM: (
            "each asset from its planned injection, the rest shared by headroom; downward "
            "moves go to storage first"
        ),
        MERIT_ORDER: (
            "each asset from its planned injection, the rest taken by the assets cheapest to "
            "move in that direction first (battery wear, CHP fuel less support, PV/wind "
            "support premium, load shift cost [EUR/MWh]); equal costs share by headroom"
        ),
    }
)
"""The allocation strategies the dispatcher has, by name, with what each does."""


def merit_fill(amount_mw: float, room_mw: FloatArray, cost: FloatArray) -> FloatArray:
    """Share `amount_mw` >= 0 [MW] over assets with `room_mw` >= 0 [MW], cheapest `cost`
    [EUR/MWh] first: every cheaper asset is filled to its room before a dearer one takes
    anything; the assets of the cost where the amount runs out share what is left by room
    (`water_fill`). If the amount exceeds the total room every asset gets its room.
    One sort (O(n log n)), not one pass per cost level."""
    room = np.maximum(room_mw, 0.0)
    total = float(room.sum())
    if amount_mw <= 0.0 or total <= 0.0:
        return np.zeros_like(room)
    if amount_mw >= total:
        return room.copy()
    order = np.argsort(cost, kind="stable")
    filled = np.cumsum(room[order])
    k = min(int(np.searchsorted(filled, amount_mw, side="left")), len(filled) - 1)
    level = cost[order][k]
    cheaper = cost < level
    out = np.where(cheaper, room, 0.0)
    marginal = cost == level
    left = amount_mw - float(out.sum())
    out[marginal] = water_fill(left, room[marginal], np.ones(int(marginal.sum())))
    return out


def merit_order(pool: PoolController, costs: Mapping[str, MoveCost]) -> Allocate:
    """The ``merit_order`` allocation of `pool` with `costs` per asset id (an asset not
    named costs 0 EUR/MWh both ways)."""
    zero = MoveCost()
    up = np.array([costs.get(a, zero).up_eur_per_mwh for a in pool._ids], dtype=np.float64)
    down = np.array([costs.get(a, zero).down_eur_per_mwh for a in pool._ids], dtype=np.float64)

    def allocate(
        wanted_mw: float,
        planned: FloatArray,
        measured: FloatArray,
        cap_lo: FloatArray,
        cap_hi: FloatArray,
        soc: FloatArray,
        include: BoolArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        # The intervals the default obeys, so that both strategies obey the same limits.
        default, lo_all, hi_all = pool._allocate(
            wanted_mw, planned, measured, cap_lo, cap_hi, soc, include
        )
        if not include.any():
            return default, lo_all, hi_all
        lo, hi = lo_all[include], hi_all[include]
        base = np.clip(planned[include], lo, hi)
        missing = wanted_mw - float(base.sum())
        if missing >= 0.0:
            chosen = base + merit_fill(missing, hi - base, up[include])
        else:
            chosen = base - merit_fill(-missing, base - lo, down[include])
        setpoints = np.full(len(planned), np.nan)
        setpoints[include] = np.clip(chosen, lo, hi)
        return setpoints, lo_all, hi_all

    return allocate


def strategy(name: str, pool: PoolController, costs: Mapping[str, MoveCost]) -> Allocate:
    """The allocation `name` of `pool`; ValueError naming the allowed names if unknown."""
    if name == PLAN_THEN_HEADROOM:
        return pool._allocate
    if name == MERIT_ORDER:
        return merit_order(pool, costs)
    raise ValueError(f"allocation strategy {name!r}: must be one of {', '.join(STRATEGIES)}")


class ChosenAllocation:
    """A pool's allocation chosen by name at every tick (`choose()`, e.g. a pool flag read
    from memory): a change is obeyed at the pool's next tick. A name the registry does not
    know (a database edited by hand) keeps the default and says so in `status`.

    Set it as `PoolController.allocator`; the pool calls `bound(pool, t)` once per tick."""

    def __init__(
        self, choose: Callable[[], str], costs: Mapping[str, MoveCost] | None = None
    ) -> None:
        self.choose = choose
        self.costs: Mapping[str, MoveCost] = {} if costs is None else costs
        self.name = DEFAULT
        """The strategy the latest tick used."""
        self.refused: str | None = None
        """A chosen name that is not a strategy (the default was used instead)."""
        self._built: dict[tuple[int, str], Allocate] = {}

    def read(self) -> str:
        """The strategy chosen now (the default for a name no strategy has, kept in
        `refused`), recorded as the one in use (`name`)."""
        wanted = self.choose()
        self.name = wanted if wanted in STRATEGIES else DEFAULT
        self.refused = None if self.name == wanted else wanted
        return self.name

    def bound(self, pool: PoolController, t: float) -> Allocate:
        """The allocation `pool` uses at its tick at `t` [s]."""
        del t  # the choice is read now; the time is for strategies that would need it
        name = self.read()
        key = (id(pool), name)
        found = self._built.get(key)
        if found is None:
            found = self._built[key] = strategy(name, pool, self.costs)
        return found

    def status(self) -> dict[str, str | None]:
        """What the pool allocated with at its latest tick, for the engine's status."""
        return {"allocation_strategy": self.name, "allocation_refused": self.refused}
