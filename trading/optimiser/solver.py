"""Solve a `LinearModel` with HiGHS (highspy): always with a MIP gap and a time limit.

The best solution found is returned with its gap when the time limit is hit; the figures a
trader or an engineer asks about (status, gap, size, build and solve time) come back with
it. Infeasible and unbounded models are diagnosed by `trading.optimiser.diagnose`.
"""

from __future__ import annotations

import contextvars
import ctypes
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import highspy
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from trading.optimiser.linear import FloatArray, IntArray, LinearModel, Var
from trading.optimiser.split import InconsistentError, MatrixModel, Part, Split, split

_BANNER_LOCK = threading.Lock()
_CALLS: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "highs_calls", default=None
)
"""HiGHS instances made within the current `solve` (for its report)."""
_CALLS_LOCK = threading.Lock()
_banner_muted = False


def new_highs() -> highspy.Highs:
    """A `highspy.Highs`. The first one of a process prints HiGHS's banner from C straight to
    file descriptor 1, where it would corrupt a command's JSON output: it is made with fd 1
    pointing at stderr (C buffers flushed before and after; POSIX only)."""
    global _banner_muted
    with _BANNER_LOCK:
        if _banner_muted or sys.platform == "win32":
            return highspy.Highs()
        _banner_muted = True
        libc = ctypes.CDLL(None)
        sys.stdout.flush()
        libc.fflush(None)
        saved = os.dup(1)
        try:
            os.dup2(2, 1)
            return highspy.Highs()
        finally:
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)


class SolverOptions(BaseModel):
    """Stopping rules and verbosity of a solve."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_limit_s: float = Field(
        default=30.0,
        gt=0,
        description="wall-clock limit [s] of a solve; `optimise` holds a whole plan to it",
    )
    mip_gap: float = Field(
        default=0.005,
        ge=0,
        le=1,
        description="relative MIP gap to stop at; 0.5 % by default, 0 to prove optimality",
    )
    mip_abs_gap_eur: float = Field(
        default=1e-6,
        ge=0,
        description="absolute gap to stop at [EUR], for parts whose objective is near zero",
    )
    workers: int = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)),
        ge=1,
        description="independent parts solved at once (threads); the machine's cores, at most 4",
    )
    node_limit: int | None = Field(
        default=None,
        ge=1,
        description="branch-and-bound nodes a part's search may explore (a work limit: the "
        "same answer on a busy machine as on a quiet one); None: no limit",
    )
    log: bool = Field(default=False, description="print the HiGHS log")


class SolverReport(BaseModel):
    """What the solver did: the figures of one solve."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: str = Field(
        description="optimal (within the gap), time_limit, node_limit, infeasible, unbounded, ..."
    )
    has_solution: bool
    objective_eur: float | None
    gap: float | None = Field(description="relative MIP gap of the returned solution")
    bound_eur: float | None = Field(
        default=None, description="best proven bound on the objective [EUR]"
    )
    variables: int
    integer_variables: int
    constraints: int
    build_s: float
    solve_s: float
    parts: int = Field(default=1, description="independent parts the model was solved in")
    highs_calls: int = Field(default=0, description="HiGHS solves run (LPs batched)")


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
    highspy.HighsModelStatus.kSolutionLimit: "node_limit",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
}


def to_highs(model: LinearModel, options: SolverOptions) -> highspy.Highs:
    """A HiGHS instance holding the whole of `model` (maximisation) with the options set."""
    return _highs(MatrixModel.of(model), options, options.time_limit_s)


def _highs(
    m: MatrixModel, options: SolverOptions, time_limit_s: float, *, relax: bool = False
) -> highspy.Highs:
    """HiGHS holding `m`; `relax` drops integrality (the LP relaxation)."""
    counter = _CALLS.get()
    if counter is not None:
        with _CALLS_LOCK:
            counter[0] += 1
    highs = new_highs()
    highs.setOptionValue("output_flag", options.log)
    highs.setOptionValue("time_limit", max(float(time_limit_s), 1e-3))
    highs.setOptionValue("mip_rel_gap", float(options.mip_gap))
    highs.setOptionValue("mip_abs_gap", float(options.mip_abs_gap_eur))
    # the feasibility-jump heuristic costs more than it finds on these small, LP-guided
    # parts (measured: a third of a small MIP's time)
    highs.setOptionValue("mip_heuristic_run_feasibility_jump", False)
    # one thread per solve: parts run side by side on the machine's cores instead, which
    # measured 1.6x the throughput of HiGHS's own threads on small parts (2 cores)
    highs.setOptionValue("threads", 1)
    _pass(highs, m, relax=relax)
    return highs


def _pass(highs: highspy.Highs, m: MatrixModel, *, relax: bool) -> None:
    """`m` into `highs` as numpy arrays in one call (maximisation, rows stored row-wise).

    Setting a `HighsLp`'s fields instead converts every array element by element in
    Python (measured 20 ms against 3 ms for a 3,400-column pool, solved identically)."""
    matrix = m.matrix
    integer = m.integer if m.integer.any() and not relax else np.zeros(m.num_cols, bool)
    status = highs.passModel(
        m.num_cols,
        m.num_rows,
        int(matrix.nnz),
        int(highspy.MatrixFormat.kRowwise),
        int(highspy.ObjSense.kMaximize),
        float(m.offset),
        np.ascontiguousarray(m.cost, dtype=float),
        np.ascontiguousarray(m.lower, dtype=float),
        np.ascontiguousarray(m.upper, dtype=float),
        np.ascontiguousarray(m.row_lower, dtype=float),
        np.ascontiguousarray(m.row_upper, dtype=float),
        np.ascontiguousarray(matrix.indptr, dtype=np.int32),
        np.ascontiguousarray(matrix.indices, dtype=np.int32),
        np.ascontiguousarray(matrix.data, dtype=float),
        np.where(
            integer, int(highspy.HighsVarType.kInteger), int(highspy.HighsVarType.kContinuous)
        ).astype(np.int32),
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError(f"HiGHS refused a model of {m.num_cols} columns, {m.num_rows} rows")


@dataclass
class _Outcome:
    """One part's solve: status, solution and the bound proven on its objective."""

    status: str
    values: FloatArray | None
    objective: float
    bound: float


def _run(m: MatrixModel, options: SolverOptions, time_limit_s: float) -> _Outcome:
    """Solve one model alone: its LP relaxation, then `_finish` within the options' gap."""
    started = time.perf_counter()
    highs = _highs(m, options, time_limit_s, relax=True)
    highs.run()
    relaxed = _outcome(highs, m, relaxed=True)
    allowance = max(options.mip_gap * abs(relaxed.objective), options.mip_abs_gap_eur)
    if not np.isfinite(allowance):
        allowance = options.mip_abs_gap_eur
    return _finish(m, relaxed, allowance, options, started, time_limit_s)


def _finish(
    m: MatrixModel,
    relaxed: _Outcome,
    allowance_eur: float,
    options: SolverOptions,
    started: float,
    time_limit_s: float,
    *,
    start: FloatArray | None = None,
) -> _Outcome:
    """An integer part, from its LP relaxation `relaxed`, to within `allowance_eur` of its
    bound: integral at the LP optimum is proven optimal; otherwise the integer columns
    are rounded the way that breaks their rows least and the LP solved with them held,
    which is accepted within the allowance; only then does HiGHS branch, from that
    rounded solution, and a solution it stops at is polished (`_polish`).
    """
    if not m.integer.any() or relaxed.status == "infeasible":
        return relaxed
    if relaxed.status != "optimal" or relaxed.values is None:
        found = _search(m, options, started, time_limit_s, allowance_eur=allowance_eur)
        return _polish(m, options, found, started, time_limit_s)
    x = relaxed.values
    integer = np.flatnonzero(m.integer)
    rounded = np.round(x[integer])
    if np.abs(x[integer] - rounded).max() <= INTEGRALITY:
        x = x.copy()
        x[integer] = rounded
        return _Outcome("optimal", x, relaxed.objective, relaxed.objective)
    bound = relaxed.objective
    rounded = _round_keeping_rows(m, x, integer)
    inside = (rounded >= m.lower[integer] - INTEGRALITY) & (
        rounded <= m.upper[integer] + INTEGRALITY
    )
    hopeless = allowance_eur < 1e-7 * max(1.0, abs(bound))  # only an exact optimum will do
    if inside.all() and not hopeless and start is None:
        held = replace(m, lower=m.lower.copy(), upper=m.upper.copy())
        held.lower[integer] = held.upper[integer] = rounded
        fixed = _highs(held, options, max(_left(time_limit_s, started), 1e-3), relax=True)
        fixed.run()
        attempt = _outcome(fixed, held)
        start = attempt.values
        tolerance = 1e-9 * max(1.0, abs(bound))
        if attempt.values is not None and bound - attempt.objective <= allowance_eur + tolerance:
            return _Outcome("optimal", attempt.values, attempt.objective, bound)
        if len(integer) >= NEIGHBOURHOOD_INTEGERS and not hopeless:
            near = _neighbourhood(m, x, integer, allowance_eur, options, started, time_limit_s)
            if near.values is not None and bound - near.objective <= allowance_eur + tolerance:
                return _Outcome("optimal", near.values, near.objective, bound)
            if near.values is not None and (
                attempt.values is None or near.objective > attempt.objective
            ):
                start = near.values
            if start is not None:
                agreed = _agreement(
                    m, x, integer, start, allowance_eur, options, started, time_limit_s
                )
                agreed_gap = bound - agreed.objective
                if agreed.values is not None and agreed_gap <= allowance_eur + tolerance:
                    return _Outcome("optimal", agreed.values, agreed.objective, bound)
                if agreed.values is not None and agreed.objective > _value(m, start):
                    start = agreed.values
    found = _search(m, options, started, time_limit_s, start=start, allowance_eur=allowance_eur)
    return _polish(m, options, found, started, time_limit_s)


NEIGHBOURHOOD_INTEGERS = 200
"""Parts with at least this many integer columns search around their LP solution first
(`_neighbourhood`); smaller ones go to HiGHS's search at once, which closes them at its root
faster (measured: 0.05-0.25 s against 0.2-0.9 s for parts of 20-95 integers)."""

NEIGHBOURHOOD_NODES = 200
"""Branch-and-bound nodes the search around the LP solution (`_neighbourhood`) may explore:
a work limit, not a time limit, so that its answer does not depend on the machine's load."""

NEIGHBOURHOOD_SOLUTIONS = 3
"""... and improving solutions it may find before it stops. Its root node is not bounded by
nodes, and where the part's share of the gap is out of its reach it spent seconds there
proving its own bound (a pool of 20 synthetic assets: 2.7-5 s, against 1.4 s with this
limit); on the German aFRR pool the third solution is within the share, or the search's
start, as often as without the limit (21 pools: 4.7 s in all against 6.1 s)."""


def _neighbourhood(
    m: MatrixModel,
    x: FloatArray,
    integer: IntArray,
    allowance_eur: float,
    options: SolverOptions,
    started: float,
    time_limit_s: float,
) -> _Outcome:
    """The best plan near the LP solution `x`: every integer column whole at `x` held
    there, each fractional one between its neighbouring whole values (the search that
    MIP solvers call RENS), within `NEIGHBOURHOOD_NODES` nodes and
    `NEIGHBOURHOOD_SOLUTIONS` improving solutions.

    The restriction is small (a pool of 330 integers keeps about 90 open), so HiGHS
    finds a plan within the part's share of the gap in a fraction of what its search
    over the whole part needs; where it does not, its plan is the search's start, and
    HiGHS then often stops at its root (measured on the German aFRR pool of 21 days:
    19 s in all instead of 53 s, no day above 4 s against up to 10 s). The outcome's
    bound is the restriction's, not the part's."""
    value = x[integer]
    near = replace(m, lower=m.lower.copy(), upper=m.upper.copy())
    near.lower[integer] = np.maximum(m.lower[integer], np.floor(value + INTEGRALITY))
    near.upper[integer] = np.minimum(m.upper[integer], np.ceil(value - INTEGRALITY))
    highs = _restricted(near, allowance_eur, options, started, time_limit_s)
    # HiGHS's presolve of the restriction costs more than it saves (measured on the same
    # 21 pools: 18.6 s with it off, 28.2 s on, in one session on the loaded machine)
    highs.setOptionValue("presolve", "off")
    return _outcome(highs, near)


def _agreement(
    m: MatrixModel,
    x: FloatArray,
    integer: IntArray,
    start: FloatArray,
    allowance_eur: float,
    options: SolverOptions,
    started: float,
    time_limit_s: float,
) -> _Outcome:
    """The best plan that keeps every integer column on which the LP solution `x` and the
    plan `start` agree (whole at `x` and equal in both) and frees the others over their
    whole range (the search that MIP solvers call RINS), from `start`, within
    `NEIGHBOURHOOD_NODES` nodes and `NEIGHBOURHOOD_SOLUTIONS` improving solutions.

    Tried where the neighbourhood of `x` alone (`_neighbourhood`) fell short of the part's
    share of the gap: the plans it misses often differ from it in a few decisions that
    are whole at `x`, which this frees. On the 30 August 2024 pools of the backtest
    benchmark it met the share in 4 of the 10 searches, and the pools took 13.7 s instead
    of 17.8 s (`benchmarks/afrr_pools.py`). The outcome's bound is the restriction's."""
    value = x[integer]
    whole = np.round(value)
    agree = (np.abs(value - whole) <= INTEGRALITY) & (np.abs(start[integer] - whole) <= INTEGRALITY)
    kept = replace(m, lower=m.lower.copy(), upper=m.upper.copy())
    kept.lower[integer[agree]] = kept.upper[integer[agree]] = whole[agree]
    highs = _restricted(kept, allowance_eur, options, started, time_limit_s)
    _start_from(highs, start)
    return _outcome(highs, kept)


def _restricted(
    m: MatrixModel, allowance_eur: float, options: SolverOptions, started: float, limit_s: float
) -> highspy.Highs:
    """HiGHS set up for a search of a restriction of a part: to within `allowance_eur` of
    its own bound, at most `NEIGHBOURHOOD_NODES` nodes and `NEIGHBOURHOOD_SOLUTIONS`
    improving solutions."""
    highs = _highs(m, options, max(_left(limit_s, started), 1e-3))
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("mip_abs_gap", max(float(allowance_eur), 1e-9))
    highs.setOptionValue("mip_max_nodes", NEIGHBOURHOOD_NODES)
    highs.setOptionValue("mip_max_improving_sols", NEIGHBOURHOOD_SOLUTIONS)
    return highs


def _start_from(highs: highspy.Highs, start: FloatArray) -> None:
    """Give HiGHS the plan `start` as its first solution."""
    solution = highspy.HighsSolution()
    solution.col_value = start.tolist()
    solution.value_valid = True
    highs.setSolution(solution)


def _value(m: MatrixModel, x: FloatArray) -> float:
    """The objective of plan `x` [EUR], as HiGHS reports it (the offset included)."""
    return float(m.cost @ x + m.offset)


def _search(
    m: MatrixModel,
    options: SolverOptions,
    started: float,
    limit_s: float,
    *,
    start: FloatArray | None = None,
    allowance_eur: float | None = None,
) -> _Outcome:
    """HiGHS's branch and bound, from `start` if given (the rounded LP solution): with a
    good incumbent from the outset it stops at the gap far sooner (measured: 0.4 s instead
    of 6 s on a pool of three CHPs and two batteries). `allowance_eur`: the absolute gap
    this part may leave (its share of the whole model's gap); without it, the options'.

    Small parts skip HiGHS's presolve: on a battery's day it costs more than the search
    (measured 30 ms against 13 ms per battery with 22 binaries, same optimum)."""
    highs = _highs(m, options, max(_left(limit_s, started), 1e-3))
    if allowance_eur is not None:
        highs.setOptionValue("mip_rel_gap", 0.0)
        highs.setOptionValue("mip_abs_gap", max(float(allowance_eur), 1e-9))
    if options.node_limit is not None:
        highs.setOptionValue("mip_max_nodes", int(options.node_limit))
    if m.num_cols <= SMALL_PART_COLUMNS:
        highs.setOptionValue("presolve", "off")
    else:  # a large pool's search needs a good first plan most: look harder for one
        highs.setOptionValue("mip_heuristic_effort", LARGE_PART_HEURISTIC_EFFORT)
    if start is not None:
        _start_from(highs, start)
    return _outcome(highs, m)


SMALL_PART_COLUMNS = 2_000
"""Parts up to this many columns are searched without HiGHS's presolve."""

LARGE_PART_HEURISTIC_EFFORT = 0.3
"""HiGHS's `mip_heuristic_effort` on larger parts (its default is 0.05)."""


def _polish(
    m: MatrixModel, options: SolverOptions, found: _Outcome, started: float, limit_s: float
) -> _Outcome:
    """Hold a MIP solution's integer decisions and re-solve the rest to optimality.

    A solution within the gap may dispatch suboptimally where no binary constrains it (a
    storage charging and discharging at once at a positive price, say); with every
    on/off, mode and block held, the LP finds the best dispatch for those decisions. The
    search's proven bound still holds.
    """
    if found.values is None or found.bound - found.objective <= 1e-9 * max(1.0, abs(found.bound)):
        return found
    integer = np.flatnonzero(m.integer)
    held = replace(m, lower=m.lower.copy(), upper=m.upper.copy())
    held.lower[integer] = held.upper[integer] = np.round(found.values[integer])
    better = _outcome(_highs(held, options, _left(limit_s, started), relax=True), held)
    if better.values is None or better.objective < found.objective:
        return found
    return _Outcome(found.status, better.values, better.objective, found.bound)


INTEGRALITY = 1e-6
"""How far from a whole number an integer column's LP value may be and count as whole."""


def _round_keeping_rows(m: MatrixModel, x: FloatArray, integer: IntArray) -> FloatArray:
    """Whole values for the integer columns: each fractional one rounded the way that
    breaks its rows least with the other columns at their LP values (a binary that only
    switches a charge bound rounds up where the LP charges)."""
    value = x[integer]
    down, up = np.floor(value + INTEGRALITY), np.ceil(value - INTEGRALITY)
    fractional = down != up
    if not fractional.any():
        return np.round(value)
    cols = integer[fractional]
    csc = m.matrix.tocsc()[:, cols]
    activity = m.matrix @ x
    counts = np.diff(csc.indptr)
    owner = np.repeat(np.arange(len(cols)), counts)
    rows, coef = csc.indices, csc.data

    def breach(delta: FloatArray) -> FloatArray:
        moved = activity[rows] + coef * delta[owner]
        over = np.maximum(0.0, moved - m.row_upper[rows]) + np.maximum(
            0.0, m.row_lower[rows] - moved
        )
        return np.bincount(owner, weights=over, minlength=len(cols))

    go_up = breach(up[fractional] - value[fractional]) < breach(
        down[fractional] - value[fractional]
    )
    result = np.round(value)
    result[fractional] = np.where(go_up, up[fractional], down[fractional])
    return result


def _allowed(options: SolverOptions, bound: float) -> float:
    """Objective shortfall from the bound that the MIP gap accepts [EUR]."""
    return max(options.mip_gap * abs(bound), options.mip_abs_gap_eur) + 1e-9 * max(1.0, abs(bound))


def _left(limit_s: float, started: float) -> float:
    return limit_s - (time.perf_counter() - started)


def _outcome(highs: highspy.Highs, m: MatrixModel, *, relaxed: bool = False) -> _Outcome:
    """What a HiGHS run found; `relaxed`: it solved `m`'s LP relaxation (bound = value)."""
    if highs.getModelStatus() == highspy.HighsModelStatus.kNotset:
        highs.run()
    status = _STATUS.get(highs.getModelStatus(), str(highs.getModelStatus()))
    info = highs.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return _Outcome(status, None, float("nan"), float("nan"))
    objective = float(info.objective_function_value)
    bound = objective
    if not relaxed and m.integer.any() and np.isfinite(info.mip_dual_bound):
        bound = max(objective, float(info.mip_dual_bound))
    return _Outcome(status, np.asarray(highs.getSolution().col_value), objective, bound)


def solve(model: LinearModel, options: SolverOptions, *, build_s: float = 0.0) -> Solved:
    """Solve `model`, part by independent part; values only if every part has a solution.

    The time limit covers all parts; each gets a share of what is left in proportion to
    its size, and time a part does not use passes on to the next. The gap reported is that
    of the whole objective: (sum of the parts' proven bounds - objective) / |objective|.
    """
    started = time.perf_counter()
    calls = [0]
    token = _CALLS.set(calls)
    try:
        return _solve(model, options, build_s, started, calls)
    finally:
        _CALLS.reset(token)


def _solve(
    model: LinearModel, options: SolverOptions, build_s: float, started: float, calls: list[int]
) -> Solved:
    whole = MatrixModel.of(model)
    try:
        pieces: Split | None = split(whole)
    except InconsistentError:
        pieces = None
    if pieces is None:
        outcomes = [_run(whole, options, options.time_limit_s)]
        offset = 0.0
    else:
        outcomes = _run_parts(pieces, options, started)
        offset = pieces.reduced.offset + pieces.free_objective()
    elapsed = time.perf_counter() - started
    statuses = [o.status for o in outcomes]
    has_solution = all(o.values is not None for o in outcomes)
    status = _overall_status(statuses)
    objective = bound = None
    values = np.zeros(0)
    if has_solution:
        objective = offset + sum(o.objective for o in outcomes)
        bound = offset + sum(o.bound for o in outcomes)
        found = [o.values for o in outcomes if o.values is not None]
        values = found[0] if pieces is None else pieces.assemble(found)
    gap = None
    if objective is not None and bound is not None:
        gap = abs(bound - objective) / max(abs(objective), 1e-9)
        gap = 0.0 if gap < 1e-12 else gap
        allowed = options.mip_gap + 1e-9 + options.mip_abs_gap_eur / max(abs(objective), 1e-9)
        if status == "optimal" and gap > allowed:
            # each part met the gap on its own objective, the whole did not (an offset or
            # parts of opposite sign): say so rather than call it optimal
            status = "gap_above_target"
    integer = whole.integer
    report = SolverReport(
        status=status,
        has_solution=has_solution,
        objective_eur=objective,
        gap=gap,
        bound_eur=bound,
        variables=model.num_cols,
        integer_variables=int(integer.sum()),
        constraints=model.num_rows,
        build_s=build_s,
        solve_s=elapsed,
        parts=len(outcomes),
        highs_calls=calls[0],
    )
    return Solved(values, report)


LP_BATCH_COLUMNS = 20_000
"""Parts' LP relaxations are solved together up to this many columns (one HiGHS call)."""

LP_ALONE_COLUMNS = 500
"""Parts of at least this many columns have their LP relaxation solved alone: a batch
that fails is solved again part by part, and a large part (an aFRR pool of 2,800 columns
whose whole-step attempt is infeasible) would be solved twice for a status it gives
alone (measured: 24 such double solves in 6 August days of the backtest benchmark)."""


def _relaxations(pieces: Split, options: SolverOptions, started: float) -> list[_Outcome]:
    """Every part's LP relaxation, parts batched into few HiGHS calls (a tiny LP costs
    little more than the call itself), the batches on `options.workers` threads. A batch
    that fails is solved part by part, so that each part gets its own status."""
    parts = pieces.parts
    batches: list[list[int]] = [[]]
    size = 0
    alone: list[list[int]] = []
    for k, part in enumerate(parts):
        if len(part.cols) >= LP_ALONE_COLUMNS:
            alone.append([k])
            continue
        if size + len(part.cols) > LP_BATCH_COLUMNS and batches[-1]:
            batches.append([])
            size = 0
        batches[-1].append(k)
        size += len(part.cols)
    batches = [*alone, *(b for b in batches if b)]

    def relax(b: int) -> dict[int, _Outcome]:
        return _relax_batch(pieces, batches[b], options, started)

    found: dict[int, _Outcome] = {}
    workers = min(options.workers, len(batches)) or 1
    for outcomes in _each_batch(relax, list(range(len(batches))), workers):
        found.update(outcomes)
    return [found[k] for k in range(len(parts))]


def _relax_batch(
    pieces: Split, batch: list[int], options: SolverOptions, started: float
) -> dict[int, _Outcome]:
    """The LP relaxations of the parts in `batch`, in one HiGHS call where it solves."""
    parts = pieces.parts
    if not batch:
        return {}
    joined = _joined([parts[k] for k in batch])
    m = pieces.reduced.part(joined.cols, joined.rows)
    highs = _highs(m, options, max(_left(options.time_limit_s, started), 1e-3), relax=True)
    highs.run()
    whole = _outcome(highs, m, relaxed=True)
    found: dict[int, _Outcome] = {}
    if len(batch) == 1 and (whole.values is None or whole.status != "optimal"):
        return {batch[0]: whole}  # already the part's own status: nothing to tell apart
    if whole.values is None or whole.status != "optimal":
        for k in batch:
            one = pieces.reduced.part(parts[k].cols, parts[k].rows)
            single = _highs(
                one, options, max(_left(options.time_limit_s, started), 1e-3), relax=True
            )
            single.run()
            found[k] = _outcome(single, one, relaxed=True)
        return found
    at = 0
    for k in batch:
        n = len(parts[k].cols)
        x = whole.values[at : at + n]
        value = float(pieces.reduced.cost[parts[k].cols] @ x)
        found[k] = _Outcome("optimal", x, value, value)
        at += n
    return found


def _each_batch(
    run: Callable[[int], dict[int, _Outcome]], order: list[int], workers: int
) -> list[dict[int, _Outcome]]:
    """`run` on each of `order` on `workers` threads, its HiGHS calls counted."""
    if workers == 1 or len(order) <= 1:
        return [run(b) for b in order]
    tasks = [(contextvars.copy_context(), b) for b in order]
    with ThreadPoolExecutor(workers, thread_name_prefix="highs-lp") as pool:
        return list(pool.map(lambda task: task[0].run(run, task[1]), tasks))


def _joined(parts: list[Part]) -> Part:
    if len(parts) == 1:
        return parts[0]
    return Part(np.concatenate([p.cols for p in parts]), np.concatenate([p.rows for p in parts]))


def _allowances(
    pieces: Split, relaxed: list[_Outcome], open_parts: list[int], options: SolverOptions
) -> dict[int, float]:
    """Each open part's share of the whole model's gap [EUR].

    The gap is the whole objective's: (bound - objective) / |objective| <= mip_gap. Parts
    have objectives of either sign (a load's costs, a battery's revenue), so a relative gap
    per part means little; instead the absolute gap the whole may leave, mip_gap times
    the relaxation's |objective|, is shared among the parts that are not yet integral in
    proportion to the size of their objectives."""
    total = pieces.reduced.offset + pieces.free_objective()
    total += sum(r.objective for r in relaxed if np.isfinite(r.objective))
    budget = max(options.mip_gap * abs(total), options.mip_abs_gap_eur)
    weights = {k: max(abs(relaxed[k].objective), 1.0) for k in open_parts}
    share = sum(weights.values()) or 1.0
    return {k: budget * w / share for k, w in weights.items()}


def _run_parts(pieces: Split, options: SolverOptions, started: float) -> list[_Outcome]:
    """Solve every part: LP relaxations in batches, then each part not integral at its LP
    alone (`_finish`), largest first, `options.workers` at a time, within its share of
    the gap (`_allowances`).

    Each part may take a share of the time left in proportion to its size (times the
    workers, who share the wall clock); what a part does not use is left to the others.
    Returns one outcome per entry of `pieces.parts`.
    """
    parts = pieces.parts
    relaxed = _relaxations(pieces, options, started)
    integer = pieces.reduced.integer
    open_parts = [
        k
        for k, part in enumerate(parts)
        if integer[part.cols].any() and relaxed[k].status == "optimal"
        if relaxed[k].values is not None and not _integral(integer[part.cols], relaxed[k].values)
    ]
    found: dict[int, _Outcome] = {}
    for k, part in enumerate(parts):
        if k in open_parts:
            continue
        outcome = relaxed[k]
        if outcome.values is not None and integer[part.cols].any():
            x = outcome.values.copy()
            x[integer[part.cols]] = np.round(x[integer[part.cols]])
            outcome = _Outcome(outcome.status, x, outcome.objective, outcome.bound)
        elif outcome.status != "optimal" and integer[part.cols].any():
            m = pieces.reduced.part(part.cols, part.rows)
            outcome = _finish(
                m, outcome, options.mip_abs_gap_eur, options, started, options.time_limit_s
            )
        found[k] = outcome
    if open_parts:
        allowance = _allowances(pieces, relaxed, open_parts, options)
        found.update(_finish_open(pieces, relaxed, open_parts, allowance, options, started))
    return [found[k] for k in range(len(parts))]


def _integral(flags: np.ndarray, values: FloatArray) -> bool:
    chosen = values[flags]
    return bool(np.abs(chosen - np.round(chosen)).max() <= INTEGRALITY) if len(chosen) else True


FIRST_ROUND_NODES = 1_000
"""Branch-and-bound nodes an open part's search may explore at first; parts that need more
wait for a second round with the gap budget the others did not use (`_finish_open`). A
work limit, not a time limit: the plan does not depend on the machine's load."""

LIMITED = ("time_limit", "node_limit")
"""Statuses of a search stopped by a limit before it proved its gap."""


def _finish_open(
    pieces: Split,
    relaxed: list[_Outcome],
    open_parts: list[int],
    allowance: dict[int, float],
    options: SolverOptions,
    started: float,
) -> dict[int, _Outcome]:
    """`_finish` for each open part, largest first, on `options.workers` threads, in two
    rounds: each part's search first explores at most `FIRST_ROUND_NODES` nodes; then the
    gap budget the finished parts left unused goes to the others in proportion to what
    each still lacks (its best solution's distance to its bound), which often accepts
    them at once; a part still short of its share gets the rest of the time and the
    options' node limit, from its best solution so far.

    Only work limits decide which plan is returned, so that two runs of the same inputs
    give the same plan; the time limit is a backstop whose status says it was hit."""
    parts = pieces.parts
    sizes = {k: max(1, len(parts[k].cols) + len(parts[k].rows)) for k in open_parts}
    order = sorted(open_parts, key=lambda k: -sizes[k])
    workers = min(options.workers, len(order)) or 1
    nodes = min(options.node_limit or FIRST_ROUND_NODES, FIRST_ROUND_NODES)
    first_options = options.model_copy(update={"node_limit": nodes})

    def remaining() -> float:
        return options.time_limit_s - (time.perf_counter() - started)

    def first(k: int) -> _Outcome:
        m = pieces.reduced.part(parts[k].cols, parts[k].rows)
        cap = max(remaining(), 0.0)
        return _finish(m, relaxed[k], allowance[k], first_options, time.perf_counter(), cap)

    found = _each(first, order, workers)
    wider = _shares_left(found, order, allowance)
    late = [k for k in order if not _met(found[k], wider[k])]
    left = [sum(sizes[k] for k in late)]
    lock = threading.Lock()

    def second(k: int) -> _Outcome:
        with lock:
            share = min(remaining(), remaining() * workers * sizes[k] / max(left[0], 1))
            left[0] -= sizes[k]
        m = pieces.reduced.part(parts[k].cols, parts[k].rows)
        again = _finish(
            m,
            relaxed[k],
            wider[k],
            options,
            time.perf_counter(),
            max(share, 0.0),
            start=found[k].values,
        )
        return again if _better(again, found[k]) else found[k]

    found.update(_each(second, late, workers))
    for k in order:  # within its share of the gap, a part is solved as asked
        if found[k].status in LIMITED and _met(found[k], wider.get(k, allowance[k])):
            found[k] = replace(found[k], status="optimal")
    # a share is a target, not a cap: a part that found nothing in its share gets the
    # time the others left, one after another
    for k in order:
        if found[k].values is None and found[k].status in LIMITED and remaining() > 0:
            m = pieces.reduced.part(parts[k].cols, parts[k].rows)
            found[k] = _finish(
                m, relaxed[k], wider.get(k, allowance[k]), options, time.perf_counter(), remaining()
            )
    return found


def _shares_left(
    found: dict[int, _Outcome], order: list[int], allowance: dict[int, float]
) -> dict[int, float]:
    """Each part's share of the gap after a first round: a part within its share keeps
    it; the budget the others have not used (the whole budget less what the parts within
    their share used) is shared by the rest in proportion to what each still lacks."""
    done = [k for k in order if _met(found[k], allowance[k])]
    late = [k for k in order if k not in done]
    budget = sum(allowance.values()) - sum(_used(found[k]) for k in done)
    lacking = {k: _used(found[k]) for k in late}
    need = sum(v for v in lacking.values() if np.isfinite(v))
    unknown = [k for k in late if not np.isfinite(lacking[k])]
    # parts that found nothing yet aim at their share of what the others do not need
    spare = max(budget - need, 0.0) if unknown else 0.0
    weight = sum(allowance[k] for k in unknown) or 1.0
    shares = {k: allowance[k] for k in done}
    for k in late:
        if k in unknown:
            shares[k] = max(allowance[k], spare * allowance[k] / weight)
        else:
            shares[k] = max(allowance[k], (budget - spare) * lacking[k] / max(need, 1e-9))
    return shares


def _each(run: Callable[[int], _Outcome], order: list[int], workers: int) -> dict[int, _Outcome]:
    """`run` on each of `order`, on `workers` threads (HiGHS solves outside the GIL)."""
    if workers == 1 or len(order) <= 1:
        return {k: run(k) for k in order}
    # each task runs in a copy of this thread's context, so its HiGHS calls are counted
    tasks = [(contextvars.copy_context(), k) for k in order]
    with ThreadPoolExecutor(workers, thread_name_prefix="highs-part") as pool:
        found = pool.map(lambda task: task[0].run(run, task[1]), tasks)
        return dict(zip(order, found, strict=True))


def _used(outcome: _Outcome) -> float:
    """The gap a part's outcome leaves [EUR]; infinite without a solution."""
    if outcome.values is None:
        return float("inf")
    return max(0.0, outcome.bound - outcome.objective)


def _met(outcome: _Outcome, allowance_eur: float) -> bool:
    """Whether a part's outcome is within `allowance_eur` of its bound."""
    return _used(outcome) <= allowance_eur + 1e-9 * max(1.0, abs(outcome.bound))


def _better(candidate: _Outcome, incumbent: _Outcome) -> bool:
    """Whether `candidate` has a solution and a smaller gap than `incumbent`."""
    return candidate.values is not None and _used(candidate) <= _used(incumbent)


_PRECEDENCE = (
    "infeasible",
    "infeasible_or_unbounded",
    "unbounded",
    "interrupted",
    "time_limit",
    "iteration_limit",
    "node_limit",
)


def _overall_status(statuses: list[str]) -> str:
    """The status of the whole: the worst of its parts' (optimal only if all are)."""
    for status in _PRECEDENCE:
        if status in statuses:
            return status
    unknown = [s for s in statuses if s != "optimal"]
    return unknown[0] if unknown else "optimal"
