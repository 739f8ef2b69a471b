"""Price inputs for the optimiser: readers of price files and the project's sample prices.

Frames are indexed by ``timestamp_utc`` (tz-aware UTC, start of the period). Units inside
the engine: EUR/MWh for energy prices, EUR/MW/h for capacity prices (readers convert the
published EUR/MW per block). `day_ahead_series` gives the pandas Series the optimiser takes.

The sample generator is imported on first use, so that ``python -m trading.prices.sample``
does not import its own module twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trading.prices.entsoe import read_entsoe_day_ahead
from trading.prices.readers import (
    PriceDataError,
    day_ahead_series,
    long_price_frame,
    read_balancing_prices,
    read_day_ahead_prices,
    read_intraday_prices,
)
from trading.prices.resample import to_hours, to_quarter_hours

if TYPE_CHECKING:
    from trading.prices.sample import SamplePrices, generate_sample_prices, write_sample_prices

__all__ = [
    "PriceDataError",
    "SamplePrices",
    "day_ahead_series",
    "generate_sample_prices",
    "long_price_frame",
    "read_balancing_prices",
    "read_day_ahead_prices",
    "read_entsoe_day_ahead",
    "read_intraday_prices",
    "to_hours",
    "to_quarter_hours",
    "write_sample_prices",
]

_FROM_SAMPLE = {"SamplePrices", "generate_sample_prices", "write_sample_prices"}


def __getattr__(name: str) -> Any:
    """The sample generator's public names, imported when first asked for."""
    if name in _FROM_SAMPLE:
        from trading.prices import sample

        return getattr(sample, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
