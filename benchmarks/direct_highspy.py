"""Battery-only day-ahead arbitrage written straight against highspy, as a yardstick.

This is the naive exact formulation the optimiser benchmark compares with: one MILP for
the whole fleet, built as a matrix with numpy, a binary on every quarter hour of every
battery (charge only when it is 1, discharge only when it is 0), SoC dynamics with both
efficiencies, the final SoC at least the initial, wear on throughput and levies on
charging. It shares no code with `trading.optimiser`; only the battery parameters and
the prices are read from the same portfolio.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

DT = 0.25


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


@dataclass(frozen=True)
class DirectResult:
    """Objective [EUR] and timings [s] of the direct formulation."""

    objective: float
    status: str
    gap: float
    build_s: float
    solve_s: float
    variables: int
    constraints: int


def solve_direct(fleet: Fleet, prices: np.ndarray, time_limit_s: float = 600.0) -> DirectResult:
    """Maximise sum over batteries of price*(d-c)*DT - wear*(c+d)*DT - levy*c*DT."""
    started = time.perf_counter()
    b, n = len(fleet.p_charge), len(prices)
    # column blocks per battery: c[n], d[n], s[n], z[n]
    base = np.arange(b)[:, None] * 4 * n
    t = np.arange(n)[None, :]
    c, d, s, z = base + t, base + n + t, base + 2 * n + t, base + 3 * n + t
    rows, cols, vals, lo, hi = [], [], [], [], []

    def add(
        row_cols: list[np.ndarray], row_vals: list[np.ndarray], low: object, high: object
    ) -> None:
        first = sum(len(x) for x in lo)
        count = row_cols[0].size
        index = first + np.arange(count)
        for k_cols, k_vals in zip(row_cols, row_vals, strict=True):
            rows.append(index)
            cols.append(k_cols.ravel())
            vals.append(np.broadcast_to(k_vals, k_cols.shape).ravel())
        lo.append(np.broadcast_to(low, (count,)).astype(float))
        hi.append(np.broadcast_to(high, (count,)).astype(float))

    eta_c, eta_d = fleet.eta_charge[:, None], fleet.eta_discharge[:, None]
    # energy balance, t >= 1: s_t - s_{t-1} - eta_c*DT*c_t + DT/eta_d*d_t = 0
    add(
        [s[:, 1:], s[:, :-1], c[:, 1:], d[:, 1:]],
        [
            np.ones((b, n - 1)),
            -np.ones((b, n - 1)),
            -eta_c * DT * np.ones((b, n - 1)),
            DT / eta_d * np.ones((b, n - 1)),
        ],
        0.0,
        0.0,
    )
    # t = 0: s_0 - eta_c*DT*c_0 + DT/eta_d*d_0 = soc_initial
    add(
        [s[:, :1], c[:, :1], d[:, :1]],
        [np.ones((b, 1)), -eta_c * DT, DT / eta_d],
        fleet.soc_initial,
        fleet.soc_initial,
    )
    # c_t <= p_c z_t ; d_t + p_d z_t <= p_d
    add([c, z], [np.ones((b, n)), -fleet.p_charge[:, None] * np.ones((b, n))], -np.inf, 0.0)
    add(
        [d, z],
        [np.ones((b, n)), fleet.p_discharge[:, None] * np.ones((b, n))],
        -np.inf,
        np.repeat(fleet.p_discharge, n),
    )
    # final SoC at least the initial
    add([s[:, -1:]], [np.ones((b, 1))], fleet.soc_initial, np.inf)
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    val = np.concatenate(vals)
    order = np.argsort(row, kind="stable")
    n_rows = int(row.max()) + 1
    starts = np.r_[0, np.cumsum(np.bincount(row, minlength=n_rows))]
    n_cols = 4 * n * b
    price = prices[None, :]
    cost = np.zeros((b, 4, n))
    cost[:, 0] = -(price + fleet.wear[:, None] + fleet.charging_cost[:, None]) * DT
    cost[:, 1] = (price - fleet.wear[:, None]) * DT
    lower = np.zeros((b, 4, n))
    upper = np.zeros((b, 4, n))
    upper[:, 0] = fleet.p_charge[:, None]
    upper[:, 1] = fleet.p_discharge[:, None]
    lower[:, 2] = fleet.soc_min[:, None]
    upper[:, 2] = fleet.soc_max[:, None]
    upper[:, 3] = 1.0
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols, n_rows
    lp.col_cost_ = cost.ravel()
    lp.col_lower_ = lower.ravel()
    lp.col_upper_ = upper.ravel()
    lp.row_lower_ = np.concatenate(lo)
    lp.row_upper_ = np.concatenate(hi)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = col[order].astype(np.int32)
    lp.a_matrix_.value_ = val[order].astype(float)
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_cols, n_rows
    integrality = np.zeros((b, 4, n), dtype=bool)
    integrality[:, 3] = True
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
        for flag in integrality.ravel()
    ]
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("time_limit", float(time_limit_s))
    highs.passModel(lp)
    built = time.perf_counter()
    highs.run()
    solved = time.perf_counter()
    info = highs.getInfo()
    return DirectResult(
        objective=float(info.objective_function_value),
        status=highs.modelStatusToString(highs.getModelStatus()),
        gap=float(info.mip_gap),
        build_s=built - started,
        solve_s=solved - built,
        variables=n_cols,
        constraints=n_rows,
    )
