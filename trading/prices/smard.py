"""Read SMARD.de ("Großhandelspreise" / "Wholesale prices") day-ahead price exports.

The Bundesnetzagentur's SMARD download centre exports semicolon-separated files in German
(decimal comma, ``.`` as thousands separator) or English (decimal point, ``,`` as
thousands separator), one row per market time unit in German local time (CET/CEST), one
column per bidding zone, ``-`` where a zone has no price. Three header layouts are read:

* **date and time** (downloads made until about 2020)::

      Datum;Uhrzeit;Deutschland/Luxemburg[Euro/MWh];...;Deutschland/Österreich/Luxemburg[Euro/MWh]
      01.01.2018;00:00;-;...;-5,27
      Date;Time of day;Germany/Luxembourg[€/MWh];...;Germany/Austria/Luxembourg[€/MWh];...
      Jan 1, 2015;12:00 AM;-;...

* **date, start, end** (hourly downloads since about 2021)::

      Datum;Anfang;Ende;Deutschland/Luxemburg [€/MWh] Originalauflösungen;...
      15.01.2024;00:00;01:00;39,01;...

* **from, to** (since the 15-minute day-ahead market, October 2025; English ``Start
  date;End date``)::

      Datum von;Datum bis;Deutschland/Luxemburg [€/MWh] Originalauflösungen;...
      01.10.2025 00:00;01.10.2025 00:15;85,12;...
      Start date;End date;Germany/Luxembourg [€/MWh] Original resolutions;...
      Oct 1, 2025 12:00 AM;Oct 1, 2025 12:15 AM;85.12;...

Time: the row's start, German wall clock (`SMARD_TIMEZONE`), converted to UTC. On the
fall-back day the repeated hour appears twice: the first occurrence is summer time, the
second winter time (the file's order). A row for the non-existent spring-forward hour is
dropped if it has no price and refused if it has one.

Zones: the column name before its unit, mapped by `SMARD_ZONES` to the project's codes
(``Deutschland/Luxemburg`` / ``Germany/Luxembourg`` -> ``DE_LU``; the joint German-Austrian
zone ``Deutschland/Österreich/Luxemburg`` -> ``DE_AT_LU``, which existed until
2018-09-30). Columns of zones the engine does not trade (Denmark, Poland, the neighbours'
average, ...) are ignored. Asking for ``DE_LU`` in a file that holds both columns takes
the ``DE_AT_LU`` price for delivery before 2018-10-01 (the zone's predecessor, see
`PREDECESSORS`) and says so in the frame's ``attrs["notes"]``; reading every zone
(``zone=None``) keeps each column as it is (`trading.prices.formats` maps the joint zone).
A price in the ``DE_AT_LU`` column for delivery from 2018-10-01, or in ``DE_LU`` before,
is refused naming line, zone and day (`trading.prices.readers.check_zone_era`); ``-`` in
the column of the zone that did not exist is how SMARD lists it and is accepted.

Missing prices (``-`` or empty) are kept as NaN: the coverage check of a run
(`trading.prices.coverage`) names them and applies the run's gap policy.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

from trading.prices.readers import (
    ZONE_ERAS,
    PriceDataError,
    StrPath,
    check_zone_era,
    long_price_frame,
)

SMARD_TIMEZONE = "Europe/Berlin"
"""The wall clock of SMARD's exports (CET/CEST)."""

SMARD_ZONES: dict[str, str] = {
    "deutschland/luxemburg": "DE_LU",
    "germany/luxembourg": "DE_LU",
    "deutschland/österreich/luxemburg": "DE_AT_LU",
    "germany/austria/luxembourg": "DE_AT_LU",
    "niederlande": "NL",
    "netherlands": "NL",
    "belgien": "BE",
    "belgium": "BE",
    "frankreich": "FR",
    "france": "FR",
    "österreich": "AT",
    "austria": "AT",
}
"""SMARD column name (lower case, unit removed) -> the project's zone code."""

PREDECESSORS: dict[str, tuple[str, date]] = {"DE_LU": ("DE_AT_LU", date(2018, 10, 1))}
"""Zone -> (the zone that priced its area before, first local delivery day of its own)."""

_UNIT = re.compile(r"\s*\[\s*(?:€|EUR|Euro)\s*/\s*MWh\s*\].*$", re.IGNORECASE)
_ANY_UNIT = re.compile(r"\[[^\]]*\]")
_MISSING = {"", "-", "n/a", "n/e"}

# (first column, second column[, third]) of each layout, lower case.
_DATE_TIME = {("datum", "uhrzeit"), ("date", "time of day")}
_DATE_START_END = {("datum", "anfang", "ende"), ("date", "start", "end")}
_FROM_TO = {("datum von", "datum bis"), ("start date", "end date")}


def _read(path: StrPath) -> pd.DataFrame:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            raw = pd.read_csv(
                path, sep=";", dtype=str, keep_default_na=False, na_filter=False, encoding=encoding
            )
            break
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError as exc:
            raise PriceDataError(path, "the file is empty; expected a header row", line=1) from exc
        except pd.errors.ParserError as exc:
            found = re.search(r"line (\d+)", str(exc))
            raise PriceDataError(
                path,
                f"the row does not have the header's number of fields ({exc})",
                line=int(found.group(1)) if found else None,
            ) from exc
    else:  # pragma: no cover - cp1252 decodes any byte
        raise PriceDataError(path, "neither UTF-8 nor Windows-1252 text")
    raw.columns = [str(c).strip() for c in raw.columns]
    raw.index = pd.RangeIndex(len(raw))
    return raw.apply(lambda column: column.str.strip())


def is_smard_header(columns: list[str]) -> bool:
    """Whether a header (semicolon-split) is one of SMARD's layouts."""
    lower = tuple(c.strip().lower() for c in columns)
    return (lower[:2] in _DATE_TIME | _FROM_TO or lower[:3] in _DATE_START_END) and any(
        _UNIT.search(c) for c in columns
    )


def _german(raw: pd.DataFrame) -> bool:
    return raw.columns[0].lower().startswith("datum")


def _parse_times(text: pd.Series, german: bool) -> pd.Series:
    """Naive wall-clock timestamps from ``dd.mm.yyyy HH:MM`` or ``Jan 1, 2015 12:00 AM``."""
    formats = ("%d.%m.%Y %H:%M",) if german else ("%b %d, %Y %I:%M %p", "%m/%d/%Y %I:%M %p")
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = parsed.isna()
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    return parsed


def _numbers(text: pd.Series, german: bool) -> tuple[np.ndarray, np.ndarray]:
    """Values [EUR/MWh] and a mask of cells the file marks missing (``-`` or empty)."""
    missing = text.str.lower().isin(_MISSING).to_numpy()
    if german:
        normal = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        normal = text.str.replace(",", "", regex=False)
    values = pd.to_numeric(normal.where(~missing, "nan"), errors="coerce").to_numpy("float64")
    return values, missing


def _localise(wall: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """UTC ns of each wall-clock start (repeated hour: first summer, then winter) and a mask
    of rows that do not exist on the wall clock (the spring-forward hour)."""
    naive = pd.DatetimeIndex(wall)
    everywhere = np.ones(len(naive), dtype=bool)
    summer = naive.tz_localize(SMARD_TIMEZONE, ambiguous=everywhere, nonexistent="NaT")
    winter = naive.tz_localize(SMARD_TIMEZONE, ambiguous=~everywhere, nonexistent="NaT")
    occurrence = pd.Series(naive).groupby(naive).cumcount().to_numpy()
    starts = np.where(occurrence >= 1, winter.as_unit("ns").asi8, summer.as_unit("ns").asi8)
    return starts, np.asarray(summer.isna())


def _dst_days(local: pd.DatetimeIndex) -> np.ndarray:
    """Whether each local instant lies on a day whose UTC offset changes (a DST day)."""
    days = pd.Series(local.date)
    offsets = pd.Series([t.utcoffset() for t in local])
    changing = offsets.groupby(days).transform("nunique") > 1
    return changing.to_numpy()


def read_smard_prices(path: StrPath, *, zone: str | None = None) -> pd.DataFrame:
    """Day-ahead prices from a SMARD export, as the long frame of `read_day_ahead_prices`.

    Args:
        path: the CSV file as downloaded from smard.de.
        zone: the project zone code to read (``DE_LU``, ``NL``, ``BE``, ``FR``, ``AT``,
            ``DE_AT_LU``); None reads every zone the file has a column for.

    Returns:
        Index ``timestamp_utc`` (start of the MTU, UTC, tz-aware); columns ``zone``,
        ``price_eur_mwh`` (EUR/MWh, NaN where the file has ``-`` or nothing) and
        ``resolution_min``; sorted by time, then zone. ``attrs["notes"]``: how a
        predecessor zone's prices were used, if they were.

    Raises:
        PriceDataError: naming file, line, column and value: not a SMARD layout, a zone the
            file has no column for, an unparsable time or number, a price in the
            non-existent spring-forward hour, an interval that is not 15, 30 or 60 minutes.
    """
    raw = _read(path)
    header = ";".join(raw.columns)
    if not is_smard_header(list(raw.columns)):
        raise PriceDataError(
            path,
            "not a SMARD export: expected 'Datum;Uhrzeit;...', 'Datum;Anfang;Ende;...', "
            "'Datum von;Datum bis;...' (or their English forms) and price columns in "
            "[€/MWh]",
            line=1,
            value=header,
        )
    german = _german(raw)
    lower = tuple(c.lower() for c in raw.columns)
    if lower[:3] in _DATE_START_END:
        start_text = raw.iloc[:, 0] + " " + raw.iloc[:, 1]
        end_text: pd.Series | None = raw.iloc[:, 0] + " " + raw.iloc[:, 2]
        first_price = 3
    elif lower[:2] in _FROM_TO:
        start_text, end_text, first_price = raw.iloc[:, 0], raw.iloc[:, 1], 2
    else:
        start_text, end_text, first_price = raw.iloc[:, 0] + " " + raw.iloc[:, 1], None, 2
    zone_columns: dict[str, str] = {}
    for column in raw.columns[first_price:]:
        if not _UNIT.search(column):
            continue
        name = _ANY_UNIT.sub("", _UNIT.sub("", column)).strip().lower()
        code = SMARD_ZONES.get(name)
        if code is not None and code not in zone_columns:
            zone_columns[code] = column
    wall = _parse_times(start_text, german)
    bad = np.flatnonzero(wall.isna().to_numpy())
    if bad.size:
        raise PriceDataError(
            path,
            "not a local date and time (German 'dd.mm.yyyy HH:MM' or English "
            "'Jan 1, 2015 12:00 AM')",
            line=int(bad[0]) + 2,
            column=raw.columns[0],
            value=start_text.iloc[bad[0]],
        )
    starts, nonexistent = _localise(wall)
    if end_text is not None:
        wall_end = _parse_times(end_text, german)
        minutes = ((wall_end - wall).dt.total_seconds() // 60).to_numpy()
        # Hourly rows end at the next day's 00:00 as "00:00" of the same date: wrap.
        minutes = np.where(minutes <= -23 * 60, minutes + 24 * 60, minutes)
        # Across a DST change the wall-clock length is off by an hour (02:00-02:00 in
        # autumn, 01:00-03:00 in spring): such rows take the file's usual length.
        valid = np.isin(minutes, (15, 30, 60))
        offsets = pd.DatetimeIndex(starts, tz="UTC").tz_convert(SMARD_TIMEZONE)
        shift_day = _dst_days(offsets)
        if valid.any():
            values, counts = np.unique(minutes[valid], return_counts=True)
            minutes = np.where(~valid & shift_day, values[np.argmax(counts)], minutes)
        bad = np.flatnonzero(~np.isin(minutes, (15, 30, 60)))
        if bad.size:
            raise PriceDataError(
                path,
                "interval is not 15, 30 or 60 minutes on the wall clock",
                line=int(bad[0]) + 2,
                column=raw.columns[1],
                value=f"{start_text.iloc[bad[0]]} - {end_text.iloc[bad[0]]}",
            )
    else:
        spacing = np.diff(np.unique(starts)) // (60 * 10**9)
        values, counts = np.unique(spacing, return_counts=True)
        step = int(values[np.argmax(counts)]) if values.size else 60
        minutes = np.full(len(raw), step)
    for code, column in zone_columns.items():
        if code in ZONE_ERAS:
            _, missing = _numbers(raw[column], german)
            check_zone_era(
                path,
                np.full(len(raw), code),
                starts,
                ~missing & ~nonexistent,
                np.arange(len(raw)) + 2,
                column,
            )
    wanted = [zone] if zone is not None else list(zone_columns)
    notes: list[str] = []
    frames = []
    for code in wanted:
        column = zone_columns.get(code)
        before = PREDECESSORS.get(code) if zone is not None else None
        old_column = zone_columns.get(before[0]) if before else None
        if column is None and old_column is None:
            known = ", ".join(f"{zone_columns[c]!r} -> {c}" for c in zone_columns) or "none"
            raise PriceDataError(
                path,
                f"no price column for zone {code}; the zones the file has: {known}",
                line=1,
                value=code,
            )
        values, missing = (
            _numbers(raw[column], german)
            if column is not None
            else (np.full(len(raw), np.nan), np.ones(len(raw), dtype=bool))
        )
        if old_column is not None and before is not None:
            cutoff = pd.Timestamp(before[1]).tz_localize(SMARD_TIMEZONE).tz_convert("UTC").value
            old, old_missing = _numbers(raw[old_column], german)
            use = missing & ~old_missing & (starts < cutoff)
            if use.any():
                values = np.where(use, old, values)
                missing = missing & ~use
                notes.append(
                    f"{code}: delivery before {before[1]} priced in {before[0]} "
                    f"(column {old_column!r}), the joint German-Austrian-Luxembourg zone "
                    f"that priced its area then ({int(use.sum())} rows)"
                )
        bad = np.flatnonzero(~missing & ~np.isfinite(values))
        if bad.size:
            raise PriceDataError(
                path,
                "not a number (German files: decimal comma; English: decimal point)",
                line=int(bad[0]) + 2,
                column=column,
                value=raw[column].iloc[bad[0]] if column else None,
            )
        bad = np.flatnonzero(nonexistent & ~missing)
        if bad.size:
            raise PriceDataError(
                path,
                f"this local time does not exist in {SMARD_TIMEZONE} (the spring-forward "
                "hour), yet it has a price",
                line=int(bad[0]) + 2,
                column=raw.columns[0],
                value=start_text.iloc[bad[0]],
            )
        keep = ~nonexistent
        frames.append(
            long_price_frame(
                pd.DatetimeIndex(starts[keep], tz="UTC"),
                [code] * int(keep.sum()),
                values[keep],
                minutes[keep].astype("int64"),
            )
        )
    frame = pd.concat(frames).sort_index(kind="stable") if len(frames) > 1 else frames[0]
    frame.attrs["notes"] = notes
    return frame


SMARD_AFRR_COLUMNS: dict[str, str] = {
    "volume activated (+)[mwh]": "activated_volume_pos_mwh",
    "volume activated (-)[mwh]": "activated_volume_neg_mwh",
    "activation price (+)[€/mwh]": "activation_price_pos_eur_mwh",
    "activation price (-)[€/mwh]": "activation_price_neg_eur_mwh",
    "volume procured (+)[mw]": "procured_capacity_pos_mw",
    "volume procured (-)[mw]": "procured_capacity_neg_mw",
    "procurement price (+)[€/mw]": "capacity_price_pos_eur_mw",
    "procurement price (-)[€/mw]": "capacity_price_neg_eur_mw",
}
"""SMARD's English "Automatic Frequency Restoration Reserve" export column (lower case,
spaces before the unit removed) -> the long balancing layout's column
(`trading.prices.readers.read_balancing_prices`)."""


def _afrr_key(column: str) -> str:
    return re.sub(r"\s+\[", "[", column.strip().lower())


def is_smard_afrr_header(columns: list[str]) -> bool:
    """Whether a header is SMARD's English aFRR export (``Date;Time of day;Volume
    activated (+)[MWh];...;Procurement price (-)[€/MW]``)."""
    lower = tuple(c.strip().lower() for c in columns[:2])
    keys = {_afrr_key(c) for c in columns[2:]}
    return lower in _DATE_TIME and set(SMARD_AFRR_COLUMNS) <= keys


def smard_afrr_as_long(path: StrPath, zone: str = "DE_LU") -> pd.DataFrame:
    """A SMARD aFRR export as the long balancing layout's text cells (one row per row of
    the file, in order, so line numbers carry over): ``timestamp_utc`` (UTC ISO), ``zone``,
    the columns of `SMARD_AFRR_COLUMNS` (English numbers: ``,`` thousands removed; ``-`` as
    empty) and ``quality`` (``missing`` where an energy price is ``-``).

    Raises:
        PriceDataError: not that export, or an unreadable local time (naming the line).
    """
    raw = _read(path)
    if not is_smard_afrr_header(list(raw.columns)):
        raise PriceDataError(
            path, "not a SMARD aFRR export", line=1, value=";".join(raw.columns)[:200]
        )
    wall = _parse_times(raw.iloc[:, 0] + " " + raw.iloc[:, 1], german=False)
    bad = np.flatnonzero(wall.isna().to_numpy())
    if bad.size:
        raise PriceDataError(
            path,
            "not a local date and time like 'Jan 1, 2022' and '12:00 AM'",
            line=int(bad[0]) + 2,
            column=raw.columns[0],
            value=f"{raw.iloc[bad[0], 0]} {raw.iloc[bad[0], 1]}",
        )
    starts, nonexistent = _localise(wall)
    out = pd.DataFrame(
        {
            "timestamp_utc": pd.DatetimeIndex(starts, tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
            "zone": zone,
        }
    )
    missing = np.zeros(len(raw), dtype=bool)
    for column in raw.columns[2:]:
        target = SMARD_AFRR_COLUMNS.get(_afrr_key(column))
        if target is None:
            continue
        text = raw[column].str.replace(",", "", regex=False)
        dash = text.isin(["-", ""])
        if target.startswith("activation_price"):
            missing |= dash.to_numpy()
        out[target] = text.where(~dash, "")
    out["quality"] = np.where(missing, "missing", "ok")
    return out[~nonexistent].reset_index(drop=True)
