"""Invariants of the optimiser's plans, judged by the independent plan checker.

Every plan `optimise` returns is written as its JSON (`plan_json.plan_record`) and read by
`trading.optimiser.check`, which re-derives every rule of `docs/plan-rules.md` from the
portfolio and that JSON alone, without the model code: battery, EV, heat pump, load, CHP
and renewable physics, ramps, reserves, site connections, whole-step positions, bids,
zone balances and the accounts. A plan that breaks any rule is a bug a user would
notice; the checker names it.

- random batteries on random prices with negative stretches, on a summer day and on
  both DST days, day-ahead and intraday;
- random portfolios of all seven kinds (`synthetic_portfolio`) in five countries on the
  sample days, over day-ahead, intraday, aFRR and FCR capacity: 200 of them;
- fixed mixed fleets on every sample day;
- the split solve is as good as solving the model whole.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from optimiser_factories import DAY, battery, day_ahead, periods, portfolio, series

from markets.registry import default_registry
from regulatory import Portfolio
from regulatory.assets import Battery
from trading.cli.optimise import load_prices
from trading.optimiser.build import OptimiserOptions, build_model
from trading.optimiser.check import check_plan
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.optimiser.plan import Plan, optimise
from trading.optimiser.plan_json import plan_record
from trading.optimiser.profiles import proxy_profiles
from trading.optimiser.solver import SolverOptions, solve, to_highs
from trading.optimiser.split import MatrixModel
from trading.optimiser.synthetic import battery_portfolio, synthetic_portfolio
from trading.optimiser.whole_steps import Relaxed
from trading.samples import sample_prices_dir

TOL = 1e-6
"""Slack on a single value read from the solver [MW or MWh]."""
SOLVER = SolverOptions(time_limit_s=60)
"""Work limits decide the plans; the time limit is a backstop with slack for a loaded 2-core
machine (a 20-asset fleet's pooled parts search 10-15 s on a quiet one, and the 20 s this
was before left no plan at a load average of 10)."""
SAMPLE_DAYS = [date(2026, 6, d) for d in (12, 13, 14, 15)]
MARKET_SETS = [
    ("day_ahead",),
    ("day_ahead", "afrr_capacity"),
    ("day_ahead", "intraday"),
    ("day_ahead", "afrr_capacity", "fcr_capacity"),
    ("day_ahead", "afrr_capacity", "fcr_capacity", "intraday"),
]

QUICK = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PORTFOLIOS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_checker_finds_nothing(pf: Portfolio, plan: Plan) -> None:
    """The independent checker finds no broken rule in `plan`; else it names them all."""
    found = check_plan(pf, plan_record(plan))
    assert not found, "\n".join(str(v) for v in found[:20])


@cache
def sample_prices(zones: frozenset[str]) -> PriceInputs:
    """Day-ahead, intraday and aFRR and FCR capacity sample prices of `zones`."""
    folder = sample_prices_dir()
    return load_prices(
        folder / "day_ahead.csv", folder / "intraday.csv", folder / "afrr.csv", set(zones)
    )


def plan_of(pf: Portfolio, day: date, markets: tuple[str, ...]) -> Plan:
    """`optimise` on the sample prices with the proxy pv/wind profiles."""
    prices = sample_prices(frozenset(s.bidding_zone for s in pf.sites))
    profiles = proxy_profiles(pf, Horizon.of(day))
    options = OptimiserOptions(markets=markets, solver=SOLVER)
    return optimise(pf, day, prices, options=options, profiles=profiles)


# --- random batteries ---------------------------------------------------------------------


BATTERY_DAYS = [DAY, date(2027, 3, 28), date(2027, 10, 31)]
"""A summer day (96 quarter hours) and the DST days of 2027 (92 and 100)."""


@st.composite
def markets_of_a_day(draw: st.DrawFn) -> tuple[date, PriceInputs, tuple[str, ...]]:
    """A delivery day, its prices and the markets traded: day-ahead prices of an hourly
    shape with jitter and up to two negative stretches; intraday at a spread, or not."""
    day = draw(st.sampled_from(BATTERY_DAYS))
    n = len(periods(day))
    hours = (n + 3) // 4
    hourly = draw(st.lists(st.integers(-20, 300), min_size=hours, max_size=hours))
    prices = np.repeat(np.array(hourly, dtype=float), 4)[:n]
    if draw(st.booleans()):
        prices += np.array(draw(st.lists(st.integers(-15, 15), min_size=n, max_size=n)))
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(0, n - 1))
        length = draw(st.integers(1, 32))
        prices[start : start + length] = -draw(st.integers(1, 500))
    spread = draw(st.none() | st.lists(st.integers(-30, 30), min_size=hours, max_size=hours))
    if spread is None:
        return day, day_ahead(prices, day), ("day_ahead",)
    intraday = prices + np.repeat(spread, 4)[:n]
    inputs = day_ahead(prices, day, intraday={"DE_LU": series(intraday, day)})
    return day, inputs, ("day_ahead", "intraday")


@st.composite
def batteries(draw: st.DrawFn) -> dict[str, Any]:
    """Battery data within the asset model's limits (`regulatory.assets.Battery`)."""
    money = st.floats(0.0, 20.0).map(lambda x: round(x, 2))
    power = st.floats(0.1, 10.0).map(lambda x: round(x, 2))
    energy = draw(st.floats(0.2, 20.0).map(lambda x: round(x, 2)))
    low = round(energy * draw(st.floats(0.0, 0.3)), 3)
    high = round(energy * draw(st.floats(0.6, 1.0)), 3)
    data = battery(
        power_charge_mw=draw(power),
        power_discharge_mw=draw(power),
        energy_mwh=energy,
        soc_min_mwh=low,
        soc_max_mwh=high,
        efficiency_charge=draw(st.floats(0.7, 1.0).map(lambda x: round(x, 3))),
        efficiency_discharge=draw(st.floats(0.7, 1.0).map(lambda x: round(x, 3))),
        degradation_cost_eur_per_mwh=draw(money),
        soc_initial_mwh=draw(
            st.none() | st.floats(0.0, 1.0).map(lambda f: round(low + f * (high - low), 3))
        ),
    )
    if draw(st.booleans()):
        data["max_cycles_per_day"] = draw(st.floats(0.5, 3.0).map(lambda x: round(x, 2)))
    return data


@QUICK
@given(
    data=batteries(),
    market=markets_of_a_day(),
    target_share=st.none() | st.floats(0.0, 1.0),
)
def test_random_batteries_plans_pass_the_checker(data, market, target_share):
    """Random battery, random prices with negative stretches, day-ahead (and intraday),
    on a summer day and on both DST days: the checker, re-deriving SoC from the published
    injection, finds nothing; the plan ends at its target and its net is what its
    positions earn less wear and levies (to the cent)."""
    pf = portfolio(data)
    asset = pf.assets[0]
    assert isinstance(asset, Battery)
    low, high = asset.soc_bounds_mwh()
    initial = asset.soc_initial_mwh if asset.soc_initial_mwh is not None else (low + high) / 2
    final: dict[str, float] = {}
    if target_share is not None:  # a target the battery can reach by charging all day
        reach = initial + 0.9 * asset.power_charge_mw * asset.efficiency_charge * 24
        final = {asset.id: round(low + target_share * (min(high, reach) - low), 3)}
    day, prices, markets = market
    options = OptimiserOptions(markets=markets, solver=SOLVER, final_soc_mwh=final)
    plan = optimise(pf, day, prices, options=options)
    assert_checker_finds_nothing(pf, plan)
    # what its positions earn, and a residual's energy where one was planned (noted)
    earned = sum(p.revenue_eur for p in plan.positions)
    earned += plan.revenue_by_market.get("imbalance", 0.0)
    # each cost, the imbalance and the objective are rounded to the cent: at most half a
    # cent each, and a float's noise on top (a sum exactly 0.01 off failed by 1e-13)
    assert plan.objective_eur == pytest.approx(
        earned - plan.costs_eur, abs=0.01 * len(plan.costs_by_kind) + 0.01 + 1e-6
    )


# --- random portfolios of all seven kinds -------------------------------------------------


@PORTFOLIOS
@given(
    n=st.integers(1, 7),
    seed=st.integers(0, 99_999),
    day=st.sampled_from(SAMPLE_DAYS),
    markets=st.sampled_from(MARKET_SETS),
)
def test_random_portfolios_plans_pass_the_checker(n, seed, day, markets):
    """200 random portfolios (every kind, five countries, prequalified for balancing or
    not) on the sample days over random sets of markets: nothing the checker finds."""
    pf = synthetic_portfolio(n, seed)
    assert_checker_finds_nothing(pf, plan_of(pf, day, markets))


FLEETS = [(12, 0), (20, 0), (20, 3), (40, 7)]


@pytest.mark.parametrize(("n", "seed"), FLEETS)
@pytest.mark.parametrize("day", SAMPLE_DAYS)
def test_mixed_fleets_on_every_sample_day_pass_the_checker(n, seed, day):
    """Larger mixed fleets, all four markets, every sample day."""
    pf = synthetic_portfolio(n, seed)
    markets = ("day_ahead", "afrr_capacity", "fcr_capacity", "intraday")
    assert_checker_finds_nothing(pf, plan_of(pf, day, markets))


def test_balancing_products_sell_whole_megawatts_with_a_minimum() -> None:
    """Capacity positions are whole MW and zero or at least the product's minimum."""
    pf = synthetic_portfolio(20, 0)
    plan = plan_of(pf, SAMPLE_DAYS[1], ("day_ahead", "afrr_capacity", "fcr_capacity"))
    capacity = [p for p in plan.positions if p.direction is not None]
    assert any(p.mw > 0 for p in capacity)
    for position in capacity:
        assert position.mw == round(position.mw)
        assert position.mw == 0 or position.mw >= 1.0


# --- splitting the model is exact ------------------------------------------------------


def monolithic(model: Any, options: SolverOptions) -> tuple[str, float, float]:
    """(status, objective, bound) of the whole model handed to HiGHS at once, unsplit."""
    highs = to_highs(model, options)
    highs.run()
    info = highs.getInfo()
    status = highs.getModelStatus()
    objective = float(info.objective_function_value)
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else objective
    return status.name, objective, bound


@QUICK
@given(
    n=st.integers(1, 6),
    seed=st.integers(0, 9_999),
    day=st.sampled_from(SAMPLE_DAYS),
    dip=st.none() | st.tuples(st.integers(0, 95), st.integers(1, 4), st.integers(1, 100)),
)
def test_split_solve_is_as_good_as_solving_the_model_whole(n, seed, day, dip):
    """Battery fleets, day-ahead only, sample prices (optionally with a negative dip that
    puts binaries in): the split solve's objective equals HiGHS's on the whole model
    within 1e-6 relative, and its assembled solution is feasible in the whole model,
    integral, and worth that objective.

    HiGHS may take longer than the split to prove the whole model optimal (the parts
    are far easier apart); if it stops at its time limit, the split's objective must
    lie between what it found and its proven bound.
    """
    pf = battery_portfolio(n, seed)
    prices = sample_prices(frozenset({"DE_LU"}))
    if dip is not None:
        start, length, depth = dip
        periods = Horizon.of(day).periods
        da = prices.day_ahead["DE_LU"].copy()
        da[da.index.isin(periods[start : start + length])] = -float(depth)
        prices = PriceInputs(day_ahead={"DE_LU": da})
    exact = SolverOptions(mip_gap=0, time_limit_s=10)
    built = build_model(
        pf, day, prices, options=OptimiserOptions(solver=exact), registry=default_registry()
    )
    with Relaxed(built):  # positions continuous, as in the optimiser's first stage
        solved = solve(built.model, exact)
        status, whole, bound = monolithic(built.model, exact)
        m = MatrixModel.of(built.model)
    assert solved.report.status == "optimal"
    split_objective = solved.report.objective_eur
    assert split_objective is not None
    if status == "kOptimal":
        assert split_objective == pytest.approx(whole, rel=1e-6, abs=1e-6)
    else:
        assert status == "kTimeLimit", status
        slack = 1e-6 * max(1.0, abs(whole))
        assert whole - slack <= split_objective <= bound + slack

    x = solved.values
    assert float(m.cost @ x + m.offset) == pytest.approx(split_objective, rel=1e-9, abs=1e-6)
    assert (x >= m.lower - TOL).all()
    assert (x <= m.upper + TOL).all()
    activity = m.matrix @ x
    assert (activity >= m.row_lower - 1e-5).all()
    assert (activity <= m.row_upper + 1e-5).all()
    np.testing.assert_allclose(x[m.integer], np.round(x[m.integer]), atol=1e-6)
