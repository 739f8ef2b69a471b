"""From price files to the optimiser's `PriceInputs`: every zone of a portfolio its series.

`read_price_inputs` reads the energy price files (day-ahead, intraday) in any layout
`trading.prices.formats` recognises from the header (the long CSV, ENTSO-E and SMARD
exports), keeping their gaps for the run's coverage check (`trading.prices.coverage`), and
the balancing file in the long layout of `trading.prices.readers`; it splits them by
bidding zone. FCR capacity comes from the
balancing file's optional ``fcr_capacity_eur_per_mw_h`` column; asking for the
``fcr_capacity`` market without it is a `PriceDataError` that names the column.
`read_afrr_energy_prices` reads the same balancing file's aFRR energy activation prices,
which the optimiser does not use but the simulated exchange clears aFRR energy bids against.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from trading.optimiser.inputs import PriceInputs
from trading.prices.formats import read_energy_prices
from trading.prices.readers import (
    FCR_CAPACITY_COLUMN,
    PriceDataError,
    read_balancing_prices,
)
from trading.prices.smard import is_smard_afrr_header, smard_afrr_as_long

FCR_COLUMN = "fcr_capacity_eur_per_mw_h"


def _series(frame: pd.DataFrame, column: str, zone: str) -> pd.Series:
    return frame.loc[frame["zone"] == zone, column].astype(float)


def read_price_inputs(
    day_ahead: Path | None,
    intraday: Path | None,
    balancing: Path | None,
    zones: Iterable[str],
    markets: Iterable[str] = (),
    notes: list[str] | None = None,
) -> PriceInputs:
    """The files' prices for each of `zones` [EUR/MWh; capacity EUR/MW/h].

    `notes`, if given, receives a line per energy file naming its layout, and how a
    predecessor zone's prices were used (e.g. ``DE_AT_LU`` for ``DE_LU`` before
    2018-10-01). Gaps in energy files are kept (NaN or absent periods): a backtest's
    coverage check names them and applies its gap policy.

    Raises `PriceDataError` for a file that cannot be read (naming file, line, column and
    value) and `FileNotFoundError` for a missing one. A zone without prices in a file is
    left out of that market (the optimiser then names what is missing).
    """
    zones = set(zones)
    prices = PriceInputs()
    for market, path in (("day_ahead", day_ahead), ("intraday", intraday)):
        if path is None:
            continue
        frame = read_energy_prices(path, zones)
        setattr(prices, market, {z: _series(frame, "price_eur_mwh", z) for z in zones})
        if notes is not None:
            notes.append(f"{market} prices: {path} read as a {frame.attrs['format']} file")
            notes.extend(frame.attrs.get("notes", []))
    if balancing is not None:
        frame = read_balancing_file(balancing)
        if notes is not None and frame.attrs.get("format") == "smard":
            notes.append(f"balancing prices: {balancing} read as a SMARD aFRR export (DE_LU)")
        prices.afrr_capacity = {
            (z, d): _series(frame, f"afrr_capacity_{d}_eur_per_mw_h", z)
            for z in zones
            for d in ("pos", "neg")
        }
        if FCR_COLUMN in frame.columns:
            prices.fcr_capacity = {z: _series(frame, FCR_COLUMN, z) for z in zones}
        elif "fcr_capacity" in set(markets):
            raise PriceDataError(
                balancing,
                f"no column {FCR_CAPACITY_COLUMN!r}, which the fcr_capacity market needs "
                "(FCR capacity prices, EUR/MW per 4-hour block)",
                column=FCR_CAPACITY_COLUMN,
            )
    for table in (prices.day_ahead, prices.intraday, prices.afrr_capacity, prices.fcr_capacity):
        for key in [k for k, series in table.items() if series.empty]:
            del table[key]
    return prices


def read_balancing_file(path: Path) -> pd.DataFrame:
    """The balancing prices of `read_balancing_prices` from its long layout or from SMARD's
    English aFRR export (``Date;Time of day;Volume activated (+)[MWh];...``, German local
    time, German LFC block as ``DE_LU``), recognised from the header; every check of the
    long reader applies, and its errors name the original file and line.

    ``attrs["format"]``: ``long`` or ``smard``."""
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline().strip()
    if not is_smard_afrr_header(header.split(";")):
        frame = read_balancing_prices(path)
        frame.attrs["format"] = "long"
        return frame
    cells = smard_afrr_as_long(path)
    with tempfile.TemporaryDirectory() as folder:
        long = Path(folder) / "balancing.csv"
        cells.to_csv(long, index=False)
        try:
            frame = read_balancing_prices(long)
        except PriceDataError as exc:
            raise PriceDataError(
                path, exc.problem, line=exc.line, column=exc.column, value=exc.value
            ) from None
    frame.attrs["format"] = "smard"
    return frame


def read_afrr_energy_prices(
    balancing: Path, zones: Iterable[str] | None = None
) -> dict[tuple[str, str], pd.Series]:
    """aFRR energy activation prices [EUR/MWh] per (zone, "pos" or "neg") and quarter hour.

    From a balancing file as `trading.prices.readers.read_balancing_prices` reads it (its
    sign convention: negative direction, a positive price is paid by the provider to the
    TSO). `zones` None reads every zone in the file; a zone without rows is left out, and
    unpublished (empty) quarter hours are dropped, so they are named as missing when asked.
    Raises `PriceDataError` naming file, line, column and value of a bad cell.
    """
    frame = read_balancing_file(balancing)
    wanted = set(frame["zone"]) if zones is None else set(zones)
    energy: dict[tuple[str, str], pd.Series] = {}
    for zone in sorted(wanted):
        for direction in ("pos", "neg"):
            series = _series(frame, f"afrr_energy_{direction}_eur_mwh", zone).dropna()
            if not series.empty:
                energy[(zone, direction)] = series
    return energy
