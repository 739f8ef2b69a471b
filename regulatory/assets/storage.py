"""Stationary batteries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

from pydantic import Field

from regulatory.assets.base import AssetBase, min_not_above_max
from regulatory.problems import FieldIssue

Efficiency = Field(gt=0, le=1)


class Battery(AssetBase):
    """A stationary battery: charges from and discharges into the grid.

    Efficiencies are one-way: storing 1 MWh drawn from the grid adds
    ``efficiency_charge`` MWh to the state of charge; taking 1 MWh out of storage injects
    ``efficiency_discharge`` MWh.
    """

    kind: Literal["battery"] = "battery"
    power_charge_mw: float = Field(gt=0, description="max withdrawal while charging [MW]")
    power_discharge_mw: float = Field(gt=0, description="max injection while discharging [MW]")
    energy_mwh: float = Field(gt=0, description="usable energy content at 100 % SoC [MWh]")
    soc_min_mwh: float = Field(default=0.0, ge=0, description="lowest allowed SoC [MWh]")
    soc_max_mwh: float | None = Field(
        default=None, gt=0, description="highest allowed SoC [MWh]; None = energy_mwh"
    )
    soc_initial_mwh: float | None = Field(
        default=None, ge=0, description="SoC at the start of a planning run [MWh]; None = mid"
    )
    efficiency_charge: float = Efficiency
    efficiency_discharge: float = Efficiency
    degradation_cost_eur_per_mwh: float = Field(
        default=0.0,
        ge=0,
        description="wear cost per MWh of throughput, charged plus discharged [EUR/MWh]",
    )
    max_cycles_per_day: float | None = Field(
        default=None, gt=0, description="warranty limit on full equivalent cycles per day"
    )

    withdraws_energy: ClassVar[bool] = True
    limited_energy: ClassVar[bool] = True

    def injection_bounds_mw(self) -> tuple[float, float]:
        return (-self.power_charge_mw, self.power_discharge_mw)

    def rating_field(self) -> str:
        return (
            "power_discharge_mw"
            if self.power_discharge_mw >= self.power_charge_mw
            else ("power_charge_mw")
        )

    def soc_bounds_mwh(self) -> tuple[float, float]:
        """(lowest, highest) allowed state of charge [MWh]."""
        high = self.energy_mwh if self.soc_max_mwh is None else self.soc_max_mwh
        return (self.soc_min_mwh, high)

    def _consistency_issues(self) -> Iterator[FieldIssue]:
        yield from min_not_above_max("soc_min_mwh", self.soc_min_mwh, "energy_mwh", self.energy_mwh)
        if self.soc_max_mwh is not None:
            yield from min_not_above_max(
                "soc_max_mwh", self.soc_max_mwh, "energy_mwh", self.energy_mwh
            )
            if self.soc_min_mwh <= self.energy_mwh:
                yield from min_not_above_max(
                    "soc_min_mwh", self.soc_min_mwh, "soc_max_mwh", self.soc_max_mwh
                )
        low, high = self.soc_bounds_mwh()
        if (
            self.soc_initial_mwh is not None
            and low <= high
            and not (low - 1e-9 <= self.soc_initial_mwh <= high + 1e-9)
        ):
            yield _outside("soc_initial_mwh", self.soc_initial_mwh, low, high)


def _outside(field: str, value: float, low: float, high: float) -> FieldIssue:
    return FieldIssue(field, value, f"is outside the SoC limits [{low:g}, {high:g}] MWh")
