"""Figures of a backtest: PNG files drawn with matplotlib's Agg renderer (no display needed).

`write_figures` draws, from a `BacktestResult`:

- ``cumulative_revenue.png``: cumulative revenue by market over the delivery days [EUR];
- ``day_<YYYY-MM-DD>.png``: one day's positions by market [MW, + sale / injection] and the
  batteries' state of charge [MWh];
- ``daily_revenue_distribution.png``: histogram of daily net revenue [EUR/day].

A figure whose table is empty is skipped (and logged); only written files are returned.
Figures are built on `matplotlib.figure.Figure` with an explicit Agg canvas, never through
`pyplot`, so nothing global (backend, open figures) is touched and worker processes or
headless CI machines draw them safely.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import structlog
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from trading.backtest.result import BacktestResult

QUARTER_HOUR = pd.Timedelta(minutes=15)
CAPACITY_BLOCK = pd.Timedelta(hours=4)
"""Length of a balancing capacity product (aFRR, FCR): 4-hour blocks."""

MARKET_TIMEZONE = "Europe/Berlin"
"""Delivery days are market-local days of the continental markets (CET/CEST)."""

DPI = 110
EUR_TICKS = FuncFormatter(lambda value, _pos: f"{value:,.0f}")
_LOG = structlog.get_logger(__name__)


def write_figures(
    result: BacktestResult,
    out_dir: Path,
    *,
    day: date | None = None,
    timezone: str = MARKET_TIMEZONE,
) -> list[Path]:
    """Draw the backtest's figures as PNG files in `out_dir` (created); return the paths written.

    `day` picks the delivery day of the positions figure; by default the day with the
    largest revenue (see `best_day`). `timezone` is the market time zone of the delivery
    days, used to cut the state-of-charge table to that day and to label the time axis.
    Figures whose tables are empty are skipped, so the list may be shorter than three.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    path = out_dir / "cumulative_revenue.png"
    if _cumulative_revenue(result.revenue, path):
        written.append(path)
    else:
        _LOG.info("figure skipped", figure=path.name, reason="revenue table is empty")

    chosen = day if day is not None else best_day(result)
    if chosen is None:
        _LOG.info("figure skipped", figure="day_<date>.png", reason="no delivery day")
    else:
        path = out_dir / f"day_{chosen.isoformat()}.png"
        if _day_positions(result.positions, result.soc, chosen, timezone, path):
            written.append(path)
        else:
            _LOG.info("figure skipped", figure=path.name, reason="no positions or SoC that day")

    path = out_dir / "daily_revenue_distribution.png"
    if _daily_distribution(result.days, path):
        written.append(path)
    else:
        _LOG.info("figure skipped", figure=path.name, reason="days table is empty")
    return written


def best_day(result: BacktestResult) -> date | None:
    """The delivery day with the largest revenue [EUR], or None if there is no day.

    Reads ``days.revenue_eur``; falls back to the `revenue` table summed by day when the
    `days` table is empty. Ties go to the earliest day.
    """
    for frame in (result.days, result.revenue):
        if frame.empty or "day" not in frame or "revenue_eur" not in frame:
            continue
        per_day = (
            frame.assign(day=_as_dates(frame["day"])).groupby("day")["revenue_eur"].sum().dropna()
        )
        if not per_day.empty:
            return per_day.sort_index().idxmax()
    return None


def _as_dates(values: pd.Series) -> pd.Series:
    """Delivery days as `datetime.date`, whether given as dates, timestamps or ISO text."""
    return pd.to_datetime(values).dt.date


def _as_utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True)


def _new_figure(rows: int = 1, height: float = 4.5) -> tuple[Figure, list]:
    fig = Figure(figsize=(10, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, format="png")


def _cumulative_revenue(revenue: pd.DataFrame, path: Path) -> bool:
    """(a) Cumulative revenue by market over the delivery days [EUR]."""
    if revenue.empty:
        return False
    frame = revenue.assign(day=pd.to_datetime(revenue["day"]))
    by_market = frame.pivot_table(
        index="day", columns="market", values="revenue_eur", aggfunc="sum", fill_value=0.0
    ).sort_index()
    cumulative = by_market.cumsum()
    fig, (ax,) = _new_figure()
    for market in cumulative.columns:
        ax.plot(cumulative.index, cumulative[market], marker=".", label=str(market))
    if len(cumulative.columns) > 1:
        ax.plot(
            cumulative.index,
            cumulative.sum(axis=1),
            color="black",
            linewidth=2,
            label="all markets",
        )
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_title("Cumulative revenue by market (cleared at actual prices)")
    ax.set_xlabel("delivery day")
    ax.set_ylabel("cumulative revenue [EUR]")
    ax.yaxis.set_major_formatter(EUR_TICKS)
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, len(cumulative) // 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    ax.legend(loc="best")
    ax.grid(True, alpha=0.3)
    fig.autofmt_xdate()
    _save(fig, path)
    return True


def _day_window(day: date, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """UTC start (inclusive) and end (exclusive) of the market-local delivery day."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")


def _position_label(row: pd.Series) -> str:
    parts = [str(row["market"])]
    if "zone" in row and pd.notna(row["zone"]) and str(row["zone"]):
        parts.append(str(row["zone"]))
    if "direction" in row and pd.notna(row["direction"]) and str(row["direction"]):
        parts.append(str(row["direction"]))
    return " ".join(parts)


def _on_grid(group: pd.DataFrame, column: str, grid: pd.DatetimeIndex) -> pd.Series:
    """One product series on the day's quarter hours [MW]; 0 where it holds no position.

    Rows start products: a capacity product (with a direction) holds for its 4-hour
    block, an energy product for its market time unit (the series' smallest spacing, 15 or
    60 minutes).
    """
    series = group.groupby("timestamp_utc")[column].sum().astype(float).sort_index()
    if "direction" in group and group["direction"].notna().any():
        length = CAPACITY_BLOCK
    else:
        steps = series.index.to_series().diff().dropna()
        length = min(steps.min(), pd.Timedelta(hours=1)) if not steps.empty else QUARTER_HOUR
        length = max(length, QUARTER_HOUR)
    held = series.reindex(grid.union(series.index)).ffill()
    # A position holds from its product's start for the product's length, not beyond.
    starts = series.index.to_series().reindex(held.index).ffill()
    held[(held.index - starts) >= length] = np.nan
    return held.reindex(grid).fillna(0.0)


def _day_positions(
    positions: pd.DataFrame, soc: pd.DataFrame, day: date, timezone: str, path: Path
) -> bool:
    """(b) The day's positions by market [MW, + sale] above the batteries' SoC [MWh]."""
    start, end = _day_window(day, timezone)
    day_positions = pd.DataFrame()
    if not positions.empty:
        times = _as_utc(positions["timestamp_utc"])
        in_day = (
            _as_dates(positions["day"]) == day
            if "day" in positions
            else (times >= start) & (times < end)
        )
        day_positions = positions.assign(timestamp_utc=times)[in_day.to_numpy()]
    day_soc = pd.DataFrame()
    if not soc.empty:
        times = _as_utc(soc["timestamp_utc"])
        day_soc = soc.assign(timestamp_utc=times)[((times >= start) & (times < end)).to_numpy()]
    if day_positions.empty and day_soc.empty:
        return False

    fig, (ax_mw, ax_soc) = _new_figure(rows=2, height=7.0)
    if day_positions.empty:
        ax_mw.text(0.5, 0.5, "no positions this day", ha="center", transform=ax_mw.transAxes)
    else:
        column = (
            "cleared_mw"
            if "cleared_mw" in day_positions and day_positions["cleared_mw"].notna().any()
            else "mw"
        )
        grid = pd.date_range(start, end, freq="15min", inclusive="left")
        labels = day_positions.apply(_position_label, axis=1)
        for label, group in day_positions.groupby(labels, sort=True):
            held = _on_grid(group, column, grid)
            local = held.index.tz_convert(timezone).tz_localize(None)
            # One more point at the day's end so that the last quarter hour is drawn too.
            x = [*local, local[-1] + pd.Timedelta(minutes=15)]
            y = [*held.to_numpy(), held.iloc[-1]]
            ax_mw.step(x, y, where="post", label=str(label))
        ax_mw.axhline(0.0, color="grey", linewidth=0.8)
        ax_mw.legend(loc="best", fontsize="small")
        kind = "cleared" if column == "cleared_mw" else "planned"
        ax_mw.set_ylabel(f"{kind} position [MW] (+ sale)")
    ax_mw.set_title(f"Positions by market on {day.isoformat()}")
    ax_mw.grid(True, alpha=0.3)

    if day_soc.empty:
        ax_soc.text(0.5, 0.5, "no battery this day", ha="center", transform=ax_soc.transAxes)
    else:
        for asset, group in day_soc.groupby("asset", sort=True):
            group = group.sort_values("timestamp_utc")
            # soc_mwh is the state at the END of each quarter hour: draw it at the period's end.
            ends = group["timestamp_utc"] + pd.Timedelta(minutes=15)
            local = ends.dt.tz_convert(timezone).dt.tz_localize(None)
            ax_soc.plot(local, group["soc_mwh"].astype(float), label=str(asset))
        ax_soc.legend(loc="best", fontsize="small")
    ax_soc.set_title("Battery state of charge (end of quarter hour)")
    ax_soc.set_ylabel("state of charge [MWh]")
    ax_soc.set_xlabel(f"time ({timezone})")
    ax_soc.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax_soc.grid(True, alpha=0.3)
    _save(fig, path)
    return True


def _daily_distribution(days: pd.DataFrame, path: Path) -> bool:
    """(c) Histogram of daily net revenue [EUR/day] with its mean and median marked."""
    if days.empty or "net_eur" not in days:
        return False
    net = days["net_eur"].astype(float).dropna().to_numpy()
    if net.size == 0:
        return False
    fig, (ax,) = _new_figure()
    bins = int(np.clip(np.ceil(np.sqrt(net.size)) * 2, 5, 40))
    ax.hist(net, bins=bins, color="tab:blue", alpha=0.75, edgecolor="white", label="days")
    ax.axvline(
        float(np.mean(net)), color="black", linestyle="--", label=f"mean {np.mean(net):,.0f}"
    )
    ax.axvline(
        float(np.median(net)),
        color="tab:orange",
        linestyle=":",
        label=f"median {np.median(net):,.0f}",
    )
    ax.set_title(f"Distribution of daily net revenue ({net.size} days)")
    ax.set_xlabel("net revenue per day [EUR] (revenue - imbalance - costs)")
    ax.set_ylabel("number of days")
    ax.xaxis.set_major_formatter(EUR_TICKS)
    ax.legend(loc="best")
    ax.grid(True, alpha=0.3)
    _save(fig, path)
    return True
