"""Coverage of a run's prices, checked before its first day, and what to do with gaps.

`check_coverage` looks at every price series a run will use (each market and zone, or zone
and direction) over the run's delivery days, plus the history its price forecast reads
before the first day, and lists every **gap**: a maximal run of quarter hours that no
period of the series prices (a period absent from the file, or present without a price,
such as ``quality=missing``, ``-`` or ``n/e``). Then the run's gap policy (`GAP_POLICIES`):

- ``fail`` (default): stop before the first day, naming every gap (market, zone, UTC
  start and end, local time, length);
- ``interpolate``: fill each gap linearly in time between the last price before it and the
  first after it, on the series' own resolution; a gap at the edge of the data (no price
  on one side) cannot be interpolated and stops the run, naming it;
- ``previous-day``: fill each missing period with the price at the same local wall time
  on the previous day (then two days back, ..., up to seven), following the local clock
  across DST changes; a period with no such price stops the run, naming it;
- ``skip-day``: fill nothing; a delivery day with a gap in its own prices is not traded
  (`GapReport.skip_days`), nor is a day whose forecast needs missing history.

Whatever is chosen is recorded: `GapReport.note` for the run's notes, `GapReport.day_note`
for each day's row. Times inside are UTC; local words use the market time zone
(Europe/Berlin for all five zones the engine trades).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from markets.calendar import day_end, day_start, delivery_day_of
from trading.optimiser.inputs import PriceInputs

GAP_POLICIES = ("fail", "interpolate", "previous-day", "skip-day")
"""What a run does with a gap in its prices (see the module docstring)."""

MARKET_TIMEZONE = "Europe/Berlin"
"""Local clock of the delivery days of the zones the engine trades (CET/CEST)."""

PREVIOUS_DAY_REACH = 7
"""``previous-day`` looks back at most this many days for a price at the same local time."""

QUARTER = pd.Timedelta(minutes=15)


class PriceGapError(ValueError):
    """Prices a run needs are missing and the gap policy cannot (or may not) fill them;
    the message names every gap and the policy."""


@dataclass(frozen=True)
class PriceGap:
    """Quarter hours [start, end) of one series without a price (UTC)."""

    market: str
    key: str
    start: pd.Timestamp
    end: pd.Timestamp
    where: str = "run"
    """``run``: inside the run's delivery days; ``history``: before the first day, where
    only the price forecast reads."""

    @property
    def hours(self) -> float:
        """Length of the gap [h]."""
        return (self.end - self.start) / pd.Timedelta(hours=1)

    def days(self, timezone: str = MARKET_TIMEZONE) -> list[date]:
        """The local delivery days the gap touches."""
        first = delivery_day_of(self.start.to_pydatetime(), timezone)
        last = delivery_day_of((self.end - QUARTER).to_pydatetime(), timezone)
        return [first + timedelta(days=k) for k in range((last - first).days + 1)]

    def describe(self, timezone: str = MARKET_TIMEZONE) -> str:
        """``day_ahead NL: 2023-03-26T00:00Z to 2023-03-26T01:00Z (local 2023-03-26 01:00 to
        02:00 CET, 1 h)``."""
        start = self.start.tz_convert(timezone)
        end = self.end.tz_convert(timezone)
        local_end = end.strftime("%H:%M %Z") if end.date() == start.date() else _local(end)
        history = ", forecast history before the first day" if self.where == "history" else ""
        return (
            f"{self.market} {self.key}: {_z(self.start)} to {_z(self.end)} (local "
            f"{_local(start)} to {local_end}, {self.hours:g} h{history})"
        )


def _z(moment: pd.Timestamp) -> str:
    return moment.tz_convert("UTC").strftime("%Y-%m-%dT%H:%MZ")


def _local(moment: pd.Timestamp) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z")


@dataclass
class GapReport:
    """The gaps of a run's prices and what the policy did with them."""

    policy: str
    gaps: list[PriceGap] = field(default_factory=list)
    filled_quarter_hours: int = 0
    skip_days: set[date] = field(default_factory=set)

    def note(self) -> str:
        """The run's notes line: the policy and every gap."""
        if not self.gaps:
            return f"price coverage: complete, no gaps (gap policy {self.policy})"
        listed = "; ".join(g.describe() for g in self.gaps)
        done = {
            "interpolate": f"filled by linear interpolation ({self.filled_quarter_hours} "
            "quarter hours)",
            "previous-day": f"filled from the same local time the day before "
            f"({self.filled_quarter_hours} quarter hours)",
            "skip-day": f"days not traded: {', '.join(str(d) for d in sorted(self.skip_days))}",
            "fail": "not filled",
        }[self.policy]
        return f"price gaps (policy {self.policy}): {len(self.gaps)} gap(s), {done}: {listed}"

    def day_note(self, day: date) -> str:
        """What the policy did on `day` (empty where the day's prices were complete)."""
        touching = [g for g in self.gaps if day in g.days()]
        if not touching:
            return ""
        return f"{self.policy}: " + "; ".join(g.describe() for g in touching)


def _resolution(series: pd.Series) -> pd.Timedelta:
    """The series' period length: its most common spacing (15 min if it cannot tell)."""
    if len(series) < 2:
        return QUARTER
    spacing = np.diff(pd.DatetimeIndex(series.index).as_unit("ns").asi8)
    values, counts = np.unique(spacing, return_counts=True)
    return pd.Timedelta(int(values[np.argmax(counts)]), unit="ns")


def _sorted(series: pd.Series) -> pd.Series:
    series = series.sort_index()
    return series[~series.index.duplicated(keep="first")].astype(float)


def _covered(series: pd.Series, grid: pd.DatetimeIndex) -> np.ndarray:
    """Whether each quarter hour of `grid` is priced by some period of `series`."""
    series = _sorted(series)
    if series.empty:
        return np.zeros(len(grid), dtype=bool)
    step = _resolution(series)
    tolerance = max(step - QUARTER, pd.Timedelta(0))
    aligned = series.reindex(grid, method="ffill", tolerance=tolerance)
    return ~aligned.isna().to_numpy()


def find_gaps(
    series: pd.Series,
    market: str,
    key: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    first_run_instant: pd.Timestamp | None = None,
) -> list[PriceGap]:
    """Every maximal run of unpriced quarter hours of `series` in [start, end) (UTC);
    those before `first_run_instant` are marked ``history``."""
    grid = pd.date_range(start, end, freq=QUARTER, inclusive="left")
    if len(grid) == 0:
        return []
    missing = ~_covered(series, grid)
    gaps = []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], missing.astype(int), [0]))))
    for first, last in zip(edges[::2], edges[1::2], strict=True):
        gap_start, gap_end = grid[first], grid[last - 1] + QUARTER
        run_start = first_run_instant if first_run_instant is not None else start
        if gap_start < run_start < gap_end:  # split into history and run parts
            gaps.append(PriceGap(market, key, gap_start, run_start, "history"))
            gaps.append(PriceGap(market, key, run_start, gap_end, "run"))
            continue
        where = "history" if gap_end <= run_start else "run"
        gaps.append(PriceGap(market, key, gap_start, gap_end, where))
    return gaps


def gaps_over_days(
    series: pd.Series, market: str, key: str, days: Iterable[date], timezone: str = MARKET_TIMEZONE
) -> list[PriceGap]:
    """Every gap of `series` over the delivery `days` (UTC quarter hours), e.g. of a real
    imbalance price series a run settles on where it has prices."""
    days = sorted(days)
    if not days:
        return []
    _, start, end = _window(days, 0, timezone)
    return find_gaps(series, market, key, start, end)


def _label(key: object) -> str:
    return key if isinstance(key, str) else "/".join(str(k) for k in key)  # type: ignore[union-attr]


def _window(days: list[date], history_days: int, timezone: str) -> tuple[pd.Timestamp, ...]:
    first, last = min(days), max(days)
    history = pd.Timestamp(day_start(first - timedelta(days=history_days), timezone))
    run = pd.Timestamp(day_start(first, timezone))
    end = pd.Timestamp(day_end(last, timezone))
    return history.tz_convert("UTC"), run.tz_convert("UTC"), end.tz_convert("UTC")


def check_coverage(
    prices: PriceInputs,
    days: Iterable[date],
    markets: Iterable[str],
    policy: str = "fail",
    *,
    history_days: int = 0,
    forecast_name: str = "",
    timezone: str = MARKET_TIMEZONE,
) -> tuple[PriceInputs, GapReport]:
    """Check and, by `policy`, fill the prices of `markets` over `days` (+ the forecast's
    `history_days` before the first); return the prices to run on and the report.

    Raises:
        ValueError: an unknown policy (naming the choices).
        PriceGapError: ``fail`` with any gap (every gap named), or a gap the policy cannot
            fill (named, with why), or missing forecast history before the data begin.
    """
    if policy not in GAP_POLICIES:
        raise ValueError(f"gaps={policy!r}: choose one of {', '.join(GAP_POLICIES)}")
    days = sorted(days)
    report = GapReport(policy)
    if not days:
        return prices, report
    history_start, run_start, end = _window(days, history_days, timezone)
    found: dict[tuple[str, object], list[PriceGap]] = {}
    for market in markets:
        for key, series in getattr(prices, market, {}).items():
            gaps = find_gaps(series, market, _label(key), history_start, end, run_start)
            if gaps:
                found[(market, key)] = gaps
                report.gaps.extend(gaps)
    if not report.gaps:
        return prices, report
    listed = "\n  ".join(g.describe(timezone) for g in report.gaps)
    need = (
        f" The {forecast_name} forecast reads {history_days} day(s) of prices before the "
        f"first delivery day {days[0]} (from {_z(history_start)})."
        if history_days
        else ""
    )
    if policy == "fail":
        spans = "\n  ".join(
            _span(market, key, getattr(prices, market)[key]) for market, key in found
        )
        raise PriceGapError(
            f"{len(report.gaps)} gap(s) in the prices, found before the first day "
            f"(gap policy fail; choose --gaps interpolate, previous-day or skip-day to "
            f"run anyway):\n  {listed}\nThe series hold:\n  {spans}\n{need}".rstrip()
        )
    if policy == "skip-day":
        for gap in report.gaps:
            if gap.where == "run":
                report.skip_days.update(d for d in gap.days(timezone) if d in set(days))
        return prices, report
    filled = PriceInputs(
        day_ahead=dict(prices.day_ahead),
        intraday=dict(prices.intraday),
        afrr_capacity=dict(prices.afrr_capacity),
        fcr_capacity=dict(prices.fcr_capacity),
    )
    for (market, key), gaps in found.items():
        series = getattr(prices, market)[key]
        fill = _interpolate if policy == "interpolate" else _previous_day
        new, count = fill(series, gaps, history_start, end, timezone, need)
        getattr(filled, market)[key] = new
        report.filled_quarter_hours += count
    return filled, report


def _span(market: str, key: object, series: pd.Series) -> str:
    """``day_ahead DE_LU: prices from ...Z to ...Z`` (the first and last priced period)."""
    priced = _sorted(series).dropna()
    if priced.empty:
        return f"{market} {_label(key)}: no prices at all"
    last_end = priced.index[-1] + _resolution(priced)
    return f"{market} {_label(key)}: prices from {_z(priced.index[0])} to {_z(last_end)}"


def _grid_series(
    series: pd.Series, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.Series, pd.Timedelta]:
    """`series` on its own resolution's full grid over its span and [start, end)."""
    series = _sorted(series)
    step = _resolution(series)
    if series.empty:
        return series.reindex(pd.date_range(start, end, freq=QUARTER, inclusive="left")), QUARTER
    anchor = series.index[0]
    lo = anchor - (-(-(anchor - start) // step)) * step if start < anchor else anchor
    hi = max(series.index[-1] + step, end)
    grid = pd.date_range(lo, hi, freq=step, inclusive="left")
    return series.reindex(grid.union(series.index)), step


def _unfillable(gap: PriceGap, why: str, need: str) -> PriceGapError:
    return PriceGapError(f"cannot fill the gap {gap.describe()}: {why}.{need}".rstrip())


def _interpolate(
    series: pd.Series,
    gaps: list[PriceGap],
    start: pd.Timestamp,
    end: pd.Timestamp,
    timezone: str,
    need: str,
) -> tuple[pd.Series, int]:
    full, step = _grid_series(series, start, end)
    priced = full.dropna()
    for gap in gaps:
        if priced.empty or gap.start < priced.index[0] or gap.end > priced.index[-1] + step:
            raise _unfillable(
                gap,
                "no price on one side of it (the data begin or end there), so there is "
                "nothing to interpolate between; give more data or choose previous-day "
                "(which fills the end of data) or skip-day",
                need,
            )
    result = full.interpolate(method="time", limit_area="inside")
    count = sum(round(g.hours * 4) for g in gaps)
    return result.rename(series.name), count


def _previous_day(
    series: pd.Series,
    gaps: list[PriceGap],
    start: pd.Timestamp,
    end: pd.Timestamp,
    timezone: str,
    need: str,
) -> tuple[pd.Series, int]:
    full, step = _grid_series(series, start, end)
    result = full.copy()
    for gap in gaps:
        inside = (full.index >= gap.start - (step - QUARTER)) & (full.index < gap.end)
        for moment in full.index[inside & full.isna().to_numpy()]:
            wall = moment.tz_convert(timezone).tz_localize(None)
            for back in range(1, PREVIOUS_DAY_REACH + 1):
                source = (wall - timedelta(days=back)).tz_localize(
                    timezone, ambiguous=True, nonexistent="shift_forward"
                )
                value = full.get(source.tz_convert("UTC"))
                if value is not None and not np.isnan(value):
                    result[moment] = value
                    break
            else:
                raise _unfillable(
                    gap,
                    f"no price at local {wall:%H:%M} on any of the {PREVIOUS_DAY_REACH} days "
                    f"before {wall:%Y-%m-%d}",
                    need,
                )
    count = sum(round(g.hours * 4) for g in gaps)
    return result.rename(series.name), count
