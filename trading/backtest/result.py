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
- `revenue`: ``day``, ``market``, ``zone``, ``revenue_eur``, ``volume_mwh`` (energy
  markets: net MWh sold, + sale; NaN for capacity, which is not energy); capacity
  markets: ``capacity_mw_h`` (MW x h held, both directions), ``capacity_h`` (the hours
  in which any was held) and ``capacity_mw`` (the mean MW held over those hours).
- `assets`: ``day``, ``asset``, ``kind``, ``revenue_eur`` (the plan's attribution at the
  forecast prices), ``throughput_mwh`` and ``cycles`` (batteries: discharged energy over
  usable energy; 0 for other kinds), ``note`` (``commissioned D: joins the run today`` on
  the first row of an asset commissioned mid-run, ``decommissioned D: last day in
  service`` on the last row of one leaving it, else empty). Only assets in service on
  the day have a row (rule G1 of `docs/plan-rules.md`); so in `soc`.
- `positions`: ``timestamp_utc`` (product start), ``day``, ``market``, ``zone``,
  ``direction`` (capacity only), ``hours`` (the product's length), ``mw`` (planned and
  bid), ``cleared_mw``, ``clearing_price_eur`` (the actual clearing price: energy the
  uniform price, capacity the auction's marginal price), ``price_paid_eur`` (what the
  cleared MW are paid: energy the clearing price, pay-as-bid capacity the bid's own
  price; None where nothing cleared), ``revenue_eur`` (cleared MW x price paid x hours),
  ``status`` (the exchange's: ``accepted`` or ``rejected``). Prices: EUR/MWh energy,
  EUR/MW/h capacity.
- `rejected`: every product of a rejected bid: ``timestamp_utc``, ``day``, ``market``,
  ``zone``, ``direction``, ``hours``, ``mw``, ``bid_price_eur``, ``clearing_price_eur``,
  ``reason`` (the exchange's, e.g. the bid's price above the auction's).
- `costs`: ``day``, ``kind`` (`trading.optimiser.accounts`: wear, levies, fuel, starts,
  ...), ``cost_eur`` (+ paid); a day's rows add up to its ``costs_eur``.
- `attribution`: realised revenue by ``asset`` and ``market`` per ``day`` [EUR]: each
  asset's injection at its zone's actual day-ahead price, capacity revenue pro rata to
  the bands each asset held, and the rest (intraday repositioning, whole-MW steps, the
  imbalance settlement as market ``imbalance``) under asset ``portfolio``; a day's rows
  add up to its revenue less its imbalance cost.
- `prices`: ``timestamp_utc``, ``market`` (day_ahead, intraday), ``zone``,
  ``forecast_eur_mwh`` (what the plan saw), ``actual_eur_mwh`` (what it cleared at).
- `dispatch`: ``timestamp_utc``, ``asset``, ``mw``: each asset's planned net injection.
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

from trading.backtest.csv_out import write_csv

TABLES = (
    "days",
    "revenue",
    "assets",
    "positions",
    "soc",
    "imbalance",
    "rejected",
    "costs",
    "attribution",
    "prices",
    "dispatch",
)
FORMATS = ("csv", "parquet")


class ParquetUnavailableError(RuntimeError):
    """``parquet`` was asked for and pyarrow cannot be imported."""


def check_format(fmt: str) -> None:
    """Raise ValueError for a format other than `FORMATS`, `ParquetUnavailableError` for
    ``parquet`` without pyarrow: called before a run, so nothing is computed in vain."""
    if fmt not in FORMATS:
        raise ValueError(f"format={fmt!r}: choose from {', '.join(FORMATS)}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise ParquetUnavailableError(
                f"format='parquet' needs pyarrow, a dependency of vpp-engine: reinstall it ({exc})"
            ) from None


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
    timezones: dict[str, str] = field(default_factory=dict)
    """Bidding zone -> IANA time zone of its delivery days (figures' local time axes)."""
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)
    attribution: pd.DataFrame = field(default_factory=pd.DataFrame)
    prices: pd.DataFrame = field(default_factory=pd.DataFrame)
    dispatch: pd.DataFrame = field(default_factory=pd.DataFrame)

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
            "costs_by_kind": self._costs_by_kind(),
            "rejected_bids": len(self.rejected),
            "cycles": {str(k): float(v) for k, v in cycles.items()},
            "solver_time_s": round(float((self.days["build_s"] + self.days["solve_s"]).sum()), 3),
            "notes": list(self.notes),
        }

    def _costs_by_kind(self) -> dict[str, float]:
        if self.costs.empty or "kind" not in self.costs:
            return {}
        totals = self.costs.groupby("kind")["cost_eur"].sum().round(2)
        return {str(k): float(v) for k, v in totals.items()}

    def write(self, out_dir: Path, fmt: Literal["csv", "parquet"] = "csv") -> list[Path]:
        """Write every table to `out_dir` (created) as ``<table>.csv`` or ``.parquet``
        (through pyarrow; `check_format` says up front whether it can)."""
        check_format(fmt)
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name in TABLES:
            frame: pd.DataFrame = getattr(self, name)
            path = out_dir / f"{name}.{fmt}"
            if fmt == "parquet":
                frame.to_parquet(path, index=False)
            else:
                write_csv(frame, path)
            written.append(path)
        return written
