"""From price files to the optimiser's `PriceInputs`: every zone of a portfolio its series.

`read_price_inputs` reads the long CSV layouts of `trading.prices.readers` (day-ahead,
intraday, balancing) and splits them by bidding zone. FCR capacity comes from the
balancing file's optional ``fcr_capacity_eur_per_mw_h`` column; asking for the
``fcr_capacity`` market without it is a `PriceDataError` that names the column.
`read_afrr_energy_prices` reads the same balancing file's aFRR energy activation prices,
which the optimiser does not use but the simulated exchange clears aFRR energy bids against.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from trading.optimiser.inputs import PriceInputs
from trading.prices.readers import (
    FCR_CAPACITY_COLUMN,
    PriceDataError,
    read_balancing_prices,
    read_day_ahead_prices,
)

FCR_COLUMN = "fcr_capacity_eur_per_mw_h"


def _series(frame: pd.DataFrame, column: str, zone: str) -> pd.Series:
    return frame.loc[frame["zone"] == zone, column].astype(float)


def read_price_inputs(
    day_ahead: Path | None,
    intraday: Path | None,
    balancing: Path | None,
    zones: Iterable[str],
    markets: Iterable[str] = (),
) -> PriceInputs:
    """The files' prices for each of `zones` [EUR/MWh; capacity EUR/MW/h].

    Raises `PriceDataError` for a file that cannot be read (naming file, line, column and
    value) and `FileNotFoundError` for a missing one. A zone without prices in a file is
    left out of that market (the optimiser then names what is missing).
    """
    zones = set(zones)
    prices = PriceInputs()
    if day_ahead is not None:
        frame = read_day_ahead_prices(day_ahead)
        prices.day_ahead = {z: _series(frame, "price_eur_mwh", z) for z in zones}
    if intraday is not None:
        frame = read_day_ahead_prices(intraday)
        prices.intraday = {z: _series(frame, "price_eur_mwh", z) for z in zones}
    if balancing is not None:
        frame = read_balancing_prices(balancing)
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
    frame = read_balancing_prices(balancing)
    wanted = set(frame["zone"]) if zones is None else set(zones)
    energy: dict[tuple[str, str], pd.Series] = {}
    for zone in sorted(wanted):
        for direction in ("pos", "neg"):
            series = _series(frame, f"afrr_energy_{direction}_eur_mwh", zone).dropna()
            if not series.empty:
                energy[(zone, direction)] = series
    return energy
