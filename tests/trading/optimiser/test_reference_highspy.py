"""The battery-only day-ahead problem, formulated independently on highspy, against `optimise`.

Comparison level: the optimiser solves positions continuously first, then rounds them to
0.1 MW and re-solves (at a rounding penalty). The reference has no rounding, so it is
compared with the optimiser's *first* solve (`build_model`, positions made continuous,
`solve`), which must match within 1e-6 relative; the final `optimise` objective can only
be lower (rounding takes freedom away) and must not exceed the reference.

The reference puts a binary on EVERY quarter hour (the optimiser only where price <= 0);
overlap never pays at positive prices, so the optima must agree.
"""

from __future__ import annotations

import highspy
import numpy as np
import pytest
from optimiser_factories import DAY, battery, build, day_ahead, portfolio

from trading.optimiser.build import OptimiserOptions
from trading.optimiser.plan import optimise
from trading.optimiser.solver import SolverOptions, solve

DT = 0.25
OPTIONS = OptimiserOptions(markets=("day_ahead",), solver=SolverOptions(mip_gap=0))


def reference(
    prices: np.ndarray,
    p_c: float,
    p_d: float,
    e_max: float,
    eta_c: float,
    eta_d: float,
    soc0: float,
    wear: float,
    charging_cost: float,
) -> float:
    """Max sum price*(d-c)*DT - wear*(c+d)*DT - charging_cost*c*DT; columns c, d, s, z."""
    n = len(prices)
    c, d, s, z = (np.arange(n) + k * n for k in range(4))
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0
    for t in range(n):  # s_t - s_{t-1} - eta_c*DT*c_t + DT/eta_d*d_t = (soc0 if t == 0)
        rows += [r, r, r]
        cols += [s[t], c[t], d[t]]
        vals += [1.0, -eta_c * DT, DT / eta_d]
        if t > 0:
            rows.append(r)
            cols.append(s[t - 1])
            vals.append(-1.0)
        rhs = soc0 if t == 0 else 0.0
        lo.append(rhs)
        hi.append(rhs)
        r += 1
    for t in range(n):  # c_t <= p_c z_t ; d_t <= p_d (1 - z_t)
        rows += [r, r]
        cols += [c[t], z[t]]
        vals += [1.0, -p_c]
        lo.append(-np.inf)
        hi.append(0.0)
        r += 1
        rows += [r, r]
        cols += [d[t], z[t]]
        vals += [1.0, p_d]
        lo.append(-np.inf)
        hi.append(p_d)
        r += 1
    rows.append(r)  # final soc >= initial
    cols.append(s[n - 1])
    vals.append(1.0)
    lo.append(soc0)
    hi.append(np.inf)
    r += 1
    order = np.argsort(np.array(rows), kind="stable")
    index = np.array(cols, dtype=np.int32)[order]
    value = np.array(vals, dtype=float)[order]
    starts = np.r_[0, np.cumsum(np.bincount(np.array(rows), minlength=r))].astype(np.int32)
    cost = np.r_[
        -prices * DT - (wear + charging_cost) * DT, prices * DT - wear * DT, np.zeros(2 * n)
    ]
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 4 * n, r
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(4 * n)
    lp.col_upper_ = np.r_[np.full(n, p_c), np.full(n, p_d), np.full(n, e_max), np.ones(n)]
    lp.row_lower_, lp.row_upper_ = np.array(lo), np.array(hi)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = starts
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = 4 * n, r
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * (3 * n) + [
        highspy.HighsVarType.kInteger
    ] * n
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.passModel(lp)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value)


def random_case(seed: int) -> tuple[dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    power = float(rng.choice([0.5, 1.0, 2.0, 3.3]))
    asset = battery(
        power_charge_mw=power,
        power_discharge_mw=float(rng.choice([power, power * 0.8])),
        energy_mwh=float(rng.uniform(0.5, 6.0)),
        efficiency_charge=float(rng.uniform(0.8, 1.0)),
        efficiency_discharge=float(rng.uniform(0.8, 1.0)),
        degradation_cost_eur_per_mwh=float(rng.choice([0.0, 2.5])),
    )
    asset["soc_initial_mwh"] = float(rng.uniform(0, asset["energy_mwh"]))
    prices = rng.normal(60, 40, 96).round(2)
    start = int(rng.integers(0, 80))
    prices[start : start + int(rng.integers(2, 16))] = -rng.uniform(1, 80)
    return asset, prices


@pytest.mark.parametrize("seed", range(20))
def test_first_solve_matches_independent_reference(seed: int) -> None:
    asset, prices = random_case(seed)
    pf = portfolio(asset)
    built = build(pf, DAY, day_ahead(prices), options=OPTIONS)
    for block in built.positions:
        built.model.set_integer(block.steps, False)
    ours = solve(built.model, OPTIONS.solver).report.objective_eur
    charging_cost = built.treatments["bat-1"].charging_cost_eur_per_mwh
    theirs = reference(
        prices,
        asset["power_charge_mw"],
        asset["power_discharge_mw"],
        asset["energy_mwh"],
        asset["efficiency_charge"],
        asset["efficiency_discharge"],
        asset["soc_initial_mwh"],
        asset["degradation_cost_eur_per_mwh"],
        charging_cost,
    )
    assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-6)
    final = optimise(pf, DAY, day_ahead(prices), options=OPTIONS).objective_eur
    assert final <= theirs + 1e-6 * max(1.0, abs(theirs))
