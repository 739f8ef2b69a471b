"""The accounting (plan-rules.md, Accounting): revenue by market, costs by kind and the
objective, recomputed from positions, forecasts and the schedule, against the plan's own.

Revenue [EUR, + earned]: each market's positions at the forecast (`Held.revenue`), plus
the support premium. Costs [EUR, + paid]: levies and grid fees, wear, fuel, starts,
shift, lost support premium from the assets' rules. A planned residual earns its energy at
the zone's day-ahead forecast (intraday where no day-ahead price is given) under
``imbalance``, and costs the plan's stated spread on its size under `expected_imbalance`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from trading.optimiser.check import rules
from trading.optimiser.check.asset_rules import AssetOutcome
from trading.optimiser.check.market_rules import Held
from trading.optimiser.check.plan_input import PlanData
from trading.optimiser.check.violations import CENT, TOLERANCE, Findings

SUPPORT_PREMIUM = "support_premium"
IMBALANCE = "imbalance"
QUARTER_H = 0.25
"""Length of a quarter hour [h]."""
EXPECTED_IMBALANCE = "expected_imbalance"
COST_KINDS = (
    "levies_and_grid_fees",
    "wear",
    "fuel",
    "starts",
    "shift",
    "lost_support_premium",
    EXPECTED_IMBALANCE,
)
"""Every cost kind of plan-rules.md, in its order."""

SLACK_EUR = CENT + 1e-6
"""Allowed difference of a figure rounded to the cent from its recomputation [EUR]."""


def revenue_by_market(
    plan: PlanData, held: Sequence[Held], outcomes: Iterable[AssetOutcome]
) -> dict[str, float]:
    """Recomputed revenue per market (the positions' `market`), support premium and a
    planned residual's energy [EUR]."""
    revenue: dict[str, float] = defaultdict(float)
    for h in held:
        revenue[h.position.market] += h.revenue()
    for outcome in outcomes:
        for key, value in outcome.revenue.items():
            revenue[key] += value
    for zone, residual in plan.residual_mw.items():
        price = _energy_price(plan, zone)
        if price is not None and np.abs(residual).max() > TOLERANCE:
            revenue[IMBALANCE] += float((residual * price).sum() * QUARTER_H)
    return dict(revenue)


def _energy_price(plan: PlanData, zone: str) -> np.ndarray | None:
    """The zone's day-ahead forecast, else its intraday one [EUR/MWh]."""
    for market in ("day_ahead", "intraday"):
        found = plan.inputs.prices.get(market, {}).get(zone)
        if found is not None:
            return found
    return None


def costs_by_kind(plan: PlanData, outcomes: Iterable[AssetOutcome]) -> dict[str, float]:
    """Recomputed costs per kind [EUR, positive = paid]."""
    costs = dict.fromkeys(COST_KINDS, 0.0)
    for outcome in outcomes:
        for key, value in outcome.costs.items():
            costs[key] = costs.get(key, 0.0) + value
    spread = plan.inputs.residual_spread_eur_per_mwh
    for residual in plan.residual_mw.values():
        costs[EXPECTED_IMBALANCE] += float(np.abs(residual).sum() * QUARTER_H * spread)
    return costs


def check_accounting(
    plan: PlanData,
    held: Sequence[Held],
    outcomes: Mapping[str, AssetOutcome],
    findings: Findings,
) -> None:
    """A1 revenue by market, A2 costs by kind, A3 objective, A4 each position's revenue."""
    recomputed = revenue_by_market(plan, held, outcomes.values())
    _compare(rules.A1, plan.revenue_by_market, recomputed, findings)
    _compare(rules.A2, plan.costs_by_kind, costs_by_kind(plan, outcomes.values()), findings)
    own = sum(plan.revenue_by_market.values()) - sum(plan.costs_by_kind.values())
    if abs(plan.objective_eur - own) > SLACK_EUR:
        findings.add(
            rules.A3,
            "objective_eur",
            abs(plan.objective_eur - own),
            "EUR",
            f"objective_eur is {plan.objective_eur:.2f}; revenue_by_market less costs_by_kind "
            f"is {own:.2f}",
        )
    for h in held:
        expected = h.revenue()
        if abs(h.position.revenue_eur - expected) > SLACK_EUR:
            findings.add(
                rules.A4,
                h.subject,
                abs(h.position.revenue_eur - expected),
                "EUR",
                f"{h.position.field}.revenue_eur is {h.position.revenue_eur:.2f}; "
                f"{h.position.mw:g} MW at the forecast earn {expected:.2f}",
                at=h.first,
                until=h.end,
            )


def _compare(
    rule: str, reported: Mapping[str, float], recomputed: Mapping[str, float], findings: Findings
) -> None:
    """Each key of either: the plan's figure (0 if absent) against the recomputed one."""
    for key in sorted(set(reported) | set(recomputed)):
        given, expected = reported.get(key, 0.0), recomputed.get(key, 0.0)
        if abs(given - expected) > SLACK_EUR:
            findings.add(
                rule,
                key,
                abs(given - expected),
                "EUR",
                f"{key} is {given:.2f} in the plan, {expected:.2f} recomputed",
            )
