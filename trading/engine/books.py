"""The engine's books written to the store as the loop runs (`trading.store.ops.engine`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from trading.engine.metering import IspMeter
from trading.engine.positions import BookEntry
from trading.engine.schedules import ScheduleVersion
from trading.engine.settlement import Settlement
from trading.store import Repository


@dataclass
class EngineBooks:
    """Writes one portfolio's day of positions, schedules, metering and settlement."""

    repository: Repository
    tenant_id: str
    portfolio_id: str
    day: date

    def positions(self, entries: Sequence[BookEntry]) -> int:
        """Store new position-book entries; how many."""
        if not entries:
            return 0
        return self.repository.add_positions(
            self.tenant_id,
            self.portfolio_id,
            self.day,
            [
                {
                    "bid_id": e.bid_id,
                    "market": e.market,
                    "product_id": e.product_id,
                    "zone": e.zone,
                    "direction": e.direction,
                    "pool": e.pool,
                    "delivery_start": e.start,
                    "delivery_end": e.end,
                    "mw": e.mw,
                    "remuneration": e.remuneration,
                }
                for e in entries
            ],
        )

    def schedule(self, version: ScheduleVersion) -> None:
        """Store an issued schedule version."""
        self.repository.add_schedule_version(
            self.tenant_id,
            self.portfolio_id,
            self.day,
            schedule_id=version.schedule_id,
            version=version.version,
            reason=version.reason,
            plan_id=version.schedule.plan_id,
            bid_ids=list(version.schedule.bid_ids),
            issued_at=version.issued_at,
            document=version.schedule.model_dump(mode="json"),
        )

    def metering(
        self,
        isp_starts: Sequence[datetime],
        zone_of: dict[str, str],
        measured: dict[str, IspMeter],
        truth: dict[str, IspMeter],
    ) -> int:
        """Store every asset's metered energy per ISP; how many rows."""
        rows: list[dict[str, Any]] = []
        for asset, meter in sorted(measured.items()):
            true = truth.get(asset)
            complete = meter.complete()
            for q, start in enumerate(isp_starts):
                rows.append(
                    {
                        "asset_id": asset,
                        "isp_start": start,
                        "zone": zone_of[asset],
                        "measured_mwh": float(np.round(meter.energy_mwh[q], 9)),
                        "truth_mwh": None if true is None else float(true.energy_mwh[q]),
                        "complete": bool(complete[q]),
                    }
                )
        return self.repository.add_metering(self.tenant_id, self.portfolio_id, self.day, rows)

    def settlement(self, settled: Settlement, at: datetime) -> None:
        """Store the settled day."""
        rows = [
            {**row, "start": row["start"].isoformat().replace("+00:00", "Z")}  # type: ignore[union-attr]
            for row in settled.rows
        ]
        document = {**settled.books(), "imbalance_by_zone": settled.imbalance_by_zone, "rows": rows}
        self.repository.save_settlement(self.tenant_id, self.portfolio_id, self.day, document, at)
