"""The solver's searches stop at work limits (nodes), not at the wall clock, and a plan
stopped short of its gap is never called optimal."""

from __future__ import annotations

import numpy as np

from trading.optimiser.linear import LinearModel
from trading.optimiser.solver import SolverOptions, solve


def knapsacks(seed: int = 7, items: int = 35, rows: int = 5) -> LinearModel:
    """A multi-dimensional 0/1 knapsack: items of random value and weights, each
    capacity half of its row's total weight. Its LP bound is far from the best whole
    choice, so a search needs many nodes to prove an exact optimum."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(20, 100, size=(rows, items)).astype(float)
    values = weights.sum(axis=0) / rows + rng.integers(-10, 10, size=items)
    model = LinearModel()
    take = model.binary("take", items)
    for j in range(rows):
        model.add(f"capacity {j}", take.sum(weights[j]), "<=", weights[j].sum() / 2)
    model.maximise(take.sum(values))
    return model


def test_a_search_stopped_by_its_node_limit_says_so_with_its_gap() -> None:
    limited = solve(knapsacks(), SolverOptions(mip_gap=0.0, node_limit=1, time_limit_s=600))
    assert limited.report.status == "node_limit"
    assert limited.report.has_solution
    assert limited.report.gap is not None
    assert limited.report.gap > 0
    exact = solve(knapsacks(), SolverOptions(mip_gap=0.0, time_limit_s=600))
    assert exact.report.status == "optimal"
    assert exact.report.objective_eur is not None
    assert limited.report.objective_eur is not None
    assert exact.report.objective_eur >= limited.report.objective_eur - 1e-6
    assert limited.report.bound_eur is not None
    assert limited.report.bound_eur >= exact.report.objective_eur - 1e-6


def test_a_node_limited_search_gives_the_same_plan_every_time() -> None:
    options = SolverOptions(mip_gap=0.0, node_limit=50, time_limit_s=600)
    first = solve(knapsacks(), options)
    second = solve(knapsacks(), options.model_copy(update={"time_limit_s": 300}))
    assert first.report.status == second.report.status
    assert np.array_equal(first.values, second.values)
    assert first.report.bound_eur == second.report.bound_eur
