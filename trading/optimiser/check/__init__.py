"""An independent plan checker: every rule of `docs/plan-rules.md`, re-derived from a
portfolio file and a plan's JSON (`docs/plan-format.md`) alone.

It imports nothing of the optimiser's model (`trading.optimiser.assets`, `build`, `plan`
...): it is a second formulation of the same rules, so that where the optimiser and the
checker disagree, a test finds which one is wrong. It uses `regulatory` (assets,
treatments, windows), `markets` (products, bids and their validation, calendars), numpy
and pandas.

    from trading.optimiser.check import check_plan, check_plan_files
    violations = check_plan_files("portfolio.yaml", "plan.json")

`vpp plan check --portfolio P --plan plan.json [--json]` runs it from the command line.
"""

from trading.optimiser.check.checker import check_plan, check_plan_files
from trading.optimiser.check.plan_input import FORMAT, PlanFormatError
from trading.optimiser.check.rules import ALL as RULES
from trading.optimiser.check.violations import CENT, TOLERANCE, Violation

__all__ = [
    "CENT",
    "FORMAT",
    "RULES",
    "TOLERANCE",
    "PlanFormatError",
    "Violation",
    "check_plan",
    "check_plan_files",
]
