"""Routes of the portfolio: list the tenant's assets; compliance and admin save a portfolio.

A saved portfolio is validated by the regulatory rules of its countries; a refusal (422)
lists every problem naming asset, field, value and rule.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from regulatory.assets.base import service_note
from trading.api.deps import Reader, Services
from trading.api.edge import EdgeRoute
from trading.api.errors import ApiError
from trading.api.schemas import AssetList, AssetPublic, ErrorBody, PortfolioPublic
from trading.store import Actor, AssetRecord, Role

router = APIRouter(prefix="/v1/portfolio", tags=["portfolio"], route_class=EdgeRoute)

PORTFOLIO_ROLES = frozenset({Role.COMPLIANCE, Role.ADMIN})
"""Roles that may save a portfolio."""


def _portfolio_writer(actor: Reader) -> Actor:
    """The caller, if its role may save portfolios; else 403 naming the role."""
    if actor.role not in PORTFOLIO_ROLES:
        allowed = ", ".join(sorted(PORTFOLIO_ROLES))
        raise ApiError(
            403, "Forbidden", f"role={actor.role} may not save a portfolio; that needs {allowed}"
        )
    return actor


PortfolioWriter = Annotated[Actor, Depends(_portfolio_writer)]


def _asset(record: AssetRecord, on: date | None = None) -> AssetPublic:
    """The public view of `record`, with whether it is in service on `on` when given."""
    note = _service_note(record, on)
    in_service = None if on is None or record.commissioning_date is None else note is None
    return AssetPublic.of(record, in_service=in_service, service_note=note)


def _service_note(record: AssetRecord, on: date | None) -> str | None:
    """Why the asset is out of service on `on` (rule G1); None if it is in service, or if no
    day or no commissioning date is known."""
    if on is None or record.commissioning_date is None:
        return None
    return service_note(on, record.commissioning_date, record.decommissioning_date)


@router.get(
    "/assets",
    summary="The tenant's assets",
    responses={401: {"model": ErrorBody, "description": "missing, unknown or revoked key"}},
)
def list_assets(
    services: Services,
    actor: Reader,
    portfolio_id: str | None = None,
    kind: Annotated[str | None, Query(examples=["battery"])] = None,
    country: Annotated[str | None, Query(examples=["DE"])] = None,
    on: Annotated[
        date | None,
        Query(description="say for each asset whether it is in service on this day, YYYY-MM-DD"),
    ] = None,
) -> AssetList:
    """Every asset of the caller's tenant matching every filter given, with its
    commissioning and decommissioning dates; with `on`, whether it is in service that day."""
    found = services.repository.list_assets(
        actor.tenant_id, portfolio_id=portfolio_id, kind=kind, country=country
    )
    return AssetList(items=[_asset(a, on) for a in found], total=len(found), on=on)


@router.post(
    "/assets",
    status_code=201,
    summary="Save a whole portfolio document (a new version if it exists)",
    responses={
        401: {"model": ErrorBody, "description": "missing, unknown or revoked key"},
        403: {"model": ErrorBody, "description": "the key's role may not save portfolios"},
        422: {"model": ErrorBody, "description": "every problem: asset, field, value, rule"},
    },
)
def save_portfolio(
    services: Services,
    actor: PortfolioWriter,
    document: Annotated[dict[str, Any], Body(description="a portfolio document, as in YAML")],
) -> PortfolioPublic:
    """Validate the portfolio by its countries' regulatory rules and store it with its assets.

    Its ``tenant`` must be the caller's tenant. A refusal lists every problem at once.
    """
    record = services.repository.save_portfolio(actor, document)
    assets = services.repository.list_assets(actor.tenant_id, portfolio_id=record.id)
    return PortfolioPublic.of(record, assets=[_asset(a) for a in assets])
