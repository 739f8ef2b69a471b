"""Positions already sold are held; capacity of each reserve pool is held for that pool."""

from __future__ import annotations

import numpy as np
import pytest
from optimiser_factories import DAY, battery, constant, portfolio, series, site

from markets.products import MarketId
from markets.registry import default_registry
from trading.optimiser.build import InputError, OptimiserOptions, commitment_key
from trading.optimiser.diagnose import InfeasibleError
from trading.optimiser.inputs import PriceInputs
from trading.optimiser.plan import optimise

PREQUALIFIED = [
    {"product": "afrr_pos", "mw": 5.0},
    {"product": "afrr_neg", "mw": 5.0},
]


def two_pools():
    """Two German batteries in different control areas: two aFRR pools, same products."""
    sites = [
        site(id="amprion", control_area="Amprion"),
        site(id="tennet", control_area="TenneT DE", metering_point="DE0002"),
    ]
    assets = [
        battery(
            id="bat-a",
            site="amprion",
            power_charge_mw=5.0,
            power_discharge_mw=5.0,
            energy_mwh=10.0,
            soc_initial_mwh=5.0,
            prequalifications=PREQUALIFIED,
        ),
        battery(
            id="bat-t",
            site="tennet",
            power_charge_mw=5.0,
            power_discharge_mw=5.0,
            energy_mwh=10.0,
            soc_initial_mwh=5.0,
            prequalifications=PREQUALIFIED,
        ),
    ]
    return portfolio(*assets, sites=sites)


def prices() -> PriceInputs:
    shape = 60 + 30 * np.sin(np.arange(96) / 96 * 2 * np.pi)
    return PriceInputs(
        day_ahead={"DE_LU": series(shape)},
        intraday={"DE_LU": series(shape + np.where(np.arange(96) % 8 < 4, 6.0, -6.0))},
        afrr_capacity={("DE_LU", "pos"): constant(12.0), ("DE_LU", "neg"): constant(9.0)},
    )


def first_pos_product():
    return next(
        p
        for p in default_registry().get("DE").products(DAY, MarketId.AFRR_CAPACITY)
        if p.direction is not None and p.direction.value == "pos"
    )


def test_each_pool_keeps_its_own_capacity_through_the_intraday_pass() -> None:
    both = optimise(
        two_pools(),
        DAY,
        prices(),
        options=OptimiserOptions(markets=("day_ahead", "intraday", "afrr_capacity")),
    )
    first = optimise(
        two_pools(),
        DAY,
        prices(),
        options=OptimiserOptions(markets=("day_ahead", "afrr_capacity")),
    )
    held = [p for p in both.positions if p.direction is not None]
    assert {p.pool for p in held} == {"Amprion", "TenneT DE"}
    sold_first = {(p.product_id, p.pool): p.mw for p in first.positions if p.direction}
    assert {(p.product_id, p.pool): p.mw for p in held} == sold_first
    assert sum(sold_first.values()) > 0  # capacity was sold, so holding it is tested
    # each pool's capacity stays within its own battery's prequalification
    assert all(p.mw <= 5.0 + 1e-9 for p in held)
    bids = [b for b in both.bids if ":afrr_capacity:" in b.product_id]
    assert len({b.bid_id for b in bids}) == len(bids)  # one bid per pool and product


def test_a_capacity_commitment_names_its_pool() -> None:
    product = first_pos_product()
    key = commitment_key(product.product_id, "TenneT DE")
    options = OptimiserOptions(markets=("day_ahead", "afrr_capacity"), commitments={key: 3.0})
    plan = optimise(two_pools(), DAY, prices(), options=options)
    held = {(p.product_id, p.pool): p.mw for p in plan.positions}
    assert held[(product.product_id, "TenneT DE")] == pytest.approx(3.0)


def test_a_plain_product_id_offered_by_two_pools_is_refused_naming_them() -> None:
    product = first_pos_product()
    options = OptimiserOptions(
        markets=("day_ahead", "afrr_capacity"), commitments={product.product_id: 3.0}
    )
    with pytest.raises(InputError, match="Amprion, TenneT DE"):
        optimise(two_pools(), DAY, prices(), options=options)


def test_a_commitment_beyond_every_prequalification_names_the_commitment() -> None:
    product = first_pos_product()
    key = commitment_key(product.product_id, "Amprion")
    options = OptimiserOptions(markets=("day_ahead", "afrr_capacity"), commitments={key: 8.0})
    with pytest.raises(InfeasibleError) as caught:
        optimise(two_pools(), DAY, prices(), options=options)
    assert any(c.family == "commitment" for c in caught.value.conflicts), str(caught.value)
    assert "Amprion" in str(caught.value)


def test_day_ahead_products_left_at_zero_stay_at_zero_in_the_intraday_pass() -> None:
    """A product the day-ahead pass did not trade is held at 0 MW too: the intraday pass
    must not sell day-ahead and buy back intraday on the forecast spread alone."""
    markets_both = ("day_ahead", "intraday")
    first = optimise(two_pools(), DAY, prices(), options=OptimiserOptions())
    both = optimise(two_pools(), DAY, prices(), options=OptimiserOptions(markets=markets_both))
    day_ahead = {p.product_id: p.mw for p in first.positions if p.market == "day_ahead"}
    after = {p.product_id: p.mw for p in both.positions if p.market == "day_ahead"}
    assert after == day_ahead


def test_an_intraday_commitment_is_held_in_the_intraday_pass() -> None:
    product = next(
        p
        for p in default_registry().get("DE").products(DAY, MarketId.INTRADAY_AUCTION)
        if p.family == "IDA1"
    )
    options = OptimiserOptions(
        markets=("day_ahead", "intraday"), commitments={product.product_id: 0.5}
    )
    plan = optimise(two_pools(), DAY, prices(), options=options)
    held = {p.product_id: p.mw for p in plan.positions}
    assert held[product.product_id] == pytest.approx(0.5)
