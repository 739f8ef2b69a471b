"""The pool flags the engine obeys, held in memory: read every tick without the database.

`PoolFlags` keeps every tenant's stored flags (`trading.store.ops.flags`) in a dictionary
that is replaced whole on each change, so a read is a dictionary look-up and never waits
on a lock or a query. It is filled from the store once (`refresh`, one query for every
tenant), updated at once by a change made through it (`set`: the API's route and the
engine share one instance in ``vpp serve``), and refreshed by the engine every round
(every second), so that a change made by another process on the same database (another
server) is seen within a round.

`GatedActivation` is a pool's aFRR activation source behind its ``afrr_activation`` flag:
the pool asks it once per tick, and with the flag off it answers 0 MW (the pool holds its
schedule) while remembering what the TSO requested, which is still metered as requested.

`flagged_allocation` is a pool's allocation strategy behind its ``allocation_strategy``
flag: the pool reads the flag from memory at each tick and allocates with the strategy
named (`dispatch.allocation`), so a change is obeyed at its next tick, by that pool only.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from dispatch.activation import ActivationSource
from dispatch.allocation import ChosenAllocation
from dispatch.merit import MoveCost
from trading.store import Actor, Repository
from trading.store.ops.flags import FLAGS, ON, check_value
from trading.store.records import PoolFlagRecord
from trading.store.vocabulary import PoolFlag

_Values = Mapping[tuple[str, str], Mapping[PoolFlag, str]]
"""(tenant, pool) -> flag -> value, of the flags that were set."""


class PoolFlags:
    """Every tenant's pool flags in memory (see the module docstring); thread-safe."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self._values: _Values = MappingProxyType({})
        self._loaded = False
        self._write = threading.Lock()
        self._changes = 0
        """Changes made through `set`: a refresh that began before one does not undo it."""
        self.refreshes = 0
        """How many times the store was read (a test counts them against ticks)."""

    # --- reads: no database -----------------------------------------------------------

    def value(self, tenant: str, pool: str, flag: PoolFlag) -> str:
        """The value in force of `flag` of the pool (its default if never set)."""
        found = self._values.get((tenant, pool))
        if found is not None and flag in found:
            return found[flag]
        return FLAGS[flag].default

    def afrr_activation(self, tenant: str, pool: str) -> bool:
        """Whether the pool follows the TSO's aFRR activation."""
        return self.value(tenant, pool, PoolFlag.AFRR_ACTIVATION) == ON

    def of_pool(self, tenant: str, pool: str) -> dict[str, str]:
        """Every flag of the pool with its value in force, by name."""
        return {flag.value: self.value(tenant, pool, flag) for flag in PoolFlag}

    def of_tenant(self, tenant: str, pools: list[str]) -> dict[str, dict[str, str]]:
        """`of_pool` for each of `pools` and each pool of the tenant with a flag set."""
        known = {pool for (owner, pool) in self._values if owner == tenant}
        return {pool: self.of_pool(tenant, pool) for pool in sorted(known | set(pools))}

    # --- the store ----------------------------------------------------------------------

    def ensure_loaded(self) -> None:
        """Read the store once, if it was never read."""
        if not self._loaded:
            self.refresh()

    def refresh(self) -> bool:
        """Read every tenant's flags from the store (one query) and use them from now on;
        False if a change made through `set` landed while the store was read (the values
        in memory, which have it, are kept: the next refresh reads it from the store)."""
        with self._write:
            changes = self._changes
        records = self.repository.all_pool_flags()
        values: dict[tuple[str, str], dict[PoolFlag, str]] = {}
        for record in records:
            values.setdefault((record.tenant_id, record.pool), {})[record.flag] = record.value
        with self._write:
            self.refreshes += 1
            if self._changes != changes:
                return False
            self._values = MappingProxyType(
                {key: MappingProxyType(found) for key, found in values.items()}
            )
            self._loaded = True
            return True

    def set(
        self, actor: Actor, pool: str, flag: PoolFlag | str, value: object, reason: str
    ) -> PoolFlagRecord:
        """Store the change (audited; see `trading.store.ops.flags.set_flag`), then use it
        at once: the engine's next tick reads the new value."""
        check_value(flag, value)  # a bad flag or value is refused before the store is read
        record = self.repository.set_pool_flag(actor, pool, flag, value, reason)
        self._put(record)
        return record

    def _put(self, record: PoolFlagRecord) -> None:
        with self._write:
            values: dict[tuple[str, str], Mapping[PoolFlag, str]] = dict(self._values)
            key = (record.tenant_id, record.pool)
            values[key] = MappingProxyType({**values.get(key, {}), record.flag: record.value})
            self._values = MappingProxyType(values)
            self._changes += 1


class GatedActivation:
    """A pool's aFRR activation source obeyed only while its ``afrr_activation`` flag is on.

    `requested_mw` and `applied_mw` [MW, + up] are what the TSO asked and what the pool was
    told at its latest tick (`activation_mw`); `obeyed` whether the flag was on then."""

    def __init__(self, source: ActivationSource, flags: PoolFlags, tenant: str, pool: str) -> None:
        self.source, self.flags, self.tenant, self.pool = source, flags, tenant, pool
        self.requested_mw = 0.0
        self.applied_mw = 0.0
        self.obeyed = True

    def activation_mw(self, t: float) -> float:
        """The TSO's request at `t` [MW] if the flag is on now, else 0 MW."""
        requested = self.source.activation_mw(t)
        obeyed = self.flags.afrr_activation(self.tenant, self.pool)
        self.requested_mw, self.obeyed = requested, obeyed
        self.applied_mw = requested if obeyed else 0.0
        return self.applied_mw

    def status(self) -> dict[str, Any]:
        """What the pool did with the latest request, for the engine's status."""
        return {
            "afrr_activation": "obeyed" if self.obeyed else "ignored (flag off)",
            "afrr_requested_mw": round(self.requested_mw, 6),
            "afrr_applied_mw": round(self.applied_mw, 6),
        }


def flagged_allocation(
    flags: PoolFlags, tenant: str, pool: str, costs: Mapping[str, MoveCost]
) -> ChosenAllocation:
    """The pool's allocation behind its ``allocation_strategy`` flag (set it as the
    `dispatch.pool.PoolController.allocator`); `costs` [EUR/MWh] by asset id are what
    ``merit_order`` ranks the assets by (`dispatch.merit.move_costs`)."""
    return ChosenAllocation(lambda: flags.value(tenant, pool, PoolFlag.ALLOCATION_STRATEGY), costs)
