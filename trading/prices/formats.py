"""Energy price files in any layout the engine reads, recognised from their header.

`detect_price_format` looks at the first line of a file and names its layout:

- ``long``: the project's long CSV (``timestamp_utc``, ``zone``, ``price_eur_mwh``, ...),
  as in ../shared/data (`trading.prices.readers`);
- ``entsoe``: an ENTSO-E Transparency Platform day-ahead export, legacy
  (``"MTU (CET/CEST)","Day-ahead Price [EUR/MWh]",...``) or current
  (``"MTU (UTC)","Area","Sequence","Day-ahead Price (EUR/MWh)",...``)
  (`trading.prices.entsoe`);
- ``smard``: a SMARD.de wholesale price export (``Datum;Anfang;Ende;Deutschland/Luxemburg
  [€/MWh] ...``, ``Datum;Uhrzeit;...``, ``Datum von;Datum bis;...`` or their English forms)
  (`trading.prices.smard`).

`read_energy_prices` reads any of them into the long frame of `read_day_ahead_prices`
(index ``timestamp_utc`` UTC; ``zone``, ``price_eur_mwh`` [EUR/MWh], ``resolution_min``),
**keeping gaps**: absent periods and unpriced ones (``-``, ``n/e``, empty with quality
``missing``) are left for the run's coverage check (`trading.prices.coverage`), which names
every one and applies the chosen gap policy. A zone whose area was priced by a predecessor
zone (``DE_LU`` before 2018-10-01: ``DE_AT_LU``, `ZONE_PREDECESSORS`) takes the
predecessor's prices for those days, and the frame's ``attrs["notes"]`` says so.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from trading.prices.entsoe import read_entsoe_day_ahead
from trading.prices.readers import PriceDataError, StrPath, read_day_ahead_prices
from trading.prices.smard import PREDECESSORS, SMARD_TIMEZONE, is_smard_header, read_smard_prices

PRICE_FORMATS = ("long", "entsoe", "smard")
"""The layouts `detect_price_format` recognises."""

ZONE_PREDECESSORS = PREDECESSORS
"""Zone -> (predecessor zone, first local delivery day of the zone's own prices)."""


def _header(path: StrPath) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            with open(path, encoding=encoding) as handle:
                return handle.readline().strip()
        except UnicodeDecodeError:
            continue
    return ""  # pragma: no cover - cp1252 decodes any byte


def detect_price_format(path: StrPath) -> str:
    """``long``, ``entsoe`` or ``smard``, from the file's header line.

    Raises:
        FileNotFoundError: no such file.
        PriceDataError: a header of none of the layouts (naming the header and what each
            layout starts with).
    """
    header = _header(path)
    cells = [c.strip().strip('"').strip() for c in header.split(",")]
    if "timestamp_utc" in cells:
        return "long"
    lower = header.lower()
    if "day-ahead price" in lower and ("mtu (" in lower or "time (" in lower):
        return "entsoe"
    if is_smard_header([c.strip() for c in header.split(";")]):
        return "smard"
    raise PriceDataError(
        path,
        "unknown price file layout: expected the long CSV (a 'timestamp_utc' column), an "
        "ENTSO-E day-ahead export ('MTU (CET/CEST)' and 'Day-ahead Price [EUR/MWh]') or a "
        "SMARD export ('Datum;Anfang;Ende;...[€/MWh]', 'Datum;Uhrzeit;...', 'Datum von;"
        "Datum bis;...' or English 'Start date;End date;...')",
        line=1,
        value=header[:200],
    )


def read_energy_prices(path: StrPath, zones: Iterable[str] | None = None) -> pd.DataFrame:
    """Energy prices [EUR/MWh] of `zones` (None: all) from a file of any `PRICE_FORMATS`.

    Gaps are kept (see the module docstring); a zone the file has no prices for is left
    out (the optimiser then names it). ``attrs["format"]`` names the layout read and
    ``attrs["notes"]`` how predecessor zones were used.

    Raises:
        PriceDataError: naming file, line, column and value of what cannot be read.
        FileNotFoundError: no such file.
    """
    kind = detect_price_format(path)
    if kind == "long":
        frame = read_day_ahead_prices(path, allow_gaps=True)
    elif kind == "entsoe":
        frame = read_entsoe_day_ahead(path, allow_missing=True, allow_gaps=True)
    else:
        frame = read_smard_prices(path)
    notes: list[str] = []
    wanted = set(frame["zone"]) if zones is None else set(zones)
    parts = []
    for zone in sorted(wanted):
        rows = frame[frame["zone"] == zone]
        before = ZONE_PREDECESSORS.get(zone)
        if before is not None:
            old_zone, first_day = before
            cutoff = pd.Timestamp(first_day).tz_localize(SMARD_TIMEZONE).tz_convert("UTC")
            old = frame[(frame["zone"] == old_zone) & (frame.index < cutoff)]
            old = old[~old["price_eur_mwh"].isna()]
            own = rows[~rows["price_eur_mwh"].isna() | (rows.index >= cutoff)]
            taken = old[~old.index.isin(own.index)]
            if not taken.empty:
                rows = pd.concat([own, taken.assign(zone=zone)]).sort_index(kind="stable")
                notes.append(
                    f"{zone}: {len(taken)} periods before {first_day} priced in {old_zone}, "
                    "the joint zone that covered its area then: these are the joint zone's "
                    "prices"
                )
        parts.append(rows)
    result = pd.concat(parts).sort_index(kind="stable") if parts else frame.iloc[0:0].copy()
    result.attrs["format"] = kind
    result.attrs["notes"] = notes
    return result


def zone_series(frame: pd.DataFrame, zone: str) -> pd.Series:
    """One zone's prices [EUR/MWh] indexed by period start (UTC), NaN where unpriced, with
    the rows' resolution [min] in ``attrs["resolution_min"]`` (the most common one)."""
    rows = frame[frame["zone"] == zone]
    series = rows["price_eur_mwh"].astype(float)
    series = series[~series.index.duplicated(keep="first")]
    if len(rows):
        values, counts = np.unique(rows["resolution_min"].to_numpy(), return_counts=True)
        series.attrs["resolution_min"] = int(values[np.argmax(counts)])
    return series
