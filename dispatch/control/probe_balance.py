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
member's unexpected move would blur what its meter tells the site watch; a unit with a
minimum stable load only while it runs, never below that load), within the interval
each can reach this tick, shared by their room (`water_fill`), storage first; PV caps
are never lowered. The probing assets keep their moves exactly, so what a probe shows of
a device is unchanged; only the others' setpoints move, and the pool's setpoints again
sum to the allocation where the free assets have the room. Units MW, + injection.
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
    storage: np.ndarray | None = None,
    caps: np.ndarray | None = None,
) -> np.ndarray:
    """`probed` [MW] (the allocation `allocated` with the running probes' moves, clipped to
    each asset's reachable [`lo`, `hi`] [MW]) with the probes' net move taken back by the
    `free` assets that are not `running`, as far as their room allows.

    `storage` (mask) goes first, as the allocation takes a call from storage first; `caps`
    (mask: the setpoint is a limit, a PV plant's cap) are never lowered: that would curtail
    energy nobody gives back (the pool never probes them down either)."""
    residual = float(np.nansum(probed[running] - allocated[running]))
    if abs(residual) <= 1e-9:
        return probed
    movers = free & ~running
    if residual > 0 and caps is not None:
        movers = movers & ~caps
    first = movers if storage is None else movers & storage
    groups = (first, movers & ~first)
    out = probed.copy()
    left = abs(residual)
    for group in groups:
        idx = np.flatnonzero(group)
        if idx.size == 0 or left <= 1e-9:
            continue
        base = out[idx]
        room = base - lo[idx] if residual > 0 else hi[idx] - base
        room = np.nan_to_num(np.maximum(room, 0.0))
        moved = water_fill(left, room, np.ones(idx.size))
        out[idx] = base - moved if residual > 0 else base + moved
        left -= float(moved.sum())
    return out


__all__ = ["balance_probes"]
