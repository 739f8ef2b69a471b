"""Read the ENTSO-E Transparency Platform's CSV export of day-ahead prices.

The platform ("Market > Energy Prices", formerly "Day-ahead Prices") exports one row per
market time unit (MTU) with the delivery interval as text. Two layouts are read:

* **Legacy export** (the platform's UI until 2024)::

      "MTU (CET/CEST)","Day-ahead Price [EUR/MWh]","Currency","BZN|DE-LU"
      "01.01.2023 00:00 - 01.01.2023 01:00","-5.17","EUR",""

  Dates ``dd.mm.yyyy HH:MM``; the bidding zone is the name of the ``BZN|...`` column (its
  cells are ignored); ``Currency`` is optional. Some files end every interval with a zone
  label such as ``(CET)`` or ``(CET/CEST)``. On the spring-forward day the export lists
  the non-existent local hour 02:00-03:00 with an empty price: that placeholder row is
  dropped (a price in it is an error).
* **Current export** (the platform's new UI, 2024 on)::

      "MTU (UTC)","Area","Sequence","Day-ahead Price (EUR/MWh)","Intraday Period (UTC)",...
      "01/01/2025 00:00:00 - 01/01/2025 00:15:00","BZN|FR","Without Sequence","18.92","",""

  Dates ``dd/mm/yyyy HH:MM:SS``; the zone is in the ``Area`` column (``BZN|FR``), so one
  file may hold several zones. The header may say ``MTU (CET/CEST)`` instead of UTC; local
  rows may carry ``(CET)``/``(CEST)`` after the timestamp. Intraday columns are ignored.

Time: the interval **start** is the timestamp. A header naming ``UTC`` means UTC; ``CET``,
``CEST`` or ``CET/CEST`` mean the platform's Central European wall clock
(`ENTSOE_LOCAL_TIMEZONE`), converted to UTC here. On the fall-back day a local time of the
repeated hour occurs twice: per-row markers ``(CEST)``/``(CET)`` decide where the two
occurrences carry different ones; otherwise the file order does (the first occurrence is
summer time, the second winter time, as the platform lists them).

Zones are mapped from ENTSO-E names to the project's codes (`ZONE_CODES`); other names are
refused rather than guessed. Missing prices (empty, ``n/e``, ``-``, ``N/A``) are refused
unless ``allow_missing=True`` keeps them as NaN. The frame returned has the shape of
`read_day_ahead_prices`, so callers can swap the readers. Errors are `PriceDataError`s that
name the file, line (header = line 1), column and value, and give times in UTC and in
local words.

A price of ``DE-AT-LU`` for delivery from 2018-10-01, or of ``DE-LU`` before it, is refused
naming the line, zone and day (`trading.prices.readers.check_zone_era`); unpriced rows of a
zone outside its era (``n/e``, empty) are accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from markets.calendar import day_end, day_start, delivery_day_of, local_label
from trading.prices.readers import PriceDataError, StrPath, check_zone_era, long_price_frame

ENTSOE_LOCAL_TIMEZONE = "Europe/Berlin"
"""The platform's "CET/CEST" wall clock (same rules as Brussels, Paris, Vienna, Amsterdam)."""

ZONE_CODES: dict[str, str] = {
    "DE-LU": "DE_LU",
    "DE-AT-LU": "DE_AT_LU",
    "NL": "NL",
    "BE": "BE",
    "FR": "FR",
    "AT": "AT",
}
"""ENTSO-E bidding-zone name (after ``BZN|``) -> the project's zone code."""

MISSING_MARKS = frozenset({"", "n/e", "-", "n/a", "na"})
"""Cell texts the platform uses for "no price" (compared case-insensitively)."""

MTU_MINUTES = (15, 30, 60)
"""Interval lengths accepted as market time units."""

_TIME_HEADER = re.compile(r"^(?:MTU|Time)\s*\((UTC|CET/CEST|CET|CEST)\)$", re.IGNORECASE)
_PRICE_HEADER = re.compile(
    r"^Day-ahead Price\s*[\[(]\s*([A-Z]{3})\s*/\s*MWh\s*[\])]$", re.IGNORECASE
)
_BZN_HEADER = re.compile(r"^BZN\|(.+)$")
_STAMP = r"\d{2}[./]\d{2}[./]\d{4} \d{2}:\d{2}(?::\d{2})?"
_MARK = r"\(\s*(CET|CEST|CET/CEST|UTC)\s*\)"
_INTERVAL = re.compile(
    rf"^\s*(?P<start>{_STAMP})\s*(?:{_MARK})?\s*-\s*(?P<end>{_STAMP})\s*(?:{_MARK})?\s*$",
    re.IGNORECASE,
)
_MINUTE_NS = 60 * 10**9


@dataclass(frozen=True)
class _Layout:
    time_column: str
    utc: bool
    price_column: str
    currency: str
    zone_column: str | None  # "Area": one zone per row
    file_zone: str | None  # from a "BZN|XX" column name
    currency_column: str | None
    sequence_column: str | None


def _line(position: int) -> int:
    return int(position) + 2


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(hits[0]) if hits.size else None


def _when(moment: pd.Timestamp) -> str:
    """An instant in UTC and in the platform's local words, for messages."""
    utc = pd.Timestamp(moment).tz_convert("UTC")
    local = local_label(utc.to_pydatetime(), ENTSOE_LOCAL_TIMEZONE)
    return f"{utc.strftime('%Y-%m-%dT%H:%M:%SZ')} ({local} local)"


def _read_text(path: StrPath) -> pd.DataFrame:
    """Every cell as stripped text (empty = ""), header names stripped of BOM and spaces."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            header = handle.readline()
    except UnicodeDecodeError as exc:
        raise PriceDataError(path, f"not UTF-8 text ({exc.reason})") from exc
    if not header.strip():
        raise PriceDataError(path, "the file is empty; expected a header row", line=1)
    sep = ";" if header.count(";") > header.count(",") else ","
    try:
        raw = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
        )
    except pd.errors.ParserError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise PriceDataError(
            path,
            f"the row does not have the header's number of fields ({exc})",
            line=int(found.group(1)) if found else None,
        ) from exc
    raw.columns = [str(name).strip() for name in raw.columns]
    raw.index = pd.RangeIndex(len(raw))
    return raw.apply(lambda column: column.str.strip())


def _layout(raw: pd.DataFrame, path: StrPath) -> _Layout:
    header = ",".join(raw.columns)
    time_columns = [c for c in raw.columns if _TIME_HEADER.match(c)]
    price_columns = [c for c in raw.columns if _PRICE_HEADER.match(c)]
    if len(time_columns) != 1 or len(price_columns) != 1:
        raise PriceDataError(
            path,
            "not an ENTSO-E day-ahead price export: need one interval column such as "
            "'MTU (CET/CEST)' or 'MTU (UTC)' and one price column such as "
            "'Day-ahead Price [EUR/MWh]' or 'Day-ahead Price (EUR/MWh)'",
            line=1,
            value=header,
        )
    time_column, price_column = time_columns[0], price_columns[0]
    time_match = _TIME_HEADER.match(time_column)
    price_match = _PRICE_HEADER.match(price_column)
    assert time_match is not None
    assert price_match is not None
    currency = price_match.group(1).upper()
    if currency != "EUR":
        raise PriceDataError(
            path, "prices must be in EUR/MWh", line=1, column=price_column, value=currency
        )
    bzn = [found.group(1).strip() for c in raw.columns if (found := _BZN_HEADER.match(c))]
    if len(bzn) > 1:
        raise PriceDataError(
            path, "more than one BZN|... column: which zone is it?", line=1, value=header
        )
    by_name = {c.lower(): c for c in raw.columns}
    return _Layout(
        time_column=time_column,
        utc=time_match.group(1).upper() == "UTC",
        price_column=price_column,
        currency=currency,
        zone_column=by_name.get("area"),
        file_zone=bzn[0] if bzn else None,
        currency_column=by_name.get("currency"),
        sequence_column=by_name.get("sequence"),
    )


def _zone_code(name: str) -> str | None:
    entsoe = name.strip()
    if entsoe.upper().startswith("BZN|"):
        entsoe = entsoe[4:].strip()
    return ZONE_CODES.get(entsoe.upper())


def _unknown_zone(name: str) -> str:
    known = ", ".join(f"{k} -> {v}" for k, v in ZONE_CODES.items())
    return f"bidding zone {name!r} is not one the engine knows ({known})"


def _zones(raw: pd.DataFrame, layout: _Layout, zone: str | None, path: StrPath) -> pd.Series:
    """Project zone code per row; rows of other zones are dropped when `zone` is given."""
    if layout.zone_column is not None:
        names = raw[layout.zone_column]
        codes = names.map(_zone_code)
        if zone is not None:
            chosen = codes == zone
            if not chosen.any():
                present = sorted(set(names) - {""})
                raise PriceDataError(
                    path,
                    f"no rows for this zone; the file has {', '.join(present) or 'no zones'}",
                    column=layout.zone_column,
                    value=zone,
                )
            return codes[chosen]
        bad = _first(codes.isna().to_numpy())
        if bad is not None:
            raise PriceDataError(
                path,
                _unknown_zone(names.iloc[bad]),
                line=_line(bad),
                column=layout.zone_column,
                value=names.iloc[bad],
            )
        return codes
    if layout.file_zone is not None:
        code = _zone_code(layout.file_zone)
        if code is None:
            raise PriceDataError(
                path, _unknown_zone(layout.file_zone), line=1, value=f"BZN|{layout.file_zone}"
            )
        if zone is not None and zone != code:
            raise PriceDataError(path, f"no rows for this zone; the file is for {code}", value=zone)
        return pd.Series(code, index=raw.index)
    if zone is None:
        raise PriceDataError(
            path,
            "the file names no bidding zone (no 'Area' or 'BZN|...' column); "
            "pass zone= to say which it is",
            line=1,
            value=",".join(raw.columns),
        )
    return pd.Series(zone, index=raw.index)


def _one_sequence(
    raw: pd.DataFrame, zones: pd.Series, layout: _Layout, sequence: str | None, path: StrPath
) -> pd.Series:
    """Keep one auction per zone: the file's only sequence, or the one asked for."""
    if layout.sequence_column is None:
        if sequence is not None:
            raise PriceDataError(path, "the file has no Sequence column", value=sequence)
        return zones
    labels = raw.loc[zones.index, layout.sequence_column]
    if sequence is not None:
        kept = zones[labels == sequence]
        if kept.empty:
            raise PriceDataError(
                path,
                f"no rows with this sequence; the file has {', '.join(sorted(set(labels)))}",
                column=layout.sequence_column,
                value=sequence,
            )
        return kept
    for code, rows in labels.groupby(zones, sort=False):
        found = sorted(set(rows))
        if len(found) > 1:
            raise PriceDataError(
                path,
                f"zone {code} has several auctions ({', '.join(found)}); "
                "pass sequence= to choose one",
                column=layout.sequence_column,
            )
    return zones


@dataclass
class _Intervals:
    start_utc: np.ndarray  # int64 ns; NaT-free
    minutes: np.ndarray  # int64
    placeholder: np.ndarray  # bool: a spring-forward hour that does not exist


def _naive_ns(text: pd.Series) -> np.ndarray:
    """``dd.mm.yyyy HH:MM[:SS]`` or ``dd/mm/yyyy ...`` as naive int64 ns (NaT -> min int)."""
    normal = text.str.replace("/", ".", regex=False)
    parsed = pd.to_datetime(normal, format="%d.%m.%Y %H:%M:%S", errors="coerce")
    short = parsed.isna()
    if short.any():
        parsed[short] = pd.to_datetime(normal[short], format="%d.%m.%Y %H:%M", errors="coerce")
    return pd.DatetimeIndex(parsed).as_unit("ns").asi8


def _intervals(raw: pd.DataFrame, zones: pd.Series, layout: _Layout, path: StrPath) -> _Intervals:
    column = layout.time_column
    text = raw.loc[zones.index, column]
    parts = text.str.extract(_INTERVAL)
    parts.columns = ["start", "start_mark", "end", "end_mark"]
    start = _naive_ns(parts["start"].fillna(""))
    end = _naive_ns(parts["end"].fillna(""))
    nat = np.iinfo("int64").min
    bad = _first((start == nat) | (end == nat))
    if bad is not None:
        raise PriceDataError(
            path,
            "not an interval 'dd.mm.yyyy HH:MM - dd.mm.yyyy HH:MM' "
            "(or 'dd/mm/yyyy HH:MM:SS - ...')",
            line=_line(zones.index[bad]),
            column=column,
            value=text.iloc[bad],
        )
    minutes = (end - start) // _MINUTE_NS
    bad = _first(~np.isin(minutes, MTU_MINUTES) | ((end - start) % _MINUTE_NS != 0))
    if bad is not None:
        raise PriceDataError(
            path,
            f"interval lasts {(end[bad] - start[bad]) / _MINUTE_NS:g} min on the wall clock; "
            f"a market time unit lasts {', '.join(map(str, MTU_MINUTES))} min",
            line=_line(zones.index[bad]),
            column=column,
            value=text.iloc[bad],
        )
    if layout.utc:
        return _Intervals(start, minutes.astype("int64"), np.zeros(len(start), dtype=bool))
    marks = parts["start_mark"].fillna(parts["end_mark"]).fillna("").str.upper().to_numpy()
    return _localise(start, minutes, marks, zones, text, path, column)


def _localise(
    wall: np.ndarray,
    minutes: np.ndarray,
    marks: np.ndarray,
    zones: pd.Series,
    text: pd.Series,
    path: StrPath,
    column: str,
) -> _Intervals:
    """Wall-clock starts (naive ns) -> UTC ns, resolving the repeated and the missing hour."""
    naive = pd.DatetimeIndex(wall)
    everywhere = np.ones(len(naive), dtype=bool)
    summer = naive.tz_localize(ENTSOE_LOCAL_TIMEZONE, ambiguous=everywhere, nonexistent="NaT")
    winter = naive.tz_localize(ENTSOE_LOCAL_TIMEZONE, ambiguous=~everywhere, nonexistent="NaT")
    placeholder = summer.isna()
    ambiguous = ~placeholder & (summer != winter)
    # Occurrence of each wall time within its zone, in file order: 0 = first.
    occurrence = pd.Series(wall).groupby([zones.to_numpy(), wall]).cumcount().to_numpy()
    is_winter = occurrence >= 1
    per_row = {"CET", "CEST"} <= set(marks.tolist())
    if per_row:  # the file marks summer and winter time row by row: trust the markers
        bad = _first(ambiguous & ~np.isin(marks, ["CET", "CEST"]))
        if bad is not None:
            raise PriceDataError(
                path,
                "the file marks rows (CET)/(CEST), but not this copy of the repeated "
                "fall-back hour, so it is unclear which one it is",
                line=_line(zones.index[bad]),
                column=column,
                value=text.iloc[bad],
            )
        is_winter = marks == "CET"
    starts = np.where(
        ambiguous & is_winter,
        winter.as_unit("ns").asi8,
        summer.as_unit("ns").asi8,
    )
    return _Intervals(starts, minutes.astype("int64"), np.asarray(placeholder))


def _prices(
    raw: pd.DataFrame,
    zones: pd.Series,
    layout: _Layout,
    intervals: _Intervals,
    allow_missing: bool,
    path: StrPath,
) -> np.ndarray:
    column = layout.price_column
    text = raw.loc[zones.index, column]
    missing = text.str.lower().isin(MISSING_MARKS).to_numpy()
    values = pd.to_numeric(text.where(~missing, "nan"), errors="coerce").to_numpy("float64")
    bad = _first(~missing & ~np.isfinite(values))
    if bad is not None:
        raise PriceDataError(
            path,
            "not a finite number (decimal point '.', no thousands separator)",
            line=_line(zones.index[bad]),
            column=column,
            value=text.iloc[bad],
        )
    bad = _first(intervals.placeholder & ~missing)
    if bad is not None:
        raise PriceDataError(
            path,
            f"this local time does not exist in {ENTSOE_LOCAL_TIMEZONE} (the spring-forward "
            "hour); the platform lists it only as an empty placeholder, yet it has a price",
            line=_line(zones.index[bad]),
            column=layout.time_column,
            value=raw.loc[zones.index[bad], layout.time_column],
        )
    real_missing = missing & ~intervals.placeholder
    bad = _first(real_missing)
    if bad is not None and not allow_missing:
        when = _when(pd.Timestamp(intervals.start_utc[bad], unit="ns", tz="UTC"))
        raise PriceDataError(
            path,
            f"no price for the interval starting {when}; {int(real_missing.sum())} interval(s) "
            "of the file have none (pass allow_missing=True to keep them as NaN)",
            line=_line(zones.index[bad]),
            column=column,
            value=text.iloc[bad],
        )
    return values


def _check_currency(raw: pd.DataFrame, zones: pd.Series, layout: _Layout, path: StrPath) -> None:
    if layout.currency_column is None:
        return
    cells = raw.loc[zones.index, layout.currency_column]
    bad = _first(~cells.str.upper().isin({"", layout.currency}).to_numpy())
    if bad is not None:
        raise PriceDataError(
            path,
            f"currency differs from the price column's {layout.currency}",
            line=_line(zones.index[bad]),
            column=layout.currency_column,
            value=cells.iloc[bad],
        )


def _day_length_words(moment: pd.Timestamp) -> tuple[str, pd.Timestamp, pd.Timestamp]:
    """The local delivery day of `moment` (as text), its start and its end (UTC)."""
    day = delivery_day_of(moment.to_pydatetime(), ENTSOE_LOCAL_TIMEZONE)
    start = pd.Timestamp(day_start(day, ENTSOE_LOCAL_TIMEZONE)).tz_convert("UTC")
    end = pd.Timestamp(day_end(day, ENTSOE_LOCAL_TIMEZONE)).tz_convert("UTC")
    return day.isoformat(), start, end


def _dst_note(moment: pd.Timestamp, minutes: int) -> str:
    day, start, end = _day_length_words(moment)
    hours = (end - start) / pd.Timedelta(hours=1)
    if hours == 24:
        return ""
    kind = "spring-forward" if hours < 24 else "fall-back"
    return (
        f"; delivery day {day} is a {hours:g}-hour {kind} DST day and needs "
        f"{int(hours * 60 // minutes)} intervals of {minutes} min"
    )


def _check_grid(
    raw: pd.DataFrame,
    zones: pd.Series,
    layout: _Layout,
    iv: _Intervals,
    path: StrPath,
    allow_gaps: bool = False,
) -> None:
    """No duplicate, every start on its MTU grid, no gap or overlap, whole DST days."""
    column = layout.time_column
    text = raw.loc[zones.index, column]
    stamps, minutes = iv.start_utc, iv.minutes
    codes, _ = pd.factorize(zones.to_numpy())
    keyed = pd.DataFrame({"zone": codes, "t": stamps})
    bad = _first(keyed.duplicated().to_numpy())
    if bad is not None:
        earlier = _first((codes == codes[bad]) & (stamps == stamps[bad]))
        assert earlier is not None
        when = _when(pd.Timestamp(stamps[bad], unit="ns", tz="UTC"))
        raise PriceDataError(
            path,
            f"duplicate interval in zone {zones.iloc[bad]}: {when} is already on line "
            f"{_line(zones.index[earlier])}",
            line=_line(zones.index[bad]),
            column=column,
            value=text.iloc[bad],
        )
    bad = _first((stamps // _MINUTE_NS) % minutes != 0)
    if bad is not None:
        when = _when(pd.Timestamp(stamps[bad], unit="ns", tz="UTC"))
        raise PriceDataError(
            path,
            f"interval start {when} is not on the {minutes[bad]}-minute grid of its length",
            line=_line(zones.index[bad]),
            column=column,
            value=text.iloc[bad],
        )
    order = np.lexsort((stamps, codes))
    t, z, step = stamps[order], codes[order], minutes[order]
    same_zone = z[1:] == z[:-1]
    spacing = t[1:] - t[:-1]
    expected = step[:-1] * _MINUTE_NS
    wrong = _first(same_zone & ((spacing < expected) if allow_gaps else (spacing != expected)))
    if wrong is not None:
        before, after = order[wrong], order[wrong + 1]
        if spacing[wrong] > expected[wrong]:
            missing = pd.Timestamp(t[wrong] + expected[wrong], unit="ns", tz="UTC")
            problem = (
                f"gap in zone {zones.iloc[after]}: the interval starting {_when(missing)} "
                f"is missing (line {_line(zones.index[before])} is the {step[wrong]}-minute "
                f"interval before it){_dst_note(missing, int(step[wrong]))}"
            )
        else:
            problem = (
                f"overlap in zone {zones.iloc[after]}: starts only "
                f"{spacing[wrong] // _MINUTE_NS} min after line {_line(zones.index[before])}, "
                f"whose interval lasts {step[wrong]} min"
            )
        raise PriceDataError(
            path, problem, line=_line(zones.index[after]), column=column, value=text.iloc[after]
        )
    if not layout.utc and not allow_gaps:
        _check_edge_days(zones, t, z, step, order, text, path, column)


def _check_edge_days(
    zones: pd.Series,
    t: np.ndarray,
    z: np.ndarray,
    step: np.ndarray,
    order: np.ndarray,
    text: pd.Series,
    path: StrPath,
    column: str,
) -> None:
    """A local-time export covers whole delivery days: its first and last must be complete.

    (Inner days are complete once there is no gap; a UTC export may cut local days.)
    """
    for code in np.unique(z):
        rows = np.flatnonzero(z == code)
        for edge in (rows[0], rows[-1]):
            first = pd.Timestamp(t[edge], unit="ns", tz="UTC")
            day, start, end = _day_length_words(first)
            in_day = rows[(t[rows] >= start.value) & (t[rows] < end.value)]
            minutes = int(step[in_day[0]])
            needed = int((end - start) / pd.Timedelta(minutes=minutes))
            if len(in_day) == needed:
                continue
            grid = pd.date_range(start, end, freq=f"{minutes}min", inclusive="left")
            have = set(t[in_day].tolist())
            missing = next(m for m in grid if m.value not in have)
            hours = (end - start) / pd.Timedelta(hours=1)
            dst = "" if hours == 24 else f" (a {hours:g}-hour DST day)"
            raise PriceDataError(
                path,
                f"zone {zones.iloc[order[edge]]}: delivery day {day}{dst} has {len(in_day)} "
                f"intervals of {minutes} min, needs {needed}; the first missing starts "
                f"{_when(missing)}. A local-time export covers whole delivery days",
                line=_line(zones.index[order[in_day[0]]]),
                column=column,
                value=text.iloc[order[in_day[0]]],
            )


def read_entsoe_day_ahead(
    path: StrPath,
    *,
    zone: str | None = None,
    allow_missing: bool = False,
    sequence: str | None = None,
    allow_gaps: bool = False,
) -> pd.DataFrame:
    """Day-ahead prices from an ENTSO-E Transparency Platform CSV export.

    Reads the legacy (``MTU (CET/CEST)``, ``Day-ahead Price [EUR/MWh]``, ``BZN|XX``) and
    the current (``MTU (UTC)``, ``Area``, ``Sequence``, ``Day-ahead Price (EUR/MWh)``)
    layouts described in the module docstring, hourly, half-hourly or 15-minute.

    Args:
        path: the CSV file as downloaded.
        zone: project zone code (``DE_LU``, ``NL``, ``BE``, ``FR``, ``AT``). With an
            ``Area`` column only that zone's rows are read; a file that names its zone in
            a ``BZN|XX`` column must match it; a file naming no zone needs it.
        allow_missing: keep intervals without a price (empty, ``n/e``, ``-``) as NaN
            instead of refusing the file.
        sequence: the ``Sequence`` value to read where a zone has several auctions
            (e.g. ``"Sequence 1"``); None requires one sequence per zone.
        allow_gaps: accept absent intervals and incomplete first/last days (a run's
            coverage check, `trading.prices.coverage`, names them and applies its policy).

    Returns:
        The frame of `read_day_ahead_prices`: index ``timestamp_utc`` (interval start,
        UTC, tz-aware); columns ``zone``, ``price_eur_mwh`` (EUR/MWh, NaN only where
        ``allow_missing``), ``resolution_min``; sorted by time, then zone.

    Raises:
        PriceDataError: naming file, line, column, value and the rule broken: unknown
            layout or zone, unparsable interval, interval length not an MTU, missing price,
            duplicate interval, start off its grid, gap (the first missing interval in UTC
            and local time) or overlap, an incomplete first/last delivery day in a
            local-time file (with the DST day's 23/25 hours named).
    """
    raw = _read_text(path)
    layout = _layout(raw, path)
    zones = _zones(raw, layout, zone, path)
    zones = _one_sequence(raw, zones, layout, sequence, path)
    _check_currency(raw, zones, layout, path)
    intervals = _intervals(raw, zones, layout, path)
    prices = _prices(raw, zones, layout, intervals, allow_missing, path)
    keep = ~intervals.placeholder
    zones = zones[keep]
    intervals = _Intervals(
        intervals.start_utc[keep], intervals.minutes[keep], np.zeros(int(keep.sum()), dtype=bool)
    )
    _check_grid(raw, zones, layout, intervals, path, allow_gaps)
    check_zone_era(
        path,
        zones.to_numpy(),
        intervals.start_utc,
        ~np.isnan(prices[keep]),
        np.array([_line(i) for i in zones.index]),
        layout.price_column,
    )
    return long_price_frame(
        pd.DatetimeIndex(intervals.start_utc, tz="UTC"),
        zones.to_numpy(),
        prices[keep],
        intervals.minutes,
    )
