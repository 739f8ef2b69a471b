"""Explain an infeasible model: which rules, for which assets, cannot hold, and by how much.

Every row of an elastic family gets a slack that may violate it at a cost of one per unit;
the elastic model minimises total violation. The rows that still need slack in its
solution are the ones the inputs cannot satisfy together. They are reported by rule
(family), subject (the asset, site, zone or pool) and the row's own description, with
the amount in the row's unit (MW, MWh) and, for rules kept per quarter hour, when in
the day (local time); largest first. Grid connections at their limit in the elastic
solution are named beside them: a shared connection is often why an asset falls short.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading.optimiser.inputs import Horizon
from trading.optimiser.linear import LinearModel
from trading.optimiser.solver import SolverOptions, solve

TOLERANCE = 1e-6
CONNECTION = "grid connection"
"""The family of site connection rows (`build._link_sites`)."""

_UNIT = re.compile(r"\[([^\]]+)\]\s*$")


@dataclass(frozen=True)
class Conflict:
    """One rule that cannot hold for one subject, and by how much."""

    family: str
    description: str
    subject: str
    rows: int
    violation: float
    """Total slack needed, in `unit`."""
    unit: str = ""
    when: str = ""
    """The quarter hours concerned in local time (``20:00-05:30``), where the rule is kept
    per quarter hour; empty otherwise."""

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        when = f" in {self.when}" if self.when else ""
        return (
            f"{self.family} for {self.subject}: short by {self.violation:.6g}{unit} over "
            f"{self.rows} row(s){when} ({self.description})"
        )


@dataclass(frozen=True)
class Binding:
    """A site's grid connection at its limit in the elastic solution."""

    site: str
    limit_mw: float
    quarter_hours: int
    when: str

    def __str__(self) -> str:
        return (
            f"grid connection of site {self.site} at its {self.limit_mw:g} MW limit in "
            f"{self.quarter_hours} quarter hour(s){f' ({self.when})' if self.when else ''}"
        )


class InfeasibleError(RuntimeError):
    """The inputs admit no plan; `conflicts` says which rules, for whom; `binding` which
    site connections are at their limit meanwhile."""

    def __init__(
        self, status: str, conflicts: list[Conflict], binding: list[Binding] | None = None
    ) -> None:
        self.status = status
        self.conflicts = conflicts
        self.binding = list(binding or [])
        lines = "\n".join(f"  - {c}" for c in conflicts) or "  (no single family found)"
        message = f"no feasible plan ({status}); what cannot hold:\n{lines}"
        if self.binding:
            message += "\nbinding meanwhile:\n" + "\n".join(f"  - {b}" for b in self.binding)
        super().__init__(message)


@dataclass(frozen=True)
class Diagnosis:
    """What `diagnose` found."""

    conflicts: list[Conflict]
    binding: list[Binding]


def diagnose(
    model: LinearModel, options: SolverOptions, horizon: Horizon | None = None
) -> Diagnosis:
    """The elastic rules and subjects that must be violated for any solution, and the site
    connections at their limit in the least-violating solution."""
    col_lo, col_hi, row_lo, row_hi, integer = model.bounds()
    families = model.row_families()
    details = model.row_details()
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
        return Diagnosis([], [])
    need = solved(below) + solved(above)
    found: dict[tuple[str, str, str], list[tuple[float, int, int]]] = defaultdict(list)
    for k, row in enumerate(idx):
        if need[k] > TOLERANCE:
            subject, description, position, size = details[row]
            found[(families[row], subject, description)].append((float(need[k]), position, size))
    conflicts = [
        Conflict(
            family,
            description,
            subject,
            len(items),
            sum(v for v, _, _ in items),
            _unit(description),
            _when([(p, s) for _, p, s in items], horizon),
        )
        for (family, subject, description), items in found.items()
    ]
    conflicts.sort(key=lambda c: -c.violation)
    x = solved.values[: model.num_cols]
    activity = np.zeros(model.num_rows)
    np.add.at(activity, rows, vals * x[cols])
    return Diagnosis(conflicts, _binding(families, details, activity, row_lo, row_hi, horizon))


def _unit(description: str) -> str:
    """The unit a row's description names in brackets at its end, if any."""
    match = _UNIT.search(description)
    return match.group(1) if match else ""


def _when(positions: list[tuple[int, int]], horizon: Horizon | None) -> str:
    """Local time span of rows kept per quarter hour (their call had one row per quarter
    hour of the horizon); empty for other rows."""
    if horizon is None:
        return ""
    quarters = sorted({p for p, size in positions if size == horizon.n})
    if not quarters:
        return ""
    local = horizon.periods.tz_convert(horizon.timezone)
    first = local[quarters[0]]
    last = local[quarters[-1]] + pd.Timedelta(minutes=15)
    span = f"{first:%H:%M}-{last:%H:%M}"
    return span if len(quarters) == 1 else f"{len(quarters)} quarter hours within {span}"


def _binding(
    families: list[str],
    details: list[tuple[str, str, int, int]],
    activity: np.ndarray,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    horizon: Horizon | None,
) -> list[Binding]:
    """Site connection rows at their limit (injection or withdrawal side) per site."""
    at_limit: dict[str, list[tuple[int, int]]] = defaultdict(list)
    limits: dict[str, float] = {}
    for row, family in enumerate(families):
        if family != CONNECTION:
            continue
        subject, _, position, size = details[row]
        upper, lower = row_hi[row], row_lo[row]
        if np.isfinite(upper) and activity[row] >= upper - TOLERANCE:
            at_limit[subject].append((position, size))
            limits[subject] = float(upper)
        elif np.isfinite(lower) and activity[row] <= lower + TOLERANCE:
            at_limit[subject].append((position, size))
            limits[subject] = float(-lower)
    return [
        Binding(site, limits[site], len(rows), _when(rows, horizon))
        for site, rows in sorted(at_limit.items(), key=lambda kv: -len(kv[1]))
    ]
