"""The store's tables, one module per area; importing this package registers them all."""

from trading.store.models.accounts import ApiKeyRow, AuditRow, RiskLimitRow, TenantRow
from trading.store.models.bids import (
    BidEventRow,
    BidRefusalRow,
    BidRow,
    BidSubmissionRow,
    ClearingRow,
)
from trading.store.models.engine import MeteringRow, PositionRow, ScheduleVersionRow, SettlementRow
from trading.store.models.flags import PoolFlagRow
from trading.store.models.leases import PartitionLeaseRow
from trading.store.models.plans import PlanRow
from trading.store.models.portfolios import AssetRow, PortfolioRow

__all__ = [
    "ApiKeyRow",
    "AssetRow",
    "AuditRow",
    "BidEventRow",
    "BidRefusalRow",
    "BidRow",
    "BidSubmissionRow",
    "ClearingRow",
    "MeteringRow",
    "PartitionLeaseRow",
    "PlanRow",
    "PoolFlagRow",
    "PortfolioRow",
    "PositionRow",
    "RiskLimitRow",
    "ScheduleVersionRow",
    "SettlementRow",
    "TenantRow",
]
