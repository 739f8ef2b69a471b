"""Without an extension, the Pyomo path gives the matrix path's plan.

The Pyomo path exports the model, hands it to the extension, compiles back what was
added (here nothing) and writes the solution into the Pyomo variables. Its plan must be
the matrix path's: the same objective (to 1e-6 EUR), the same bids, field by field; the
Pyomo model's own objective, evaluated at the solution read back into its variables,
must be the solver's; and the independent plan checker finds nothing in either plan.

The matrix path's answer may depend on time only where a wall-clock backstop cuts a
search short of its work limit (the whole-step rungs, `whole_steps.FREE_RUNG_S` and
`NEIGHBOURS_RUNG_S`, behind their node limits): on a loaded machine two runs of the matrix
path itself could then stop at different plans. The backstops are raised here, so that
both paths give what HiGHS finds, not what the machine's load lets it find. That the
compiled model is the built one, column for column and row for row, is checked directly
as well.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from markets.registry import default_registry
from regulatory import Portfolio
from regulatory.loading import read_portfolio
from trading.cli.optimise import load_prices
from trading.optimiser import whole_steps
from trading.optimiser.build import OptimiserOptions, build_model
from trading.optimiser.check import check_plan
from trading.optimiser.extension import apply_extension
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.optimiser.plan import Plan, optimise
from trading.optimiser.plan_json import plan_record
from trading.optimiser.profiles import proxy_profiles
from trading.optimiser.solver import SolverOptions
from trading.optimiser.split import MatrixModel
from trading.optimiser.synthetic import synthetic_portfolio
from trading.samples import sample_portfolio_path, sample_prices_dir

SAMPLE_DAYS = [date(2026, 6, d) for d in (12, 13, 14, 15)]
ALL_MARKETS = ("day_ahead", "afrr_capacity", "fcr_capacity", "intraday")
MARKET_SETS = [
    ("day_ahead",),
    ("day_ahead", "afrr_capacity"),
    ("day_ahead", "intraday"),
    ALL_MARKETS,
]
SOLVER = SolverOptions(time_limit_s=600, mip_gap=0)
"""Proven optima: the sample portfolio's plan within a gap is cheap, but proving it is
what makes the comparison exact there."""
QUICK = SolverOptions(time_limit_s=600, mip_gap=0.05)
"""A wide gap for the many small random portfolios: both paths get the same options, and
HiGHS's search, not the comparison, is what takes the time."""
PLAN_EXAMPLES = int(os.environ.get("VPP_PARITY_EXAMPLES", "100"))
"""Random portfolios planned both ways: the hundred issue 19 names (about 130 s of CPU on
the 2-core machine); ``VPP_PARITY_EXAMPLES=25`` for a quicker local run."""


@cache
def sample_prices(zones: frozenset[str]) -> PriceInputs:
    folder = sample_prices_dir()
    return load_prices(
        folder / "day_ahead.csv", folder / "intraday.csv", folder / "afrr.csv", set(zones)
    )


@contextmanager
def without_time_caps() -> Iterator[None]:
    """The searches capped in seconds get as long as they need (module docstring)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(whole_steps, "FREE_RUNG_S", 600.0)
        patch.setattr(whole_steps, "NEIGHBOURS_RUNG_S", 600.0)
        yield


def both_paths(
    pf: Portfolio, day: date, markets: tuple[str, ...], options: SolverOptions = SOLVER
) -> None:
    """The matrix path's and the Pyomo path's plans agree (module docstring)."""
    prices = sample_prices(frozenset(s.bidding_zone for s in pf.sites))
    profiles = proxy_profiles(pf, Horizon.of(day))
    chosen = OptimiserOptions(markets=markets, solver=options)
    models: list[pyo.ConcreteModel] = []

    def keep(model: pyo.ConcreteModel, _view: object) -> None:
        models.append(model)

    with without_time_caps():
        matrix = optimise(pf, day, prices, options=chosen, profiles=profiles)
        pyomo = optimise(pf, day, prices, options=chosen, profiles=profiles, extend=keep)
    assert pyomo.solver.objective_eur == pytest.approx(matrix.solver.objective_eur, abs=1e-6)
    assert pyomo.objective_eur == matrix.objective_eur
    assert [b.model_dump() for b in pyomo.bids] == [b.model_dump() for b in matrix.bids]
    assert pyomo.costs_by_kind == matrix.costs_by_kind
    assert pyomo.revenue_by_market == matrix.revenue_by_market
    # the last pass's Pyomo model, holding the solution read back into its variables
    assert pyo.value(models[-1].objective) == pytest.approx(pyomo.solver.objective_eur, abs=1e-6)
    for plan in (matrix, pyomo):
        assert_checker_finds_nothing(pf, plan)


def assert_checker_finds_nothing(pf: Portfolio, plan: Plan) -> None:
    found = check_plan(pf, plan_record(plan))
    assert not found, "\n".join(str(v) for v in found[:20])


@pytest.mark.parametrize("day", SAMPLE_DAYS, ids=str)
def test_sample_portfolio_on_every_sample_day(day: date) -> None:
    """The sample portfolio (23 assets, five countries), day-ahead, each sample day."""
    both_paths(read_portfolio(sample_portfolio_path()), day, ("day_ahead",))


def test_an_extension_that_adds_nothing_leaves_the_model_as_built() -> None:
    """The sample portfolio over every market: after export and compile-back, the model's
    matrix, bounds, integrality, costs and row families are exactly as built."""
    assert_unchanged_by_a_noop(read_portfolio(sample_portfolio_path()), SAMPLE_DAYS[0], ALL_MARKETS)


def assert_unchanged_by_a_noop(pf: Portfolio, day: date, markets: tuple[str, ...]) -> None:
    prices = sample_prices(frozenset(s.bidding_zone for s in pf.sites))
    options = OptimiserOptions(markets=markets, solver=SOLVER)
    profiles = proxy_profiles(pf, Horizon.of(day))
    built = build_model(
        pf, day, prices, profiles=profiles, options=options, registry=default_registry()
    )
    before = MatrixModel.of(built.model)
    families = list(built.model.row_families())
    apply_extension(built, lambda m, v: None)
    after = MatrixModel.of(built.model)
    for name in ("cost", "lower", "upper", "integer", "row_lower", "row_upper"):
        np.testing.assert_array_equal(getattr(after, name), getattr(before, name), err_msg=name)
    assert (after.matrix != before.matrix).nnz == 0
    assert after.offset == before.offset
    assert built.model.row_families() == families
    assert len(built.free_columns) == 0
    assert not built.extended_assets


@settings(
    max_examples=PLAN_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    n=st.integers(1, 3),
    seed=st.integers(0, 99_999),
    day=st.sampled_from(SAMPLE_DAYS),
    markets=st.sampled_from(MARKET_SETS),
)
def test_random_portfolios(n: int, seed: int, day: date, markets: tuple[str, ...]) -> None:
    """Seeded portfolios of every kind (`synthetic_portfolio`) on the sample days: the
    same plan both ways (`PLAN_EXAMPLES` of them)."""
    both_paths(synthetic_portfolio(n, seed), day, markets, QUICK)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    n=st.integers(1, 7),
    seed=st.integers(0, 99_999),
    day=st.sampled_from(SAMPLE_DAYS),
    markets=st.sampled_from(MARKET_SETS),
)
def test_random_portfolios_compile_back_to_the_built_model(
    n: int, seed: int, day: date, markets: tuple[str, ...]
) -> None:
    """100 seeded portfolios: an extension that adds nothing leaves the model exactly as
    built, which is why the two paths plan alike."""
    assert_unchanged_by_a_noop(synthetic_portfolio(n, seed), day, markets)
