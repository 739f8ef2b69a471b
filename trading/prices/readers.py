"""Read day-ahead, intraday and balancing (aFRR, FCR) price files into tidy frames.

The files follow the long CSV layout of the shared market data (see ``data/README.md`` in
the shared data folder and ``data/sample_prices/README.md``): one row per zone and period,
``timestamp_utc`` the **start** of the period in ISO 8601 with ``Z`` or an explicit offset,
prices in EUR/MWh (aFRR and FCR capacity as published: EUR/MW per 4-hour block).

Every frame returned here has a timezone-aware UTC `DatetimeIndex` named ``timestamp_utc``
(start of the period, ``datetime64[ns, UTC]``), sorted by time and then zone. Inside the
engine prices are EUR/MWh for energy and EUR/MW/h for capacity; readers convert on the way in.

Nothing is guessed: a bad file raises `PriceDataError` naming the file, the line (1-based,
header = line 1), the column and the value. The checks are: missing required column,
unparsable timestamp, naive timestamp (no ``Z``/offset), timestamp off its MTU grid,
duplicate timestamp per zone, gap (the first missing timestamp is named), spacing shorter
than the resolution, non-numeric value, a price of ``DE_AT_LU`` for delivery from
2018-10-01 or of ``DE_LU`` before it (`check_zone_era`, every reader). An empty value is
kept as NaN only where the row's ``quality`` column says ``missing`` (and, in balancing
files, in the capacity columns that the publisher leaves blank for whole blocks); the
optimiser refuses missing prices itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from markets.calendar import local_boundaries
from markets.countries.de_history import BIDDING_ZONE_HISTORY

BLOCK_TIMEZONE = "Europe/Berlin"
"""Time zone whose wall clock cuts aFRR and FCR capacity blocks (00, 04, ..., 20 local)."""

BLOCK_HOURS = 4
"""Nominal length of an aFRR or FCR capacity block in hours (3 or 5 on a DST day)."""

TIMESTAMP = "timestamp_utc"
ZONE = "zone"
PRICE = "price_eur_mwh"
RESOLUTION = "resolution_min"
QUALITY = "quality"
MISSING = "missing"

AFRR_CAPACITY_POS = "afrr_capacity_pos_eur_per_mw_h"
AFRR_CAPACITY_NEG = "afrr_capacity_neg_eur_per_mw_h"
AFRR_ENERGY_POS = "afrr_energy_pos_eur_mwh"
AFRR_ENERGY_NEG = "afrr_energy_neg_eur_mwh"
FCR_CAPACITY = "fcr_capacity_eur_per_mw_h"

FCR_CAPACITY_COLUMN = "fcr_capacity_price_eur_mw"
"""Optional balancing-file column: FCR capacity in EUR/MW per 4-hour block, as published."""

# aFRR file columns (as in the SMARD export of the shared data) -> engine column.
_AFRR_CAPACITY_COLUMNS = {
    "capacity_price_pos_eur_mw": AFRR_CAPACITY_POS,
    "capacity_price_neg_eur_mw": AFRR_CAPACITY_NEG,
}
_AFRR_ENERGY_COLUMNS = {
    "activation_price_pos_eur_mwh": AFRR_ENERGY_POS,
    "activation_price_neg_eur_mwh": AFRR_ENERGY_NEG,
}
_AFRR_VOLUME_COLUMNS = ("activated_volume_pos_mwh", "activated_volume_neg_mwh")
_AFRR_PROCURED_COLUMNS = ("procured_capacity_pos_mw", "procured_capacity_neg_mw")

_AWARE_SUFFIX = re.compile(r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$")
_TOKENIZER_LINE = re.compile(r"line (\d+)")

_EARLIEST = pd.Timestamp("1900-01-01", tz="UTC")
_LATEST = pd.Timestamp("2200-01-01", tz="UTC")

StrPath = str | PathLike[str]

ZONE_ERAS_TIMEZONE = BERLIN = "Europe/Berlin"
"""Wall clock of the delivery days that bound a zone's era (CET/CEST)."""


def _zone_eras() -> dict[str, tuple[pd.Timestamp | None, pd.Timestamp | None]]:
    eras: dict[str, tuple[pd.Timestamp | None, pd.Timestamp | None]] = {}
    for n, entry in enumerate(BIDDING_ZONE_HISTORY):

        def edge(day: object) -> pd.Timestamp | None:
            if day is None:
                return None
            return pd.Timestamp(day).tz_localize(ZONE_ERAS_TIMEZONE).tz_convert("UTC")

        # The first record's start is where the history starts, not where the zone did.
        eras[entry.value] = (None if n == 0 else edge(entry.valid_from), edge(entry.valid_to))
    return eras


ZONE_ERAS = _zone_eras()
"""Zone -> (first, end) UTC instants of the delivery days priced in it, None = open, from
`markets.countries.de_history.BIDDING_ZONE_HISTORY`: ``DE_AT_LU`` until the end of delivery
day 2018-09-30, ``DE_LU`` from 2018-10-01 (CET/CEST days)."""


def check_zone_era(
    path: StrPath,
    zones: np.ndarray,
    starts_utc: np.ndarray,
    priced: np.ndarray,
    lines: np.ndarray,
    column: str | None = None,
) -> None:
    """Refuse a price of a zone outside the delivery days the zone existed for.

    A joint DE-AT-LU price for delivery from 2018-10-01 or a DE-LU price before it is a
    `PriceDataError` naming the file, the line, the zone, the local delivery time and the
    zone's era. Rows without a price (``-``, ``n/e``, empty) are accepted outside the era:
    SMARD's old downloads list both German zones side by side with ``-`` where a zone did
    not exist, and ENTSO-E exports list a zone's unpriced intervals the same way.

    Args:
        zones: zone code per row; starts_utc: interval start per row (UTC ns);
        priced: whether the row has a price; lines: the row's 1-based file line.
    """
    for zone, (first, end) in ZONE_ERAS.items():
        mine = (zones == zone) & priced
        outside = np.zeros(len(zones), dtype=bool)
        if first is not None:
            outside |= mine & (starts_utc < first.value)
        if end is not None:
            outside |= mine & (starts_utc >= end.value)
        bad = _first(outside)
        if bad is None:
            continue
        moment = pd.Timestamp(int(starts_utc[bad]), unit="ns", tz="UTC")
        local = moment.tz_convert(BERLIN)
        last_day = None if end is None else (end - pd.Timedelta(hours=1)).tz_convert(BERLIN)
        if last_day is not None:
            era = f"until delivery day {last_day.date()}"
        else:
            era = "from delivery day " + str(first.tz_convert(BERLIN).date() if first else "?")
        raise PriceDataError(
            path,
            f"zone {zone} has a price for delivery on {local:%Y-%m-%d %H:%M %Z} "
            f"({_iso(moment)}), but {zone} priced delivery only {era} (the German-Austrian "
            "split took effect on 2018-10-01: DE_AT_LU before it, DE_LU from it)",
            line=int(lines[bad]),
            column=column,
            value=zone,
        )


class PriceDataError(ValueError):
    """A price file that cannot be read as it stands.

    The message names the file, the line (1-based, the header is line 1), the column and
    the offending value; the same facts are attributes for programs.
    """

    def __init__(
        self,
        path: StrPath,
        problem: str,
        *,
        line: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        self.value = value
        self.problem = problem
        where = [str(self.path)]
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        if value is not None:
            where.append(f"value {value!r}")
        super().__init__(f"{', '.join(where)}: {problem}")


def _line(position: int) -> int:
    """File line of data row `position` (0-based): the header is line 1."""
    return int(position) + 2


def _iso(moment: pd.Timestamp | datetime) -> str:
    return pd.Timestamp(moment).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _line_text(path: StrPath, line: int) -> str | None:
    """Text of line `line` (1-based) of the file, for an error message."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if number == line:
                return text.rstrip("\r\n")
    return None


def _read_raw(path: StrPath, required: Sequence[str]) -> pd.DataFrame:
    """Every cell as text (nothing converted, empty = ""), index = data row position."""
    try:
        raw = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8",
        )
    except pd.errors.EmptyDataError as exc:
        raise PriceDataError(path, "the file is empty; expected a header row", line=1) from exc
    except pd.errors.ParserError as exc:
        found = _TOKENIZER_LINE.search(str(exc))
        line = int(found.group(1)) if found else None
        raise PriceDataError(
            path,
            f"the row does not have the header's number of fields ({exc})",
            line=line,
            value=None if line is None else _line_text(path, line),
        ) from exc
    except UnicodeDecodeError as exc:
        raise PriceDataError(path, f"not UTF-8 text ({exc.reason})") from exc
    raw.columns = [str(name).strip() for name in raw.columns]
    header = ",".join(raw.columns)
    for name in required:
        if name not in raw.columns:
            raise PriceDataError(
                path,
                f"required column is missing (need {', '.join(required)})",
                line=1,
                column=name,
                value=header,
            )
    raw.index = pd.RangeIndex(len(raw))
    blank = _first((raw.apply(lambda column: column.str.strip()) == "").all(axis=1).to_numpy())
    if blank is not None:
        raise PriceDataError(
            path, "blank line inside the data", line=_line(blank), column=required[0], value=""
        )
    return raw


def _ns(times: pd.Series) -> np.ndarray:
    """UTC instants as int64 nanoseconds since the epoch."""
    return pd.DatetimeIndex(times).as_unit("ns").asi8


def _first(mask: np.ndarray | pd.Series) -> int | None:
    """Position of the first True in `mask`, or None."""
    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(hits[0]) if hits.size else None


def _timestamps(raw: pd.DataFrame, path: StrPath) -> pd.Series:
    """``timestamp_utc`` as UTC instants; empty, unparsable and naive values are refused."""
    text = raw[TIMESTAMP].str.strip()
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    aware = text.str.contains(_AWARE_SUFFIX, regex=True)
    in_range = (parsed >= _EARLIEST) & (parsed <= _LATEST)  # NaT compares False
    bad = _first(~in_range.to_numpy() | ~aware.to_numpy())
    if bad is not None:
        value = raw[TIMESTAMP].iloc[bad]
        if not text.iloc[bad]:
            problem = "empty timestamp"
        elif pd.isna(parsed.iloc[bad]):
            problem = "not an ISO 8601 timestamp"
        elif not in_range.iloc[bad]:
            problem = f"outside {_EARLIEST.year}-{_LATEST.year}, the range the engine handles"
        else:
            problem = "naive timestamp: it needs a trailing Z or an offset such as +01:00"
        raise PriceDataError(
            path, problem, line=_line(raw.index[bad]), column=TIMESTAMP, value=value
        )
    return parsed.dt.as_unit("ns")


def _missing_by_quality(raw: pd.DataFrame) -> np.ndarray:
    """Rows whose ``quality`` says ``missing`` (all False without a quality column)."""
    if QUALITY not in raw.columns:
        return np.zeros(len(raw), dtype=bool)
    return (raw[QUALITY].str.strip().str.lower() == MISSING).to_numpy()


def _numbers(
    raw: pd.DataFrame,
    column: str,
    path: StrPath,
    *,
    empty_ok: np.ndarray,
    why_empty_ok: str,
) -> pd.Series:
    """Column `column` as float64; empty cells become NaN where `empty_ok` allows them."""
    text = raw[column].str.strip()
    empty = (text == "").to_numpy()
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    not_number = ~empty & ~np.isfinite(values.to_numpy())
    bad = _first(not_number)
    if bad is not None:
        raise PriceDataError(
            path,
            "not a finite number (decimal point '.', no thousands separator)",
            line=_line(raw.index[bad]),
            column=column,
            value=raw[column].iloc[bad],
        )
    bad = _first(empty & ~empty_ok)
    if bad is not None:
        if QUALITY in raw.columns:
            why = f"but its quality is {raw[QUALITY].iloc[bad]!r}, not {MISSING!r}"
        else:
            why = "and the file has no quality column to mark it missing"
        raise PriceDataError(
            path,
            f"empty value {why}; an empty value is allowed only {why_empty_ok}",
            line=_line(raw.index[bad]),
            column=column,
            value="",
        )
    return pd.Series(values.to_numpy(), index=raw.index)


def _zones(raw: pd.DataFrame, path: StrPath) -> pd.Series:
    zones = raw[ZONE].str.strip()
    bad = _first((zones == "").to_numpy())
    if bad is not None:
        raise PriceDataError(
            path, "empty zone", line=_line(raw.index[bad]), column=ZONE, value=raw[ZONE].iloc[bad]
        )
    return zones


def _select_zone(raw: pd.DataFrame, zone: str | None, path: StrPath) -> pd.DataFrame:
    if zone is None:
        return raw
    chosen = raw[raw[ZONE].str.strip() == zone]
    if chosen.empty:
        present = sorted(set(raw[ZONE].str.strip()) - {""})
        raise PriceDataError(
            path,
            f"no rows for this zone; the file has {', '.join(present) or 'no zones'}",
            column=ZONE,
            value=zone,
        )
    return chosen


def _declared_resolution(raw: pd.DataFrame, path: StrPath) -> np.ndarray:
    """``resolution_min`` as whole minutes that divide a day."""
    text = raw[RESOLUTION].str.strip()
    minutes = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(minutes) & (minutes > 0) & (minutes == np.round(minutes))
        valid &= np.where(valid, (24 * 60) % np.where(valid, minutes, 1) == 0, False)
    bad = _first(~valid)
    if bad is not None:
        raise PriceDataError(
            path,
            "resolution must be a whole number of minutes that divides a day (15, 60, ...)",
            line=_line(raw.index[bad]),
            column=RESOLUTION,
            value=raw[RESOLUTION].iloc[bad],
        )
    return minutes.astype("int64")


def _inferred_resolution(
    raw: pd.DataFrame, times: pd.Series, zones: pd.Series, path: StrPath
) -> np.ndarray:
    """Per zone, the most common spacing between consecutive timestamps, in minutes.

    The most common spacing (the smallest on a tie) rather than the smallest, so that one
    stray row is reported as off the grid instead of redefining it. A file that mixes
    resolutions within a zone must carry ``resolution_min``.
    """
    result = np.zeros(len(raw), dtype="int64")
    all_stamps = _ns(times)
    for name, rows in pd.Series(np.arange(len(raw))).groupby(zones.to_numpy(), sort=False):
        positions = rows.to_numpy()
        first = positions[0]
        spacings = np.diff(np.unique(all_stamps[positions])) // (60 * 10**9)
        if spacings.size == 0:
            raise PriceDataError(
                path,
                f"cannot infer the resolution of zone {name} from one timestamp; "
                f"add a {RESOLUTION} column",
                line=_line(raw.index[first]),
                column=TIMESTAMP,
                value=raw[TIMESTAMP].iloc[first],
            )
        values, counts = np.unique(spacings, return_counts=True)
        step = int(values[np.argmax(counts)])
        if step <= 0 or (24 * 60) % step:
            raise PriceDataError(
                path,
                f"rows of zone {name} are mostly {step} min apart, which is not a market "
                f"time unit; add a {RESOLUTION} column",
                line=_line(raw.index[first]),
                column=TIMESTAMP,
                value=raw[TIMESTAMP].iloc[first],
            )
        result[positions] = step
    return result


def _check_grid(
    raw: pd.DataFrame,
    times: pd.Series,
    zones: pd.Series,
    minutes: np.ndarray,
    path: StrPath,
    allow_gaps: bool = False,
) -> None:
    """No duplicate per zone, every timestamp on its MTU grid, no gap (unless
    `allow_gaps`: a run's coverage check names and handles them), no overlap."""
    stamps = _ns(times)
    codes, _ = pd.factorize(zones.to_numpy())
    keyed = pd.DataFrame({"zone": codes, "t": stamps})
    duplicated = keyed.duplicated().to_numpy()
    bad = _first(duplicated)
    if bad is not None:
        earlier = _first((keyed["zone"] == codes[bad]).to_numpy() & (keyed["t"] == stamps[bad]))
        raise PriceDataError(
            path,
            f"duplicate timestamp in zone {zones.iloc[bad]}: "
            f"line {_line(raw.index[earlier])} has it already",
            line=_line(raw.index[bad]),
            column=TIMESTAMP,
            value=raw[TIMESTAMP].iloc[bad],
        )
    minute_ns = 60 * 10**9
    per_hour = (60 % minutes) == 0
    off_grid = per_hour & ((stamps // minute_ns) % np.where(per_hour, minutes, 1) != 0)
    off_grid |= stamps % minute_ns != 0
    bad = _first(off_grid)
    if bad is not None:
        raise PriceDataError(
            path,
            f"timestamp is not on the {minutes[bad]}-minute grid",
            line=_line(raw.index[bad]),
            column=TIMESTAMP,
            value=raw[TIMESTAMP].iloc[bad],
        )
    order = np.lexsort((stamps, codes))
    t, z, step = stamps[order], codes[order], minutes[order]
    same_zone = z[1:] == z[:-1]
    spacing = t[1:] - t[:-1]
    expected = step[:-1] * minute_ns
    gap = None if allow_gaps else _first(same_zone & (spacing > expected))
    short = _first(same_zone & (spacing < expected))
    if gap is None and short is None:
        return
    at = min(i for i in (gap, short) if i is not None)
    before, after = order[at], order[at + 1]
    if at == gap:
        missing = pd.Timestamp(t[at] + expected[at], tz="UTC")
        problem = (
            f"gap in zone {zones.iloc[after]}: {_iso(missing)} is missing "
            f"(line {_line(raw.index[before])} holds {raw[TIMESTAMP].iloc[before].strip()} "
            f"with a resolution of {step[at]} min)"
        )
    else:
        problem = (
            f"only {spacing[at] // minute_ns} min after line {_line(raw.index[before])} "
            f"({raw[TIMESTAMP].iloc[before].strip()}), whose resolution is {step[at]} min"
        )
    raise PriceDataError(
        path,
        problem,
        line=_line(raw.index[after]),
        column=TIMESTAMP,
        value=raw[TIMESTAMP].iloc[after],
    )


def _frame(index: pd.Series | pd.DatetimeIndex, columns: dict[str, object]) -> pd.DataFrame:
    """A frame indexed by ``timestamp_utc`` (ns, UTC), sorted by time and then zone."""
    frame = pd.DataFrame(columns)
    frame.insert(0, TIMESTAMP, pd.DatetimeIndex(index).as_unit("ns"))
    frame = frame.sort_values([TIMESTAMP, ZONE], kind="stable").set_index(TIMESTAMP)
    return frame


def long_price_frame(
    timestamps: pd.Series | pd.DatetimeIndex | Sequence[datetime],
    zones: Sequence[str] | pd.Series,
    prices_eur_mwh: Sequence[float] | pd.Series | np.ndarray,
    resolution_min: Sequence[int] | pd.Series | np.ndarray,
) -> pd.DataFrame:
    """The tidy frame every long-layout reader returns, built from its columns.

    Index ``timestamp_utc`` (period start, UTC, tz-aware); columns ``zone``,
    ``price_eur_mwh`` (EUR/MWh, negative values are real prices, NaN = missing) and
    ``resolution_min`` (period length in minutes); sorted by time, then zone.
    """
    return _frame(
        pd.DatetimeIndex(timestamps),
        {
            ZONE: pd.Series(list(zones), dtype=str),
            PRICE: np.asarray(prices_eur_mwh, dtype="float64"),
            RESOLUTION: np.asarray(resolution_min, dtype="int64"),
        },
    )


def _read_long(path: StrPath, zone: str | None, allow_gaps: bool = False) -> pd.DataFrame:
    raw = _select_zone(_read_raw(path, (TIMESTAMP, ZONE, PRICE)), zone, path)
    zones = _zones(raw, path)
    times = _timestamps(raw, path)
    prices = _numbers(
        raw,
        PRICE,
        path,
        empty_ok=_missing_by_quality(raw),
        why_empty_ok=f"where the row's quality is {MISSING!r}",
    )
    if RESOLUTION in raw.columns:
        minutes = _declared_resolution(raw, path)
    else:
        minutes = _inferred_resolution(raw, times, zones, path)
    _check_grid(raw, times, zones, minutes, path, allow_gaps)
    check_zone_era(
        path,
        zones.to_numpy(),
        _ns(times),
        ~np.isnan(prices.to_numpy()),
        np.asarray([_line(i) for i in raw.index]),
        PRICE,
    )
    return long_price_frame(times, zones, prices.to_numpy(), minutes)


def read_day_ahead_prices(
    path: StrPath, *, zone: str | None = None, allow_gaps: bool = False
) -> pd.DataFrame:
    """Day-ahead (SDAC) prices from a long CSV file, hourly or 15-minute.

    Needs the columns ``timestamp_utc`` (period start, ISO 8601 with ``Z`` or an offset),
    ``zone`` and ``price_eur_mwh`` (EUR/MWh; negative prices are real, not errors). An
    optional ``resolution_min`` gives each period's length; without it the resolution is
    inferred per zone from the smallest spacing. Other columns (``quality``, ``source``)
    are read only to allow empty prices where ``quality`` is ``missing``.

    Args:
        path: the CSV file.
        zone: read only this zone's rows (and check only them); None reads all zones.
        allow_gaps: accept absent periods (a run's coverage check,
            `trading.prices.coverage`, then names them and applies its gap policy).

    Returns:
        Index ``timestamp_utc`` (UTC, tz-aware, start of the period); columns ``zone``,
        ``price_eur_mwh`` (EUR/MWh, NaN where the file marks the price missing) and
        ``resolution_min``; sorted by time, then zone.

    Raises:
        PriceDataError: naming file, line, column and value of the first problem.
    """
    return _read_long(path, zone, allow_gaps)


def read_intraday_prices(path: StrPath, *, zone: str | None = None) -> pd.DataFrame:
    """Intraday prices from a long CSV file: the same layout and checks as day-ahead.

    Columns ``timestamp_utc``, ``zone``, ``price_eur_mwh`` (EUR/MWh), optional
    ``resolution_min``; see `read_day_ahead_prices` for the frame returned. No real
    intraday prices are available to the project; the sample files hold a documented
    proxy (``data/sample_prices/README.md``).
    """
    return _read_long(path, zone)


def day_ahead_series(
    frame: pd.DataFrame, zone: str, start_utc: datetime, end_utc: datetime
) -> pd.Series:
    """One zone's prices for the window [`start_utc`, `end_utc`), as the optimiser takes them.

    Args:
        frame: a frame from `read_day_ahead_prices` (or `read_intraday_prices`).
        zone: bidding zone, e.g. ``DE_LU``.
        start_utc: first period start, timezone-aware (any zone; compared as instants).
        end_utc: end of the window (exclusive), timezone-aware.

    Returns:
        ``price_eur_mwh`` (EUR/MWh) indexed by period start (UTC, tz-aware), named
        ``price_eur_mwh``; NaN where the file marks a price missing.

    Raises:
        ValueError: a naive or empty window, an unknown zone, or a window the frame does
            not cover period by period (the first uncovered instant is named).
    """
    for name, moment in (("start_utc", start_utc), ("end_utc", end_utc)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name}={moment.isoformat()} is naive; pass a timezone-aware time")
    start, end = pd.Timestamp(start_utc).tz_convert("UTC"), pd.Timestamp(end_utc).tz_convert("UTC")
    if end <= start:
        raise ValueError(f"empty window: end_utc {_iso(end)} is not after start_utc {_iso(start)}")
    missing_columns = {ZONE, PRICE, RESOLUTION} - set(frame.columns)
    if missing_columns:
        raise ValueError(f"frame lacks columns {sorted(missing_columns)}; use a reader's frame")
    rows = frame[frame[ZONE] == zone]
    if rows.empty:
        raise ValueError(f"zone {zone!r} is not in the frame; it has {sorted(set(frame[ZONE]))}")
    rows = rows[(rows.index >= start) & (rows.index < end)].sort_index()
    ends = rows.index + pd.to_timedelta(rows[RESOLUTION].to_numpy(), unit="min")
    expected_starts = [start, *ends[:-1]]
    for actual, wanted in zip(rows.index, expected_starts, strict=True):
        if actual != wanted:
            raise ValueError(f"{zone}: no price for the period starting {_iso(wanted)}")
    covered_to = ends[-1] if len(rows) else start
    if covered_to != end:
        raise ValueError(f"{zone}: no price for the period starting {_iso(covered_to)}")
    series = rows[PRICE].copy()
    series.name = PRICE
    return series


def _blocks(times: pd.Series, timezone: str) -> tuple[np.ndarray, np.ndarray]:
    """Start (ns since the epoch) and length in hours of the capacity block of each instant.

    Blocks start at local 00, 04, ..., 20 in `timezone`, so on a DST day the first block
    lasts 3 h (spring) or 5 h (autumn); `local_boundaries` merges a block start that falls
    into the spring-forward gap with the next one.
    """
    local_days = sorted({stamp.date() for stamp in times.dt.tz_convert(timezone)})
    bounds: list[datetime] = []
    for day in local_days:
        for moment in local_boundaries(day, timezone, BLOCK_HOURS):
            if not bounds or moment > bounds[-1]:
                bounds.append(moment)
    edges = pd.DatetimeIndex(bounds).as_unit("ns").asi8
    stamps = _ns(times)
    block = np.searchsorted(edges, stamps, side="right") - 1
    return edges[block], (edges[block + 1] - edges[block]) / (3600 * 10**9)


def _check_blocks(
    raw: pd.DataFrame,
    zones: pd.Series,
    values: pd.Series,
    column: str,
    blocks: tuple[np.ndarray, np.ndarray],
    path: StrPath,
) -> None:
    """A capacity price is published once per block: constant, or empty, for the block."""
    starts, hours = blocks
    keys = [zones.to_numpy(), starts]
    numbers = pd.Series(values.to_numpy())
    empty = numbers.isna()
    some_empty = empty.groupby(keys).transform("any").to_numpy()
    all_empty = empty.groupby(keys).transform("all").to_numpy()
    bad = _first(some_empty & ~all_empty & empty.to_numpy())
    problem = "empty while other quarter hours of its block are not"
    if bad is None:
        first = numbers.groupby(keys).transform("first").to_numpy()
        bad = _first(~empty.to_numpy() & (numbers.to_numpy() != first))
        problem = "differs from the value on the block's first row"
    if bad is not None:
        start = pd.Timestamp(starts[bad], unit="ns", tz="UTC")
        raise PriceDataError(
            path,
            f"{problem}; a capacity price is published once per block "
            f"(this one starts {_iso(start)} and lasts {hours[bad]:g} h)",
            line=_line(raw.index[bad]),
            column=column,
            value=raw[column].iloc[bad],
        )


def read_balancing_prices(path: StrPath, *, zone: str | None = None) -> pd.DataFrame:
    """aFRR capacity and energy prices, and optionally FCR capacity, from a 15-minute CSV.

    Needs ``timestamp_utc``, ``zone``, ``capacity_price_pos_eur_mw``,
    ``capacity_price_neg_eur_mw`` (aFRR, EUR/MW **per 4-hour product, as published**, the
    value repeated on every quarter hour of its block), ``activation_price_pos_eur_mwh`` and
    ``activation_price_neg_eur_mwh`` (EUR/MWh), as in the SMARD export. Optional:
    ``fcr_capacity_price_eur_mw``, the FCR capacity price in EUR/MW per 4-hour product as
    published (FCR is symmetric: one price, no direction), under the same block convention
    and checks as the aFRR capacity columns. Kept when present: activated volumes
    ``activated_volume_pos_mwh``/``_neg_mwh`` (MWh per period) and procured capacity
    ``procured_capacity_pos_mw``/``_neg_mw`` (MW).

    Capacity prices (aFRR and FCR) are converted to EUR/MW/h: the published EUR/MW is
    divided by the hours of the block the timestamp belongs to. Blocks start at local 00,
    04, ..., 20 Europe/Berlin, so on a DST day the first block lasts 3 h (spring) or 5 h
    (autumn). A capacity price must be the same on every quarter hour of its block.
    Capacity and procured-capacity cells may be empty for whole blocks (the publisher
    leaves blocks blank); other empty cells need ``quality`` = ``missing``.

    Signs are as published. Positive-direction energy: price paid to the provider per MWh
    delivered. Negative-direction energy: under the German/PICASSO convention a positive
    price is paid by the provider to the TSO, a negative one to the provider.

    Args:
        path: the CSV file.
        zone: read only this zone's rows; None reads all.

    Returns:
        Index ``timestamp_utc`` (UTC, tz-aware, start of the quarter hour); columns
        ``zone``, ``afrr_capacity_pos_eur_per_mw_h``, ``afrr_capacity_neg_eur_per_mw_h``
        (EUR/MW/h, NaN where unpublished), ``afrr_energy_pos_eur_mwh``,
        ``afrr_energy_neg_eur_mwh`` (EUR/MWh), ``fcr_capacity_eur_per_mw_h`` (EUR/MW/h,
        NaN where unpublished) only if the file has ``fcr_capacity_price_eur_mw``, then the
        other optional columns present, under their file names; sorted by time, then zone.

    Raises:
        PriceDataError: naming file, line, column and value of the first problem, including
            a capacity price (aFRR or FCR) that changes inside its block.
    """
    required = (TIMESTAMP, ZONE, *_AFRR_CAPACITY_COLUMNS, *_AFRR_ENERGY_COLUMNS)
    raw = _select_zone(_read_raw(path, required), zone, path)
    zones = _zones(raw, path)
    times = _timestamps(raw, path)
    minutes = (
        _declared_resolution(raw, path)
        if RESOLUTION in raw.columns
        else _inferred_resolution(raw, times, zones, path)
    )
    _check_grid(raw, times, zones, minutes, path)
    by_quality = _missing_by_quality(raw)
    anywhere = np.ones(len(raw), dtype=bool)
    quality_rule = f"where the row's quality is {MISSING!r}"
    block_rule = "for a whole capacity block"
    blocks = _blocks(times, BLOCK_TIMEZONE)
    columns: dict[str, object] = {ZONE: pd.Series(list(zones), dtype=str)}

    def per_mw_h(name: str) -> np.ndarray:
        """A capacity column published in EUR/MW per block, checked, in EUR/MW/h."""
        published = _numbers(raw, name, path, empty_ok=anywhere, why_empty_ok=block_rule)
        _check_blocks(raw, zones, published, name, blocks, path)
        return published.to_numpy() / blocks[1]

    for name, target in _AFRR_CAPACITY_COLUMNS.items():
        columns[target] = per_mw_h(name)
    for name, target in _AFRR_ENERGY_COLUMNS.items():
        columns[target] = _numbers(
            raw, name, path, empty_ok=by_quality, why_empty_ok=quality_rule
        ).to_numpy()
    if FCR_CAPACITY_COLUMN in raw.columns:
        columns[FCR_CAPACITY] = per_mw_h(FCR_CAPACITY_COLUMN)
    for name in _AFRR_VOLUME_COLUMNS:
        if name in raw.columns:
            columns[name] = _numbers(
                raw, name, path, empty_ok=by_quality, why_empty_ok=quality_rule
            ).to_numpy()
    for name in _AFRR_PROCURED_COLUMNS:
        if name in raw.columns:
            columns[name] = _numbers(
                raw, name, path, empty_ok=anywhere, why_empty_ok=block_rule
            ).to_numpy()
    return _frame(times, columns)
