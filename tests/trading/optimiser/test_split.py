"""The solver splits a model into independent parts: same answers, far smaller searches."""

from __future__ import annotations

import numpy as np
import pytest
from optimiser_factories import DAY, battery, build, day_ahead, portfolio, site

from trading.optimiser.build import OptimiserOptions
from trading.optimiser.linear import LinearModel
from trading.optimiser.solver import SolverOptions, solve, to_highs
from trading.optimiser.split import MatrixModel, split

EXACT = SolverOptions(mip_gap=0)


def whole(model: LinearModel) -> float:
    """The objective HiGHS finds on the unsplit model."""
    highs = to_highs(model, EXACT)
    highs.run()
    return float(highs.getInfo().objective_function_value)


def two_site_model(shared_site: bool) -> LinearModel:
    prices = [40.0] * 96
    prices[30:50] = [-20.0] * 20
    prices[70:80] = [150.0] * 10
    sites = [site(id="s1"), site(id="s2", metering_point="DE0002")]
    assets = [
        battery(id="a", site="s1", efficiency_charge=0.9, efficiency_discharge=0.9),
        battery(id="b", site="s1" if shared_site else "s2", power_charge_mw=2.0),
    ]
    if shared_site:
        sites = [site(id="s1", grid_connection_mw=2.0)]
    built = build(
        portfolio(*assets, sites=sites),
        DAY,
        day_ahead(prices),
        options=OptimiserOptions(solver=EXACT),
    )
    for block in built.positions:
        built.model.set_integer(block.steps, False)
    return built.model


def test_batteries_on_separate_sites_are_solved_apart_with_the_same_objective() -> None:
    model = two_site_model(shared_site=False)
    pieces = split(MatrixModel.of(model))
    assert len(pieces.parts) == 2  # the zone's position only records their sum
    assert len(pieces.eliminated) == 96  # one position per quarter hour substituted out
    solved = solve(model, EXACT)
    assert solved.report.objective_eur == pytest.approx(whole(model), rel=1e-9)


def test_assets_sharing_a_grid_connection_stay_in_one_part() -> None:
    model = two_site_model(shared_site=True)
    assert len(split(MatrixModel.of(model)).parts) == 1
    solved = solve(model, EXACT)
    assert solved.report.objective_eur == pytest.approx(whole(model), rel=1e-9)


def test_substituted_positions_come_back_equal_to_the_fleets_injection() -> None:
    model = two_site_model(shared_site=False)
    solved = solve(model, EXACT)
    m = MatrixModel.of(model)
    activity = m.matrix @ solved.values
    assert np.all(activity >= m.row_lower - 1e-6)
    assert np.all(activity <= m.row_upper + 1e-6)
    assert float(m.cost @ solved.values + m.offset) == pytest.approx(
        solved.report.objective_eur, rel=1e-9
    )


def test_a_bound_a_row_makes_impossible_is_reported_infeasible_not_split() -> None:
    model = LinearModel()
    x = model.var("x", 1, 0.0, 1.0)
    model.add("too much", x.expr(), ">=", 2.0, subjects="x")
    model.maximise(x.sum())
    report = solve(model, EXACT).report
    assert report.status == "infeasible"
    assert not report.has_solution


def test_continuous_parts_are_batched_into_few_highs_calls() -> None:
    """Forty batteries that never need a binary (no price below what overlap would pay
    at) are forty LPs: one batched HiGHS call, not forty."""
    sites = [site(id=f"s{i}", metering_point=f"DE{i:04d}") for i in range(40)]
    assets = [
        battery(id=f"b{i}", site=f"s{i}", degradation_cost_eur_per_mwh=5.0) for i in range(40)
    ]
    prices = [30.0 + 20 * np.sin(q / 8) for q in range(96)]
    built = build(
        portfolio(*assets, sites=sites),
        DAY,
        day_ahead(prices),
        options=OptimiserOptions(solver=EXACT),
    )
    for block in built.positions:
        built.model.set_integer(block.steps, False)
    assert len(split(MatrixModel.of(built.model)).parts) == 40
    report = solve(built.model, EXACT).report
    assert report.integer_variables == 0
    assert report.parts == 40
    assert report.highs_calls == 1
    assert report.objective_eur == pytest.approx(whole(built.model), rel=1e-9)


def _both(model: LinearModel) -> tuple[str, float | None, str, float | None]:
    highs = to_highs(model, EXACT)
    highs.run()
    whole_status = highs.modelStatusToString(highs.getModelStatus())
    whole_objective = (
        float(highs.getInfo().objective_function_value) if whole_status == "Optimal" else None
    )
    report = solve(model, EXACT).report
    return whole_status, whole_objective, report.status, report.objective_eur


def test_a_free_column_is_not_mistaken_for_a_constant() -> None:
    model = LinearModel()
    x = model.var("x", 1, -float("inf"), float("inf"))
    y = model.var("y", 1, 0.0, 2.0)
    model.add("tie", x - y, "==", 0.0)
    model.maximise(x.sum(1.0))
    assert _both(model) == ("Optimal", 2.0, "optimal", 2.0)


def test_an_integer_column_held_between_whole_values_is_infeasible() -> None:
    model = LinearModel()
    z = model.var("z", 1, 0.5, 0.5, integer=True)
    a = model.var("a", 1, 0.0, 1.0)
    model.add("c", a + z, "<=", 1.0)
    model.maximise(a.sum(1.0))
    assert solve(model, EXACT).report.status == "infeasible"


def test_a_column_twice_in_a_substituted_row_moves_its_whole_cost() -> None:
    model = LinearModel()
    x = model.var("x", 1, -10.0, 10.0)
    a = model.var("a", 1, 0.0, 2.0)
    model.add("def", x.expr() - a.expr() - a.expr(), "==", 0.0)
    model.add("r", a.expr(), "<=", 1.5)
    model.maximise(x.sum(1.0) + a.sum(-1.5))
    _, whole_objective, status, objective = _both(model)
    assert status == "optimal"
    assert objective == pytest.approx(whole_objective)


def test_an_unbounded_model_is_not_reported_optimal() -> None:
    model = LinearModel()
    x = model.var("x", 1, 0.0, float("inf"))
    y = model.var("y", 1, 0.0, 1.0)
    model.add("r", y.expr(), "<=", 1.0)
    model.maximise(x.sum(1.0) + y.sum(1.0))
    report = solve(model, EXACT).report
    assert report.status != "optimal"
    assert not report.has_solution or report.status == "unbounded"
