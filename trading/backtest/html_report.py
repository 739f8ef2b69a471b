"""One self-contained HTML file per backtest run: summary, notes, tables, every figure.

`write_html_report(result, path)` writes a single file with no outside references: each
figure of `trading.backtest.figures` is a PNG embedded as a base64 ``data:`` URI inside a
``<figure id="fig-<stem>">`` with its caption, so the file can be mailed or archived and
opens in any browser offline. Figures whose tables are empty are listed as skipped.
"""

from __future__ import annotations

import base64
import html
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from trading.backtest.report import Drawn, draw_figures
from trading.backtest.result import BacktestResult

MAX_TABLE_ROWS = 50
"""Rows shown of a long table (the rejected bids); the files written hold them all."""

STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; } td.text { text-align: left; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; }
figcaption { font-weight: bold; margin-bottom: 0.3em; }
"""


def render_html(
    result: BacktestResult,
    *,
    title: str = "Backtest report",
    day: date | None = None,
    zone: str | None = None,
    drawn: Drawn | None = None,
) -> str:
    """The report as one HTML document (see the module docstring). `drawn`: the figures
    already drawn for this result (`trading.backtest.report.draw_figures`), so they are
    not drawn again."""
    summary = result.summary()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        _period(result),
        "<h2>Summary</h2>",
        _table(pd.DataFrame([_headline(summary)])),
    ]
    if summary["revenue_by_market"]:
        parts += ["<h3>Revenue by market [EUR]</h3>", _table(_by_market(result))]
    if summary["costs_by_kind"]:
        costs = pd.DataFrame(
            {
                "kind": list(summary["costs_by_kind"]),
                "cost_eur": list(summary["costs_by_kind"].values()),
            }
        )
        parts += ["<h3>Costs by kind [EUR]</h3>", _table(costs)]
    if result.notes:
        items = "".join(f"<li>{html.escape(note)}</li>" for note in result.notes)
        parts += ["<h2>Notes</h2>", f"<ul>{items}</ul>"]
    parts.append("<h2>Figures</h2>")
    skipped = []
    drawn = drawn if drawn is not None else draw_figures(result, day=day, zone=zone)
    for stem, (caption, png) in drawn.items():
        if png is None:
            skipped.append(stem)
            continue
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure id="fig-{html.escape(stem)}"><figcaption>{html.escape(caption)}'
            f'</figcaption><img alt="{html.escape(caption)}" '
            f'src="data:image/png;base64,{data}"></figure>'
        )
    if skipped:
        parts.append(
            f"<p>Not drawn (their tables are empty): {html.escape(', '.join(skipped))}</p>"
        )
    parts += ["<h2>Rejected bids</h2>", _rejected(result), "</body></html>"]
    return "\n".join(parts)


def write_html_report(
    result: BacktestResult,
    path: Path,
    *,
    title: str = "Backtest report",
    day: date | None = None,
    zone: str | None = None,
    drawn: Drawn | None = None,
) -> Path:
    """Write the report to `path` (its folder created); return the path. `drawn` as for
    `render_html`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render_html(result, title=title, day=day, zone=zone, drawn=drawn)
    path.write_text(page, encoding="utf-8")
    return path


def _period(result: BacktestResult) -> str:
    if result.days.empty:
        return "<p>No delivery day.</p>"
    days = pd.to_datetime(result.days["day"])
    zones = ", ".join(f"{z} ({tz})" for z, tz in sorted(result.timezones.items()))
    return (
        f"<p>{len(days)} delivery days, {days.min().date()} to {days.max().date()}"
        f"{'; zones ' + html.escape(zones) if zones else ''}.</p>"
    )


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "days",
        "total_revenue_eur",
        "support_eur",
        "imbalance_cost_eur",
        "costs_eur",
        "net_eur",
        "rejected_bids",
        "solver_time_s",
    )
    return {key: summary[key] for key in keys if key in summary}


def _by_market(result: BacktestResult) -> pd.DataFrame:
    frame = result.revenue
    agg: dict[str, tuple[str, str]] = {"revenue_eur": ("revenue_eur", "sum")}
    if "volume_mwh" in frame:
        agg["volume_mwh"] = ("volume_mwh", "sum")
    if "capacity_mw_h" in frame:
        agg["capacity_mw_h"] = ("capacity_mw_h", "sum")
    return frame.groupby(["market", "zone"]).agg(**agg).round(2).reset_index()


def _rejected(result: BacktestResult) -> str:
    rejected = result.rejected
    if rejected.empty:
        return "<p>None: the exchange accepted every bid.</p>"
    shown = rejected.head(MAX_TABLE_ROWS)
    more = len(rejected) - len(shown)
    note = f"<p>{more} more in rejected.csv.</p>" if more > 0 else ""
    return f"<p>{len(rejected)} products rejected.</p>" + _table(shown) + note


def _table(frame: pd.DataFrame) -> str:
    """`frame` as a plain HTML table: numbers right, text left, everything escaped."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for value in values:
            if isinstance(value, float):
                cells.append(f"<td>{value:,.2f}</td>")
            elif isinstance(value, int):
                cells.append(f"<td>{value:,}</td>")
            else:
                cells.append(f'<td class="text">{html.escape(str(value))}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"
