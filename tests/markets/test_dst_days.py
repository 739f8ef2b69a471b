"""Both DST days of 2026 in every built-in country: how many products each market has."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from markets.registry import BUILTIN_COUNTRIES, default_registry

SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)

# (market, family) -> products per direction on the spring and the autumn DST day
EXPECTED = {
    ("day_ahead", "SDAC"): (92, 100),
    ("intraday_auction", "IDA1"): (92, 100),
    ("intraday_auction", "IDA2"): (92, 100),
    ("intraday_auction", "IDA3"): (48, 48),
    ("intraday_continuous", "PT60M"): (23, 25),
    ("intraday_continuous", "PT15M"): (92, 100),
    ("afrr_capacity", "4h"): (6, 6),
    ("afrr_energy", "PT15M"): (92, 100),
    ("fcr_capacity", "4h"): (6, 6),
}


@pytest.mark.parametrize("country", BUILTIN_COUNTRIES)
@pytest.mark.parametrize(("day", "column"), [(SPRING, 0), (AUTUMN, 1)])
def test_each_market_has_the_dst_day_count_of_products(country: str, day: date, column: int):
    plugin = default_registry().get(country)
    products = plugin.products(day)
    directions = Counter((p.market.value, p.family) for p in products)
    per_direction = {
        key: count // len({p.direction for p in products if (p.market.value, p.family) == key})
        for key, count in directions.items()
    }
    for key, counts in EXPECTED.items():
        assert per_direction[key] == counts[column], (country, day, key)
    hours = 23 if day == SPRING else 25
    day_ahead = [p for p in products if p.market.value == "day_ahead"]
    assert sum(p.duration_minutes for p in day_ahead) == hours * 60
    first_block = min(
        (p for p in products if p.market.value == "fcr_capacity"), key=lambda p: p.delivery_start
    )
    assert first_block.duration_minutes == (3 if day == SPRING else 5) * 60
    assert first_block.gate_closure == datetime(
        day.year, day.month, day.day - 1, 7 if day == SPRING else 6, 0, tzinfo=UTC
    )
