"""A vectorised mixed-integer linear model: whole families of variables and rows at once.

The optimiser states its formulation here rather than one Pyomo component per index: a
variable family is a numpy array of column numbers, an `Expr` is many linear rows held as
aligned arrays, and a constraint family adds all its rows in one call. That keeps model
building proportional to numpy work, not to Python calls per index, and hands HiGHS the
matrix directly. Every row belongs to a named family and a subject (an asset, a zone, a
product), which is what an infeasibility diagnosis reports.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Sense = Literal["<=", ">=", "=="]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
INF = float("inf")


@dataclass(frozen=True)
class Var:
    """`n` columns of one variable family, in order (e.g. one per period)."""

    family: str
    cols: IntArray

    def __len__(self) -> int:
        return len(self.cols)

    def __getitem__(self, index: int | slice | IntArray) -> Var:
        return Var(self.family, np.atleast_1d(self.cols[index]))

    def expr(self, coef: ArrayLike = 1.0) -> Expr:
        """The rows ``coef * x``, one per column."""
        n = len(self.cols)
        return Expr([(self.cols, np.broadcast_to(np.asarray(coef, float), n).copy())], np.zeros(n))

    def __mul__(self, coef: ArrayLike) -> Expr:
        return self.expr(coef)

    __rmul__ = __mul__

    def __add__(self, other: Var | Expr | ArrayLike) -> Expr:
        return self.expr() + other

    def __radd__(self, other: ArrayLike) -> Expr:
        return self.expr() + other

    def __sub__(self, other: Var | Expr | ArrayLike) -> Expr:
        return self.expr() - other

    def __rsub__(self, other: ArrayLike) -> Expr:
        return -self.expr() + other

    def __neg__(self) -> Expr:
        return self.expr(-1.0)

    def sum(self, coef: ArrayLike = 1.0) -> Expr:
        """One row: the (weighted) sum of all columns."""
        return self.expr(coef).sum()

    def at(self, index: IntArray, coef: float = 1.0) -> Expr:
        """Rows ``coef * x[index[i]]``: one column repeated over several rows."""
        return Expr([(self.cols[index], np.full(len(index), coef))], np.zeros(len(index)))


@dataclass
class Expr:
    """`n` linear rows: row i is ``sum_k coefs_k[i] * x[cols_k[i]] + const[i]``."""

    terms: list[tuple[IntArray, FloatArray]]
    const: FloatArray

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.const)

    @staticmethod
    def constant(values: ArrayLike) -> Expr:
        """Rows with no variables."""
        return Expr([], np.atleast_1d(np.asarray(values, float)).copy())

    @staticmethod
    def zeros(n: int) -> Expr:
        """`n` empty rows."""
        return Expr([], np.zeros(n))

    def _broadcast(self, n: int) -> Expr:
        if self.n == n:
            return self
        if self.n != 1:
            raise ValueError(f"cannot combine {self.n} rows with {n} rows")
        return Expr(
            [(np.repeat(c, n), np.repeat(v, n)) for c, v in self.terms], np.repeat(self.const, n)
        )

    def __add__(self, other: Var | Expr | ArrayLike) -> Expr:
        if isinstance(other, Var):
            other = other.expr()
        if not isinstance(other, Expr):
            return Expr(list(self.terms), self.const + np.asarray(other, float))
        n = max(self.n, other.n)
        a, b = self._broadcast(n), other._broadcast(n)
        return Expr(a.terms + b.terms, a.const + b.const)

    __radd__ = __add__

    def __neg__(self) -> Expr:
        return Expr([(c, -v) for c, v in self.terms], -self.const)

    def __sub__(self, other: Var | Expr | ArrayLike) -> Expr:
        if isinstance(other, Var):
            other = other.expr()
        return self + (-other if isinstance(other, Expr) else -np.asarray(other, float))

    def __rsub__(self, other: ArrayLike) -> Expr:
        return (-self) + other

    def __mul__(self, coef: ArrayLike) -> Expr:
        k = np.asarray(coef, float)
        return Expr([(c, v * k) for c, v in self.terms], self.const * k)

    __rmul__ = __mul__

    def sum(self) -> Expr:
        """One row: the sum of all rows."""
        if not self.terms:
            return Expr([], np.array([self.const.sum()]))
        cols = np.concatenate([c for c, _ in self.terms])
        vals = np.concatenate([v for _, v in self.terms])
        return Expr([(cols, vals)], np.array([self.const.sum()]))  # one row, many terms

    def evaluate(self, values: FloatArray) -> FloatArray:
        """The value of each row for column values `values`."""
        out = self.const.copy()
        for cols, coefs in self.terms:
            # a single row's terms may span many columns: they add up into that row
            out = out + (float(coefs @ values[cols]) if self.n == 1 else coefs * values[cols])
        return out

    def rows(self) -> tuple[IntArray, IntArray, FloatArray]:
        """(row, column, coefficient) triplets, rows numbered from 0; zeros dropped."""
        if not self.terms:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        if self.n == 1:
            cols = np.concatenate([c for c, _ in self.terms])
            vals = np.concatenate([v for _, v in self.terms])
            rows = np.zeros(len(cols), np.int64)
        else:
            rows = np.concatenate([np.arange(self.n) for _ in self.terms])
            cols = np.concatenate([c for c, _ in self.terms])
            vals = np.concatenate([v for _, v in self.terms])
        keep = vals != 0
        return rows[keep], cols[keep].astype(np.int64), vals[keep]


def total(exprs: Iterable[Expr | Var]) -> Expr:
    """The row-wise sum of several expressions of equal length (or single rows)."""
    result: Expr | None = None
    for item in exprs:
        e = item.expr() if isinstance(item, Var) else item
        result = e if result is None else result + e
    if result is None:
        raise ValueError("total() of nothing: pass at least one expression")
    return result


@dataclass
class Family:
    """A named group of rows: what the rows mean and whom they concern."""

    name: str
    description: str
    first_row: int
    subjects: list[str] = field(default_factory=list)
    """One subject per row (asset id, zone, product id)."""
    descriptions: list[str] = field(default_factory=list)
    """One description per row: what it says, with its unit in brackets ([MW], [MWh])."""
    positions: list[tuple[int, int]] = field(default_factory=list)
    """Per row: (its index within the `add` call that made it, that call's number of rows),
    so a diagnosis can tell which quarter hour a row of a per-quarter-hour call is."""
    elastic: bool = True
    """Whether a diagnosis may relax these rows to find what makes a model infeasible."""


class LinearModel:
    """Columns, rows and an objective to maximise, built family by family."""

    def __init__(self) -> None:
        self.col_lower: list[FloatArray] = []
        self.col_upper: list[FloatArray] = []
        self.col_cost: list[FloatArray] = []
        self.col_integer: list[NDArray[np.bool_]] = []
        self.col_family: list[tuple[str, int, int]] = []
        self.num_cols = 0
        self.row_lower: list[FloatArray] = []
        self.row_upper: list[FloatArray] = []
        self.triplets: list[tuple[IntArray, IntArray, FloatArray]] = []
        self.families: dict[str, Family] = {}
        self._row_family: list[str] = []
        self.num_rows = 0
        self.objective_offset = 0.0

    # --- columns -----------------------------------------------------------------------

    def var(
        self,
        family: str,
        n: int,
        lower: ArrayLike = 0.0,
        upper: ArrayLike = INF,
        *,
        integer: bool = False,
    ) -> Var:
        """`n` new columns with bounds; integer columns for binaries and whole steps."""
        lo = np.broadcast_to(np.asarray(lower, float), n).astype(float)
        hi = np.broadcast_to(np.asarray(upper, float), n).astype(float)
        bad = lo > hi + 1e-9
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{family}[{i}]: lower bound {lo[i]} above upper bound {hi[i]}")
        cols = np.arange(self.num_cols, self.num_cols + n, dtype=np.int64)
        self.col_lower.append(lo)
        self.col_upper.append(np.maximum(hi, lo))
        self.col_cost.append(np.zeros(n))
        self.col_integer.append(np.full(n, integer))
        self.col_family.append((family, self.num_cols, n))
        self.num_cols += n
        return Var(family, cols)

    def binary(self, family: str, n: int) -> Var:
        """`n` new 0/1 columns."""
        return self.var(family, n, 0.0, 1.0, integer=True)

    # --- objective ---------------------------------------------------------------------

    def maximise(self, expr: Expr) -> None:
        """Add every row of `expr` to the objective (to be maximised) [EUR]."""
        costs = np.concatenate(self.col_cost) if self.col_cost else np.zeros(0)
        _, cols, vals = expr.rows()
        np.add.at(costs, cols, vals)
        self.objective_offset += float(expr.const.sum())
        self._set_costs(costs)

    def _set_costs(self, costs: FloatArray) -> None:
        self.col_cost = [costs]

    def costs(self) -> FloatArray:
        """Objective coefficient of every column."""
        costs = np.concatenate(self.col_cost) if self.col_cost else np.zeros(0)
        if len(costs) < self.num_cols:
            costs = np.concatenate([costs, np.zeros(self.num_cols - len(costs))])
        return costs

    # --- rows --------------------------------------------------------------------------

    def add(
        self,
        family: str,
        expr: Expr,
        sense: Sense,
        rhs: ArrayLike = 0.0,
        *,
        subjects: str | Sequence[str] = "",
        description: str = "",
        elastic: bool = True,
    ) -> range:
        """Rows ``expr <sense> rhs`` in `family`; returns their row numbers."""
        n = expr.n
        bound = np.broadcast_to(np.asarray(rhs, float), n) - expr.const
        lower = bound if sense in (">=", "==") else np.full(n, -INF)
        upper = bound if sense in ("<=", "==") else np.full(n, INF)
        rows, cols, vals = expr.rows()
        self.triplets.append((rows + self.num_rows, cols, vals))
        self.row_lower.append(np.asarray(lower, float).copy())
        self.row_upper.append(np.asarray(upper, float).copy())
        names = [subjects] * n if isinstance(subjects, str) else list(subjects)
        if len(names) != n:
            raise ValueError(f"{family}: {len(names)} subjects for {n} rows")
        fam = self.families.get(family)
        if fam is None:
            fam = Family(family, description or family, self.num_rows, elastic=elastic)
            self.families[family] = fam
        fam.subjects.extend(names)
        fam.descriptions.extend([description or family] * n)
        fam.positions.extend(zip(range(n), itertools.repeat(n, n), strict=True))
        span = range(self.num_rows, self.num_rows + n)
        self._row_family.extend([family] * n)
        self.num_rows += n
        return span

    def row_families(self) -> list[str]:
        """Family name of every row."""
        return self._row_family

    def row_details(self) -> list[tuple[str, str, int, int]]:
        """Per row, in row order: (subject, description, index in its call, call size)."""
        details: list[tuple[str, str, int, int]] = [("", "", 0, 1)] * self.num_rows
        counters: dict[str, int] = {}
        for i, family in enumerate(self._row_family):
            k = counters.get(family, 0)
            fam = self.families[family]
            details[i] = (fam.subjects[k], fam.descriptions[k], *fam.positions[k])
            counters[family] = k + 1
        return details

    def row_subjects(self) -> list[str]:
        """Subject of every row, in row order."""
        subjects = [""] * self.num_rows
        counters: dict[str, int] = {}
        for i, family in enumerate(self._row_family):
            k = counters.get(family, 0)
            subjects[i] = self.families[family].subjects[k]
            counters[family] = k + 1
        return subjects

    # --- matrix ------------------------------------------------------------------------

    def matrix(self) -> tuple[IntArray, IntArray, FloatArray]:
        """The constraint matrix in compressed row form: (starts, columns, values)."""
        if self.triplets:
            rows = np.concatenate([t[0] for t in self.triplets])
            cols = np.concatenate([t[1] for t in self.triplets])
            vals = np.concatenate([t[2] for t in self.triplets])
        else:
            rows = cols = np.zeros(0, np.int64)
            vals = np.zeros(0)
        order = np.argsort(rows, kind="stable")
        rows, cols, vals = rows[order], cols[order], vals[order]
        starts = np.searchsorted(rows, np.arange(self.num_rows + 1)).astype(np.int64)
        return starts, cols.astype(np.int64), vals

    def bounds(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, NDArray[np.bool_]]:
        """(column lower, column upper, row lower, row upper, integer flags)."""
        empty = np.zeros(0)
        return (
            np.concatenate(self.col_lower) if self.col_lower else empty,
            np.concatenate(self.col_upper) if self.col_upper else empty,
            np.concatenate(self.row_lower) if self.row_lower else empty,
            np.concatenate(self.row_upper) if self.row_upper else empty,
            np.concatenate(self.col_integer) if self.col_integer else np.zeros(0, bool),
        )

    def set_bounds(self, var: Var, lower: ArrayLike, upper: ArrayLike) -> None:
        """Change the bounds of existing columns (used when fixing or relaxing)."""
        lo, hi, *_ = self.bounds()
        lo[var.cols] = lower
        hi[var.cols] = upper
        self.col_lower, self.col_upper = [lo], [hi]

    def set_integer(self, var: Var, integer: bool) -> None:
        """Make existing columns integer (or continuous)."""
        flags = self.bounds()[4]
        flags[var.cols] = integer
        self.col_integer = [flags]
