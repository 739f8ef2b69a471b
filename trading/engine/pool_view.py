"""What the engine's pools look like from outside: per asset its state and last reading,
per pool its flags and what it did with the latest aFRR request.

Read from the API's threads while the engine's thread runs the pools: only references that
are replaced whole are read (the telemetry board's entries are frozen and posted whole,
the zones' map is set once per day), and nothing is written. Units: MW, + injection;
ages in seconds of the engine's clock (simulated seconds under ``--clock-speed``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trading.engine.flags import PoolFlags
    from trading.engine.live_day import LiveDay

NOT_STARTED = "not_started"
"""The state of an asset whose pool has not ticked yet (the day is starting)."""


def pools_status(flags: PoolFlags, tenant: str, live: LiveDay | None) -> dict[str, Any]:
    """Per pool (bidding zone) of the running day, and per pool with a flag set: its flags
    in force and, while it runs, what it did with the TSO's latest aFRR request and the
    allocation strategy its latest tick used."""
    zones = [] if live is None else sorted(live.zones)
    out: dict[str, Any] = {}
    for pool, values in flags.of_tenant(tenant, zones).items():
        gate = None if live is None else live.activations.get(pool)
        allocation = None if live is None else live.allocations.get(pool)
        out[pool] = {
            "flags": values,
            **({} if gate is None else gate.status()),
            **({} if allocation is None else allocation.status()),
        }
    return out


def dispatch_assets(live: LiveDay) -> list[dict[str, Any]]:
    """Each simulated asset of the running day, by pool and id: its state, whether it is in
    the pool, its last measured power [MW] and that reading's age [s] and instant (UTC),
    whether the reading is fresh (may count as delivery) and whether the latest read
    failed. An asset never read has no reading and no age."""
    now = live.clock.now()
    now_utc = live.clock.utc()
    rows: list[dict[str, Any]] = []
    for pool, state in sorted(live.zones.items()):
        controller = state.pool
        for member in sorted(state.members, key=lambda m: m.adapter.asset_id):
            asset = member.adapter.asset_id
            entry = None if controller is None else controller.board.get(asset)
            row: dict[str, Any] = {
                "asset_id": asset,
                "pool": pool,
                "kind": member.kind,
                "state": NOT_STARTED if entry is None else entry.state,
                "in_pool": False if entry is None else entry.in_pool,
                "last_mw": None,
                "age_s": None,
                "read_at": None,
                "fresh": False,
                "last_read_failed": False if entry is None else entry.last_read_failed,
            }
            if entry is not None and entry.telemetry is not None and entry.read_t is not None:
                age = max(0.0, now - entry.read_t)
                assert controller is not None
                row.update(
                    last_mw=round(entry.telemetry.power_mw, 6),
                    age_s=round(age, 3),
                    read_at=_z(now_utc - timedelta(seconds=age)),
                    fresh=entry.fresh(now, controller.config.max_reading_age_s),
                )
            rows.append(row)
    return rows


def _z(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
