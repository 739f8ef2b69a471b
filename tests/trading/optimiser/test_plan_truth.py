"""What a plan says about itself holds: its bids clear where its forecast says they would,
its accounts add up, the plugins it trades are the ones it was given, assets out of
service are left out, and an impossible plan is explained in units and local time."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optimiser_factories import DAY, battery, constant, day_ahead, portfolio, site

from markets.bids import BalancingCapacityBid
from markets.products import Direction, MarketId, Pricing
from markets.registry import MarketRegistry, Registered, default_registry
from regulatory.loading import read_portfolio
from trading.cli.optimise import availability, load_prices
from trading.optimiser.build import OptimiserOptions
from trading.optimiser.derive import capacity_offer_price, on_tick
from trading.optimiser.diagnose import InfeasibleError
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.optimiser.plan import optimise
from trading.optimiser.solver import SolverOptions
from trading.samples import sample_portfolio_path, sample_prices_dir

SAMPLE_DAY = date(2026, 6, 13)
ALL_MARKETS = ("day_ahead", "afrr_capacity", "fcr_capacity", "intraday")


def afrr_product(country: str = "DE", direction: str = "pos"):
    return next(
        p
        for p in default_registry().get(country).products(DAY, MarketId.AFRR_CAPACITY)
        if p.direction is not None and p.direction.value == direction
    )


# --- bid prices -------------------------------------------------------------------------


def test_a_block_price_is_put_on_the_tick_per_block_and_rounded_down() -> None:
    """0.645 EUR/MW for a 4-hour block (0.16125 EUR/MW/h) is offered at 0.64 EUR/MW, i.e.
    0.16 EUR/MW/h: never above the price it was derived from, and on the tick the exchange
    applies to its EUR/MW quote (rounding 0.16125 to 0.16 per hour would also be on an
    hourly tick, but 0.645 / 4 rounded up to 0.17 or 0.65 / 4 would not be a valid bid)."""
    product = afrr_product()
    assert product.price_per_block
    assert product.price_unit == "EUR/MW"
    price = capacity_offer_price(product, 0.645 / 4)
    assert price == pytest.approx(0.16)
    assert product.quoted_price(price) == Decimal("0.64")
    bid = BalancingCapacityBid(
        bid_id="b",
        product_id=product.product_id,
        direction=Direction.POS,
        capacity_mw=1.0,
        capacity_price_eur_per_mw_h=price,
    )
    plugin = default_registry().get("DE")
    assert plugin.validate(bid, now=product.gate_closure - timedelta(seconds=1)) == []


def test_a_capacity_price_off_the_block_tick_is_refused_naming_both_units() -> None:
    product = afrr_product()
    bid = BalancingCapacityBid(
        bid_id="b",
        product_id=product.product_id,
        direction=Direction.POS,
        capacity_mw=1.0,
        capacity_price_eur_per_mw_h=0.161,  # 0.644 EUR/MW: on no 0.01 tick
    )
    found = (
        default_registry().get("DE").validate(bid, now=product.gate_closure - timedelta(seconds=1))
    )
    assert [v.rule for v in found] == ["afrr_capacity.price_tick"], found
    text = str(found[0])
    assert "0.644 EUR/MW" in text
    assert "0.161 EUR/MW/h" in text


@settings(max_examples=200, deadline=None)
@given(forecast=st.floats(0.0, 500.0, allow_nan=False))
def test_capacity_offers_never_exceed_their_forecast_and_stay_on_the_tick(forecast) -> None:
    """For any forecast [EUR/MW/h], the offer in the exchange's unit is on the tick, at
    most the forecast and less than one tick below it; validation accepts it."""
    for product in (afrr_product("DE"), afrr_product("AT")):
        price = capacity_offer_price(product, forecast)
        quoted = product.quoted_price(price)
        limit = product.quoted_price(forecast)
        tick = Decimal(repr(product.price_tick))
        assert quoted % tick == 0
        assert quoted <= limit
        if product.pricing is Pricing.PAY_AS_BID:
            assert limit - quoted < tick


SPRING_FORWARD = date(2025, 3, 30)


def short_block_products() -> list:
    """German aFRR capacity products of the spring-forward day whose block lasts 3 hours."""
    products = default_registry().get("DE").products(SPRING_FORWARD, MarketId.AFRR_CAPACITY)
    short = [p for p in products if p.price_per_block and p.duration_minutes == 180]
    assert short, "the 00:00-04:00 block of 2025-03-30 lasts 3 hours"
    return short


@settings(max_examples=200, deadline=None)
@given(forecast=st.floats(0.0, 500.0, allow_nan=False))
def test_a_three_hour_block_offer_is_accepted_on_the_spring_forward_day(forecast) -> None:
    """15.05 EUR/MW over 3 hours is 5.01666... EUR/MW/h, which a float cannot hold; the
    offer derived for the block is still on the tick the exchange applies per block, and
    its plugin accepts it (found by a year-long backtest that stopped on 2025-03-30)."""
    for product in short_block_products():
        price = capacity_offer_price(product, forecast)
        assert product.quoted_price(price) % Decimal("0.01") == 0
        bid = BalancingCapacityBid(
            bid_id="b",
            product_id=product.product_id,
            direction=product.direction,
            capacity_mw=1.0,
            capacity_price_eur_per_mw_h=price,
        )
        now = product.gate_closure - timedelta(seconds=1)
        assert default_registry().get("DE").validate(bid, now=now) == []


def test_the_block_price_behind_the_spring_forward_stop_is_on_the_tick() -> None:
    product = short_block_products()[0]
    price = capacity_offer_price(product, 15.05 / 3)
    assert product.quoted_price(price) == Decimal("15.05")


def test_on_tick_rounds_an_offer_down_and_a_purchase_up() -> None:
    assert on_tick(Decimal("12.345"), 0.01, down=True) == Decimal("12.34")
    assert on_tick(Decimal("12.345"), 0.01, down=False) == Decimal("12.35")
    assert on_tick(Decimal("-12.345"), 0.01, down=True) == Decimal("-12.35")
    assert on_tick(Decimal("12.3"), 0.1, down=True) == Decimal("12.3")


def test_a_plans_capacity_bids_clear_at_the_forecast_it_was_made_on() -> None:
    """Perfect foresight: every capacity bid of the plan is accepted when the clearing
    price is the forecast (a bid rounded up above it would be refused)."""
    from trading.backtest.settle import clear_plan

    prices = PriceInputs(
        day_ahead={"DE_LU": constant(50.0)},
        afrr_capacity={
            ("DE_LU", "pos"): constant(0.645 / 4),
            ("DE_LU", "neg"): constant(1.2345),
        },
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
    pf = portfolio(bat)
    options = OptimiserOptions(markets=("day_ahead", "afrr_capacity"))
    plan = optimise(pf, DAY, prices, options=options)
    capacity = [b for b in plan.bids if isinstance(b, BalancingCapacityBid)]
    assert capacity, "the battery sells capacity at these prices"
    cleared = [p for p in clear_plan(plan, prices) if p.market == "afrr_capacity"]
    assert cleared
    assert all(p.cleared_mw == p.bid_mw for p in cleared), cleared


# --- accounts and the plan's inputs -------------------------------------------------------


@pytest.fixture(scope="module")
def sample_plan():
    pf = read_portfolio(sample_portfolio_path())
    folder = sample_prices_dir()
    prices = load_prices(
        folder / "day_ahead.csv",
        folder / "intraday.csv",
        folder / "afrr.csv",
        {s.bidding_zone for s in pf.sites},
    )
    profiles, _ = availability(pf, Horizon.of(SAMPLE_DAY), None)
    options = OptimiserOptions(markets=ALL_MARKETS, solver=SolverOptions(time_limit_s=60))
    return pf, optimise(pf, SAMPLE_DAY, prices, profiles=profiles, options=options)


def test_revenue_by_market_minus_costs_by_kind_is_the_objective_to_the_cent(sample_plan):
    _, plan = sample_plan
    cents = round(sum(plan.revenue_by_market.values()) * 100) - round(
        sum(plan.costs_by_kind.values()) * 100
    )
    assert round(plan.objective_eur * 100) == cents
    assert {"day_ahead", "intraday", "afrr_capacity", "fcr_capacity"} <= set(plan.revenue_by_market)
    assert {"wear", "fuel", "starts", "levies_and_grid_fees", "shift"} <= set(plan.costs_by_kind)
    assert all(v >= 0 for v in plan.costs_by_kind.values())
    # the solver's own objective is the same plan's, within rounding to the cent per item
    assert plan.solver.objective_eur == pytest.approx(plan.objective_eur, abs=0.1)


def test_a_battery_commissioned_later_is_left_out_and_said_so(sample_plan):
    _, plan = sample_plan
    assert "bat-de-lausitz" not in plan.schedule.injection_mw
    assert "commissioned 2027-02-01" in plan.excluded_assets["bat-de-lausitz"]
    assert any("bat-de-lausitz" in note for note in plan.notes)
    assert "bat-de-lausitz" not in plan.revenue_by_asset


def test_the_sample_ev_fleets_hold_what_they_discharge_and_meet_their_sessions(sample_plan):
    """The V2G vans in Lyon never discharge more than they hold; the buses in Hamburg
    charge within their window; both end the day owing no more than they can charge."""
    _, plan = sample_plan
    for fleet in ("ev-fr-lyon-vans", "ev-de-hamburg-bus"):
        stored = np.asarray(plan.states[fleet]["e_mwh"])
        assert stored.min() >= -1e-6
        assert fleet in plan.end_state
    vans = np.asarray(plan.schedule.injection_mw["ev-fr-lyon-vans"])
    assert (vans * 0.25).clip(min=0).sum() <= 4.2 * 2  # at most what it can hold, twice over


# --- the registry flows through -----------------------------------------------------------


def test_the_plan_trades_the_plugins_it_is_given() -> None:
    """A registry whose German day-ahead steps are 1 MW: the plan's positions and bids are
    whole megawatts, and they validate against that registry (not the installed one)."""
    plugin = default_registry().get("DE")
    from markets.eu import since_start

    markets = tuple(
        spec.with_rules(
            volume_step_mw=(since_start(1.0, "test"),), volume_min_mw=(since_start(1.0, "test"),)
        )
        if spec.market is MarketId.DAY_AHEAD
        else spec
        for spec in plugin.markets
    )
    coarse = MarketRegistry([Registered(plugin.model_copy(update={"markets": markets}), "test")])
    prices = [10.0] * 40 + [200.0] * 56
    pf = portfolio(battery(power_charge_mw=2.5, power_discharge_mw=2.5, energy_mwh=5.0))
    plan = optimise(pf, DAY, day_ahead(prices), registry=coarse)
    volumes = [p.mw for p in plan.positions]
    assert any(v != 0 for v in volumes)
    assert all(v == round(v) for v in volumes), volumes


# --- diagnosis ----------------------------------------------------------------------------


def test_an_impossible_session_names_its_window_the_unit_and_the_binding_connection() -> None:
    """An EV fleet sharing a 4 MW connection with a load that must draw most of the day:
    the diagnosis names the fleet's own window (not a neighbour's), the shortfall in MWh,
    and the site connection at its limit in those hours."""
    fleet = {
        "kind": "ev_fleet",
        "id": "ev-1",
        "site": "s1",
        "commissioning_date": "2022-01-01",
        "vehicle_count": 10,
        "charge_power_max_mw": 4.0,
        "energy_mwh": 16,
        "efficiency_charge": 0.93,
        "energy_requirements": [{"start_local": "08:00", "end_local": "18:00", "energy_mwh": 14}],
        "availability": [{"start_local": "08:00", "end_local": "18:00"}],
    }
    load = {
        "kind": "flexible_load",
        "id": "load-1",
        "site": "s1",
        "commissioning_date": "2022-01-01",
        "consumption_max_mw": 3.0,
        "consumption_min_mw": 2.0,
        "energy_requirements": [{"start_local": "00:00", "end_local": "00:00", "energy_mwh": 70}],
    }
    pf = portfolio(fleet, load, sites=[site(grid_connection_mw=4.0)])
    with pytest.raises(InfeasibleError) as caught:
        optimise(pf, DAY, day_ahead([50.0] * 96))
    text = str(caught.value)
    assert "ev-1" in text
    assert "08:00-18:00" in text
    assert "short by 2.84 MWh" in text
    assert "00:00-00:00" not in text.split("binding")[0].split("ev-1", 1)[1].split("\n")[0]
    assert any(b.site == "s1" and b.limit_mw == 4.0 for b in caught.value.binding), text
    assert "grid connection of site s1 at its 4 MW limit" in text
