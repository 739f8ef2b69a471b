"""Infeasible inputs: the error names the asset or pool and the family that cannot hold."""

from __future__ import annotations

import pytest
from optimiser_factories import DAY, battery, constant, day_ahead, portfolio

from markets.products import MarketId
from markets.registry import default_registry
from trading.optimiser.build import OptimiserOptions
from trading.optimiser.diagnose import InfeasibleError
from trading.optimiser.inputs import PriceInputs
from trading.optimiser.plan import optimise


def test_final_soc_above_capacity_names_the_battery() -> None:
    options = OptimiserOptions(final_soc_mwh={"bat-1": 5.0})
    with pytest.raises(InfeasibleError) as caught:
        optimise(portfolio(battery()), DAY, day_ahead([50.0] * 96), options=options)
    conflicts = caught.value.conflicts
    assert conflicts, str(caught.value)
    assert any(c.subject == "bat-1" and "soc" in c.family for c in conflicts), conflicts
    assert "bat-1" in str(caught.value)


def test_afrr_commitment_beyond_prequalification_names_the_pool() -> None:
    bat = battery(prequalifications=[{"product": "afrr_pos", "mw": 1.0}])
    product = next(
        p
        for p in default_registry().get("DE").products(DAY, MarketId.AFRR_CAPACITY)
        if p.direction is not None and p.direction.value == "pos"
    )
    prices = PriceInputs(
        day_ahead={"DE_LU": constant(50.0)},
        afrr_capacity={("DE_LU", "pos"): constant(10.0)},
    )
    options = OptimiserOptions(
        markets=("day_ahead", "afrr_capacity"), commitments={product.product_id: 1.0}
    )
    optimise(portfolio(bat), DAY, prices, options=options)  # 1 MW fits
    # 1 MW fits the prequalification but not the bounds of the steps: commit more than
    # the pool can hold by making the battery too small to keep the energy behind 1 MW
    small = battery(energy_mwh=0.1, prequalifications=[{"product": "afrr_pos", "mw": 1.0}])
    with pytest.raises(InfeasibleError) as caught:
        optimise(portfolio(small), DAY, prices, options=options)
    text = str(caught.value)
    families = {c.family for c in caught.value.conflicts}
    assert families & {"commitment", "reserve covered", "reserve energy up"}, text
    assert any(
        "bat-1" in c.subject or "afrr" in c.subject.lower() or "pos" in c.subject
        for c in caught.value.conflicts
    ), text
