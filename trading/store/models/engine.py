"""The engine's books: positions from cleared bids, schedule versions, metering, settlement.

Written by `trading.engine.books` as the loop runs; read by the desk's routes
(`trading/api/delivery.py`). Units: MW, MWh, EUR/MWh (capacity EUR/MW/h); + = injection
or sale; times UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trading.store.base import Base


class PositionRow(Base):
    """One product of one accepted bid: energy (signed MW) or a reserved band (MW held)."""

    __tablename__ = "engine_positions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "portfolio_id"], ["portfolios.tenant_id", "portfolios.id"]
        ),
        Index("ix_engine_positions_tenant_id_day", "tenant_id", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    portfolio_id: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(doc="delivery day (market-local)")
    bid_id: Mapped[str] = mapped_column(ForeignKey("bids.id"), doc="the accepted bid")
    market: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[str] = mapped_column(String(160))
    zone: Mapped[str] = mapped_column(String(16), doc="bidding zone")
    direction: Mapped[str | None] = mapped_column(String(8), doc="pos/neg for capacity")
    pool: Mapped[str | None] = mapped_column(String(64), doc="reserve pool for capacity")
    delivery_start: Mapped[datetime]
    delivery_end: Mapped[datetime]
    mw: Mapped[float] = mapped_column(doc="[MW] energy signed (+ sold); capacity held")
    remuneration: Mapped[float | None] = mapped_column(doc="[EUR/MWh] energy, [EUR/MW/h] capacity")


class ScheduleVersionRow(Base):
    """One issued schedule version: the plan and bids it serves, and the schedule itself."""

    __tablename__ = "engine_schedules"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "portfolio_id"], ["portfolios.tenant_id", "portfolios.id"]
        ),
        Index("ix_engine_schedules_tenant_id_day", "tenant_id", "day"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[str] = mapped_column(
        String(128), primary_key=True, doc="schedule id (unique within the tenant)"
    )
    portfolio_id: Mapped[str] = mapped_column(String(64))
    day: Mapped[date]
    version: Mapped[int] = mapped_column(Integer, doc="1, 2, ... within the day")
    reason: Mapped[str] = mapped_column(Text)
    plan_id: Mapped[str] = mapped_column(String(128))
    bid_ids: Mapped[dict[str, Any]] = mapped_column(doc='{"bids": [store bid ids]}')
    issued_at: Mapped[datetime]
    document: Mapped[dict[str, Any]] = mapped_column(doc="the dispatch.Schedule as JSON")


class MeteringRow(Base):
    """Energy of one asset in one ISP: measured by the dispatcher and (simulation) truth."""

    __tablename__ = "engine_metering"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "portfolio_id"], ["portfolios.tenant_id", "portfolios.id"]
        ),
        Index("ix_engine_metering_tenant_id_day", "tenant_id", "day"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    portfolio_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    asset_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    isp_start: Mapped[datetime] = mapped_column(primary_key=True)
    day: Mapped[date]
    zone: Mapped[str] = mapped_column(String(16))
    measured_mwh: Mapped[float] = mapped_column(doc="[MWh] from fresh readings")
    truth_mwh: Mapped[float | None] = mapped_column(doc="[MWh] device truth (simulation)")
    complete: Mapped[bool] = mapped_column(doc="the meter saw the whole ISP")


class SettlementRow(Base):
    """A settled day: per zone and ISP rows and the books, as one document."""

    __tablename__ = "engine_settlements"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "portfolio_id"], ["portfolios.tenant_id", "portfolios.id"]
        ),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    portfolio_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    settled_at: Mapped[datetime]
    document: Mapped[dict[str, Any]] = mapped_column(doc="rows per zone and ISP, and books")
