"""The optimiser's model as a Pyomo `ConcreteModel`, for analysts who work in Pyomo.

The optimiser builds and solves its model as matrices (`trading.optimiser.linear`):
building through Pyomo's expression system costs seconds per hundred assets, and the
split into independent parts needs the matrix anyway. `to_pyomo` hands the same model to
Pyomo when someone wants Pyomo's tools: another solver through `SolverFactory`, an LP or
MPS file to share, or constraints looked at by name. Each variable family becomes an
indexed `Var` named after it, each constraint family an indexed `Constraint` (rows in
the order they were added), and the objective is maximised, in EUR.
"""

from __future__ import annotations

import re

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from trading.optimiser.linear import LinearModel
from trading.optimiser.split import MatrixModel


def component_name(family: str) -> str:
    """A Pyomo-safe component name for a family name ("bat-1.charge" -> "bat_1_charge")."""
    name = re.sub(r"\W+", "_", family).strip("_")
    return name if name and not name[0].isdigit() else f"_{name}"


def to_pyomo(model: LinearModel, name: str = "vpp_engine") -> pyo.ConcreteModel:
    """The same variables, rows and objective as `model`, as a Pyomo model."""
    return export(model, name)[0]


def export(model: LinearModel, name: str = "vpp_engine") -> tuple[pyo.ConcreteModel, list[pyo.Var]]:
    """`to_pyomo`'s model and, per column of `model`, the Pyomo variable holding it (the
    way back from a Pyomo solution or extension to the model's columns)."""
    matrix = MatrixModel.of(model)
    block = pyo.ConcreteModel(name=name)
    columns: list[pyo.Var] = [None] * matrix.num_cols  # type: ignore[list-item]
    used: set[str] = set()
    for family, first, count in model.col_family:
        label = _unique(component_name(family), used)
        cols = range(first, first + count)
        domain = {k: pyo.Integers if matrix.integer[c] else pyo.Reals for k, c in enumerate(cols)}
        bounds = {
            k: (_finite(matrix.lower[c]), _finite(matrix.upper[c])) for k, c in enumerate(cols)
        }
        var = pyo.Var(
            range(count),
            domain=lambda _m, k, d=domain: d[k],
            bounds=lambda _m, k, b=bounds: b[k],
        )
        block.add_component(label, var)
        for k, c in enumerate(cols):
            columns[c] = var[k]
    families = np.array(model.row_families(), dtype=object)
    indptr, indices, data = matrix.matrix.indptr, matrix.matrix.indices, matrix.matrix.data
    for family in model.families:
        rows = np.flatnonzero(families == family).tolist()

        def row(_m: pyo.ConcreteModel, k: int, rows: list[int] = rows) -> object:
            r = rows[k]
            start, end = indptr[r], indptr[r + 1]
            body = LinearExpression(
                constant=0.0,
                linear_coefs=data[start:end].tolist(),
                linear_vars=[columns[c] for c in indices[start:end]],
            )
            return (_finite(matrix.row_lower[r]), body, _finite(matrix.row_upper[r]))

        constraint = pyo.Constraint(range(len(rows)), rule=row)
        block.add_component(_unique(component_name(family), used), constraint)
    nonzero = np.flatnonzero(matrix.cost)
    block.objective = pyo.Objective(
        expr=sum(float(matrix.cost[c]) * columns[c] for c in nonzero) + matrix.offset,
        sense=pyo.maximize,
    )
    return block, columns


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _unique(label: str, used: set[str]) -> str:
    candidate, k = label, 1
    while candidate in used:
        k += 1
        candidate = f"{label}_{k}"
    used.add(candidate)
    return candidate
