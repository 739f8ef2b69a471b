"""Position book, ISP metering and settlement, each against figures computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.backtest.imbalance import PROXY_NAME, ImbalancePrices
from trading.engine.metering import IspMeter, integrate
from trading.engine.positions import BookEntry, PositionBook
from trading.engine.settlement import AFRR_ENERGY, ZoneDelivery, settle

T0 = datetime(2026, 6, 12, 22, 0, tzinfo=UTC)
PERIODS = pd.date_range(T0, periods=96, freq="15min")


def q(k: int) -> datetime:
    return T0 + timedelta(minutes=15 * k)


def energy(bid: str, market: str, k0: int, k1: int, mw: float, pay: float) -> BookEntry:
    return BookEntry(bid, market, f"DE:{market}:{k0}", "DE_LU", q(k0), q(k1), mw, remuneration=pay)


def test_net_position_adds_every_market_per_quarter_hour() -> None:
    book = PositionBook(PERIODS)
    book.add(
        [
            energy("da-1", "day_ahead", 0, 4, 2.0, 50.0),  # an hour sold at 2 MW
            energy("ida-1", "intraday_auction", 2, 3, -0.5, 60.0),  # bought back 0.5 MW
            energy("cid-1", "intraday_continuous", 3, 4, 1.2, 70.0),
            BookEntry(
                "afrr-1", "afrr_capacity", "x", "DE_LU", q(0), q(16), 5.0, "pos", "AMP", 10.0
            ),
        ]
    )
    net = book.net_mw("DE_LU")
    assert net[:5].tolist() == [2.0, 2.0, 1.5, 3.2, 0.0]
    assert book.net_mwh("DE_LU")[3] == pytest.approx(0.8)
    assert book.bids_for("DE_LU", 3) == ["da-1", "cid-1"]
    assert book.bands() == {("AMP", "pos", q(0)): 5.0}
    assert book.band_mw("DE_LU", "pos", q(15)) == 5.0
    assert book.band_mw("DE_LU", "pos", q(16)) == 0.0
    assert book.band_mw("DE_LU", "neg", q(1)) == 0.0
    # 2 MW x 1 h x 50 = 100; -0.5 MW x 0.25 h x 60 = -7.5; 1.2 x 0.25 x 70 = 21; 5 MW x 4 h x 10
    assert book.revenue_by_market() == {
        "afrr_capacity": 200.0,
        "day_ahead": 100.0,
        "intraday_auction": -7.5,
        "intraday_continuous": 21.0,
    }


def test_meter_integrates_trapezoids_and_splits_at_the_isp_boundary() -> None:
    edges = [0.0, 900.0, 1800.0]
    # 0 MW at 0 s rising to 3.6 MW at 1800 s (1.8 MW at 900 s): mean 0.9 MW x 0.25 h = 0.225 MWh
    # in the first ISP, mean 2.7 MW x 0.25 h = 0.675 MWh in the second
    assert integrate([0.0, 1800.0], [0.0, 3.6], edges) == pytest.approx([0.225, 0.675])
    # constant 2 MW from 450 s to 1350 s: 0.25 MWh in each ISP
    assert integrate([450.0, 1350.0], [2.0, 2.0], edges) == pytest.approx([0.25, 0.25])


def test_meter_counts_nothing_over_a_missing_reading() -> None:
    meter = IspMeter(np.array([0.0, 900.0]))
    for t, p in ((0.0, 4.0), (300.0, 4.0), (301.0, None), (600.0, 4.0), (900.0, 4.0)):
        meter.sample(t, p)
    assert meter.energy_mwh[0] == pytest.approx(4.0 * 600 / 3600)
    assert not meter.complete()[0]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=2, max_size=40))
def test_metered_energy_is_the_integral_however_the_isps_cut_it(powers: list[float]) -> None:
    times = np.linspace(0.0, 2700.0, len(powers))
    split = integrate(times, powers, [0.0, 900.0, 1800.0, 2700.0])
    whole = integrate(times, powers, [0.0, 2700.0])
    assert split.sum() == pytest.approx(whole[0], abs=1e-9)
    assert whole[0] == pytest.approx(np.trapezoid(powers, times) / 3600.0, abs=1e-9)


def delivery(delivered: list[float], up: list[float] | None = None) -> ZoneDelivery:
    n = len(delivered)
    return ZoneDelivery(
        "NL",
        position_mwh=np.full(n, 1.0),
        scheduled_mwh=np.full(n, 1.0),
        delivered_mwh=np.array(delivered),
        measured_mwh=np.array(delivered),
        afrr_up_mwh=np.array(up or [0.0] * n),
        afrr_down_mwh=np.zeros(n),
    )


def test_imbalance_is_delivered_less_position_less_afrr_at_real_prices() -> None:
    periods = PERIODS[:2]
    real = ImbalancePrices(real={"NL": pd.Series([200.0], index=periods[:1])})
    settled = settle(
        periods,
        [delivery([1.5, 0.8], up=[0.25, 0.0])],
        market_revenue={"day_ahead": 100.0},
        costs_by_kind={"wear": 10.0},
        day_ahead={"NL": np.array([100.0, 100.0])},
        imbalance_prices=real,
        afrr_prices={
            ("NL", "pos"): pd.Series([120.0, 130.0], index=periods),
            ("NL", "neg"): pd.Series([30.0, 30.0], index=periods),
        },
    )
    first, second = settled.rows
    # ISP 1: 1.5 - 1.0 - 0.25 = +0.25 MWh long at the real 200 EUR/MWh: +50 EUR
    assert first["imbalance_mwh"] == pytest.approx(0.25)
    assert (first["imbalance_price_source"], first["imbalance_eur"]) == ("real", 50.0)
    # ISP 2: 0.8 - 1.0 = -0.2 MWh short at the proxy max(100, 100 + 20 + 10) = 130: -26 EUR
    assert second["imbalance_price_source"] == PROXY_NAME
    assert second["imbalance_eur"] == pytest.approx(-26.0)
    assert settled.imbalance_cost_eur == pytest.approx(-24.0)
    assert settled.revenue_by_market == {AFRR_ENERGY: 30.0, "day_ahead": 100.0}  # 0.25 x 120
    assert settled.net_eur == pytest.approx(130.0 - 10.0 + 24.0)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-5, 5), min_size=4, max_size=4),
    st.floats(-1000, 1000),
    st.floats(0, 1000),
)
def test_books_balance_to_the_cent(delivered: list[float], revenue: float, cost: float) -> None:
    settled = settle(
        PERIODS[:4],
        [delivery(delivered)],
        market_revenue={"day_ahead": revenue, "afrr_capacity": revenue / 3},
        costs_by_kind={"wear": cost, "fuel": cost / 7},
        day_ahead={"NL": np.array([50.0, -20.0, 0.0, 300.0])},
        imbalance_prices=ImbalancePrices(),
    )
    cents = round(settled.revenue_eur * 100) - round(settled.costs_eur * 100)
    cents -= round(settled.imbalance_cost_eur * 100)
    assert round(settled.net_eur * 100) == cents
    assert settled.revenue_eur == round(sum(settled.revenue_by_market.values()), 2)
