"""What a backtest produces: tidy pandas tables, a summary, and files.

Tables (one row per observation, columns named with their units):

- `days`: one row per delivery day: ``day`` (date), ``revenue_eur`` (cleared at the actual
  prices, all markets), ``support_eur`` (the plan's support premiums), ``imbalance_cost_eur``
  (>= 0 is a cost), ``costs_eur`` (the plan's itemised costs: levies and grid fees, wear,
  fuel, starts, shift, lost premiums; not its expected imbalance, which is settled once,
  in ``imbalance_cost_eur``), ``net_eur`` (revenue + support - imbalance - costs),
  ``stored_value_eur`` (the value the plan put on its batteries' end-of-day SoC less the
  start, a valuation and not in ``net_eur``; 0 under the ``target`` policy),
  ``forecast_objective_eur`` (what the optimiser expected on its forecast),
  ``status`` (the solver's, or ``nothing_in_service`` on a day no asset is in service:
  nothing planned, every figure 0; ``skipped_price_gap`` on a day the ``skip-day`` gap
  policy did not trade), ``gap``, ``build_s``, ``solve_s``, ``price_gaps`` (what the gap
  policy did with the day's price gaps, e.g. ``interpolate: day_ahead NL: ...``; empty
  where the day's prices were complete).
- `revenue`: ``day``, ``market``, ``zone``, ``revenue_eur``, ``volume_mwh`` (energy: net
  MWh sold, + sale; capacity: MW x h held).
- `assets`: ``day``, ``asset``, ``kind``, ``revenue_eur`` (the plan's attribution at the
  forecast prices), ``throughput_mwh`` and ``cycles`` (batteries: discharged energy over
  usable energy; 0 for other kinds), ``note`` (``commissioned D: joins the run today`` on
  the first row of an asset commissioned mid-run, ``decommissioned D: last day in
  service`` on the last row of one leaving it, else empty). Only assets in service on
  the day have a row (rule G1 of `docs/plan-rules.md`); so in `soc`.
- `positions`: ``timestamp_utc``, ``day``, ``market``, ``zone``, ``direction`` (capacity
  only), ``mw`` (planned and bid), ``cleared_mw``, ``price_eur`` (the actual clearing
  price; EUR/MWh energy, EUR/MW/h capacity).
- `soc`: ``timestamp_utc`` (start of the quarter hour, like every table), ``asset``,
  ``soc_mwh`` (the state of charge at the end of that quarter hour).
- `imbalance`: ``timestamp_utc``, ``zone``, ``imbalance_mwh`` (+ long: injected more than
  sold), ``price_eur_mwh``, ``cost_eur``, ``price_source`` (``real`` or the proxy's name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

TABLES = ("days", "revenue", "assets", "positions", "soc", "imbalance")


@dataclass
class BacktestResult:
    """The tables of one backtest run (see the module docstring)."""

    days: pd.DataFrame
    revenue: pd.DataFrame
    assets: pd.DataFrame
    positions: pd.DataFrame
    soc: pd.DataFrame
    imbalance: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    """What a reader must know (proxies used, days skipped and why)."""

    def summary(self) -> dict[str, Any]:
        """The headline figures as JSON data: days, revenue by market, imbalance, cycles."""
        by_market = (
            self.revenue.groupby("market")["revenue_eur"].sum().round(2).to_dict()
            if not self.revenue.empty
            else {}
        )
        battery = self.assets[self.assets["kind"] == "battery"] if not self.assets.empty else None
        cycles = (
            battery.groupby("asset")["cycles"].sum().round(3).to_dict()
            if battery is not None and not battery.empty
            else {}
        )
        return {
            "days": len(self.days),
            "total_revenue_eur": round(float(self.days["revenue_eur"].sum()), 2),
            "revenue_by_market": {str(k): float(v) for k, v in by_market.items()},
            "support_eur": round(float(self.days["support_eur"].sum()), 2),
            "imbalance_cost_eur": round(float(self.days["imbalance_cost_eur"].sum()), 2),
            "costs_eur": round(float(self.days["costs_eur"].sum()), 2),
            "net_eur": round(float(self.days["net_eur"].sum()), 2),
            "cycles": {str(k): float(v) for k, v in cycles.items()},
            "solver_time_s": round(float((self.days["build_s"] + self.days["solve_s"]).sum()), 3),
            "notes": list(self.notes),
        }

    def write(self, out_dir: Path, fmt: Literal["csv", "parquet"] = "csv") -> list[Path]:
        """Write every table to `out_dir` (created) as ``<table>.csv`` or ``.parquet``."""
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name in TABLES:
            frame: pd.DataFrame = getattr(self, name)
            path = out_dir / f"{name}.{fmt}"
            if fmt == "parquet":
                frame.to_parquet(path, index=False)
            else:
                frame.to_csv(path, index=False)
            written.append(path)
        return written
