"""Explain an infeasible model: which constraint families, for which assets, cannot hold.

Every row of an elastic family gets a slack that may violate it at a cost of one per unit;
the elastic model minimises total violation. The rows that still need slack in its
solution are the ones the inputs cannot satisfy together; they are reported by family
(what the rows mean) and subject (the asset, site, zone or pool), largest first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from trading.optimiser.linear import LinearModel
from trading.optimiser.solver import SolverOptions, solve

TOLERANCE = 1e-6


@dataclass(frozen=True)
class Conflict:
    """One family of rows that cannot hold for one subject, and by how much."""

    family: str
    description: str
    subject: str
    rows: int
    violation: float
    """Total slack needed, in the rows' own units (MW, MWh)."""

    def __str__(self) -> str:
        return (
            f"{self.family} for {self.subject}: short by {self.violation:.6g} over "
            f"{self.rows} row(s) ({self.description})"
        )


class InfeasibleError(RuntimeError):
    """The inputs admit no plan; `conflicts` says which constraints, for whom."""

    def __init__(self, status: str, conflicts: list[Conflict]) -> None:
        self.status = status
        self.conflicts = conflicts
        lines = "\n".join(f"  - {c}" for c in conflicts) or "  (no single family found)"
        super().__init__(f"no feasible plan ({status}); what cannot hold:\n{lines}")


def diagnose(model: LinearModel, options: SolverOptions) -> list[Conflict]:
    """The elastic families and subjects that must be violated for any solution."""
    col_lo, col_hi, row_lo, row_hi, integer = model.bounds()
    families = model.row_families()
    subjects = model.row_subjects()
    elastic = np.array([model.families[f].elastic for f in families], dtype=bool)
    relaxed = LinearModel()
    base = relaxed.var("original", model.num_cols, col_lo, col_hi)
    relaxed.set_integer(base, False)
    flags = relaxed.bounds()[4]
    flags[:] = integer
    relaxed.col_integer = [flags]
    starts, cols, vals = model.matrix()
    rows = np.repeat(np.arange(model.num_rows), np.diff(starts))
    idx = np.flatnonzero(elastic)
    below = relaxed.var("slack below", len(idx), 0.0)
    above = relaxed.var("slack above", len(idx), 0.0)
    slack_rows = np.r_[idx, idx]
    slack_cols = np.r_[below.cols, above.cols]
    slack_vals = np.r_[np.ones(len(idx)), -np.ones(len(idx))]
    relaxed.triplets = [(np.r_[rows, slack_rows], np.r_[cols, slack_cols], np.r_[vals, slack_vals])]
    relaxed.row_lower = [row_lo]
    relaxed.row_upper = [row_hi]
    relaxed.num_rows = model.num_rows
    relaxed.maximise(below.sum(-1.0) + above.sum(-1.0))
    solved = solve(relaxed, options)
    if not solved.report.has_solution:
        return []
    need = solved(below) + solved(above)
    found: dict[tuple[str, str], list[float]] = defaultdict(list)
    for k, row in enumerate(idx):
        if need[k] > TOLERANCE:
            found[(families[row], subjects[row])].append(float(need[k]))
    conflicts = [
        Conflict(family, model.families[family].description, subject, len(v), sum(v))
        for (family, subject), v in found.items()
    ]
    return sorted(conflicts, key=lambda c: -c.violation)
