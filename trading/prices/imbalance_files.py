"""Imbalance price files, recognised from their header: the long CSV or an ENTSO-E export.

- **long CSV** (as ../shared/data's NL 2023 file): ``timestamp_utc``, ``zone``,
  ``imbalance_price_eur_mwh`` (EUR/MWh, empty where unpublished);
- **ENTSO-E** Transparency Platform "Imbalance Prices" export: an interval column
  ``Imbalance settlement period (CET/CEST)`` (or ``(UTC)``; older files ``Balancing Time
  Unit (UTC)``) holding ``dd.mm.yyyy HH:MM - dd.mm.yyyy HH:MM``, and price columns
  ``+ Imbalance Price [EUR/MWh] - <area>|<zone>`` (a long, surplus position) and
  ``- Imbalance Price [EUR/MWh] - <area>|<zone>`` (short, deficit); other columns
  (``Total Imbalance [MWh]``, ``Status``) are ignored. The engine settles one price per
  quarter hour and zone (`trading.backtest.imbalance.ImbalancePrices`): the **long**
  (``+``) price is read, as the project's NL 2023 file holds, and the function says so.
  Local intervals follow Europe/Berlin; the repeated autumn hour takes file order.

`read_imbalance_series` returns the zone's prices [EUR/MWh] by UTC period start, empty
periods dropped (the run names what its real series misses and settles it at the proxy).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from trading.prices.entsoe import ENTSOE_LOCAL_TIMEZONE, MISSING_MARKS, ZONE_CODES
from trading.prices.readers import PriceDataError, StrPath

_TIME = re.compile(
    r"^(?:Imbalance settlement period|Balancing Time Unit|ISP)\s*"
    r"\(?\s*(UTC|CET/CEST|CET|CEST)\s*\)?$",
    re.IGNORECASE,
)
_PRICE = re.compile(
    r"^([+-])\s*Imbalance Price\s*\[\s*EUR\s*/\s*MWh\s*\]\s*-\s*[A-Z]+\|(.+)$", re.IGNORECASE
)
_STAMP = r"\d{2}[./]\d{2}[./]\d{4} \d{2}:\d{2}(?::\d{2})?"
_INTERVAL = re.compile(rf"^\s*({_STAMP})[^-]*-\s*({_STAMP})")


def _separator(path: StrPath) -> str:
    with open(path, encoding="utf-8-sig") as handle:
        line = handle.readline()
    return ";" if line.count(";") > line.count(",") else ","


def _header(path: StrPath) -> list[str]:
    with open(path, encoding="utf-8-sig") as handle:
        line = handle.readline()
    return [c.strip().strip('"').strip() for c in line.strip().split(_separator(path))]


def imbalance_format(path: StrPath) -> str:
    """``long`` or ``entsoe`` from the header; `PriceDataError` naming both otherwise."""
    cells = _header(path)
    if "timestamp_utc" in cells and "imbalance_price_eur_mwh" in cells:
        return "long"
    if any(_TIME.match(c) for c in cells) and any(_PRICE.match(c) for c in cells):
        return "entsoe"
    raise PriceDataError(
        path,
        "unknown imbalance price layout: expected the long CSV (timestamp_utc, zone, "
        "imbalance_price_eur_mwh) or an ENTSO-E export ('Imbalance settlement period "
        "(CET/CEST)' and '+ Imbalance Price [EUR/MWh] - ...|<zone>')",
        line=1,
        value=",".join(cells)[:200],
    )


def read_imbalance_series(path: StrPath, zone: str) -> pd.Series:
    """`zone`'s imbalance prices [EUR/MWh] by UTC period start, from either layout (empty
    where the file has none for `zone`: the run then settles it at the proxy, and says so).

    Raises:
        PriceDataError: an unknown layout, an unreadable interval or number (naming file,
            line, column and value).
        FileNotFoundError: no such file.
    """
    if imbalance_format(path) == "long":
        return read_long_imbalance(path, zone)
    return _read_entsoe(path, zone)


def read_long_imbalance(path: StrPath, zone: str) -> pd.Series:
    """`zone`'s imbalance prices [EUR/MWh] from the long CSV (``timestamp_utc``, ``zone``,
    ``imbalance_price_eur_mwh``), missing values dropped."""
    frame = pd.read_csv(path, usecols=["timestamp_utc", "zone", "imbalance_price_eur_mwh"])
    frame = frame[frame["zone"] == zone].dropna(subset=["imbalance_price_eur_mwh"])
    index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp_utc"], utc=True))
    return pd.Series(frame["imbalance_price_eur_mwh"].to_numpy(float), index=index)


def _read_entsoe(path: StrPath, zone: str) -> pd.Series:
    raw = pd.read_csv(
        path, sep=_separator(path), dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    raw.columns = [str(c).strip() for c in raw.columns]
    time_column = next(c for c in raw.columns if _TIME.match(c))
    utc = _TIME.match(time_column).group(1).upper() == "UTC"  # type: ignore[union-attr]
    wanted = [
        c
        for c in raw.columns
        if (m := _PRICE.match(c))
        and m.group(1) == "+"
        and ZONE_CODES.get(m.group(2).upper()) == zone
    ]
    if not wanted:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    column = wanted[0]
    parts = raw[time_column].str.extract(_INTERVAL)
    start = pd.to_datetime(
        parts[0].str.replace("/", ".", regex=False), format="%d.%m.%Y %H:%M", errors="coerce"
    )
    bad = np.flatnonzero(start.isna().to_numpy())
    if bad.size:
        raise PriceDataError(
            path,
            "not an interval 'dd.mm.yyyy HH:MM - dd.mm.yyyy HH:MM'",
            line=int(bad[0]) + 2,
            column=time_column,
            value=raw[time_column].iloc[bad[0]],
        )
    naive = pd.DatetimeIndex(start)
    if utc:
        stamps = naive.tz_localize("UTC")
    else:
        occurrence = pd.Series(naive).groupby(naive).cumcount().to_numpy()
        summer = naive.tz_localize(
            ENTSOE_LOCAL_TIMEZONE, ambiguous=np.ones(len(naive), bool), nonexistent="NaT"
        )
        winter = naive.tz_localize(
            ENTSOE_LOCAL_TIMEZONE, ambiguous=np.zeros(len(naive), bool), nonexistent="NaT"
        )
        stamps = pd.DatetimeIndex(np.where(occurrence >= 1, winter, summer)).tz_convert("UTC")
    text = raw[column].str.strip()
    missing = text.str.lower().isin(MISSING_MARKS).to_numpy() | pd.isna(stamps)
    values = pd.to_numeric(text.where(~missing, "nan"), errors="coerce").to_numpy(float)
    bad = np.flatnonzero(~missing & ~np.isfinite(values))
    if bad.size:
        raise PriceDataError(
            path,
            "not a number (decimal point '.')",
            line=int(bad[0]) + 2,
            column=column,
            value=raw[column].iloc[bad[0]],
        )
    keep = ~missing
    series = pd.Series(values[keep], index=stamps[keep]).sort_index()
    return series[~series.index.duplicated(keep="first")]
