"""Generators: PV, wind and combined heat and power (CHP)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from regulatory.assets.base import AssetBase, SupportContract, min_not_above_max
from regulatory.problems import FieldIssue


class _Renewable(AssetBase):
    """Weather-driven generation; can only inject, and only reduce output (curtail)."""

    rated_power_mw: float = Field(gt=0, description="max AC injection at the grid [MW]")
    curtailable: bool = Field(
        default=True, description="whether the plant can be remotely curtailed"
    )
    support: SupportContract | None = Field(
        default=None, description="market premium or other support; None = merchant"
    )

    def injection_bounds_mw(self) -> tuple[float, float]:
        return (0.0, self.rated_power_mw)

    def flexible_range_mw(self) -> float:
        """A non-curtailable plant offers no controllable range [MW]."""
        return self.rated_power_mw if self.curtailable else 0.0

    def rating_field(self) -> str:
        return "rated_power_mw"


class PV(_Renewable):
    """A photovoltaic plant."""

    kind: Literal["pv"] = "pv"
    dc_capacity_mwp: float | None = Field(
        default=None, gt=0, description="installed module capacity [MWp], for yield models"
    )


class Wind(_Renewable):
    """An onshore wind farm."""

    kind: Literal["wind"] = "wind"
    turbine_type: str | None = Field(
        default=None, description="turbine model, e.g. 'E-82/2300', for power-curve models"
    )
    turbine_count: int = Field(default=1, ge=1)
    hub_height_m: float | None = Field(default=None, gt=0)


class CHP(AssetBase):
    """A combined heat and power unit; injects between min stable load and max when on."""

    kind: Literal["chp"] = "chp"
    power_max_mw: float = Field(gt=0, description="max electrical output [MW]")
    power_min_stable_mw: float = Field(
        default=0.0, ge=0, description="lowest stable electrical output while running [MW]"
    )
    min_up_time_h: float = Field(default=0.0, ge=0, description="min run time once started [h]")
    min_down_time_h: float = Field(default=0.0, ge=0, description="min rest once stopped [h]")
    start_cost_eur: float = Field(default=0.0, ge=0, description="cost of one start [EUR]")
    fuel_cost_eur_per_mwh: float = Field(
        ge=0, description="fuel and CO2 cost per MWh of electricity produced [EUR/MWh_el]"
    )
    support: SupportContract | None = Field(
        default=None, description="CHP bonus (e.g. KWKG) or other support; None = none"
    )

    def injection_bounds_mw(self) -> tuple[float, float]:
        return (0.0, self.power_max_mw)

    def rating_field(self) -> str:
        return "power_max_mw"

    def _consistency_issues(self) -> Iterator[FieldIssue]:
        yield from min_not_above_max(
            "power_min_stable_mw", self.power_min_stable_mw, "power_max_mw", self.power_max_mw
        )
