"""The closed vocabularies of the store: roles, statuses, and which status may follow which.

Stored as short strings guarded by CHECK constraints rather than native database enums, so
that adding a value is an ordinary expand migration on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What an API key may do; the API decides which role may call what."""

    TRADER = "trader"
    ANALYST = "analyst"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


class BidStatus(StrEnum):
    """Where a bid is in its lifecycle."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


BID_TRANSITIONS: dict[BidStatus, frozenset[BidStatus]] = {
    BidStatus.DRAFT: frozenset({BidStatus.SUBMITTED}),
    BidStatus.SUBMITTED: frozenset({BidStatus.WITHDRAWN, BidStatus.ACCEPTED, BidStatus.REJECTED}),
    BidStatus.ACCEPTED: frozenset(),
    BidStatus.REJECTED: frozenset(),
    BidStatus.WITHDRAWN: frozenset(),
}
"""Allowed bid lifecycle moves: from status -> the statuses it may move to."""

INITIAL_BID_STATUSES: frozenset[BidStatus] = frozenset({BidStatus.DRAFT, BidStatus.SUBMITTED})
"""Statuses a bid may be stored with when it is first added."""


class PlanStatus(StrEnum):
    """Where an optimisation run is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


PLAN_TRANSITIONS: dict[PlanStatus, frozenset[PlanStatus]] = {
    PlanStatus.QUEUED: frozenset({PlanStatus.RUNNING, PlanStatus.FAILED}),
    PlanStatus.RUNNING: frozenset({PlanStatus.DONE, PlanStatus.FAILED}),
    PlanStatus.DONE: frozenset(),
    PlanStatus.FAILED: frozenset(),
}
"""Allowed plan moves: from status -> the statuses it may move to."""


class ClearingStatus(StrEnum):
    """A market's answer to a bid; a partly accepted bid is accepted with less volume."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


def check_values(enum: type[StrEnum]) -> str:
    """``'a', 'b', 'c'``: the values of `enum` quoted for a SQL ``IN (...)`` check."""
    return ", ".join(f"'{member.value}'" for member in enum)


class AuditAction(StrEnum):
    """What an audit row records; the subject names the object acted on."""

    TENANT_CREATE = "tenant.create"
    API_KEY_CREATE = "api_key.create"
    API_KEY_REVOKE = "api_key.revoke"
    API_KEY_ROTATE = "api_key.rotate"
    RISK_LIMIT_SET = "risk_limit.set"
    RISK_LIMIT_CLEAR = "risk_limit.clear"
    PORTFOLIO_SAVE = "portfolio.save"
    BID_CREATE = "bid.create"
    BID_REFUSE = "bid.refuse"
    BID_TRANSITION = "bid.transition"
    BID_CLEAR = "bid.clear"
    BID_REPLACE = "bid.replace"
    BID_CANCEL_ALL = "bid.cancel_all"
    PLAN_CREATE = "plan.create"
    PLAN_STATUS = "plan.status"
    PLAN_DELETE = "plan.delete"
    POOL_FLAG_SET = "pool_flag.set"


class RiskLimitKind(StrEnum):
    """A per-tenant risk limit a submitted bid is checked against; the suffix is the unit."""

    MAX_BID_MW = "max_bid_mw"
    """Largest volume of one bid [MW] (any curve point, block product or capacity)."""
    MAX_NET_POSITION_MW = "max_net_position_mw"
    """Largest net position on one product (and so one bidding zone) [MW], sells positive."""
    MAX_NOTIONAL_EUR_PER_DAY = "max_notional_eur_per_day"
    """Largest sum of |MW| x hours x |price| of the tenant's live bids of one delivery day [EUR]."""


class PoolFlag(StrEnum):
    """A feature flag of a dispatcher pool (values and defaults: `trading.store.ops.flags`)."""

    AFRR_ACTIVATION = "afrr_activation"
    """on: the pool follows the TSO's aFRR activation; off: it holds its schedule."""
    VIRTUAL_TRADER = "virtual_trader"
    """on: the virtual trader may trade for the pool; off: it leaves the pool alone."""
    ALLOCATION_STRATEGY = "allocation_strategy"
    """How the pool shares its target among its assets (a named strategy)."""
