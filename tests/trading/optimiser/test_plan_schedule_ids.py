"""A plan's schedule names the plan and the bids it was built from, so the dispatcher's
command events can name them."""

from __future__ import annotations

from optimiser_factories import DAY, battery, constant, portfolio

from trading.optimiser.build import OptimiserOptions
from trading.optimiser.inputs import PriceInputs
from trading.optimiser.plan import optimise


def test_the_schedule_of_a_plan_carries_its_plan_id_and_every_bid_id() -> None:
    prices = PriceInputs(
        day_ahead={"DE_LU": constant(50.0)},
        afrr_capacity={("DE_LU", "pos"): constant(5.0), ("DE_LU", "neg"): constant(5.0)},
    )
    bat = battery(
        power_charge_mw=3.0,
        power_discharge_mw=3.0,
        energy_mwh=6.0,
        soc_initial_mwh=3.0,
        prequalifications=[
            {"product": "afrr_pos", "mw": 2.0},
            {"product": "afrr_neg", "mw": 2.0},
        ],
    )
    options = OptimiserOptions(markets=("day_ahead", "afrr_capacity"))
    plan = optimise(portfolio(bat), DAY, prices, options=options)
    assert plan.bids, "the battery sells at these prices"
    assert plan.schedule.plan_id == plan.plan_id
    assert plan.schedule.bid_ids == tuple(b.bid_id for b in plan.bids)
    assert str(plan.schedule.schedule_id).startswith("sch-")
