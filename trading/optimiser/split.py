"""Split a model into independent parts, so each is solved on its own.

A VPP's sites rarely share a constraint: a battery in one town and a CHP in another meet
only in their zone's market position, which merely records the fleet's net injection. One
branch-and-bound over all of them explores combinations of unrelated decisions; solving
each independent part alone is exact and far faster. Before the split, three exact,
reversible reductions remove what makes parts look coupled:

1. a row with a single column is a bound on that column;
2. a column whose bounds are equal is a constant (commitments, rounding held at zero);
3. a continuous column that appears in one equality row only, whose bounds that row can
   never push it against (a market position defined as the fleet's net injection), is
   substituted out: its objective coefficient moves onto the row's other columns and its
   value is recomputed from them after the solve.

What remains falls into connected components of the row-column graph (`Part`); columns in
no row at all are set to their best bound directly. A reduction that finds the model
inconsistent gives up, and the model is solved whole so the solver reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from trading.optimiser.linear import FloatArray, IntArray, LinearModel

TOLERANCE = 1e-9
"""Slack allowed when deciding that a bound can never bind [model units]."""


@dataclass
class MatrixModel:
    """A maximisation MILP in matrix form: ``max cost @ x + offset`` s.t. row and column bounds."""

    cost: FloatArray
    lower: FloatArray
    upper: FloatArray
    integer: NDArray[np.bool_]
    row_lower: FloatArray
    row_upper: FloatArray
    matrix: csr_matrix
    offset: float = 0.0

    @classmethod
    def of(cls, model: LinearModel) -> MatrixModel:
        """The matrix form of `model`."""
        lower, upper, row_lower, row_upper, integer = model.bounds()
        starts, cols, vals = model.matrix()
        matrix = csr_matrix((vals, cols, starts), shape=(model.num_rows, model.num_cols))
        matrix.sum_duplicates()  # a column twice in a row (e + e) is one coefficient
        return cls(
            model.costs().astype(float),
            lower.astype(float),
            upper.astype(float),
            integer.astype(bool),
            row_lower.astype(float),
            row_upper.astype(float),
            matrix,
            float(model.objective_offset),
        )

    @property
    def num_cols(self) -> int:
        """Number of columns."""
        return len(self.cost)

    @property
    def num_rows(self) -> int:
        """Number of rows."""
        return len(self.row_lower)

    def part(self, cols: IntArray, rows: IntArray) -> MatrixModel:
        """The sub-model on `cols` and `rows` (rows must only use `cols`), without offset."""
        return MatrixModel(
            self.cost[cols],
            self.lower[cols],
            self.upper[cols],
            self.integer[cols],
            self.row_lower[rows],
            self.row_upper[rows],
            self.matrix[rows][:, cols].tocsr(),
        )


@dataclass
class Part:
    """One independent piece: its columns and rows in the original model's numbering."""

    cols: IntArray
    rows: IntArray


@dataclass
class Eliminated:
    """A column substituted out through its equality row: ``coef * x + rest = rhs``."""

    col: int
    row: int
    coef: float
    rhs: float
    """The row's right-hand side in the original model (constants not folded in)."""


@dataclass
class Split:
    """A model reduced and cut into independent parts, and how to put a solution together."""

    reduced: MatrixModel
    """The model after the reductions: tightened bounds, moved costs, offset of constants."""
    parts: list[Part]
    free_cols: IntArray
    """Columns in no remaining row: set to their best bound."""
    fixed_cols: IntArray
    eliminated: list[Eliminated] = field(default_factory=list)
    original: MatrixModel | None = None

    def free_values(self) -> FloatArray:
        """The best bound of each free column (a bound nearest zero where cost is zero)."""
        m = self.reduced
        cols = self.free_cols
        cost, lo, hi = m.cost[cols], m.lower[cols], m.upper[cols]
        nearest_zero = np.clip(0.0, lo, hi)  # finite: both bounds infinite gives 0
        return np.where(cost > 0, hi, np.where(cost < 0, lo, nearest_zero))

    def assemble(self, part_values: list[FloatArray]) -> FloatArray:
        """Column values of the original model from each part's solution."""
        m = self.reduced
        values = np.zeros(m.num_cols)
        values[self.fixed_cols] = m.lower[self.fixed_cols]
        values[self.free_cols] = self.free_values()
        for part, found in zip(self.parts, part_values, strict=True):
            values[part.cols] = found
        assert self.original is not None
        matrix = self.original.matrix
        for item in self.eliminated:
            start, end = matrix.indptr[item.row], matrix.indptr[item.row + 1]
            cols, vals = matrix.indices[start:end], matrix.data[start:end]
            rest = float(vals @ values[cols]) - item.coef * values[item.col]
            values[item.col] = (item.rhs - rest) / item.coef
        return values

    def free_objective(self) -> float:
        """Objective contributed by the free columns."""
        return float(self.reduced.cost[self.free_cols] @ self.free_values())


class InconsistentError(ValueError):
    """A reduction found bounds that cannot hold; the whole model goes to the solver."""


def split(model: MatrixModel) -> Split:
    """Reduce `model` and cut it into independent parts (see the module docstring)."""
    reduced = MatrixModel(
        model.cost.copy(),
        model.lower.copy(),
        model.upper.copy(),
        model.integer.copy(),
        model.row_lower.copy(),
        model.row_upper.copy(),
        model.matrix,
        model.offset,
    )
    integer = reduced.integer
    reduced.lower[integer] = np.ceil(reduced.lower[integer] - 1e-6)
    reduced.upper[integer] = np.floor(reduced.upper[integer] + 1e-6)
    if (reduced.lower > reduced.upper).any():
        raise InconsistentError("an integer column has no whole value within its bounds")
    # a row with no finite bound constrains nothing (a rule set aside for a relaxation)
    live_rows = np.isfinite(model.row_lower) | np.isfinite(model.row_upper)
    _singleton_rows_to_bounds(reduced, live_rows)
    fixed = (
        np.isfinite(reduced.lower)
        & np.isfinite(reduced.upper)
        & (
            np.abs(reduced.upper - reduced.lower)
            <= TOLERANCE * np.maximum(1.0, np.abs(reduced.lower))
        )
    )
    _fold_constants(reduced, fixed)
    live_cols = ~fixed
    eliminated = _substitute_defined_columns(reduced, live_rows, live_cols, model.row_lower)
    parts, free_cols = _components(reduced, live_rows, live_cols)
    best = np.where(reduced.cost[free_cols] > 0, reduced.upper[free_cols], reduced.lower[free_cols])
    if (~np.isfinite(best) & (reduced.cost[free_cols] != 0)).any():
        raise InconsistentError("a column in no row improves the objective without bound")
    return Split(
        reduced,
        parts,
        free_cols,
        np.flatnonzero(fixed),
        eliminated,
        original=model,
    )


def _singleton_rows_to_bounds(m: MatrixModel, live_rows: NDArray[np.bool_]) -> None:
    counts = np.diff(m.matrix.indptr)
    for row in np.flatnonzero((counts == 1) & live_rows):
        start = m.matrix.indptr[row]
        col, coef = int(m.matrix.indices[start]), float(m.matrix.data[start])
        lo, hi = m.row_lower[row] / coef, m.row_upper[row] / coef
        if coef < 0:
            lo, hi = hi, lo
        if m.integer[col]:
            lo = np.ceil(lo - 1e-6) if np.isfinite(lo) else lo
            hi = np.floor(hi + 1e-6) if np.isfinite(hi) else hi
        m.lower[col] = max(m.lower[col], lo)
        m.upper[col] = min(m.upper[col], hi)
        if m.lower[col] > m.upper[col] + 1e-7 * max(1.0, abs(m.lower[col])):
            raise InconsistentError(f"column {col}: bounds {m.lower[col]} > {m.upper[col]}")
        m.upper[col] = max(m.upper[col], m.lower[col])
        live_rows[row] = False
    empty = live_rows & (counts == 0) & ((m.row_lower > TOLERANCE) | (m.row_upper < -TOLERANCE))
    if empty.any():
        raise InconsistentError(f"row {int(np.argmax(empty))} has no columns and cannot hold")


def _fold_constants(m: MatrixModel, fixed: NDArray[np.bool_]) -> None:
    """Move fixed columns' contributions into row bounds and the objective offset."""
    if not fixed.any():
        return
    value = np.where(fixed, m.lower, 0.0)
    activity = m.matrix @ value
    m.row_lower = m.row_lower - activity
    m.row_upper = m.row_upper - activity
    m.offset += float(m.cost @ value)
    m.cost = np.where(fixed, 0.0, m.cost)


def _substitute_defined_columns(
    m: MatrixModel,
    live_rows: NDArray[np.bool_],
    live_cols: NDArray[np.bool_],
    original_rhs: FloatArray,
) -> list[Eliminated]:
    """Substitute out continuous columns defined by one equality row they cannot violate."""
    matrix = m.matrix
    coo = matrix.tocoo()
    keep = live_rows[coo.row] & live_cols[coo.col]
    rows, cols, vals = coo.row[keep], coo.col[keep], coo.data[keep]
    col_count = np.bincount(cols, minlength=m.num_cols)
    equality = live_rows & (m.row_lower == m.row_upper)
    # activity range of every row over its live columns' bounds: finite sums, and how
    # many columns make each end infinite
    low_part = np.where(vals > 0, vals * m.lower[cols], vals * m.upper[cols])
    high_part = np.where(vals > 0, vals * m.upper[cols], vals * m.lower[cols])
    low_inf, high_inf = ~np.isfinite(low_part), ~np.isfinite(high_part)
    row_min = np.bincount(rows, weights=np.where(low_inf, 0.0, low_part), minlength=m.num_rows)
    row_max = np.bincount(rows, weights=np.where(high_inf, 0.0, high_part), minlength=m.num_rows)
    min_inf = np.bincount(rows, weights=low_inf, minlength=m.num_rows)
    max_inf = np.bincount(rows, weights=high_inf, minlength=m.num_rows)
    candidates = (col_count[cols] == 1) & equality[rows] & ~m.integer[cols]
    eliminated: list[Eliminated] = []
    used_rows: set[int] = set()
    for k in np.flatnonzero(candidates):
        row, col, coef = int(rows[k]), int(cols[k]), float(vals[k])
        if row in used_rows:
            continue
        if min_inf[row] - low_inf[k] > 0 or max_inf[row] - high_inf[k] > 0:
            continue  # another column is unbounded: the row can push this one anywhere
        rest_min = row_min[row] - (0.0 if low_inf[k] else low_part[k])
        rest_max = row_max[row] - (0.0 if high_inf[k] else high_part[k])
        rhs = float(m.row_lower[row])
        ends = sorted(((rhs - rest_min) / coef, (rhs - rest_max) / coef))
        slack = TOLERANCE * max(1.0, abs(ends[0]), abs(ends[1]))
        if ends[0] < m.lower[col] - slack or ends[1] > m.upper[col] + slack:
            continue
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        others = matrix.indices[start:end]
        coefs = matrix.data[start:end]
        mask = (others != col) & live_cols[others]
        moved = m.cost[col] / coef
        np.subtract.at(m.cost, others[mask], moved * coefs[mask])
        m.offset += moved * rhs
        m.cost[col] = 0.0
        live_rows[row] = False
        live_cols[col] = False
        used_rows.add(row)
        eliminated.append(Eliminated(col, row, coef, float(original_rhs[row])))
    return eliminated


def _components(
    m: MatrixModel, live_rows: NDArray[np.bool_], live_cols: NDArray[np.bool_]
) -> tuple[list[Part], IntArray]:
    coo = m.matrix.tocoo()
    keep = live_rows[coo.row] & live_cols[coo.col] & (coo.data != 0)
    rows, cols = coo.row[keep], coo.col[keep]
    n_rows, n_cols = m.matrix.shape
    used_cols = np.zeros(n_cols, dtype=bool)
    used_cols[cols] = True
    used_rows = np.zeros(n_rows, dtype=bool)
    used_rows[rows] = True
    emptied = live_rows & ~used_rows  # every column fixed or substituted: 0 must fit
    bad = emptied & ((m.row_lower > 1e-6) | (m.row_upper < -1e-6))
    if bad.any():
        raise InconsistentError(f"row {int(np.argmax(bad))} cannot hold with its fixed columns")
    graph = coo_matrix(
        (np.ones(len(rows)), (cols, n_cols + rows)), shape=(n_cols + n_rows, n_cols + n_rows)
    )
    _, label = connected_components(graph, directed=False)
    nodes = np.flatnonzero(np.r_[used_cols, used_rows])
    order = nodes[np.argsort(label[nodes], kind="stable")]
    cuts = np.flatnonzero(np.diff(label[order])) + 1
    parts = [
        Part(group[group < n_cols], group[group >= n_cols] - n_cols)
        for group in np.split(order, cuts)
        if len(group)
    ]
    free_cols = np.flatnonzero(live_cols & ~used_cols)
    return parts, free_cols
