"""Which price clears a product: the series, the key, hourly and quarter-hourly periods."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA
from exchange_factories import ZONE, flat, flat_prices, products, quarter_hours

from markets.products import Direction, MarketId
from trading.exchange import NoClearingPriceError, PriceBook
from trading.optimiser.inputs import PriceInputs
from trading.prices.inputs import read_afrr_energy_prices

HOURLY_ERA = date(2025, 6, 12)
"""A day of hourly SDAC products (the 15-minute MTU began on 2025-10-01)."""


def test_an_hourly_product_clears_at_the_mean_of_its_quarter_hours() -> None:
    series = pd.Series(
        np.arange(len(quarter_hours(HOURLY_ERA)), dtype=float), quarter_hours(HOURLY_ERA)
    )
    book = PriceBook(PriceInputs(day_ahead={ZONE: series}))
    first_hour = products(MarketId.DAY_AHEAD, HOURLY_ERA)[0]
    assert first_hour.duration_minutes == 60
    assert book.energy_price_eur_per_mwh(first_hour) == pytest.approx((0 + 1 + 2 + 3) / 4)


def test_an_hourly_price_covers_its_quarter_hour_products() -> None:
    hours = quarter_hours()[::4]
    series = pd.Series(np.arange(len(hours), dtype=float) * 10, index=hours)
    book = PriceBook(PriceInputs(day_ahead={ZONE: series}))
    quarter = products(MarketId.DAY_AHEAD)[7]  # second hour, last quarter
    assert book.energy_price_eur_per_mwh(quarter) == 10.0


def test_every_intraday_auction_session_reads_the_intraday_series() -> None:
    book = PriceBook(flat_prices(day_ahead=50.0, intraday=61.5))
    sessions = {p.family: p for p in products(MarketId.INTRADAY_AUCTION)}
    assert set(sessions) == {"IDA1", "IDA2", "IDA3"}
    assert {book.energy_price_eur_per_mwh(p) for p in sessions.values()} == {61.5}


def test_afrr_capacity_reads_the_series_of_its_direction() -> None:
    book = PriceBook(flat_prices(afrr_pos=8.0, afrr_neg=6.0))
    by_direction = {p.direction: p for p in products(MarketId.AFRR_CAPACITY)}
    assert book.capacity_price_eur_per_mw_h(by_direction[Direction.POS]) == 8.0
    assert book.capacity_price_eur_per_mw_h(by_direction[Direction.NEG]) == 6.0


def test_a_capacity_block_is_priced_at_its_first_quarter_hour() -> None:
    series = flat(5.0)
    block = products(MarketId.FCR_CAPACITY)[1]
    series[block.delivery_start] = 20.0
    book = PriceBook(PriceInputs(fcr_capacity={ZONE: series}))
    assert book.capacity_price_eur_per_mw_h(block) == 20.0


def test_a_nan_price_is_no_price() -> None:
    series = flat(50.0)
    series.iloc[2] = np.nan
    book = PriceBook(PriceInputs(day_ahead={ZONE: series}))
    with pytest.raises(NoClearingPriceError, match="no clearing price for day_ahead DE_LU"):
        book.energy_price_eur_per_mwh(products(MarketId.DAY_AHEAD)[2])


def test_prices_indexed_by_naive_timestamps_are_refused_when_the_book_is_made() -> None:
    naive = pd.Series([50.0], index=pd.DatetimeIndex(["2026-03-29 00:00"]))
    with pytest.raises(ValueError, match=r"day_ahead\['DE_LU'\] must be indexed by timezone-aware"):
        PriceBook(PriceInputs(day_ahead={ZONE: naive}))


def test_prices_in_another_time_zone_are_read_in_utc() -> None:
    berlin = flat(42.0).tz_convert("Europe/Berlin")
    book = PriceBook(PriceInputs(day_ahead={ZONE: berlin}))
    assert book.energy_price_eur_per_mwh(products(MarketId.DAY_AHEAD)[0]) == 42.0


@pytest.mark.realdata
def test_the_real_smard_week_gives_each_quarter_hour_its_activation_price() -> None:
    # The German plugin has no aFRR energy products before PICASSO (2022-06-22), so a 2026
    # quarter-hour product is moved onto the real week to read its prices through the book.
    path = SHARED_DATA / "afrr_de_smard_2022-01-01_2022-01-08_15min.csv"
    activation = read_afrr_energy_prices(path, {ZONE})
    assert {key: len(series) for key, series in activation.items()} == {
        (ZONE, "pos"): 768,
        (ZONE, "neg"): 768,
    }
    book = PriceBook(PriceInputs(), activation)
    start = pd.Timestamp("2021-12-31T23:15:00Z")  # 2022-01-01 00:15 Berlin, the 2nd row
    for direction, published in ((Direction.POS, 347.22), (Direction.NEG, -12.34)):
        template = next(p for p in products(MarketId.AFRR_ENERGY) if p.direction == direction.value)
        moved = template.model_copy(
            update={"delivery_start": start, "delivery_end": start + pd.Timedelta(minutes=15)}
        )
        assert book.balancing_energy_price_eur_per_mwh(moved) == published
