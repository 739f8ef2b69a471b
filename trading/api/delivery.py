"""The desk's view of the engine's books, tenant-scoped: positions, the schedule in force,
delivery per ISP, settlement (`trading.engine`; written by the loop, read here).

Units: MW, MWh, EUR; + = injection or sale; times UTC. A day with nothing stored answers
an empty list (positions, delivery) or 404 naming the day (settlement); a missing or
malformed `day` is a 422 naming the parameter, as everywhere in the API.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from trading.api.deps import Reader, Services
from trading.api.edge import EdgeRoute
from trading.api.errors import ApiError
from trading.api.public import public_fields
from trading.api.schemas import ErrorBody
from trading.store.records import (
    MeteringRecord,
    PositionRecord,
    ScheduleVersionRecord,
    SettlementRecord,
)

router = APIRouter(prefix="/v1", tags=["delivery"], route_class=EdgeRoute)

_AUTH = {401: {"model": ErrorBody, "description": "missing, unknown or revoked key"}}
Day = Annotated[date, Query(description="delivery day, YYYY-MM-DD")]


class PositionPublic(public_fields(PositionRecord, exclude=("tenant_id",))):
    """One product of one accepted bid in the position book."""


class _Listing(BaseModel):
    model_config = ConfigDict(frozen=True)


class PositionList(_Listing):
    """The tenant's position book of a day."""

    day: date
    items: list[PositionPublic]
    total: int


class SchedulePublic(public_fields(ScheduleVersionRecord, exclude=("tenant_id",))):
    """A schedule version the engine issued, with the schedule itself (`document`)."""


class MeteringPublic(public_fields(MeteringRecord, exclude=("tenant_id",))):
    """One asset's energy in one ISP [MWh]."""


class DeliveryList(_Listing):
    """Per asset and ISP of a day: measured and (simulation) true energy; per zone and
    ISP: position, schedule, metered, imbalance (from the settlement, when settled)."""

    day: date
    metering: list[MeteringPublic]
    zones: list[dict[str, Any]] = Field(
        description="per zone and ISP: position, scheduled, delivered, metered, aFRR "
        "requested, imbalance MWh and EUR"
    )


class SettlementPublic(public_fields(SettlementRecord, exclude=("tenant_id",))):
    """A settled day: revenue by market, costs by kind, imbalance, net, and its ISP rows."""


@router.get("/positions", summary="The position book of a day", responses=_AUTH)
def positions(services: Services, actor: Reader, day: Day) -> PositionList:
    """Every accepted product of the caller's tenant delivering on `day`."""
    found = services.repository.list_positions(actor.tenant_id, day)
    return PositionList(day=day, items=[PositionPublic.of(p) for p in found], total=len(found))


@router.get(
    "/schedules/current",
    summary="The schedule version in force",
    responses={**_AUTH, 404: {"model": ErrorBody, "description": "no schedule issued yet"}},
)
def current_schedule(services: Services, actor: Reader) -> SchedulePublic:
    """The latest schedule version the engine issued for the caller's tenant."""
    found = services.repository.current_schedule(actor.tenant_id)
    if found is None:
        raise ApiError(404, "Not Found", "no schedule has been issued for this tenant yet")
    return SchedulePublic.of(found)


@router.get("/delivery", summary="Metered delivery of a day per ISP", responses=_AUTH)
def delivery(services: Services, actor: Reader, day: Day) -> DeliveryList:
    """Per asset and ISP the metered energy; per zone and ISP the settled figures."""
    metering = services.repository.list_metering(actor.tenant_id, day)
    settled = services.repository.list_settlements(actor.tenant_id, day)
    rows = [row for s in settled for row in s.document.get("rows", [])]
    return DeliveryList(day=day, metering=[MeteringPublic.of(m) for m in metering], zones=rows)


@router.get(
    "/settlement",
    summary="The books of a settled day",
    responses={**_AUTH, 404: {"model": ErrorBody, "description": "the day is not settled"}},
)
def settlement(services: Services, actor: Reader, day: Day) -> list[SettlementPublic]:
    """Per portfolio: revenue by market, costs by kind, imbalance cost and net [EUR]."""
    found = services.repository.list_settlements(actor.tenant_id, day)
    if not found:
        raise ApiError(404, "Not Found", f"day={day}: nothing settled for this tenant")
    return [SettlementPublic.of(s) for s in found]
