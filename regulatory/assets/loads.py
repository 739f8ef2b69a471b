"""Flexible consumers: industrial loads, heat pumps and EV fleets.

Consumption ratings are positive magnitudes; as net injection they are negative.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

from pydantic import Field

from regulatory.assets.base import AssetBase, energy_requirement_issues, min_not_above_max
from regulatory.problems import FieldIssue, format_value
from regulatory.windows import (
    DAY_MINUTES,
    DailyWindow,
    EnergyRequirement,
    HeatDemand,
    overlap_minutes,
)

DAY_NAMES = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}
"""Short names of the ISO weekdays, for messages."""


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
    baseline_mw: float | None = Field(
        default=None,
        ge=0,
        description=(
            "consumption the process would run at without flexibility [MW], which shift costs "
            "are counted from; None = the energy requirements spread evenly over their windows"
        ),
    )

    def injection_bounds_mw(self) -> tuple[float, float]:
        """Off (0 MW) up to full consumption; while on, at least `consumption_min_mw`."""
        return (-self.consumption_max_mw, 0.0)

    def flexible_range_mw(self) -> float:
        """The range a running load can move in, which a reserve offer can use [MW]."""
        return self.consumption_max_mw - self.consumption_min_mw

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
        if self.baseline_mw is not None:
            yield from min_not_above_max(
                "baseline_mw", self.baseline_mw, "consumption_max_mw", self.consumption_max_mw
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
    thermal_storage_initial_mwh_th: float | None = Field(
        default=None,
        ge=0,
        description="heat stored when a planning run starts [MWh_th]; None = half the storage",
    )
    heat_demand: tuple[HeatDemand, ...] = Field(
        default=(),
        description=(
            "heat the site needs within daily windows [MW_th], met by cop x power and the "
            "storage; overlapping windows add up. Replaces energy_requirements"
        ),
    )

    def injection_bounds_mw(self) -> tuple[float, float]:
        return (-self.power_max_mw, 0.0)

    def rating_field(self) -> str:
        return "power_max_mw"

    def heat_max_mw_th(self) -> float:
        """Most heat the pump makes [MW_th]: cop x power_max_mw."""
        return self.cop * self.power_max_mw

    def _consistency_issues(self) -> Iterator[FieldIssue]:
        yield from min_not_above_max(
            "power_min_mw", self.power_min_mw, "power_max_mw", self.power_max_mw
        )
        yield from energy_requirement_issues(
            self.energy_requirements, self.power_max_mw, "power_max_mw"
        )
        if self.thermal_storage_initial_mwh_th is not None:
            yield from min_not_above_max(
                "thermal_storage_initial_mwh_th",
                self.thermal_storage_initial_mwh_th,
                "thermal_storage_mwh_th",
                self.thermal_storage_mwh_th,
            )
        if self.heat_demand and self.energy_requirements:
            yield FieldIssue(
                "energy_requirements",
                [w.label() for w in self.energy_requirements],
                "cannot be given together with heat_demand: drop energy_requirements (electric "
                "MWh) and keep heat_demand (the heat the site needs), or drop heat_demand",
            )
        yield from self._heat_rate_issues()
        yield from self._daily_heat_issues()

    def _heat_rate_issues(self) -> Iterator[FieldIssue]:
        """Each window's heat must come from the pump at full power plus the full storage."""
        for index, window in enumerate(self.heat_demand):
            limit = self.heat_max_mw_th() + self.thermal_storage_mwh_th / window.duration_h
            if window.heat_mw_th > limit + 1e-9:
                yield FieldIssue(
                    f"heat_demand[{index}].heat_mw_th",
                    window.heat_mw_th,
                    f"exceeds the {limit:g} MW_th that cop={format_value(self.cop)} x "
                    f"power_max_mw={format_value(self.power_max_mw)} plus "
                    f"thermal_storage_mwh_th={format_value(self.thermal_storage_mwh_th)} "
                    f"spread over the {window.duration_h:g} h window {window.label()} supply",
                )

    def _daily_heat_issues(self) -> Iterator[FieldIssue]:
        """A calendar day's heat demand must not exceed what the pump makes in 24 h."""
        if not self.heat_demand:
            return
        daily = heat_by_weekday(self.heat_demand)
        day = max(daily, key=lambda d: daily[d])
        limit = self.heat_max_mw_th() * 24.0
        if daily[day] > limit + 1e-6:
            yield FieldIssue(
                "heat_demand",
                round(daily[day], 6),
                f"MWh_th on {DAY_NAMES[day]} exceeds the {limit:g} MWh_th that "
                f"cop={format_value(self.cop)} x power_max_mw={format_value(self.power_max_mw)} "
                "make in 24 h",
            )


def heat_by_weekday(windows: tuple[HeatDemand, ...]) -> dict[int, float]:
    """Heat demanded on each ISO weekday's calendar day, 00:00 to 24:00 [MWh_th].

    A window that runs past midnight counts on the day each of its hours falls on.
    """
    daily = {}
    for day in range(1, 8):
        span = ((day - 1) * DAY_MINUTES, day * DAY_MINUTES)
        daily[day] = sum(
            w.heat_mw_th * overlap_minutes(span, (first, end)) / 60.0
            for w in windows
            for _, first, end in w.week_spans()
        )
    return daily


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
        yield from overlapping_sessions(self.energy_requirements)


def overlapping_sessions(windows: tuple[DailyWindow, ...]) -> Iterator[FieldIssue]:
    """Plug-in sessions must not overlap: each is one group of vehicles arriving and leaving.

    Compared over the weekly cycle, so a session running past midnight overlaps the next
    day's sessions too. Each later window is named once, with the first it overlaps.
    """
    spans = [
        (i, day, first, end) for i, w in enumerate(windows) for day, first, end in w.week_spans()
    ]
    reported: set[int] = set()
    for i, day_i, first_i, end_i in spans:
        for j, day_j, first_j, end_j in spans:
            if j <= i or j in reported:
                continue
            if overlap_minutes((first_i, end_i), (first_j, end_j)) > 0:
                reported.add(j)
                yield FieldIssue(
                    f"energy_requirements[{j}]",
                    windows[j].label(),
                    f"on {DAY_NAMES[day_j]} overlaps energy_requirements[{i}] "
                    f"({windows[i].label()} on {DAY_NAMES[day_i]}): a fleet's plug-in sessions "
                    "must not overlap",
                )
