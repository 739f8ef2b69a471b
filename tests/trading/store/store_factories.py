"""Builders of valid new bids and portfolios for the store tests, from the real DE plugin."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from markets.bids import BlockBid, SingleBid
from markets.products import Product
from markets.registry import default_registry
from trading.store import BidStatus, NewBid

DAY = date(2026, 3, 2)
SAMPLE_PORTFOLIO = Path(__file__).resolve().parents[3] / "data" / "sample_portfolio.yaml"


def day_ahead(day: date = DAY) -> list[Product]:
    """The DE day-ahead products of `day`, in delivery order."""
    return default_registry().get("DE").products(day, "day_ahead")


def single(index: int = 0, volume_mw: float = 1.0, price: float = 50.0, **kwargs: Any) -> NewBid:
    """A new single bid on the `index`-th DE day-ahead product of `DAY`."""
    product = day_ahead()[index]
    bid = SingleBid(product_id=product.product_id, volume_mw=volume_mw, price_eur_per_mwh=price)
    return NewBid.from_product(bid, product, **kwargs)


def block(first: int = 0, length: int = 4, status: BidStatus = BidStatus.DRAFT) -> NewBid:
    """A new block bid over `length` consecutive DE day-ahead products of `DAY`."""
    products = day_ahead()[first : first + length]
    bid = BlockBid(
        product_ids=tuple(p.product_id for p in products),
        volumes_mw=tuple(2.0 for _ in products),
        price_eur_per_mwh=80.0,
    )
    return NewBid.from_product(bid, products[0], status=status)


def batch(size: int = 3) -> list[NewBid]:
    """`size` single bids on consecutive products."""
    return [single(i, volume_mw=1.0 + i) for i in range(size)]


def portfolio_document(tenant: str = "acme", **overrides: Any) -> dict[str, Any]:
    """The project's sample portfolio as plain data, owned by `tenant`."""
    data = yaml.safe_load(SAMPLE_PORTFOLIO.read_text(encoding="utf-8"))
    data.update(tenant=tenant, **overrides)
    return data
