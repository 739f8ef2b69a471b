"""Battery-only day-ahead arbitrage written straight against highspy, as a yardstick.

The naive exact formulation the optimiser benchmark compares with, built as a matrix with
numpy: per battery and quarter hour a charge and a discharge power [MW], a state of
charge [MWh] and a binary (charge only when it is 1, discharge only when it is 0); SoC
dynamics with both one-way efficiencies, the final SoC at least the initial, wear on
throughput (charged plus discharged energy) and levies on charging. Optionally the
battery's net injection is a whole number of volume steps in every quarter hour (an
integer per quarter hour).

- `solve_direct`: the whole fleet in one HiGHS model (exact MILP, or its LP relaxation
  with `relax=True`).
- `solve_each`: each battery in a model of its own, one after the other, objectives,
  bounds and times summed (the batteries share no constraint, so the sum of their exact
  optima is the fleet's).

It shares no code with `trading.optimiser`; only the battery parameters and the prices
are read from the same portfolio. One HiGHS thread per solve.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, fields

import highspy
import numpy as np

DT = 0.25
"""Length of a quarter hour [h]."""

STEP_TOLERANCE = 1e-9
"""Slack when counting how many whole steps fit in a battery's power [MW]."""


@dataclass(frozen=True)
class Fleet:
    """Battery parameters, one entry per battery [MW, MWh, EUR/MWh]."""

    p_charge: np.ndarray
    p_discharge: np.ndarray
    soc_min: np.ndarray
    soc_max: np.ndarray
    soc_initial: np.ndarray
    eta_charge: np.ndarray
    eta_discharge: np.ndarray
    wear: np.ndarray
    charging_cost: np.ndarray

    def __len__(self) -> int:
        return len(self.p_charge)

    def battery(self, i: int) -> Fleet:
        """A fleet of battery `i` alone."""
        return Fleet(**{f.name: getattr(self, f.name)[i : i + 1] for f in fields(self)})


@dataclass(frozen=True)
class DirectResult:
    """Objective and proven bound [EUR], status and timings [s] of one HiGHS model."""

    objective: float
    bound: float
    status: str
    gap: float
    build_s: float
    solve_s: float
    variables: int
    integer_variables: int
    constraints: int

    @property
    def seconds(self) -> float:
        """Build plus solve [s]."""
        return self.build_s + self.solve_s


@dataclass(frozen=True)
class EachResult:
    """Batteries solved one by one: objectives and bounds summed [EUR], wall time [s]."""

    objective: float
    bound: float
    seconds: float
    statuses: Counter[str]

    @property
    def all_optimal(self) -> bool:
        """Whether every battery's model was solved to optimality."""
        return set(self.statuses) == {"Optimal"}

    def status_text(self) -> str:
        """E.g. ``Optimal`` or ``Optimal 7, Time limit reached 3``."""
        if len(self.statuses) == 1:
            return next(iter(self.statuses))
        return ", ".join(f"{s} {k}" for s, k in sorted(self.statuses.items()))


class _Rows:
    """Constraint rows gathered as (row, column, value) triplets with their bounds."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.count = 0

    def add(
        self,
        terms: list[tuple[np.ndarray, np.ndarray | float]],
        low: np.ndarray | float,
        high: np.ndarray | float,
    ) -> None:
        """Rows ``low <= sum of value * column <= high``, one per entry of the columns."""
        count = terms[0][0].size
        index = self.count + np.arange(count)
        for cols, vals in terms:
            self.rows.append(index)
            self.cols.append(cols.ravel())
            self.vals.append(np.broadcast_to(vals, cols.shape).ravel().astype(float))
        self.lower.append(np.broadcast_to(low, (count,)).ravel().astype(float))
        self.upper.append(np.broadcast_to(high, (count,)).ravel().astype(float))
        self.count += count

    def csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row starts, column indices and values, row-wise."""
        row = np.concatenate(self.rows)
        order = np.argsort(row, kind="stable")
        starts = np.r_[0, np.cumsum(np.bincount(row, minlength=self.count))]
        return starts, np.concatenate(self.cols)[order], np.concatenate(self.vals)[order]


def _model(fleet: Fleet, prices: np.ndarray, step_mw: float | None) -> highspy.HighsLp:
    """The fleet's MILP: columns per battery c[n], d[n], s[n], z[n] (and k[n] with steps)."""
    b, n = len(fleet), len(prices)
    blocks = 4 if step_mw is None else 5
    base = np.arange(b)[:, None] * blocks * n
    t = np.arange(n)[None, :]
    c, d, s, z = (base + k * n + t for k in range(4))
    eta_c, eta_d = fleet.eta_charge[:, None], fleet.eta_discharge[:, None]
    p_c, p_d = fleet.p_charge[:, None], fleet.p_discharge[:, None]
    ones = np.ones((b, n))
    rows = _Rows()
    # s_t - s_{t-1} - eta_c DT c_t + DT / eta_d d_t = 0, with s_{-1} the initial SoC
    rows.add(
        [(s[:, 1:], 1.0), (s[:, :-1], -1.0), (c[:, 1:], -eta_c * DT), (d[:, 1:], DT / eta_d)],
        0.0,
        0.0,
    )
    rows.add(
        [(s[:, :1], 1.0), (c[:, :1], -eta_c * DT), (d[:, :1], DT / eta_d)],
        fleet.soc_initial,
        fleet.soc_initial,
    )
    # c_t <= p_c z_t ; d_t <= p_d (1 - z_t)
    rows.add([(c, 1.0), (z, -p_c * ones)], -np.inf, 0.0)
    rows.add([(d, 1.0), (z, p_d * ones)], -np.inf, (p_d * ones).ravel())
    rows.add([(s[:, -1:], 1.0)], fleet.soc_initial, np.inf)  # final SoC at least the initial
    cost = np.zeros((b, blocks, n))
    cost[:, 0] = -(prices[None, :] + fleet.wear[:, None] + fleet.charging_cost[:, None]) * DT
    cost[:, 1] = (prices[None, :] - fleet.wear[:, None]) * DT
    lower, upper = np.zeros((b, blocks, n)), np.zeros((b, blocks, n))
    upper[:, 0], upper[:, 1] = p_c, p_d
    lower[:, 2], upper[:, 2] = fleet.soc_min[:, None], fleet.soc_max[:, None]
    upper[:, 3] = 1.0
    integer = np.zeros((b, blocks, n), dtype=bool)
    integer[:, 3] = True
    if step_mw is not None:  # d_t - c_t = step k_t, k_t whole
        k = base + 4 * n + t
        rows.add([(d, 1.0), (c, -1.0), (k, -step_mw)], 0.0, 0.0)
        lower[:, 4] = -np.floor(p_c / step_mw + STEP_TOLERANCE)
        upper[:, 4] = np.floor(p_d / step_mw + STEP_TOLERANCE)
        integer[:, 4] = True
    starts, index, value = rows.csr()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = b * blocks * n, rows.count
    lp.col_cost_ = cost.ravel()
    lp.col_lower_, lp.col_upper_ = lower.ravel(), upper.ravel()
    lp.row_lower_ = np.concatenate(rows.lower)
    lp.row_upper_ = np.concatenate(rows.upper)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = index.astype(np.int32)
    lp.a_matrix_.value_ = value
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
        for flag in integer.ravel()
    ]
    return lp


def solve_direct(
    fleet: Fleet,
    prices: np.ndarray,
    time_limit_s: float = 600.0,
    *,
    relax: bool = False,
    step_mw: float | None = None,
) -> DirectResult:
    """Maximise the fleet's arbitrage profit [EUR] at `prices` [EUR/MWh per quarter hour].

    Exact (MIP gap 0) unless `relax`: then every integer is continuous (the LP
    relaxation). `step_mw`: net injection a whole number of steps in every quarter hour.
    """
    started = time.perf_counter()
    lp = _model(fleet, prices, step_mw)
    integer = sum(v == highspy.HighsVarType.kInteger for v in lp.integrality_)
    if relax:
        lp.integrality_ = []
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("time_limit", float(time_limit_s))
    highs.passModel(lp)
    built = time.perf_counter()
    highs.run()
    solved = time.perf_counter()
    info = highs.getInfo()
    objective = float(info.objective_function_value)
    mip = not relax and integer > 0
    return DirectResult(
        objective=objective,
        bound=float(info.mip_dual_bound) if mip else objective,
        status=highs.modelStatusToString(highs.getModelStatus()),
        gap=float(info.mip_gap) if mip else 0.0,
        build_s=built - started,
        solve_s=solved - built,
        variables=lp.num_col_,
        integer_variables=0 if relax else integer,
        constraints=lp.num_row_,
    )


def solve_each(
    fleet: Fleet, prices: np.ndarray, time_limit_s: float = 600.0, *, step_mw: float | None = None
) -> EachResult:
    """Each battery alone, exactly (`solve_direct`), one after the other; `time_limit_s`
    per battery. Objectives and bounds summed; time is the wall time of them all."""
    started = time.perf_counter()
    results = [
        solve_direct(fleet.battery(i), prices, time_limit_s, step_mw=step_mw)
        for i in range(len(fleet))
    ]
    return EachResult(
        objective=sum(r.objective for r in results),
        bound=sum(r.bound for r in results),
        seconds=time.perf_counter() - started,
        statuses=Counter(r.status for r in results),
    )
