"""The search around where the LP solution and a plan agree (RINS): the decisions both
share stay as they are, the others are chosen best, checked against enumeration."""

from __future__ import annotations

import itertools
import time

import numpy as np
from scipy.sparse import csr_matrix

from trading.optimiser.solver import SolverOptions, _agreement
from trading.optimiser.split import MatrixModel

VALUE = np.array([10.0, 13.0, 7.0, 8.0, 9.0, 4.0, 6.0, 11.0])
"""What switching each unit on earns [EUR]."""
WEIGHT = np.array([5.0, 7.0, 4.0, 4.0, 6.0, 3.0, 2.0, 6.0])
"""The shared connection each unit takes when on [MW]; the connection holds `LIMIT`."""
LIMIT = 19.0


def knapsack() -> MatrixModel:
    n = len(VALUE)
    return MatrixModel(
        cost=VALUE.copy(),
        lower=np.zeros(n),
        upper=np.ones(n),
        integer=np.ones(n, dtype=bool),
        row_lower=np.array([-np.inf]),
        row_upper=np.array([LIMIT]),
        matrix=csr_matrix(WEIGHT.reshape(1, -1)),
    )


def best_with(fixed: dict[int, float]) -> float:
    """The best objective with the `fixed` units held, by enumerating the others."""
    free = [i for i in range(len(VALUE)) if i not in fixed]
    best = -np.inf
    for choice in itertools.product((0.0, 1.0), repeat=len(free)):
        x = np.zeros(len(VALUE))
        for i, v in fixed.items():
            x[i] = v
        x[free] = choice
        if WEIGHT @ x <= LIMIT + 1e-9:
            best = max(best, float(VALUE @ x))
    return best


def test_agreed_decisions_are_kept_and_the_rest_chosen_best() -> None:
    m = knapsack()
    # an LP solution: units 6, 0, 3 whole on, 1 half on, 5 whole off, the rest off
    lp = np.array([1.0, 0.5, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    # a plan that agrees on units 0, 3 (on) and 2, 4, 5, 7 (off), and differs on unit 6
    start = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    integer = np.flatnonzero(m.integer)
    found = _agreement(
        m, lp, integer, start, 0.0, SolverOptions(), time.perf_counter(), time_limit_s=10.0
    )
    assert found.values is not None
    x = np.round(found.values)
    agreed = {0: 1.0, 2: 0.0, 3: 1.0, 4: 0.0, 5: 0.0, 7: 0.0}
    assert all(x[i] == v for i, v in agreed.items())
    assert WEIGHT @ x <= LIMIT + 1e-9
    assert found.objective == VALUE @ x
    assert found.objective == best_with(agreed) > VALUE @ start
