"""Feature flags per dispatcher pool: their rules, stored values, and audited changes.

A tenant's pools are the bidding zones of its stored portfolios' sites (the engine runs
one dispatcher pool per zone). Each flag has a closed set of values and a default
(`FLAGS`); a flag never set has its default and no row. Only an admin key of the tenant
(or the operator on the database, acting as the engine: no key) may set one, with a
reason; every change is an audit row (``pool_flag.set``: who, when, old, new, reason).
Reading the values in force is the engine's business (`trading.engine.flags.PoolFlags`
keeps them in memory).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.allocation import DEFAULT as DEFAULT_ALLOCATION
from dispatch.allocation import STRATEGIES
from trading.store.checks import check_enum
from trading.store.errors import invalid
from trading.store.inputs import Actor
from trading.store.models import PoolFlagRow, PortfolioRow
from trading.store.ops.audit import audit
from trading.store.ops.keys import key_actor
from trading.store.ops.tenants import require_tenant
from trading.store.records import PoolFlagRecord
from trading.store.text import shown, text_rule
from trading.store.timestamps import utc_now
from trading.store.vocabulary import AuditAction, PoolFlag, Role

ON, OFF = "on", "off"

MAX_REASON_CHARS = 500
"""The longest reason a change may give [characters]."""

ALLOCATION_STRATEGIES: Mapping[str, str] = STRATEGIES
"""The allocation strategies the dispatcher has, by name, with what each does (the
registry of `dispatch.allocation`: a name not in it is refused)."""


@dataclass(frozen=True)
class FlagRule:
    """What a flag may hold: its values, its default, and what it does."""

    values: tuple[str, ...]
    default: str
    meaning: str


FLAGS: Mapping[PoolFlag, FlagRule] = {
    PoolFlag.AFRR_ACTIVATION: FlagRule(
        (ON, OFF),
        ON,
        "on: the pool follows the TSO's aFRR activation within the band sold; off: it "
        "ignores activation setpoints and holds its schedule (the request still counts as "
        "requested, so what is not delivered settles as imbalance)",
    ),
    PoolFlag.VIRTUAL_TRADER: FlagRule(
        (ON, OFF),
        OFF,
        "on: the virtual trader in `vpp serve` plans the pool's next day before the "
        "day-ahead gate and submits its bids; off (the default): it does not trade for it",
    ),
    PoolFlag.ALLOCATION_STRATEGY: FlagRule(
        tuple(ALLOCATION_STRATEGIES),
        DEFAULT_ALLOCATION,
        "how the pool shares its deviation from plan among its assets: "
        + "; ".join(f"{name}: {meaning}" for name, meaning in ALLOCATION_STRATEGIES.items()),
    ),
}
"""Every flag's rule."""


def check_value(flag: PoolFlag | str, value: object) -> tuple[PoolFlag, str]:
    """(`flag`, `value`) as stored: an on/off flag also takes true/false; else
    `InvalidInputError` naming the flag or the value and what is allowed."""
    known = check_enum(PoolFlag, "pool flag", "flag", flag)
    rule = FLAGS[known]
    if isinstance(value, bool) and rule.values == (ON, OFF):
        return known, ON if value else OFF
    if not isinstance(value, str) or value not in rule.values:
        allowed = ", ".join(rule.values)
        extra = " (or true, false)" if rule.values == (ON, OFF) else ""
        raise invalid(
            f"pool flag {known.value}", "value", shown(value), f"must be one of {allowed}{extra}"
        )
    return known, value


def tenant_pools(session: Session, tenant_id: str) -> list[str]:
    """The tenant's pools: the bidding zones of its stored portfolios' sites, sorted."""
    documents = session.scalars(
        select(PortfolioRow.document).where(PortfolioRow.tenant_id == tenant_id)
    )
    zones = {
        str(site["bidding_zone"])
        for document in documents
        for site in document.get("sites", ())
        if isinstance(site, Mapping) and site.get("bidding_zone")
    }
    return sorted(zones)


def list_flags(session: Session, tenant_id: str) -> list[PoolFlagRecord]:
    """The tenant's flags that were set, by pool and flag (a flag not listed has its
    default)."""
    rows = session.scalars(
        select(PoolFlagRow)
        .where(PoolFlagRow.tenant_id == tenant_id)
        .order_by(PoolFlagRow.pool, PoolFlagRow.flag)
    )
    return [PoolFlagRecord.of(r) for r in rows]


def all_flags(session: Session) -> list[PoolFlagRecord]:
    """Every tenant's flags that were set (one query: the engine's cache reads them all)."""
    rows = session.scalars(
        select(PoolFlagRow).order_by(PoolFlagRow.tenant_id, PoolFlagRow.pool, PoolFlagRow.flag)
    )
    return [PoolFlagRecord.of(r) for r in rows]


def set_flag(
    session: Session, actor: Actor, pool: str, flag: PoolFlag | str, value: object, reason: str
) -> PoolFlagRecord:
    """Set `flag` of the pool `pool` (a bidding zone of the tenant's stored portfolios) of
    `actor`'s tenant to `value`, for `reason` (1 to `MAX_REASON_CHARS` characters); audited
    with the old and new value. Only an admin key (or the operator: no key) may."""
    tenant_id = actor.tenant_id
    require_tenant(session, tenant_id)
    actor = _admin(session, actor)
    known, wanted = check_value(flag, value)
    subject = f"pool flag {known.value}"
    if not isinstance(reason, str) or not reason.strip():
        raise invalid(subject, "reason", shown(reason), "must say why: 1 or more characters")
    reason = reason.strip()
    rule = text_rule(reason, max_chars=MAX_REASON_CHARS)
    if rule is not None:
        raise invalid(subject, "reason", shown(reason), rule)
    pools = tenant_pools(session, tenant_id)
    if pool not in pools:
        raise invalid(
            subject,
            "pool",
            shown(pool),
            f"must be a bidding zone of the tenant's stored portfolios ({', '.join(pools)})"
            if pools
            else "must be a bidding zone of a stored portfolio; the tenant has none stored",
        )
    row = session.get(PoolFlagRow, (tenant_id, pool, known.value), with_for_update=True)
    old = FLAGS[known].default if row is None else row.value
    if row is None:
        row = PoolFlagRow(tenant_id=tenant_id, pool=pool, flag=known.value)
        session.add(row)
    row.value, row.reason, row.updated_at, row.updated_by = wanted, reason, utc_now(), actor.key_id
    session.flush()
    details: dict[str, Any] = {
        "pool": pool,
        "flag": known.value,
        "old": old,
        "new": wanted,
        "reason": reason,
    }
    audit(session, actor, AuditAction.POOL_FLAG_SET, f"pool {pool} flag {known.value}", details)
    return PoolFlagRecord.of(row)


def _admin(session: Session, actor: Actor) -> Actor:
    """`actor` as stored, if it is an admin key of its tenant or the operator (no key)."""
    checked = key_actor(session, actor.tenant_id, actor.key_id, "pool flag")
    if checked.key_id is not None and checked.role is not Role.ADMIN:
        raise invalid("pool flag", "role", checked.role, "only an admin key may set pool flags")
    return checked
