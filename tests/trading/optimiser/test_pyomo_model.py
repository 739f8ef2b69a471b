"""The optimiser's model handed to Pyomo: same variables, rows and optimum."""

from __future__ import annotations

import pyomo.environ as pyo
import pytest
from optimiser_factories import DAY, battery, build, chp, day_ahead, portfolio

from trading.optimiser.build import OptimiserOptions
from trading.optimiser.pyomo_model import component_name, to_pyomo
from trading.optimiser.solver import SolverOptions, solve

EXACT = SolverOptions(mip_gap=0)


def test_pyomo_model_has_the_same_optimum_as_the_optimiser() -> None:
    prices = [40.0] * 96
    prices[20:30] = [-15.0] * 10
    prices[70:80] = [130.0] * 10
    built = build(
        portfolio(battery(efficiency_charge=0.9), chp(min_up_time_h=1.0)),
        DAY,
        day_ahead(prices),
        options=OptimiserOptions(solver=EXACT),
    )
    for block in built.positions:
        built.model.set_integer(block.steps, False)
    ours = solve(built.model, EXACT).report.objective_eur
    model = to_pyomo(built.model)
    solver = pyo.SolverFactory("appsi_highs")
    solver.config.mip_gap = 0.0
    solver.solve(model)
    assert pyo.value(model.objective) == pytest.approx(ours, rel=1e-6)


def test_pyomo_components_are_named_after_the_families() -> None:
    built = build(portfolio(battery()), DAY, day_ahead([50.0] * 96))
    model = to_pyomo(built.model)
    assert model.find_component(component_name("bat-1.soc")) is not None
    assert model.find_component(component_name("battery energy balance")) is not None
    assert len(model.find_component("bat_1_soc")) == 96
