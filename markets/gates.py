"""Gate-opening and gate-closure rules, stated in market-local time, computed in UTC.

Two shapes cover every market here: a daily gate at a wall-clock time some days before the
delivery day (day-ahead closes 12:00 D-1), and an offset before each product's delivery
start (continuous intraday closes 60 min before, aFRR energy 25 min before).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from markets.calendar import local_to_utc, to_utc


class DailyGate(BaseModel):
    """At `local_time` market-local time, `days_before` days before the delivery day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shape: Literal["daily"] = "daily"
    days_before: int = Field(ge=0, description="0 = on the delivery day itself (D), 1 = D-1")
    local_time: time

    def at(self, delivery_day: date, delivery_start: datetime, timezone: str) -> datetime:
        """The gate's UTC instant for a product of `delivery_day` (start is ignored)."""
        return local_to_utc(
            delivery_day - timedelta(days=self.days_before), self.local_time, timezone
        )

    def describe(self) -> str:
        """E.g. ``12:00 D-1 market-local time``."""
        day = "D" if self.days_before == 0 else f"D-{self.days_before}"
        return f"{self.local_time.strftime('%H:%M')} {day} market-local time"


class OffsetGate(BaseModel):
    """`minutes_before` minutes before each product's delivery start."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shape: Literal["offset"] = "offset"
    minutes_before: int = Field(ge=0)

    def at(self, delivery_day: date, delivery_start: datetime, timezone: str) -> datetime:
        """The gate's UTC instant for a product that starts at `delivery_start`."""
        return to_utc(delivery_start) - timedelta(minutes=self.minutes_before)

    def describe(self) -> str:
        """E.g. ``60 min before delivery start``."""
        return f"{self.minutes_before} min before delivery start"


Gate = DailyGate | OffsetGate
"""Either gate shape; pydantic tells them apart by `shape`."""
