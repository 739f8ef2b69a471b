"""Storage behind one site meter probed together: a *round* moves every free storage unit
of a site at once, some up and some down, so that the site's total (and the pool's) is
unchanged.

Why: a lying battery (a fake meter, reporting its setpoint while its power stays put) is
given away by its own state of charge (`dispatch.control.crosscheck.SocCheck`), once the
energy it claimed and did not move exceeds what the check allows for the SoC register's
resolution, the reads' timing and the band: over Modbus (0.01 % steps of a 5 kWh battery:
1.8 kW s) a lie of the few hundred watts the activation gives a 3 kW battery takes 4-18 s
to get there, a lie of 2.7 kW well under a second. One storage pair per site at a time,
moved by 15 % of the rating every 10 s, left lying batteries named 8-11 s after their lie
reached one step of their state of charge (400 Modbus devices, `fake_meter:0.1@20s` and
`0.3@20s`). A round gives every storage unit of a site a large move (up to
`share` of its rating) in one go, as often as a pair used to move two of them.

`round_moves` sizes one round per site:

- each member's room each way is what it can hold for the pool's SoC horizon within its
  limits, less a margin (`margin_share` of its rating) for the allocation's base moving
  while the round runs; a member with too little room either way sits the round out;
- members are ranked for going up: those that went down last time first (a state of
  charge does not walk away over rounds), then by room up against room down; the first k
  go up and the rest down, k the split whose smaller side can move most;
- the side that can move more is scaled down to the other: the moves sum to zero.

`balance_groups` keeps a running round (or any probe group inside one site) summing to
zero tick by tick: a member clipped to what it can reach this tick (a ramp, a limit that
dropped) takes the same share off the moves of the other side. Without it one member of a
site's pair was clipped while its partner made its whole move and the site's total drifted
(0.4 MW target, one battery nearly empty: -0.99 MW), and site members are not given back
by `dispatch.control.probe_balance`.

Units: MW, + injection (discharge).
"""

from __future__ import annotations

import numpy as np


def round_moves(
    site: np.ndarray,
    room_up_mw: np.ndarray,
    room_down_mw: np.ndarray,
    size_mw: np.ndarray,
    last_sign: np.ndarray,
    min_move_mw: np.ndarray,
) -> np.ndarray:
    """Per candidate (all arrays aligned), its move [MW] in its site's round (0: not in one).

    `site`: the site of each candidate (candidates of one site form one round);
    `room_up_mw`, `room_down_mw` (>= 0): how far each may move up / down, margin taken;
    `size_mw` (> 0): the move wanted (share of its rating); `last_sign` (+1, -1, 0): the
    way its last probe went; `min_move_mw`: a move below this (twice the member's band) is
    no probe, and a member that cannot make it either way sits out. A site with fewer than
    two such members, or whose two sides cannot both move, makes no round."""
    moves = np.zeros(site.shape[0])
    if site.size < 2:
        return moves
    up_cap = np.minimum(size_mw, np.maximum(room_up_mw, 0.0))
    down_cap = np.minimum(size_mw, np.maximum(room_down_mw, 0.0))
    able = np.maximum(up_cap, down_cap) >= min_move_mw
    order = np.argsort(site, kind="stable")
    sorted_sites = site[order]
    starts = np.flatnonzero(np.r_[True, sorted_sites[1:] != sorted_sites[:-1]])
    ends = np.r_[starts[1:], sorted_sites.size]
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        members = order[a:b]
        members = members[able[members]]
        if members.size < 2:
            continue
        up_room = up_cap[members]
        down_room = down_cap[members]
        can_up = up_room >= min_move_mw[members]
        can_down = down_room >= min_move_mw[members]
        # Who goes up: members in order of preference (the other way from last time, then
        # the most room up against down), the first k of them, k the split whose smaller
        # side can move most (both sides alike: no member's move shrinks to the other's).
        # Those that can only go up come first, those that can only go down last.
        turn = np.where(last_sign[members] < 0, 1.0, np.where(last_sign[members] > 0, -1.0, 0.0))
        only = np.where(~can_down, 0, np.where(~can_up, 2, 1))
        order_up = np.lexsort((-(up_room - down_room), -turn, only))
        best_k, best = 0, 0.0
        for k in range(1, members.size):
            ups, downs = order_up[:k], order_up[k:]
            if not (can_up[ups].all() and can_down[downs].all()):
                continue
            both = min(float(up_room[ups].sum()), float(down_room[downs].sum()))
            if both > best + 1e-12:
                best_k, best = k, both
        if best_k == 0:
            continue
        going_up = np.zeros(members.size, dtype=bool)
        going_up[order_up[:best_k]] = True
        up_total = float(up_room[going_up].sum())
        down_total = float(down_room[~going_up].sum())
        both = min(up_total, down_total)
        if both <= 0.0:
            continue
        ups = up_room * (both / up_total)
        downs = -down_room * (both / down_total)
        moves[members] = np.where(going_up, ups, downs)
    return moves


def balance_groups(
    allocated: np.ndarray, probed: np.ndarray, group: np.ndarray, running: np.ndarray
) -> np.ndarray:
    """`probed` [MW] with each running group's clipped moves made to sum to zero again:
    where a group's moves up (probed minus `allocated`, > 0) exceed its moves down, the
    ups are scaled down to the downs, and the other way round. `group`: a group number
    per asset (-1: none); only `running` assets count."""
    members = np.flatnonzero(running & (group >= 0))
    if members.size < 2:
        return probed
    move = probed[members] - allocated[members]
    _, ids = np.unique(group[members], return_inverse=True)  # 0..k-1, however large
    width = int(ids.max()) + 1
    ups = np.bincount(ids, weights=np.where(move > 0, move, 0.0), minlength=width)
    downs = -np.bincount(ids, weights=np.where(move < 0, move, 0.0), minlength=width)
    with np.errstate(divide="ignore", invalid="ignore"):
        up_scale = np.where(ups > downs, downs / ups, 1.0)
        down_scale = np.where(downs > ups, ups / downs, 1.0)
    scale = np.where(move > 0, up_scale[ids], down_scale[ids])
    out = probed.copy()
    out[members] = allocated[members] + move * np.nan_to_num(scale, nan=1.0)
    return out


__all__ = ["balance_groups", "round_moves"]
