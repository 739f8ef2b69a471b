"""Where the notebooks' prices come from: the real data when present, else the sample prices.

- Real data: the folder named by ``VPP_SHARED_DATA``, else ``../shared/data`` beside the
  repository (see its README.md for sources and licences).
- Otherwise the project's generated sample prices (``data/sample_prices``: 2026-06-12 to
  2026-06-15, all five zones), so every notebook also runs in CI.

``VPP_NOTEBOOK_DAYS`` sets the number of delivery days (CI sets 2); the sample prices hold
four days, so a longer window is cut to them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import structlog

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
