"""Through the path the API uses: bids posted to the app, the clearing loop, the store.

Continuous intraday and aFRR energy bids accepted by the API leave `submitted` at their gate
with the exchange's reason in their clearing, on the exchange `vpp serve` builds (sample
prices: the intraday proxy, no aFRR energy prices) and on one given aFRR energy prices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from markets.products import MarketId, Product
from markets.registry import default_registry
from trading.api import create_app
from trading.api.jobs import FolderPrices
from trading.api.server import ClearingLoop, activation_prices, exchange_prices
from trading.exchange import ManualClock, SimulatedExchange
from trading.store import BidStatus, Repository, Role, session_factory, upgrade
from trading.store.models import BidRow

DAY = date(2026, 6, 15)
OPEN = datetime(2026, 6, 14, 15, 0, tzinfo=UTC)
"""Continuous intraday for DAY opened at 15:00 CEST on D-1 (13:00Z); no gate has closed."""
AFTER_DAY = datetime(2026, 6, 16, 0, 0, tzinfo=UTC)


def first(market: MarketId, minutes: int = 15, direction: str | None = None) -> Product:
    """The first German product of `market` on DAY of `minutes` (and `direction`)."""
    return min(
        (
            p
            for p in default_registry().get("DE").products(DAY, market)
            if p.duration_minutes == minutes and (direction is None or p.direction == direction)
        ),
        key=lambda p: p.delivery_start,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Repository, str]]:
    url = f"sqlite:///{tmp_path / 'clearing.sqlite3'}"
    upgrade(url)
    repository = Repository.from_url(url)
    repository.create_tenant("acme", "Acme")
    key = repository.create_api_key("acme", Role.TRADER, "desk").plaintext
    try:
        yield repository, key
    finally:
        repository.close()


async def post(app: object, body: object, key: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post("/v1/bids", json=body, headers={"X-API-Key": key})


def desk_bids() -> list[dict[str, object]]:
    continuous = first(MarketId.INTRADAY_CONTINUOUS).product_id
    energy = first(MarketId.AFRR_ENERGY, direction="pos").product_id
    return [
        # buy at the price ceiling: any proxy is at or below it, so it fills at 9999.99
        {
            "type": "single",
            "product_id": continuous,
            "volume_mw": -1.0,
            "price_eur_per_mwh": 9999.99,
        },
        # sell at the ceiling: no proxy reaches it, so it expires unfilled
        {
            "type": "single",
            "product_id": continuous,
            "volume_mw": 1.0,
            "price_eur_per_mwh": 9999.99,
        },
        {
            "type": "balancing_energy",
            "product_id": energy,
            "direction": "pos",
            "volume_mw": 2.0,
            "energy_price_eur_per_mwh": -500.0,
        },
    ]


def submitted_past_gate(repository: Repository, now: datetime) -> list[str]:
    with session_factory(repository.engine)() as session:
        return list(
            session.scalars(
                select(BidRow.id).where(
                    BidRow.status == BidStatus.SUBMITTED.value, BidRow.gate_closure <= now
                )
            )
        )


def run(repository: Repository, key: str, exchange: SimulatedExchange, clock: ManualClock):
    prices = FolderPrices()
    app = create_app(repository, clock, prices=prices)
    answer = asyncio.run(post(app, desk_bids(), key))
    assert answer.status_code == 201, answer.text
    ids = [b["id"] for b in answer.json()["bids"]]
    loop = ClearingLoop(repository, exchange)
    assert loop.run_once() == []  # before the gates nothing moves
    clock.advance_to(AFTER_DAY)
    loop.run_once()
    assert submitted_past_gate(repository, clock.now()) == []
    outcomes = {}
    for bid_id in ids:
        bid = repository.get_bid("acme", bid_id)
        clearing = repository.get_clearing("acme", bid_id)
        assert bid is not None
        assert clearing is not None
        outcomes[bid_id] = (bid.status, clearing)
    return ids, outcomes


def test_the_served_exchange_fills_or_expires_continuous_and_rejects_unpriced_afrr_energy(
    store: tuple[Repository, str],
) -> None:
    repository, key = store
    clock = ManualClock(OPEN)
    # A price folder without activation prices: aFRR energy bids cannot be judged.
    exchange = SimulatedExchange(exchange_prices(FolderPrices()), clock)
    (buy, sell, energy), outcomes = run(repository, key, exchange, clock)

    status, clearing = outcomes[buy]
    assert status == "accepted"
    assert clearing.cleared_volume_mw == -1.0
    assert clearing.remuneration_price == 9999.99
    assert "(a proxy, not market data)" in clearing.details["reason"]

    status, clearing = outcomes[sell]
    assert status == "rejected"
    assert clearing.cleared_volume_mw == 0
    assert "expired unfilled at its gate closure" in clearing.details["reason"]
    assert "proxy" in clearing.details["reason"]

    status, clearing = outcomes[energy]
    gate = first(MarketId.AFRR_ENERGY, direction="pos").gate_closure
    assert status == "rejected"
    assert clearing.details["reason"].startswith(
        f"rejected at its gate closure {gate:%Y-%m-%dT%H:%M:%S}Z: "
        "no aFRR energy price for DE_LU pos"
    )


def test_given_afrr_energy_prices_a_bid_within_the_activation_price_is_activated(
    store: tuple[Repository, str],
) -> None:
    repository, key = store
    clock = ManualClock(OPEN)
    prices = FolderPrices()
    activation = activation_prices(prices)  # as `vpp serve` builds its exchange
    assert activation is not None
    exchange = SimulatedExchange(exchange_prices(prices), clock, balancing_energy=activation)
    (_, _, energy), outcomes = run(repository, key, exchange, clock)
    status, clearing = outcomes[energy]
    product = first(MarketId.AFRR_ENERGY, direction="pos")
    marginal = float(activation[("DE_LU", "pos")][product.delivery_start])
    assert marginal >= -500.0  # so the bid at -500 is within it
    assert status == "accepted"
    assert clearing.cleared_volume_mw == 2.0
    assert clearing.remuneration_price == pytest.approx(marginal)
    assert "activated in full" in clearing.details["reason"]
