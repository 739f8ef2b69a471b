"""Routes of markets: the countries with a plugin, and the products of a delivery day."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query

from markets.registry import UnknownMarketCountryError
from trading.api.deps import Reader, Services
from trading.api.edge import EdgeRoute
from trading.api.errors import ApiError
from trading.api.schemas import CountryMarkets, ErrorBody, MarketSummary, ProductList, ProductPublic

router = APIRouter(prefix="/v1/markets", tags=["markets"], route_class=EdgeRoute)


@router.get(
    "",
    summary="Countries with a market plugin, and their markets",
    responses={401: {"model": ErrorBody}},
)
def list_markets(services: Services, actor: Reader) -> list[CountryMarkets]:
    """Every country the registry knows, with the plugin's origin and markets."""
    registry = services.registry
    return [
        CountryMarkets(
            country=country,
            timezone=registry.get(country).timezone,
            origin=registry.origin(country),
            markets=[MarketSummary(market=m.market.value) for m in registry.get(country).markets],
        )
        for country in registry.countries()
    ]


@router.get(
    "/{country}/products",
    summary="Products of a delivery day",
    responses={
        401: {"model": ErrorBody},
        404: {"model": ErrorBody, "description": "no plugin for the country"},
        422: {"model": ErrorBody, "description": "bad day or market"},
    },
)
def list_products(
    services: Services,
    actor: Reader,
    country: Annotated[str, Path(max_length=8, examples=["DE"])],
    day: Annotated[date, Query(description="market-local delivery day, YYYY-MM-DD")],
    market: Annotated[str | None, Query(examples=["day_ahead"])] = None,
) -> ProductList:
    """Every product of `day` in `country` (optionally one market), rules resolved."""
    try:
        plugin = services.registry.get(country)
    except UnknownMarketCountryError as exc:
        raise ApiError(404, "NotFound", f"country={country!r}: {exc}") from None
    try:
        products = plugin.products(day, market)
    except KeyError as exc:
        raise ApiError(422, "InvalidRequest", f"market={market!r}: {exc.args[0]}") from None
    except (OverflowError, ValueError) as exc:
        raise ApiError(422, "InvalidRequest", f"day={day.isoformat()}: {exc}") from None
    return ProductList(
        country=plugin.country,
        day=day,
        products=[ProductPublic(**p.as_record()) for p in products],
    )
