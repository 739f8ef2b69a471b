"""What a plan is: positions, bids, schedule, the accounts and the inputs it was made on.

`Plan` is what `optimise` returns; `trading.optimiser.plan_json.plan_record` writes it in
the documented JSON form (`docs/plan-format.md`), which the plan checker reads.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from dispatch.schedule import Schedule
from markets.bids import Bid
from trading.optimiser.inputs import ChpState
from trading.optimiser.solver import SolverReport


class Position(BaseModel):
    """One product's planned position: energy sold (+) or bought (-), or capacity held."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: str
    market: str
    zone: str
    pool: str | None = None
    direction: str | None = None
    mw: float
    price_forecast: float = Field(description="EUR/MWh for energy, EUR/MW/h for capacity")
    revenue_eur: float
    delivery_start: str = Field(description="UTC, ISO 8601 with Z")
    delivery_end: str = Field(description="UTC, ISO 8601 with Z")


class PlanInputs(BaseModel):
    """Everything a plan was made on besides the portfolio file (`docs/plan-format.md`)."""

    model_config = ConfigDict(extra="forbid")

    initial_soc_mwh: dict[str, float] = Field(
        default_factory=dict, description="batteries and EV fleets: stored energy at 00:00"
    )
    final_soc_mwh: dict[str, float] = Field(
        default_factory=dict, description="batteries: state of charge to reach by the end"
    )
    initial_heat_mwh_th: dict[str, float] = Field(default_factory=dict)
    ev_owed_mwh: dict[str, float] = Field(
        default_factory=dict, description="EV fleets: energy still owed to the session at 00:00"
    )
    unit_initial: dict[str, ChpState] = Field(
        default_factory=dict, description="units with minimum up/down times: state at 00:00"
    )
    commitments: dict[str, float] = Field(default_factory=dict)
    available_mw: dict[str, list[float]] = Field(
        default_factory=dict, description="pv and wind: available power per quarter hour"
    )
    available_source: dict[str, str] = Field(default_factory=dict)
    prices: dict[str, dict[str, list[float]]] = Field(
        default_factory=dict,
        description="forecasts per market and zone (zone/direction for aFRR), per quarter hour",
    )
    residual_spread_eur_per_mwh: float = Field(
        default=0.0, description="expected imbalance spread a planned residual is charged [EUR/MWh]"
    )


class Plan(BaseModel):
    """The optimiser's answer for one portfolio and delivery day.

    `objective_eur` = sum of `revenue_by_market` - sum of `costs_by_kind`, to the cent
    (each item rounded to the cent first); the solver's own figure is `solver.objective_eur`.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    plan_id: str
    portfolio_id: str
    day: date
    timezone: str = Field(description="time zone of the horizon (delivery day)")
    markets: tuple[str, ...]
    objective_eur: float
    revenue_by_market: dict[str, float] = Field(
        description="expected revenue per market at the forecast prices, support premiums "
        "under 'support_premium' [EUR]"
    )
    costs_by_kind: dict[str, float] = Field(
        description="costs per kind (trading.optimiser.accounts.COST_KINDS) [EUR, positive]"
    )
    revenue_by_asset: dict[str, float]
    positions: list[Position]
    bids: list[Bid]
    schedule: Schedule
    solver: SolverReport
    excluded_assets: dict[str, str] = Field(
        default_factory=dict, description="assets not in service on the day, and why"
    )
    inputs: PlanInputs = Field(default_factory=PlanInputs)
    states: dict[str, dict[str, list[float]]] = Field(
        default_factory=dict, description="the model's energy and on/off states per asset"
    )
    end_state: dict[str, dict[str, float | bool]] = Field(
        default_factory=dict, description="each asset's state at the end of the day"
    )
    residual_mw: dict[str, list[float]] = Field(
        default_factory=dict,
        description="per zone with any: injection above (+) or below (-) the whole-step "
        "positions per quarter hour, settled as imbalance; only where no asset of the "
        "zone can follow a step [MW]",
    )
    notes: list[str] = Field(default_factory=list)

    @property
    def residual_mwh(self) -> dict[str, float]:
        """Per zone: the residual's energy over the day [MWh, + long]."""
        return {z: round(sum(v) * 0.25, 6) for z, v in self.residual_mw.items()}

    @property
    def revenue_eur(self) -> float:
        """Sum of the revenue by market [EUR]."""
        return round(sum(self.revenue_by_market.values()), 2)

    @property
    def costs_eur(self) -> float:
        """Sum of the costs by kind [EUR]."""
        return round(sum(self.costs_by_kind.values()), 2)
