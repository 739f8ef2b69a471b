"""Flexible consumers: industrial loads, heat pumps and EV fleets.

Consumption ratings are positive magnitudes; as net injection they are negative.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

from pydantic import Field

from regulatory.assets.base import AssetBase, energy_requirement_issues, min_not_above_max
from regulatory.problems import FieldIssue, format_value
from regulatory.windows import EnergyRequirement


class _Consumer(AssetBase):
    """Shared fields of consumers whose demand can be shifted within windows."""

    energy_requirements: tuple[EnergyRequirement, ...] = Field(
        default=(), description="energy that must be drawn within daily windows [MWh]"
    )
    min_up_time_h: float = Field(default=0.0, ge=0, description="min run time once on [h]")
    min_down_time_h: float = Field(default=0.0, ge=0, description="min off time once off [h]")

    withdraws_energy: ClassVar[bool] = True


class FlexibleLoad(_Consumer):
    """An industrial process whose consumption can move between a floor and a ceiling."""

    kind: Literal["flexible_load"] = "flexible_load"
    consumption_max_mw: float = Field(gt=0, description="highest consumption [MW]")
    consumption_min_mw: float = Field(default=0.0, ge=0, description="lowest consumption [MW]")
    shift_cost_eur_per_mwh: float = Field(
        default=0.0, ge=0, description="cost of moving 1 MWh away from the baseline [EUR/MWh]"
    )

    def injection_bounds_mw(self) -> tuple[float, float]:
        return (-self.consumption_max_mw, -self.consumption_min_mw)

    def rating_field(self) -> str:
        return "consumption_max_mw"

    def _consistency_issues(self) -> Iterator[FieldIssue]:
        yield from min_not_above_max(
            "consumption_min_mw",
            self.consumption_min_mw,
            "consumption_max_mw",
            self.consumption_max_mw,
        )
        yield from energy_requirement_issues(
            self.energy_requirements, self.consumption_max_mw, "consumption_max_mw"
        )


class HeatPump(_Consumer):
    """A heat pump with thermal storage: electricity use shifts within the heat demand."""

    kind: Literal["heat_pump"] = "heat_pump"
    power_max_mw: float = Field(gt=0, description="highest electrical consumption [MW]")
    power_min_mw: float = Field(
        default=0.0, ge=0, description="lowest electrical consumption while running [MW]"
    )
    cop: float = Field(gt=0, le=10, description="coefficient of performance [MW_th per MW_el]")
    thermal_storage_mwh_th: float = Field(
        default=0.0, ge=0, description="heat storage that decouples power from heat [MWh_th]"
    )

    def injection_bounds_mw(self) -> tuple[float, float]:
        return (-self.power_max_mw, 0.0)

    def rating_field(self) -> str:
        return "power_max_mw"

    def _consistency_issues(self) -> Iterator[FieldIssue]:
        yield from min_not_above_max(
            "power_min_mw", self.power_min_mw, "power_max_mw", self.power_max_mw
        )
        yield from energy_requirement_issues(
            self.energy_requirements, self.power_max_mw, "power_max_mw"
        )


class EVFleet(_Consumer):
    """A fleet of electric vehicles charged (and, with V2G, discharged) as one asset.

    `energy_requirements` are the plug-in sessions: energy the vehicles must receive between
    arrival (`start_local`) and departure (`end_local`).
    """

    kind: Literal["ev_fleet"] = "ev_fleet"
    vehicle_count: int = Field(ge=1)
    charge_power_max_mw: float = Field(gt=0, description="aggregate charging limit [MW]")
    discharge_power_max_mw: float = Field(
        default=0.0, ge=0, description="aggregate V2G discharge limit [MW]; 0 = no V2G"
    )
    energy_mwh: float = Field(gt=0, description="aggregate battery capacity plugged in [MWh]")
    efficiency_charge: float = Field(default=0.92, gt=0, le=1)
    efficiency_discharge: float = Field(default=0.92, gt=0, le=1)

    limited_energy: ClassVar[bool] = True

    def injection_bounds_mw(self) -> tuple[float, float]:
        return (-self.charge_power_max_mw, self.discharge_power_max_mw)

    def rating_field(self) -> str:
        return (
            "charge_power_max_mw"
            if (self.charge_power_max_mw >= self.discharge_power_max_mw)
            else "discharge_power_max_mw"
        )

    def _consistency_issues(self) -> Iterator[FieldIssue]:
        yield from energy_requirement_issues(
            self.energy_requirements, self.charge_power_max_mw, "charge_power_max_mw"
        )
        for index, req in enumerate(self.energy_requirements):
            if req.energy_mwh > self.energy_mwh + 1e-9:
                yield FieldIssue(
                    f"energy_requirements[{index}].energy_mwh",
                    req.energy_mwh,
                    f"exceeds the fleet's energy_mwh={format_value(self.energy_mwh)}",
                )
