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
`trading.backtest.html_report` puts the same figures into one HTML file; `draw_figures`
draws them once as PNG bytes for both (drawing is most of the time either takes).
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import structlog

from trading.backtest.figures import all_figures, best_day
from trading.backtest.result import BacktestResult

__all__ = ["Drawn", "best_day", "draw_figures", "write_figures"]

_LOG = structlog.get_logger(__name__)

Drawn = dict[str, tuple[str, bytes | None]]
"""Every figure by file stem: its caption and its PNG bytes (None where its tables are
empty)."""


def draw_figures(
    result: BacktestResult, *, day: date | None = None, zone: str | None = None
) -> Drawn:
    """Every figure of `result` drawn once as PNG bytes (see `write_figures` for `day`
    and `zone`), for `write_figures` and `trading.backtest.html_report` to share."""
    drawn: Drawn = {}
    for stem, (caption, figure) in all_figures(result, day=day, zone=zone).items():
        if figure is None:
            drawn[stem] = (caption, None)
            continue
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        drawn[stem] = (caption, buffer.getvalue())
    return drawn


def write_figures(
    result: BacktestResult,
    out_dir: Path,
    *,
    day: date | None = None,
    zone: str | None = None,
    drawn: Drawn | None = None,
) -> list[Path]:
    """Draw the backtest's figures as PNG files in `out_dir` (created); return the paths.

    `day` picks the delivery day of the day figure (default: the day of largest revenue,
    `best_day`); `zone` the bidding zone whose local time and prices it shows (default:
    the result's first zone). Figures whose tables are empty are skipped. `drawn`: the
    figures already drawn by `draw_figures` for this result (then `day` and `zone` are
    theirs).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = drawn if drawn is not None else draw_figures(result, day=day, zone=zone)
    written: list[Path] = []
    for stem, (_caption, png) in drawn.items():
        path = out_dir / f"{stem}.png"
        if png is None:
            _LOG.info("figure skipped", figure=path.name, reason="its tables are empty")
            continue
        path.write_bytes(png)
        written.append(path)
    return written
