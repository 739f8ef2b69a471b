"""Figures of a backtest as PNG files (matplotlib's Agg renderer: no display needed).

`write_figures` saves every figure of `trading.backtest.figures` whose tables are not
empty:

- ``cumulative_revenue.png``: gross and net cumulative revenue, costs by kind beneath [EUR];
- ``day_<YYYY-MM-DD>.png``: one delivery day in its zone's local time: prices against
  dispatch and cleared positions [EUR/MWh, MW], and the batteries' SoC [MWh];
- ``soc_throughput.png``: SoC and throughput over the run;
- ``attribution.png``: realised revenue by asset and market;
- ``forecast.png``: forecast against realised prices and daily results;
- ``daily_revenue_distribution.png``: histogram of daily net revenue [EUR/day].

A figure whose tables are empty is skipped (and logged); only written files are returned.
`trading.backtest.html_report` puts the same figures into one HTML file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import structlog

from trading.backtest.figures import all_figures, best_day
from trading.backtest.result import BacktestResult

__all__ = ["best_day", "write_figures"]

_LOG = structlog.get_logger(__name__)


def write_figures(
    result: BacktestResult,
    out_dir: Path,
    *,
    day: date | None = None,
    zone: str | None = None,
) -> list[Path]:
    """Draw the backtest's figures as PNG files in `out_dir` (created); return the paths.

    `day` picks the delivery day of the day figure (default: the day of largest revenue,
    `best_day`); `zone` the bidding zone whose local time and prices it shows (default:
    the result's first zone). Figures whose tables are empty are skipped.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for stem, (_caption, figure) in all_figures(result, day=day, zone=zone).items():
        path = out_dir / f"{stem}.png"
        if figure is None:
            _LOG.info("figure skipped", figure=path.name, reason="its tables are empty")
            continue
        figure.savefig(path, format="png")
        written.append(path)
    return written
