"""The names under which a plan itemises what it earns and what it costs.

A plan's objective is its revenue by market minus its costs by kind, each term an
expression of the model's columns, so the report adds up to the objective by construction
(`Plan.revenue_by_market`, `Plan.costs_by_kind`). Costs are positive EUR amounts.
"""

from __future__ import annotations

SUPPORT_PREMIUM = "support_premium"
"""Revenue: a support scheme's premium on every MWh injected [EUR] (before losses)."""
STORED_ENERGY = "stored_energy"
"""Revenue: a battery's end-of-day SoC less its start, at the value per MWh it was given
(`OptimiserOptions.soc_value_eur_per_mwh`) [EUR]: a valuation, not a market's money."""

LEVIES_AND_GRID_FEES = "levies_and_grid_fees"
"""Cost: levies, surcharges and grid fees on energy drawn from the grid [EUR]."""
WEAR = "wear"
"""Cost: storage degradation per MWh of throughput [EUR]."""
FUEL = "fuel"
"""Cost: fuel and CO2 of generated electricity [EUR]."""
STARTS = "starts"
"""Cost: unit starts [EUR]."""
SHIFT = "shift"
"""Cost: moving a flexible load's consumption away from its baseline [EUR]."""
LOST_SUPPORT_PREMIUM = "lost_support_premium"
"""Cost: the support premium withheld in the quarter hours a negative-price rule names [EUR]."""
EXPECTED_IMBALANCE = "expected_imbalance"
"""Cost: a residual below one volume step that no asset can follow, at the imbalance proxy
[EUR]; only where the fleet cannot reach a whole step (see `build._link_zones`)."""

COST_KINDS = (
    LEVIES_AND_GRID_FEES,
    WEAR,
    FUEL,
    STARTS,
    SHIFT,
    LOST_SUPPORT_PREMIUM,
    EXPECTED_IMBALANCE,
)
"""Every cost kind a plan may report, in report order."""
