"""Solve a `LinearModel` with HiGHS (highspy): always with a MIP gap and a time limit.

The best solution found is returned with its gap when the time limit is hit; the figures a
trader or an engineer asks about (status, gap, size, build and solve time) come back with
it. Infeasible and unbounded models are diagnosed by `trading.optimiser.diagnose`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from trading.optimiser.linear import FloatArray, LinearModel, Var


class SolverOptions(BaseModel):
    """Stopping rules and verbosity of a solve."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_limit_s: float = Field(default=30.0, gt=0, description="wall-clock limit [s]")
    mip_gap: float = Field(
        default=0.005,
        ge=0,
        le=1,
        description="relative MIP gap to stop at; 0.5 % by default, 0 to prove optimality",
    )
    threads: int | None = Field(default=None, ge=1, description="HiGHS threads; None = HiGHS")
    log: bool = Field(default=False, description="print the HiGHS log")


class SolverReport(BaseModel):
    """What the solver did: the figures of one solve."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: str = Field(description="optimal, time_limit, infeasible, unbounded, ...")
    has_solution: bool
    objective_eur: float | None
    gap: float | None = Field(description="relative MIP gap of the returned solution")
    variables: int
    integer_variables: int
    constraints: int
    build_s: float
    solve_s: float


@dataclass
class Solved:
    """Column values of a solution, looked up by variable family."""

    values: FloatArray
    report: SolverReport

    def __call__(self, var: Var) -> FloatArray:
        """The values of `var`'s columns."""
        return self.values[var.cols]


_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible_or_unbounded",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "iteration_limit",
    highspy.HighsModelStatus.kSolutionLimit: "solution_limit",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
}


def to_highs(model: LinearModel, options: SolverOptions) -> highspy.Highs:
    """A HiGHS instance holding `model` (maximisation) with the options set."""
    col_lo, col_hi, row_lo, row_hi, integer = model.bounds()
    starts, cols, vals = model.matrix()
    lp = highspy.HighsLp()
    lp.num_col_ = model.num_cols
    lp.num_row_ = model.num_rows
    lp.col_cost_ = model.costs()
    lp.col_lower_ = col_lo
    lp.col_upper_ = col_hi
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_hi
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.offset_ = model.objective_offset
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = starts
    lp.a_matrix_.index_ = cols.astype(np.int32)
    lp.a_matrix_.value_ = vals
    lp.a_matrix_.num_col_ = model.num_cols
    lp.a_matrix_.num_row_ = model.num_rows
    if integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in integer
        ]
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", options.log)
    highs.setOptionValue("time_limit", float(options.time_limit_s))
    highs.setOptionValue("mip_rel_gap", float(options.mip_gap))
    if options.threads is not None:
        highs.setOptionValue("threads", options.threads)
    highs.passModel(lp)
    return highs


def solve(model: LinearModel, options: SolverOptions, *, build_s: float = 0.0) -> Solved:
    """Solve `model`; the result holds values only if a feasible solution was found."""
    started = time.perf_counter()
    highs = to_highs(model, options)
    highs.run()
    elapsed = time.perf_counter() - started
    status = _STATUS.get(highs.getModelStatus(), str(highs.getModelStatus()))
    info = highs.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    integer = model.bounds()[4]
    gap = None
    if has_solution and integer.any():
        gap = float(info.mip_gap) if np.isfinite(info.mip_gap) else None
    elif has_solution:
        gap = 0.0
    values = np.asarray(highs.getSolution().col_value) if has_solution else np.zeros(0)
    report = SolverReport(
        status=status,
        has_solution=has_solution,
        objective_eur=float(info.objective_function_value) if has_solution else None,
        gap=gap,
        variables=model.num_cols,
        integer_variables=int(integer.sum()),
        constraints=model.num_rows,
        build_s=build_s,
        solve_s=elapsed,
    )
    return Solved(values, report)
