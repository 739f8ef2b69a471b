"""How fast market plugins expand delivery days and validate bids.

Run: ``python benchmarks/market_rules.py``. Prints, for each built-in country, the time to build a
cold delivery day's products, and the validation throughput for a day-ahead submission
(one curve bid per quarter hour, as the optimiser will send) and for a mixed batch sent
before the first gate of the day (day-ahead curves, intraday-auction orders, aFRR and FCR
capacity).
"""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

import _no_shadowing  # noqa: F401 - first: benchmarks/dispatch.py shadows the package

from markets.bids import BalancingCapacityBid, Bid, CurveBid, CurvePoint, SingleBid
from markets.products import MarketId
from markets.registry import default_registry

FIRST_DAY = date(2026, 1, 5)
DAYS = 30


def _day_ahead_bids(country: str, day: date) -> list[Bid]:
    plugin = default_registry().get(country)
    return [
        CurveBid(
            product_id=p.product_id,
            points=(
                CurvePoint(price_eur_per_mwh=-20.0 + i % 7, volume_mw=-3.0),
                CurvePoint(price_eur_per_mwh=60.0 + i % 11, volume_mw=0.0),
                CurvePoint(price_eur_per_mwh=140.5, volume_mw=4.2),
            ),
        )
        for i, p in enumerate(plugin.products(day, MarketId.DAY_AHEAD))
    ]


def _mixed_bids(country: str, day: date) -> list[Bid]:
    plugin = default_registry().get(country)
    bids: list[Bid] = list(_day_ahead_bids(country, day))
    for p in plugin.products(day, MarketId.INTRADAY_AUCTION):
        bids.append(SingleBid(product_id=p.product_id, volume_mw=1.5, price_eur_per_mwh=55.25))
    for p in [
        *plugin.products(day, MarketId.AFRR_CAPACITY),
        *plugin.products(day, MarketId.FCR_CAPACITY),
    ]:
        assert p.direction is not None
        bids.append(
            BalancingCapacityBid(
                product_id=p.product_id,
                direction=p.direction,
                capacity_mw=5,
                capacity_price_eur_per_mw_h=8.0,
            )
        )
    return bids


def main() -> None:
    """Measure and print."""
    registry = default_registry()
    print(
        f"{'country':<8}{'cold day ms (median)':>22}{'products/day':>14}"
        f"{'DA bids/s':>12}{'mixed bids/s':>14}"
    )
    for country in registry.countries():
        plugin = registry.get(country)
        cold = []
        count = 0
        for n in range(DAYS):
            day = FIRST_DAY + timedelta(days=n)
            started = time.perf_counter()
            count = len(plugin.products(day))
            cold.append(time.perf_counter() - started)
        day = FIRST_DAY + timedelta(days=1)
        now = min(p.gate_closure for p in plugin.products(day)) - timedelta(hours=1)
        rates = []
        for bids in (_day_ahead_bids(country, day), _mixed_bids(country, day)):
            started = time.perf_counter()
            rounds = 5
            for _ in range(rounds):
                found = plugin.validate_all(bids, now=now)
            elapsed = time.perf_counter() - started
            assert not any(found), found[:1]
            rates.append(rounds * len(bids) / elapsed)
        print(
            f"{country:<8}{statistics.median(cold) * 1000:>22.1f}{count:>14}"
            f"{rates[0]:>12.0f}{rates[1]:>14.0f}"
        )


if __name__ == "__main__":
    main()
