"""Analysts extend a plan in Pyomo (`optimise(..., extend=fn)`): hand-computed effects,
costs itemised by name, diagnoses naming the extension's constraint, clear refusals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo
import pytest
from optimiser_factories import DAY, battery, day_ahead, portfolio

from trading.optimiser.build import OptimiserOptions
from trading.optimiser.diagnose import InfeasibleError
from trading.optimiser.extension import ExtensionError, ExtensionView
from trading.optimiser.hooks import ModelView
from trading.optimiser.linear import Expr
from trading.optimiser.plan import optimise
from trading.optimiser.solver import SolverOptions

EXACT = OptimiserOptions(markets=("day_ahead",), solver=SolverOptions(mip_gap=0))
PENALTY_EUR_PER_MWH = 3.0


def evening_prices() -> list[float]:
    """50 EUR/MWh, except in quarter hours q of 2027-06-15 (q0 starts at 00:00 local,
    22:00 UTC the day before): q8-q11 (02:00-03:00 local) 0, q40-q43 (10:00-11:00) 100,
    q56 (14:00-14:15) 48, q72 (18:00-18:15) 53."""
    prices = [50.0] * 96
    prices[8:12] = [0.0] * 4
    prices[40:44] = [100.0] * 4
    prices[56] = 48.0
    prices[72] = 53.0
    return prices


def min_soc_at_six_pm(model: pyo.ConcreteModel, view: ExtensionView) -> None:
    """Every battery holds half its energy at 18:00 local, or pays 3 EUR per MWh short."""
    q = view.at_local("18:00") - 1  # the quarter hour that ends at 18:00
    model.shortfall = pyo.Var(view.batteries, domain=pyo.NonNegativeReals)
    model.min_soc_1800 = pyo.Constraint(
        view.batteries,
        rule=lambda m, b: view.soc(b)[q] + m.shortfall[b] >= 0.5 * view.energy_mwh(b),
    )
    view.add_cost(
        "min_soc_shortfall",
        sum(PENALTY_EUR_PER_MWH * model.shortfall[b] for b in view.batteries),
    )


def injection(plan: Any, asset_id: str = "bat-1") -> np.ndarray:
    return plan.schedule.injection_frame()[asset_id].to_numpy()


def test_min_soc_at_six_pm_changes_the_plan_as_hand_computed() -> None:
    """1 MW / 1 MWh lossless battery, empty at 00:00 and to end empty, wear 3 EUR/MWh on
    charge and on discharge; prices as `evening_prices`.

    Without the extension: charge 1 MWh at 0 (02:00-03:00 local), sell it at 100
    (10:00-11:00): revenue 100, wear 2 x 3 = 6, objective 94. Nothing else pays: the
    best other cycle, 48 -> 53, earns 5 - 6 < 0. SoC at 18:00 local: 0.

    With "half full (0.5 MWh) at 18:00 local or 3 EUR/MWh short": refilling costs
    48 + 3 at 14:00-14:15 and earns 53 - 3 when sold at 18:00-18:15, a net 2 EUR/MWh,
    for at most 0.25 MWh (1 MW for one quarter hour); a further 0.25 MWh at 50 sold at
    50 costs 6 EUR/MWh; keeping the morning's energy loses 100 - 53 = 47 EUR/MWh. So
    against 3 EUR/MWh of shortfall the plan refills 0.25 MWh at 48 and sells it at 53,
    and stays 0.25 MWh short:
    revenue 100 - 48 x 0.25 + 53 x 0.25 = 101.25; wear 3 x (1.25 + 1.25) = 7.5;
    shortfall 3 x 0.25 = 0.75; objective 101.25 - 7.5 - 0.75 = 93.0.
    """
    pf = portfolio(battery(degradation_cost_eur_per_mwh=3.0))
    prices = day_ahead(evening_prices())
    plain = optimise(pf, DAY, prices, options=EXACT)
    views: list[ExtensionView] = []

    def extension(model: pyo.ConcreteModel, view: ExtensionView) -> None:
        views.append(view)
        min_soc_at_six_pm(model, view)

    extended = optimise(pf, DAY, prices, options=EXACT, extend=extension)

    before = np.zeros(96)
    before[8:12], before[40:44] = -1.0, 1.0
    after = before.copy()
    after[56], after[72] = -1.0, 1.0
    np.testing.assert_allclose(injection(plain), before, atol=1e-6)
    np.testing.assert_allclose(injection(extended), after, atol=1e-6)
    assert plain.objective_eur == pytest.approx(94.0, abs=1e-6)
    assert extended.objective_eur == pytest.approx(93.0, abs=1e-6)
    assert extended.costs_by_kind == pytest.approx({"wear": 7.5, "min_soc_shortfall": 0.75})
    assert extended.revenue_by_market == pytest.approx({"day_ahead": 101.25})
    # SoC at 18:00 local (end of q71 = 15:45-16:00 UTC), in the plan and in Pyomo
    assert plain.states["bat-1"]["soc_mwh"][71] == pytest.approx(0.0, abs=1e-6)
    assert extended.states["bat-1"]["soc_mwh"][71] == pytest.approx(0.25, abs=1e-6)
    view = views[-1]
    assert view.value(view.soc("bat-1")[71]) == pytest.approx(0.25, abs=1e-6)
    assert view.value(view.model.shortfall["bat-1"]) == pytest.approx(0.25, abs=1e-6)
    # the bids the market plugins validated carry the refill and the evening sale
    volumes = {p.delivery_start: p.mw for p in extended.positions if abs(p.mw) > 1e-9}
    assert volumes["2027-06-15T12:00:00Z"] == pytest.approx(-1.0)
    assert volumes["2027-06-15T16:00:00Z"] == pytest.approx(1.0)
    bids = {b.product_id: b.volume_mw for b in extended.bids}  # type: ignore[union-attr]
    assert len(bids) == len(plain.bids) + 2 == 10
    assert bids["DE:day_ahead:SDAC:2027-06-15T12:00Z"] == pytest.approx(-1.0)
    assert bids["DE:day_ahead:SDAC:2027-06-15T16:00Z"] == pytest.approx(1.0)


def test_a_hard_rule_is_kept_on_every_battery_and_costs_nothing_by_name() -> None:
    """Two batteries on the same prices, each to hold at least 0.5 MWh at 18:00 local
    (hard): both do, and a constraint without a cost term adds no cost kind."""
    pf = portfolio(
        battery(degradation_cost_eur_per_mwh=3.0),
        battery(id="bat-2", degradation_cost_eur_per_mwh=3.0),
    )

    def hard(model: pyo.ConcreteModel, view: ExtensionView) -> None:
        q = view.at_local("18:00") - 1
        model.half_full = pyo.Constraint(
            view.batteries, rule=lambda m, b: view.soc(b)[q] >= 0.5 * view.energy_mwh(b)
        )

    plan = optimise(pf, DAY, day_ahead(evening_prices()), options=EXACT, extend=hard)
    for asset_id in ("bat-1", "bat-2"):
        assert plan.states[asset_id]["soc_mwh"][71] >= 0.5 - 1e-6
    assert set(plan.costs_by_kind) == {"wear"}


def test_an_infeasible_extension_gets_the_matrix_paths_diagnosis_by_its_pyomo_name() -> None:
    """2 MWh at 18:00 on a 1 MWh battery cannot hold: the Pyomo path's diagnosis names
    the constraint `min_soc_1800` for bat-1, exactly as the matrix path diagnoses the same
    row added through a hook under that name."""
    pf = portfolio(battery())
    prices = day_ahead(evening_prices())

    def too_much(model: pyo.ConcreteModel, view: ExtensionView) -> None:
        q = view.at_local("18:00") - 1
        model.min_soc_1800 = pyo.Constraint(view.batteries, rule=lambda m, b: view.soc(b)[q] >= 2)

    def same_as_hook(view: ModelView) -> None:
        q = view.quarter_hour("2027-06-15T15:45:00Z")
        soc = view.state_of_charge("bat-1")
        at_six = Expr([(cols[[q]], coefs[[q]]) for cols, coefs in soc.terms], soc.const[[q]])
        view.add("min_soc_1800", at_six, ">=", 2.0, subject="bat-1")

    with pytest.raises(InfeasibleError) as pyomo_path:
        optimise(pf, DAY, prices, options=EXACT, extend=too_much)
    with pytest.raises(InfeasibleError) as matrix_path:
        optimise(pf, DAY, prices, options=EXACT, hook=same_as_hook)
    assert str(pyomo_path.value) == str(matrix_path.value)
    (conflict,) = pyomo_path.value.conflicts
    assert (conflict.family, conflict.subject) == ("min_soc_1800", "bat-1")
    assert conflict.violation == pytest.approx(1.0)  # 2 MWh asked of a 1 MWh battery


def test_a_tightened_bound_is_solved_with() -> None:
    """Fixing an exported variable (bat-1 discharges nothing before 14:00 local) moves the
    sale to the next dearest quarter hours: 53 at q72 and 50 elsewhere."""
    pf = portfolio(battery(degradation_cost_eur_per_mwh=3.0))

    def no_morning_sale(model: pyo.ConcreteModel, view: ExtensionView) -> None:
        for q in range(56):
            view.discharge("bat-1")[q].fix(0.0)

    plan = optimise(pf, DAY, day_ahead(evening_prices()), options=EXACT, extend=no_morning_sale)
    sold = injection(plan)
    assert sold[:56].max() <= 1e-9
    assert sold[72] == pytest.approx(1.0)
    # 1 MWh charged at 0 sold as 0.25 at 53 and 0.75 at 50: 13.25 + 37.5 - 6 wear
    assert plan.objective_eur == pytest.approx(44.75, abs=1e-6)


@pytest.mark.parametrize(
    ("extension", "named"),
    [
        (
            lambda m, v: setattr(m, "squared", pyo.Constraint(expr=v.soc("bat-1")[3] ** 2 <= 1)),
            "squared",
        ),
        (lambda m, v: setattr(m, "mine", pyo.Objective(expr=v.soc("bat-1")[3])), "mine"),
        (lambda m, v: m.battery_energy_balance.deactivate(), "battery_energy_balance"),
        (lambda m, v: v.add_cost("wear", v.soc("bat-1")[3]), "wear"),
    ],
    ids=["nonlinear", "objective", "deactivated", "cost-name-taken"],
)
def test_what_cannot_be_solved_is_refused_naming_the_component(extension, named) -> None:
    pf = portfolio(battery())
    with pytest.raises(ExtensionError, match=named):
        optimise(pf, DAY, day_ahead(evening_prices()), options=EXACT, extend=extension)


def test_the_view_names_quarter_hours_in_local_time_on_dst_days() -> None:
    """On 2027-03-28 (92 quarter hours) 02:30 local does not exist; on 2027-10-31 (100)
    02:30 local comes twice and the first is meant; 18:00 local is 16:00 UTC in summer
    time and 17:00 UTC in winter."""
    from datetime import date

    seen: dict[str, Any] = {}

    def look(model: pyo.ConcreteModel, view: ExtensionView) -> None:
        seen[str(view.day)] = (
            len(view.quarter_hours),
            view.periods[view.at_local("18:00")],
            _maybe(view, "02:30"),
        )

    for day in (date(2027, 3, 28), date(2027, 10, 31)):
        n = 92 if day.month == 3 else 100
        optimise(portfolio(battery()), day, day_ahead([50.0] * n, day), options=EXACT, extend=look)
    spring, autumn = seen["2027-03-28"], seen["2027-10-31"]
    assert spring[0] == 92
    assert spring[1].isoformat() == "2027-03-28T16:00:00+00:00"
    assert spring[2] is None
    assert autumn[0] == 100
    assert autumn[1].isoformat() == "2027-10-31T17:00:00+00:00"
    assert autumn[2] == 10  # 00:30 UTC, the first 02:30 (still summer time)


def _maybe(view: ExtensionView, clock: str) -> int | None:
    try:
        return view.at_local(clock)
    except KeyError:
        return None


def test_a_cap_on_the_zones_day_ahead_position_is_kept() -> None:
    """The view's position family: the DE_LU day-ahead sale capped at 0.5 MW in the four
    quarter hours at 100 EUR/MWh; selling there still pays most, so the plan sells
    exactly 0.5 MW in each of them (and the other 0.5 MWh elsewhere)."""
    pf = portfolio(battery(degradation_cost_eur_per_mwh=3.0))

    def cap(model: pyo.ConcreteModel, view: ExtensionView) -> None:
        sold = view.position("day_ahead", "DE_LU")
        model.midday_cap = pyo.Constraint(range(40, 44), rule=lambda m, q: sold[q] <= 0.5)

    plan = optimise(pf, DAY, day_ahead(evening_prices()), options=EXACT, extend=cap)
    np.testing.assert_allclose(injection(plan)[40:44], 0.5, atol=1e-6)
    assert injection(plan).clip(min=0).sum() * 0.25 == pytest.approx(1.0, abs=1e-6)
