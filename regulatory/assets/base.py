"""What every asset has, whatever its kind.

Physical parameters use MW, MWh and hours and carry the unit in their name. Sign convention
for power: positive = injection into the grid, negative = withdrawal. Ratings are given as
positive magnitudes (``power_charge_mw=5`` means the asset can withdraw up to 5 MW).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from regulatory.problems import FieldIssue, format_value, raise_if_inconsistent
from regulatory.windows import AvailabilityWindow, EnergyRequirement

AssetId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"),
]
"""Asset and site identifiers: letters, digits, '.', '_' and '-', at most 64 characters."""


class BalancingProduct(StrEnum):
    """Balancing services an asset can be prequalified for."""

    FCR = "fcr"
    """Frequency containment reserve, symmetric."""
    AFRR_POS = "afrr_pos"
    """Automatic frequency restoration reserve, upward (more injection)."""
    AFRR_NEG = "afrr_neg"
    """Automatic frequency restoration reserve, downward (less injection)."""


class Metering(StrEnum):
    """How the asset's grid exchange is metered."""

    INTERVAL = "interval"
    """Interval (load-profile) metering, 15-min values; needed for balancing and DR."""
    STANDARD_PROFILE = "standard_profile"
    """Settled on a standard load profile; no measured quarter-hour values."""


class Prequalification(BaseModel):
    """A TSO's prequalification of this asset for one balancing product."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product: BalancingProduct
    mw: float = Field(gt=0, description="prequalified power [MW]")
    certified_on: date | None = Field(
        default=None, description="date the certificate took effect; None = since commissioning"
    )


class SupportContract(BaseModel):
    """Operating support the asset receives (market premium, CHP bonus, CfD ...).

    Which scheme it is, and what happens at negative prices, follows from the country's
    treatment; the asset only records its own contract facts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    reference_value_eur_per_mwh: float = Field(
        description="strike price / 'anzulegender Wert' of the premium [EUR/MWh]"
    )


class AssetBase(BaseModel, ABC):
    """Fields every asset kind shares.

    Subclasses add physical parameters and yield cross-field problems from
    `_consistency_issues`; all of them are raised together.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    id: AssetId
    name: str | None = None
    site: AssetId = Field(description="id of the site (grid connection) the asset sits behind")
    commissioning_date: date = Field(
        description="first day in service; several countries' rules key on it (fees, support)"
    )
    decommissioning_date: date | None = Field(
        default=None,
        description="first day out of service, after commissioning_date; None = no end date",
    )
    metering: Metering = Metering.INTERVAL
    prequalifications: tuple[Prequalification, ...] = ()
    availability: tuple[AvailabilityWindow, ...] = Field(
        default=(), description="when the asset may be dispatched; empty = always"
    )
    ramp_up_mw_per_min: float | None = Field(
        default=None, gt=0, description="max increase of net injection [MW/min]; None = no limit"
    )
    ramp_down_mw_per_min: float | None = Field(
        default=None, gt=0, description="max decrease of net injection [MW/min]; None = no limit"
    )

    withdraws_energy: ClassVar[bool] = False
    """Whether the asset takes energy from the grid (charging levies and fees may apply)."""
    limited_energy: ClassVar[bool] = False
    """Whether the asset's balancing delivery is limited by stored energy (LER)."""

    @abstractmethod
    def injection_bounds_mw(self) -> tuple[float, float]:
        """(lowest, highest) net injection the asset can reach [MW]; negative = withdrawal."""

    def rating_mw(self) -> float:
        """Largest power magnitude at the grid connection [MW]."""
        low, high = self.injection_bounds_mw()
        return max(abs(low), abs(high))

    @abstractmethod
    def rating_field(self) -> str:
        """Name of the field that sets `rating_mw`, for error messages."""

    def flexible_range_mw(self) -> float:
        """Span between lowest and highest net injection [MW]; bounds any balancing offer."""
        low, high = self.injection_bounds_mw()
        return high - low

    def service_note(self, day: date) -> str | None:
        """Why the asset is out of service on `day`, or None when it is in service.

        In service means ``commissioning_date <= day < decommissioning_date`` (no upper
        bound without a decommissioning date); see `docs/plan-rules.md`, rule G1.
        """
        return service_note(day, self.commissioning_date, self.decommissioning_date)

    def in_service(self, day: date) -> bool:
        """Whether the asset may be traded and dispatched on `day` (rule G1)."""
        return self.service_note(day) is None

    def _consistency_issues(self) -> Iterator[FieldIssue]:
        """Cross-field checks of this kind; overridden by kinds that have them."""
        return iter(())

    @model_validator(mode="after")
    def _check_consistency(self) -> AssetBase:
        raise_if_inconsistent([*self._consistency_issues(), *self._common_issues()])
        return self

    def _common_issues(self) -> Iterator[FieldIssue]:
        yield from self._service_date_issues()
        yield from self._prequalification_issues()

    def _service_date_issues(self) -> Iterator[FieldIssue]:
        """The decommissioning date, if any, must come after the commissioning date."""
        end = self.decommissioning_date
        if end is not None and end <= self.commissioning_date:
            yield FieldIssue(
                "decommissioning_date",
                end.isoformat(),
                f"is not after commissioning_date={self.commissioning_date.isoformat()} "
                "(it is the first day out of service)",
            )

    def _prequalification_issues(self) -> Iterator[FieldIssue]:
        """Each product once, within the flexible range, certified while in service."""
        seen: set[BalancingProduct] = set()
        span = self.flexible_range_mw()
        for index, pq in enumerate(self.prequalifications):
            where = f"prequalifications[{index}]"
            if pq.product in seen:
                yield FieldIssue(f"{where}.product", pq.product.value, "is listed twice")
            seen.add(pq.product)
            limit = span / 2 if pq.product is BalancingProduct.FCR else span
            rule = (
                "exceeds half the flexible range (FCR is symmetric)"
                if pq.product is BalancingProduct.FCR
                else "exceeds the flexible range"
            )
            if pq.mw > limit + 1e-9:
                yield FieldIssue(f"{where}.mw", pq.mw, f"{rule} of {limit:g} MW")
            if pq.certified_on is not None and pq.certified_on < self.commissioning_date:
                yield FieldIssue(
                    f"{where}.certified_on",
                    pq.certified_on.isoformat(),
                    f"is before commissioning_date={self.commissioning_date.isoformat()}",
                )
            end = self.decommissioning_date
            if pq.certified_on is not None and end is not None and pq.certified_on >= end:
                yield FieldIssue(
                    f"{where}.certified_on",
                    pq.certified_on.isoformat(),
                    f"is not before decommissioning_date={end.isoformat()}",
                )


def service_note(day: date, commissioning: date, decommissioning: date | None) -> str | None:
    """Why an asset with these dates is out of service on `day`; None when in service.

    `decommissioning` is the first day out of service (None = no end). The text names the
    day and the date that rules it out, e.g. ``not in service on 2026-06-13: commissioned
    2027-02-01``.
    """
    cause = out_of_service_cause(day, commissioning, decommissioning)
    return None if cause is None else f"not in service on {day.isoformat()}: {cause}"


def out_of_service_cause(
    day: date, commissioning: date, decommissioning: date | None
) -> str | None:
    """The date that puts `day` outside ``[commissioning, decommissioning)``, as text
    (``commissioned 2027-02-01`` or ``decommissioned 2026-01-01``); None when inside."""
    if day < commissioning:
        return f"commissioned {commissioning.isoformat()}"
    if decommissioning is not None and day >= decommissioning:
        return f"decommissioned {decommissioning.isoformat()}"
    return None


def energy_requirement_issues(
    requirements: tuple[EnergyRequirement, ...], max_withdrawal_mw: float, power_field: str
) -> Iterator[FieldIssue]:
    """Each requirement must be drawable within its window at the asset's max withdrawal."""
    for index, req in enumerate(requirements):
        reachable = max_withdrawal_mw * req.duration_h
        if req.energy_mwh > reachable + 1e-9:
            power = f"{power_field}={format_value(max_withdrawal_mw)}"
            yield FieldIssue(
                f"energy_requirements[{index}].energy_mwh",
                req.energy_mwh,
                f"exceeds the {reachable:g} MWh that {power} can draw "
                f"in the {req.duration_h:g} h window {req.label()}",
            )


def min_not_above_max(
    low_field: str, low: float, high_field: str, high: float
) -> Iterator[FieldIssue]:
    """`low` must not exceed `high`."""
    if low > high + 1e-9:
        yield FieldIssue(low_field, low, f"exceeds {high_field}={format_value(high)}")


AssetKind = Literal["battery", "pv", "wind", "chp", "flexible_load", "heat_pump", "ev_fleet"]
