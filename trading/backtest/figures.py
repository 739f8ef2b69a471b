"""The figures analysts look at, drawn from a `BacktestResult` as matplotlib `Figure`s.

Each function returns a `Figure` on an explicit Agg canvas (never `pyplot`: nothing global
is touched, so workers and headless machines draw safely), or None when the tables it
needs are empty. `trading.backtest.report` saves them as PNG files, and
`trading.backtest.html_report` embeds them in one HTML file.

- `cumulative_figure`: gross and net cumulative revenue with the costs by kind and the
  imbalance cost accumulated beneath [EUR];
- `day_figure`: one delivery day in the zone's local time: prices (actual and forecast)
  against each asset's dispatch and the cleared positions, and the batteries' SoC;
- `soc_throughput_figure`: each battery's SoC range and end of day over the run, its
  daily throughput and cumulative full cycles;
- `attribution_figure`: realised revenue by asset and market [EUR];
- `forecast_figure`: forecast against realised prices, and the plan's expectation
  against the realised net per day;
- `distribution_figure`: the histogram of daily net revenue.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from trading.backtest.result import BacktestResult

DPI = 110
DEFAULT_TIMEZONE = "Europe/Berlin"
"""Time zone of a zone the result does not name (continental CET/CEST)."""
QUARTER = pd.Timedelta(minutes=15)
EUR_TICKS = FuncFormatter(lambda value, _pos: f"{value:,.0f}")
COLOURS = colormaps["tab20"]
"""Colours of the assets in the day figure's dispatch panel."""


def new_figure(rows: int = 1, height: float = 4.5, sharex: bool = True) -> tuple[Figure, list]:
    """A constrained-layout figure of `rows` stacked axes on an Agg canvas."""
    fig = Figure(figsize=(10, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=sharex, squeeze=False)[:, 0]
    return fig, list(axes)


def as_dates(values: pd.Series) -> pd.Series:
    """Delivery days as `datetime.date`, whether given as dates, timestamps or ISO text."""
    return pd.to_datetime(values).dt.date


def as_utc(values: pd.Series) -> pd.Series:
    """Timestamps as UTC-aware pandas timestamps (CSV round trips give text)."""
    return pd.to_datetime(values, utc=True)


def day_window(day: date, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """UTC start (inclusive) and end (exclusive) of the local delivery day (23, 24 or 25 h)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")


def result_timezone(result: BacktestResult, zone: str | None = None) -> str:
    """The time zone of `zone`'s delivery days (else of the result's first zone)."""
    zones = result.timezones or {}
    if zone is not None and zone in zones:
        return zones[zone]
    return next(iter(sorted(zones.items())), ("", DEFAULT_TIMEZONE))[1]


SHORT_RUN_DAYS = 14
"""Up to this many days a daily axis ticks each day by its date (no clock times)."""


def _daily_axis(ax: Axes, n_days: int) -> None:
    """A date axis for one value per delivery day: each day's date on a short run (the
    automatic locator would tick hours there, which daily values do not have)."""
    if 0 < n_days <= SHORT_RUN_DAYS:
        ax.xaxis.set_major_locator(mdates.DayLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
        return
    locator = mdates.AutoDateLocator(maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def cumulative_figure(result: BacktestResult) -> Figure | None:
    """Gross (market revenue + support) and net cumulative revenue [EUR], with the costs
    by kind and the imbalance cost accumulated as negative areas beneath."""
    days = result.days
    if days.empty or "net_eur" not in days:
        return None
    frame = days.assign(day=pd.to_datetime(days["day"])).sort_values("day").set_index("day")
    support = frame["support_eur"] if "support_eur" in frame.columns else 0.0
    gross = (frame["revenue_eur"] + support).cumsum()
    net = frame["net_eur"].cumsum()
    fig, (ax,) = new_figure(height=5.0)
    costs = pd.DataFrame(index=frame.index)
    if not result.costs.empty:
        by_kind = result.costs.assign(day=pd.to_datetime(result.costs["day"])).pivot_table(
            index="day", columns="kind", values="cost_eur", aggfunc="sum", fill_value=0.0
        )
        costs = by_kind.reindex(frame.index, fill_value=0.0)
    costs["imbalance"] = frame["imbalance_cost_eur"]
    costs = costs.loc[:, (costs != 0).any()].cumsum()
    if not costs.empty and len(costs.columns):
        ax.stackplot(
            costs.index,
            *[-costs[c].to_numpy() for c in costs.columns],
            labels=[f"cost: {c}" for c in costs.columns],
            alpha=0.45,
        )
    ax.plot(gross.index, gross, color="tab:green", linewidth=2, label="gross (revenue + support)")
    ax.plot(net.index, net, color="black", linewidth=2, label="net (after costs, imbalance)")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_title(
        f"Cumulative revenue: gross {gross.iloc[-1]:,.0f} EUR, net {net.iloc[-1]:,.0f} EUR"
    )
    ax.set_ylabel("cumulative [EUR] (costs below zero)")
    ax.yaxis.set_major_formatter(EUR_TICKS)
    _daily_axis(ax, len(frame))
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(True, alpha=0.3)
    return fig


def best_day(result: BacktestResult) -> date | None:
    """The delivery day with the largest revenue [EUR] (ties: the earliest), or None."""
    for frame in (result.days, result.revenue):
        if frame.empty or "day" not in frame or "revenue_eur" not in frame:
            continue
        per_day = (
            frame.assign(day=as_dates(frame["day"])).groupby("day")["revenue_eur"].sum().dropna()
        )
        if not per_day.empty:
            return per_day.sort_index().idxmax()
    return None


def _in_window(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    if frame.empty or "timestamp_utc" not in frame:
        return pd.DataFrame()
    times = as_utc(frame["timestamp_utc"])
    keep = ((times >= start) & (times < end)).to_numpy()
    return frame.assign(timestamp_utc=times)[keep]


def _groups(frame: pd.DataFrame, keys: str | list[str]) -> list[tuple[Any, pd.DataFrame]]:
    """`frame` grouped by `keys`, sorted; [] for an empty frame (whatever its columns)."""
    if frame.empty:
        return []
    return list(frame.groupby(keys, sort=True))


def _local(times: pd.Series | pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(times)
    return index.tz_convert(timezone).tz_localize(None)


def _step(
    ax: Axes, times: pd.Series | pd.DatetimeIndex, values: np.ndarray, timezone: str, **kwargs: Any
) -> None:
    """A quarter-hourly series as steps in local time, its last period drawn too."""
    x = list(_local(times, timezone))
    if not x:
        return
    ax.step([*x, x[-1] + QUARTER], [*values, values[-1]], where="post", **kwargs)


def day_figure(result: BacktestResult, day: date, zone: str | None = None) -> Figure | None:
    """`day` in `zone`'s local time (default the result's first zone): top, the actual
    (and, where it differs, forecast) energy prices [EUR/MWh]; middle, each asset's
    planned dispatch [MW, + injection] and the cleared energy positions; bottom, the
    batteries' SoC [MWh]. None where the day has no prices, dispatch, positions or SoC."""
    timezone = result_timezone(result, zone)
    start, end = day_window(day, timezone)
    prices = _in_window(result.prices, start, end)
    dispatch = _in_window(result.dispatch, start, end)
    soc = _in_window(result.soc, start, end)
    positions = _in_window(result.positions, start, end)
    if zone is not None:
        prices = prices[prices["zone"] == zone] if not prices.empty else prices
        positions = positions[positions["zone"] == zone] if not positions.empty else positions
    if prices.empty and dispatch.empty and soc.empty and positions.empty:
        return None
    fig, (ax_price, ax_mw, ax_soc) = new_figure(rows=3, height=9.0)
    if prices.empty:
        ax_price.text(0.5, 0.5, "no energy prices", ha="center", transform=ax_price.transAxes)
    for (market, where), group in _groups(prices, ["market", "zone"]):
        group = group.sort_values("timestamp_utc")
        actual = group["actual_eur_mwh"].astype(float).to_numpy()
        _step(ax_price, group["timestamp_utc"], actual, timezone, label=f"{market} {where} actual")
        forecast = group["forecast_eur_mwh"].astype(float).to_numpy()
        if not np.allclose(forecast, actual, equal_nan=True):
            _step(
                ax_price,
                group["timestamp_utc"],
                forecast,
                timezone,
                linestyle="--",
                label=f"{market} {where} forecast",
            )
    ax_price.set_ylabel("price [EUR/MWh]")
    ax_price.set_title(f"{day.isoformat()}: prices, dispatch and state of charge")
    ax_price.legend(loc="best", fontsize="small")
    ax_price.grid(True, alpha=0.3)

    # more assets than the default ten colours: each its own colour of a 20-colour map
    ax_mw.set_prop_cycle(color=[COLOURS(k) for k in range(COLOURS.N)])
    for asset, group in _groups(dispatch, "asset"):
        group = group.sort_values("timestamp_utc")
        _step(
            ax_mw,
            group["timestamp_utc"],
            group["mw"].astype(float).to_numpy(),
            timezone,
            label=str(asset),
        )
    energy = positions[positions["direction"].isna()] if not positions.empty else positions
    for (market, where), group in energy.groupby(["market", "zone"]) if not energy.empty else []:
        mw = _energy_on_grid(group, start, end)
        _step(
            ax_mw,
            mw.index,
            mw.to_numpy(),
            timezone,
            color="black",
            linewidth=1.2,
            linestyle=":",
            label=f"sold {market} {where}",
        )
    ax_mw.axhline(0.0, color="grey", linewidth=0.8)
    ax_mw.set_ylabel("MW (+ injection / sale)")
    if dispatch.empty and energy.empty:
        ax_mw.text(0.5, 0.5, "no dispatch", ha="center", transform=ax_mw.transAxes)
    else:
        # beside the panel, not over the lines it names
        ax_mw.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small")
    ax_mw.grid(True, alpha=0.3)

    if soc.empty:
        ax_soc.text(0.5, 0.5, "no battery this day", ha="center", transform=ax_soc.transAxes)
    for asset, group in _groups(soc, "asset"):
        group = group.sort_values("timestamp_utc")
        # soc_mwh is the state at the END of each quarter hour: drawn at the period's end.
        ax_soc.plot(
            _local(group["timestamp_utc"] + QUARTER, timezone), group["soc_mwh"], label=str(asset)
        )
    if not soc.empty:
        ax_soc.legend(loc="best", fontsize="small")
    ax_soc.set_ylabel("state of charge [MWh]")
    ax_soc.set_xlabel(f"local time ({timezone})")
    ax_soc.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax_soc.grid(True, alpha=0.3)
    return fig


def _energy_on_grid(group: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Cleared energy positions [MW] on the day's quarter hours: each product held for its
    ``hours`` (default: one quarter hour) from its start."""
    grid = pd.date_range(start, end, freq="15min", inclusive="left")
    mw = pd.Series(0.0, index=grid)
    for row in group.itertuples(index=False):
        hours = float(getattr(row, "hours", 0.25) or 0.25)
        begin = pd.Timestamp(row.timestamp_utc)
        stop = begin + pd.Timedelta(hours=hours)
        mw[(grid >= begin) & (grid < stop)] += float(row.cleared_mw)
    return mw


def soc_throughput_figure(result: BacktestResult) -> Figure | None:
    """Per battery over the run: the daily SoC range and end-of-day SoC [MWh], the daily
    discharged energy [MWh] and the cumulative full cycles."""
    if result.soc.empty:
        return None
    timezone = result_timezone(result)
    times = as_utc(result.soc["timestamp_utc"])
    local_day = times.dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()
    soc = result.soc.assign(timestamp_utc=times, day=local_day)
    fig, (ax_soc, ax_mwh) = new_figure(rows=2, height=7.0)
    for asset, group in soc.groupby("asset", sort=True):
        daily = (
            group.sort_values("timestamp_utc").groupby("day")["soc_mwh"].agg(["min", "max", "last"])
        )
        line = ax_soc.plot(daily.index, daily["last"], label=f"{asset} end of day")[0]
        ax_soc.fill_between(
            daily.index, daily["min"], daily["max"], alpha=0.1, color=line.get_color()
        )
    ax_soc.set_ylabel("state of charge [MWh]\n(band: daily min..max)")
    ax_soc.set_title("Batteries over the run: state of charge and throughput")
    # legends beside the panels: inside they covered the bars and lines they name
    ax_soc.legend(loc="upper left", bbox_to_anchor=(1.08, 1.0), fontsize="small")
    ax_soc.grid(True, alpha=0.3)
    assets = result.assets
    batteries = assets[assets["kind"] == "battery"] if not assets.empty else assets
    ax_cycles = ax_mwh.twinx()
    if not batteries.empty:
        frame = batteries.assign(day=pd.to_datetime(batteries["day"]))
        grouped = list(frame.groupby("asset", sort=True))
        width = 0.8 / len(grouped)  # each battery's bar beside the others', not over them
        for k, (asset, group) in enumerate(grouped):
            group = group.sort_values("day")
            offset = pd.Timedelta(days=(k - (len(grouped) - 1) / 2) * width)
            ax_mwh.bar(
                group["day"] + offset,
                group["throughput_mwh"],
                width=width,
                alpha=0.7,
                label=f"{asset} discharged",
            )
            ax_cycles.plot(group["day"], group["cycles"].cumsum(), label=f"{asset} cycles")
        bars, bar_labels = ax_mwh.get_legend_handles_labels()
        lines, line_labels = ax_cycles.get_legend_handles_labels()
        ax_cycles.legend(
            bars + lines,
            bar_labels + line_labels,
            loc="upper left",
            bbox_to_anchor=(1.08, 1.0),
            fontsize="small",
        )
    ax_mwh.set_ylabel("discharged per day [MWh]")
    ax_cycles.set_ylabel("cumulative full cycles")
    _daily_axis(ax_mwh, int(soc["day"].nunique()))
    ax_mwh.grid(True, alpha=0.3)
    return fig


def attribution_figure(result: BacktestResult) -> Figure | None:
    """Realised revenue over the run by asset, stacked by market [EUR]."""
    frame = result.attribution
    if frame.empty:
        return None
    table = frame.pivot_table(
        index="asset", columns="market", values="revenue_eur", aggfunc="sum", fill_value=0.0
    )
    table = table.loc[table.sum(axis=1).sort_values().index]
    fig, (ax,) = new_figure(height=max(3.0, 1.0 + 0.45 * len(table)), sharex=False)
    left_pos = np.zeros(len(table))
    left_neg = np.zeros(len(table))
    for market in table.columns:
        values = table[market].to_numpy()
        left = np.where(values >= 0, left_pos, left_neg)
        ax.barh(table.index, values, left=left, label=str(market))
        left_pos += np.clip(values, 0, None)
        left_neg += np.clip(values, None, 0)
    for i, total in enumerate(table.sum(axis=1)):
        ax.text(max(left_pos[i], 0), i, f"  {total:,.0f}", va="center", fontsize="small")
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_title("Realised revenue by asset and market (portfolio: trading, steps, imbalance)")
    ax.set_xlabel("revenue over the run [EUR]")
    ax.xaxis.set_major_formatter(EUR_TICKS)
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def forecast_figure(result: BacktestResult) -> Figure | None:
    """Left: forecast against actual price per quarter hour [EUR/MWh] with the mean
    absolute error; right: per day, the optimiser's expectation on its forecast against
    the realised net (+ stored value) [EUR]."""
    prices = result.prices
    if prices.empty and result.days.empty:
        return None
    fig = Figure(figsize=(10, 4.5), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax_price, ax_day = fig.subplots(1, 2)
    if not prices.empty:
        for (market, zone), group in prices.groupby(["market", "zone"], sort=True):
            f = group["forecast_eur_mwh"].astype(float).to_numpy()
            a = group["actual_eur_mwh"].astype(float).to_numpy()
            mae = float(np.nanmean(np.abs(f - a)))
            ax_price.scatter(a, f, s=3, alpha=0.3, label=f"{market} {zone}: MAE {mae:,.1f}")
        both = prices[["forecast_eur_mwh", "actual_eur_mwh"]].astype(float)
        low, high = float(np.nanmin(both.to_numpy())), float(np.nanmax(both.to_numpy()))
        ax_price.plot([low, high], [low, high], color="black", linewidth=0.8)
        ax_price.legend(loc="upper left", fontsize="small", markerscale=4)
    ax_price.set_xlabel("actual price [EUR/MWh]")
    ax_price.set_ylabel("forecast price [EUR/MWh]")
    ax_price.set_title("Prices: forecast against realised")
    ax_price.grid(True, alpha=0.3)
    days = result.days
    if not days.empty and "forecast_objective_eur" in days:
        stored = days["stored_value_eur"] if "stored_value_eur" in days.columns else 0.0
        realised = days["net_eur"] + stored
        ax_day.scatter(days["forecast_objective_eur"], realised, s=8)
        values = np.concatenate(
            [days["forecast_objective_eur"].to_numpy(float), realised.to_numpy(float)]
        )
        ax_day.plot(
            [values.min(), values.max()], [values.min(), values.max()], color="black", linewidth=0.8
        )
    ax_day.set_xlabel("expected by the plan [EUR/day]")
    ax_day.set_ylabel("realised net + stored value [EUR/day]")
    ax_day.set_title("Days: expected against realised")
    ax_day.xaxis.set_major_formatter(EUR_TICKS)
    ax_day.yaxis.set_major_formatter(EUR_TICKS)
    ax_day.grid(True, alpha=0.3)
    return fig


def distribution_figure(result: BacktestResult) -> Figure | None:
    """Histogram of daily net revenue [EUR/day] with its mean and median marked."""
    days = result.days
    if days.empty or "net_eur" not in days:
        return None
    net = days["net_eur"].astype(float).dropna().to_numpy()
    if net.size == 0:
        return None
    fig, (ax,) = new_figure()
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
    ax.set_xlabel("net revenue per day [EUR] (revenue + support - imbalance - costs)")
    ax.set_ylabel("number of days")
    ax.xaxis.set_major_formatter(EUR_TICKS)
    ax.legend(loc="best")
    ax.grid(True, alpha=0.3)
    return fig


def all_figures(
    result: BacktestResult, *, day: date | None = None, zone: str | None = None
) -> dict[str, tuple[str, Figure | None]]:
    """Every figure by file stem, with its caption (None where its tables are empty).
    `day`: the delivery day of the day figure (default `best_day`)."""
    chosen = day if day is not None else best_day(result)
    day_fig = day_figure(result, chosen, zone) if chosen is not None else None
    stem = f"day_{chosen.isoformat()}" if chosen is not None else "day"
    return {
        "cumulative_revenue": (
            "Gross and net cumulative revenue, costs by kind",
            cumulative_figure(result),
        ),
        stem: (f"Prices, dispatch and SoC on {chosen} (local time)", day_fig),
        "soc_throughput": (
            "State of charge and throughput over the run",
            soc_throughput_figure(result),
        ),
        "attribution": ("Revenue attribution by asset and market", attribution_figure(result)),
        "forecast": ("Forecast against realised", forecast_figure(result)),
        "daily_revenue_distribution": (
            "Distribution of daily net revenue",
            distribution_figure(result),
        ),
    }
