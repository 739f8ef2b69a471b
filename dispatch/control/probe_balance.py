"""What a tick's probing pairs take from the pool's total, given back by the assets that
do not probe.

A probing pair moves one asset up and one down by the same step (`dispatch.pool`), but
each setpoint is clipped to what its asset can reach this tick. A slow unit (a CHP at
0.05 MW/s) reaches a 0.25 MW probe over five ticks while its partner (a battery) takes
its whole opposite move at once: until the slow one gets there the pair's setpoints, and
so the pool's, sum to less than the allocation. At 20,000 assets in 4 partitions the
partition of CHPs, PV and batteries had up to 2,000 such pairs running and its devices'
truth fell 300-400 MW below its target for 5-10 s, twice a minute, while every asset was
read (`docs/scale.md`).

`balance_probes` hands that residual (the sum over the probing assets of their clipped
probe moves) to the `free` assets (in the pool, not probing, behind no site meter: a site
member's unexpected move would blur what its meter tells the site watch), within the
interval each can reach this tick, shared by their room (`water_fill`). The probing
assets keep their moves exactly, so what a probe shows of a device is unchanged; only
the others' setpoints move, and the pool's setpoints again sum to the allocation where
the free assets have the room. Units MW, + injection.
"""

from __future__ import annotations

import numpy as np

from dispatch.control.allocation import water_fill


def balance_probes(
    allocated: np.ndarray,
    probed: np.ndarray,
    running: np.ndarray,
    free: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray:
    """`probed` [MW] (the allocation `allocated` with the running probes' moves, clipped to
    each asset's reachable [`lo`, `hi`] [MW]) with the probes' net move taken back by the
    `free` assets that are not `running`, as far as their room allows."""
    residual = float(np.nansum(probed[running] - allocated[running]))
    movers = np.flatnonzero(free & ~running)
    if abs(residual) <= 1e-9 or movers.size == 0:
        return probed
    base = probed[movers]
    room = base - lo[movers] if residual > 0 else hi[movers] - base
    room = np.nan_to_num(np.maximum(room, 0.0))
    moved = water_fill(abs(residual), room, np.ones(movers.size))
    out = probed.copy()
    out[movers] = base - moved if residual > 0 else base + moved
    return out


__all__ = ["balance_probes"]
