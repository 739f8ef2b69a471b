"""A plan as the documented JSON (`vpp-plan/2`, `docs/plan-format.md`).

`vpp optimise --json` prints it; `vpp plan check` and `trading.optimiser.check` read it.
"""

from __future__ import annotations

from typing import Any

from markets.calendar import iso_z
from trading.optimiser.result import Plan

FORMAT = "vpp-plan/2"


def plan_record(plan: Plan, notes: list[str] | None = None) -> dict[str, Any]:
    """The plan in the documented JSON form; `notes` are added to the plan's own."""
    schedule = plan.schedule
    return {
        "format": FORMAT,
        "plan_id": plan.plan_id,
        "portfolio": plan.portfolio_id,
        "day": plan.day.isoformat(),
        "timezone": plan.timezone,
        "markets": list(plan.markets),
        "objective_eur": plan.objective_eur,
        "revenue_by_market": dict(plan.revenue_by_market),
        "costs_by_kind": dict(plan.costs_by_kind),
        "revenue_by_asset": dict(plan.revenue_by_asset),
        "excluded_assets": dict(plan.excluded_assets),
        "inputs": plan.inputs.model_dump(mode="json"),
        "positions": [p.model_dump(mode="json") for p in plan.positions],
        "bids": [bid.model_dump(mode="json") for bid in plan.bids],
        "schedule": {
            "quarter_hours": [iso_z(t) for t in schedule.index],
            "injection_mw": {k: list(v) for k, v in schedule.injection_mw.items()},
            "bands_mw": {
                asset: {product: list(v) for product, v in products.items()}
                for asset, products in schedule.bands_mw.items()
            },
            "residual_mw": dict(plan.residual_mw),
            "states": plan.states,
        },
        "end_state": plan.end_state,
        "solver": {
            "status": plan.solver.status,
            "gap": plan.solver.gap,
            "objective_eur": plan.solver.objective_eur,
            "bound_eur": plan.solver.bound_eur,
            "build_s": round(plan.solver.build_s, 3),
            "solve_s": round(plan.solver.solve_s, 3),
            "variables": plan.solver.variables,
            "constraints": plan.solver.constraints,
            "integer_variables": plan.solver.integer_variables,
            "parts": plan.solver.parts,
            "highs_calls": plan.solver.highs_calls,
        },
        "notes": [*plan.notes, *(notes or [])],
    }
