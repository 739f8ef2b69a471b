"""Where the notebooks' prices come from: the real data when present, else the sample prices.

- Real data: the folder named by ``VPP_SHARED_DATA``, else ``../shared/data`` beside the
  repository (see its README.md for sources and licences).
- Otherwise the project's generated sample prices (``data/sample_prices``: 2026-06-12 to
  2026-06-15, all five zones), so every notebook also runs in CI.

``VPP_NOTEBOOK_DAYS`` sets the number of delivery days (CI sets 2); the sample prices hold
four days, so a longer window is cut to them.

Each notebook opens with a cell tagged ``parameters`` (as papermill expects): price files,
zones, dates and the output folder, all None by default. `with_parameters` applies the
given ones over the default files; `output_folder` gives each run a folder of its own.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import structlog

from regulatory import Portfolio
from trading.backtest import ImbalancePrices, read_imbalance_prices
from trading.samples import sample_prices_dir

REPO_ROOT = Path(__file__).resolve().parents[1]
PORTFOLIOS = Path(__file__).resolve().parent / "portfolios"


@dataclass(frozen=True)
class PriceFiles:
    """Price files (long CSV layouts) and the delivery-day window the notebook uses."""

    source: str
    """``real`` (../shared/data) or ``sample`` (generated, not market data)."""
    day_ahead: Path
    intraday: Path | None
    balancing: Path | None
    start: date
    end: date
    """Last delivery day, inclusive."""
    markets: tuple[str, ...]


def shared_data_dir() -> Path | None:
    """The real-data folder, or None where it is missing."""
    folder = Path(os.environ.get("VPP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    return folder if folder.is_dir() else None


def notebook_days(default: int = 30) -> int:
    """Delivery days to backtest: ``VPP_NOTEBOOK_DAYS`` or `default` (at least 1)."""
    return max(1, int(os.environ.get("VPP_NOTEBOOK_DAYS", default)))


def quiet_logs() -> None:
    """Keep the exchange's per-bid INFO log lines out of the notebook."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def _window(first: date, last: date, days: int) -> tuple[date, date]:
    return first, min(last, first + timedelta(days=days - 1))


def _sample(days: int) -> PriceFiles:
    folder = sample_prices_dir()
    start, end = _window(date(2026, 6, 12), date(2026, 6, 15), days)
    return PriceFiles(
        "sample",
        folder / "day_ahead.csv",
        folder / "intraday.csv",
        folder / "afrr.csv",
        start,
        end,
        ("day_ahead", "intraday", "afrr_capacity", "fcr_capacity"),
    )


def german_prices(days: int) -> PriceFiles:
    """DE_LU prices from June 2026: real 15-minute day-ahead (only), else the sample."""
    shared = shared_data_dir()
    if shared is None:
        return _sample(days)
    start, end = _window(date(2026, 6, 1), date(2026, 8, 23), days)
    file = shared / "day_ahead_prices_15min_de_lu_2025-10_2026-08.csv"
    return PriceFiles("real", file, None, None, start, end, ("day_ahead",))


def de_nl_fr_prices(days: int) -> PriceFiles:
    """DE_LU, NL and FR day-ahead prices from June 2023 (real, hourly), else the sample."""
    shared = shared_data_dir()
    if shared is None:
        sample = _sample(days)
        return PriceFiles(
            "sample", sample.day_ahead, None, None, sample.start, sample.end, ("day_ahead",)
        )
    start, end = _window(date(2023, 6, 1), date(2023, 12, 31), days)
    file = shared / "day_ahead_prices_hourly_2022_2023.csv"
    return PriceFiles("real", file, None, None, start, end, ("day_ahead",))


def with_parameters(
    files: PriceFiles,
    *,
    prices: str | Path | None = None,
    intraday: str | Path | None = None,
    balancing: str | Path | None = None,
    start: str | date | None = None,
    end: str | date | None = None,
    markets: list[str] | tuple[str, ...] | None = None,
) -> PriceFiles:
    """`files` with the notebook's parameters applied (None keeps the default).

    A price file given replaces the default's source with ``given``; `start` and `end`
    (ISO dates, inclusive) replace the window; `markets` the markets traded. An end before
    the start, or a file that does not exist, raises naming the parameter.
    """
    changes: dict[str, object] = {}
    for name, value in (("day_ahead", prices), ("intraday", intraday), ("balancing", balancing)):
        if value is not None:
            path = Path(value)
            if not path.is_file():
                label = "PRICES" if name == "day_ahead" else f"{name.upper()}_PRICES"
                raise FileNotFoundError(f"{label}={str(value)!r}: no such file")
            changes[name] = path
    if changes:
        changes["source"] = "given"
    if start is not None:
        changes["start"] = date.fromisoformat(str(start))
    if end is not None:
        changes["end"] = date.fromisoformat(str(end))
    if markets is not None:
        changes["markets"] = tuple(markets)
    chosen = replace(files, **changes)  # type: ignore[arg-type]
    if chosen.end < chosen.start:
        raise ValueError(f"END={chosen.end} is before START={chosen.start}")
    return chosen


def output_folder(notebook: str, given: str | Path | None = None) -> Path:
    """The folder this run writes to (created): `given`, else a new folder of its own
    under the system's temporary directory (``vpp-<notebook>-*``), so runs never mix."""
    if given is not None:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return Path(tempfile.mkdtemp(prefix=f"vpp-{notebook}-"))


def in_zones(portfolio: Portfolio, zones: list[str] | tuple[str, ...] | None) -> Portfolio:
    """The part of `portfolio` whose sites are in `zones` (None: all of it)."""
    if not zones:
        return portfolio
    sites = tuple(s for s in portfolio.sites if s.bidding_zone in set(zones))
    if not sites:
        known = ", ".join(sorted({s.bidding_zone for s in portfolio.sites}))
        raise ValueError(f"ZONES={list(zones)}: no site of {portfolio.id} there (zones: {known})")
    ids = {s.id for s in sites}
    assets = tuple(a for a in portfolio.assets if a.site in ids)
    return portfolio.model_copy(update={"sites": sites, "assets": assets})


def imbalance_for(path: str | Path | None, zones: set[str]) -> ImbalancePrices:
    """Real imbalance prices of `zones` from `path`, else (None) the named proxy."""
    if path is None:
        return ImbalancePrices()
    return ImbalancePrices(real={zone: read_imbalance_prices(Path(path), zone) for zone in zones})
