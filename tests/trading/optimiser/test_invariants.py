"""Invariants of the optimiser's plans, on portfolios and prices drawn by hypothesis.

Each property is something a user of the plan would notice if it broke: a battery that
leaves its SoC range or misses its end-of-day target, reserve sold that the assets
cannot deliver, a bid the exchange refuses, a schedule whose injections do not add up
to the positions sold, or a split solve that is worse than solving the model whole.

Checks are against the asset data and the market plugins (independent of the model),
and where a model quantity is needed (SoC, on/off state) against the final solution,
captured by spying on `plan._write_back` as `test_known_answers` does.

Runtime is about half a minute. The fixed fleets (`FLEET_CASES`) are solved once and
shared by the checks of reserves, bids and zone balance; the random fleets are few,
since a handful of seeds spend 10-20 s in the rounding pass, whose time limit applies per
solve rather than per plan (e.g. `synthetic_portfolio(8, 1147)`, day-ahead and aFRR).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from optimiser_factories import (
    DAY,
    Capture,
    battery,
    constant,
    day_ahead,
    periods,
    portfolio,
    series,
)

import trading.optimiser.plan as plan_module
from markets.bids import BalancingCapacityBid, SingleBid
from markets.products import MarketId
from markets.registry import default_registry
from regulatory import Portfolio
from regulatory.assets import CHP, PV, Battery, EVFleet, FlexibleLoad, HeatPump, Wind
from regulatory.registry import default_registry as regulatory_registry
from regulatory.rules import PoolingScope
from trading.cli.optimise import load_prices
from trading.optimiser.assets import availability_mask
from trading.optimiser.build import OptimiserOptions, build_model
from trading.optimiser.inputs import Horizon, PriceInputs
from trading.optimiser.plan import ROUNDING_PENALTY, Plan, optimise
from trading.optimiser.profiles import proxy_profiles
from trading.optimiser.solver import SolverOptions, solve, to_highs
from trading.optimiser.split import MatrixModel
from trading.optimiser.synthetic import battery_portfolio, synthetic_portfolio
from trading.samples import SAMPLE_PRICE_DAY, sample_prices_dir

DT = 0.25
TOL = 1e-6
"""Slack on a single value read from the solver [MW or MWh]."""
SOLVER = SolverOptions(time_limit_s=10)
SAMPLE_DAY = date.fromisoformat(SAMPLE_PRICE_DAY)
SAMPLE_DAYS = [date(2026, 6, d) for d in (12, 13, 14, 15)]
UP = ("fcr", "afrr_pos")
DOWN = ("fcr", "afrr_neg")

QUICK = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FLEETS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Most fleets solve in well under a second, a few take 10-20 s (see above)."""


# --- helpers --------------------------------------------------------------------------------


@contextmanager
def capturing() -> Iterator[Capture]:
    """Records (built, solved) of the last plan `optimise` writes back (its final solve)."""
    capture = Capture()
    original = plan_module._write_back

    def spy(built: Any, solved: Any, rounded: bool) -> Any:
        capture.built, capture.solved = built, solved
        return original(built, solved, rounded)

    with mock.patch.object(plan_module, "_write_back", spy):
        yield capture


def run(
    pf: Portfolio, day: date, prices: PriceInputs, options: OptimiserOptions, **kwargs: Any
) -> tuple[Plan, Capture]:
    with capturing() as capture:
        plan = optimise(pf, day, prices, options=options, **kwargs)
    return plan, capture


@cache
def sample_prices(zones: frozenset[str]) -> PriceInputs:
    """Day-ahead, intraday and aFRR capacity sample prices of `zones`."""
    folder = sample_prices_dir()
    return load_prices(
        folder / "day_ahead.csv", folder / "intraday.csv", folder / "afrr.csv", set(zones)
    )


@cache
def fleet_plan(n: int, seed: int, markets: tuple[str, ...]) -> tuple[Portfolio, Plan, Capture]:
    """The plan of `synthetic_portfolio(n, seed)` on the sample day (shared by tests)."""
    pf = synthetic_portfolio(n, seed)
    prices = sample_prices(frozenset(s.bidding_zone for s in pf.sites))
    profiles = proxy_profiles(pf, Horizon.of(SAMPLE_DAY))
    options = OptimiserOptions(markets=markets, solver=SOLVER)
    plan, capture = run(pf, SAMPLE_DAY, prices, options, profiles=profiles)
    return pf, plan, capture


RESERVES = ("day_ahead", "afrr_capacity")
FLEET_CASES = [
    # (assets, seed, markets): every asset kind, all five countries, FCR and intraday
    pytest.param(5, 2, (*RESERVES, "fcr_capacity"), id="5-2-fcr"),
    pytest.param(8, 3, (*RESERVES, "intraday"), id="8-3-intraday"),
    pytest.param(12, 0, RESERVES, id="12-0"),
    pytest.param(16, 1, RESERVES, id="16-1"),
    pytest.param(20, 0, (*RESERVES, "fcr_capacity", "intraday"), id="20-0-fcr-intraday"),
    pytest.param(20, 3, (*RESERVES, "intraday"), id="20-3-intraday"),
]
"""Fleets solved once and shared by the tests below (each solves in about a second)."""
RANDOM_FLEETS = st.tuples(
    st.integers(5, 10),
    st.integers(0, 9_999),
    st.sampled_from([RESERVES, (*RESERVES, "fcr_capacity"), (*RESERVES, "intraday")]),
)


def is_whole_steps(mw: float, step: float) -> bool:
    """Whether `mw` is a whole number of `step`, as written (16.4, not 16.400000000000002)."""
    return Decimal(repr(mw)) % Decimal(repr(step)) == 0


def quarter_of(plan: Plan) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(plan.schedule.index)


def bands(plan: Plan, asset_id: str, products: tuple[str, ...]) -> np.ndarray:
    n = len(plan.schedule.index)
    held = plan.schedule.bands_mw.get(asset_id, {})
    return sum((np.asarray(held[p]) for p in products if p in held), np.zeros(n))


def physical_range(
    asset: Any, capture: Capture, profiles: Any, timezone: str
) -> tuple[np.ndarray, np.ndarray]:
    """(lowest, highest) net injection the asset can physically reach per quarter hour,
    from its data, availability, weather profile and on/off state [MW] (a CHP's from the
    model; a load or heat pump is on where it consumes, and off it has no range at all)."""
    horizon = capture.built.horizon
    on = availability_mask(asset, horizon, timezone)
    if isinstance(asset, Battery):
        return -asset.power_charge_mw * on, asset.power_discharge_mw * on
    if isinstance(asset, EVFleet):
        return -asset.charge_power_max_mw * on, asset.discharge_power_max_mw * on
    if isinstance(asset, FlexibleLoad | HeatPump):
        planned = capture.built.assets[asset.id].injection.evaluate(capture.solved.values)
        running = on * (-planned > 1e-6)
        low, high = asset.injection_bounds_mw()
        return low * running, high * running
    if isinstance(asset, PV | Wind):
        available = profiles.quarter_hourly(asset.id, horizon, asset.rated_power_mw) * on
        return (np.zeros(horizon.n) if asset.curtailable else available), available
    if isinstance(asset, CHP):
        running = np.round(capture(capture.built.assets[asset.id].variables["on"]))
        return asset.power_min_stable_mw * running, asset.power_max_mw * running
    raise AssertionError(f"no physical range for {asset.kind}")


# --- 1. battery state of charge -------------------------------------------------------------


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
def test_battery_soc_stays_in_range_follows_its_flows_and_reaches_its_target(
    data, market, target_share
):
    """Random battery, random prices with negative stretches, day-ahead (and intraday),
    on a summer day and on both DST days.

    Reconstructed from the published schedule alone (injection > 0 is discharge, < 0 is
    charge), the SoC stays within [soc_min, soc_max] and ends at or above its target; the
    model's own SoC follows charge * eta_c * 0.25 - discharge / eta_d * 0.25 exactly; the
    final plan never charges and discharges in the same quarter hour; its objective is
    what it earns; and its bids and schedule pass the checks of tests 3 and 4.
    """
    pf = portfolio(data)
    asset = pf.assets[0]
    assert isinstance(asset, Battery)
    low, high = asset.soc_bounds_mwh()
    initial = asset.soc_initial_mwh if asset.soc_initial_mwh is not None else (low + high) / 2
    final: dict[str, float] = {}
    target = initial
    if target_share is not None:  # a target the battery can reach by charging all day
        reach = initial + 0.9 * asset.power_charge_mw * asset.efficiency_charge * 24
        target = round(low + target_share * (min(high, reach) - low), 3)
        final = {asset.id: target}
    day, prices, markets = market
    options = OptimiserOptions(markets=markets, solver=SOLVER, final_soc_mwh=final)
    plan, capture = run(pf, day, prices, options)

    eta_c, eta_d = asset.efficiency_charge, asset.efficiency_discharge
    # the model's SoC, charge and discharge in the final solution
    terms = capture.built.assets[asset.id]
    charge = capture(terms.variables["charge"])
    discharge = capture(terms.variables["discharge"])
    soc = capture(terms.soc)
    assert (soc >= low - TOL).all(), f"SoC {soc.min()} MWh below soc_min {low}"
    assert (soc <= high + TOL).all(), f"SoC {soc.max()} MWh above soc_max {high}"
    assert soc[-1] >= target - TOL, f"ends at {soc[-1]} MWh, target {target} MWh"
    before = np.r_[min(max(initial, low), high), soc[:-1]]
    flow = charge * eta_c * DT - discharge / eta_d * DT
    np.testing.assert_allclose(soc - before, flow, atol=1e-7, err_msg="SoC does not follow flows")
    both = (charge > 1e-6) & (discharge > 1e-6)
    assert not both.any(), f"charges and discharges at once in quarter hours {np.flatnonzero(both)}"

    # what the user sees: the schedule's injection, and the SoC it implies
    injection = np.asarray(plan.schedule.injection_mw[asset.id])
    np.testing.assert_allclose(injection, discharge - charge, atol=1e-9)
    assert (injection >= -asset.power_charge_mw - TOL).all()
    assert (injection <= asset.power_discharge_mw + TOL).all()
    implied = initial + np.cumsum(
        np.maximum(-injection, 0) * eta_c * DT - np.maximum(injection, 0) / eta_d * DT
    )
    assert (implied >= low - 1e-5).all()
    assert (implied <= high + 1e-5).all()
    assert implied[-1] >= target - 1e-5
    if asset.max_cycles_per_day is not None:
        assert discharge.sum() * DT <= asset.max_cycles_per_day * (high - low) + 1e-5
    # the objective reported is what the positions earn, less wear, levies on charging
    # and the rounding imbalance at its penalty
    levies = capture.built.treatments[asset.id].charging_cost_eur_per_mwh
    costs = (asset.degradation_cost_eur_per_mwh * (charge + discharge) + levies * charge) * DT
    penalty = sum(plan.rounding_imbalance_mwh.values()) * ROUNDING_PENALTY
    earned = sum(p.revenue_eur for p in plan.positions) - costs.sum() - penalty
    assert plan.objective_eur == pytest.approx(earned, rel=1e-6, abs=1e-3)
    # and, at any prices, bids the exchange takes and a schedule that adds up
    check_bids_and_positions(pf, plan)
    check_zone_balance(pf, plan)


# --- 2. reserves are deliverable ----------------------------------------------------------


def check_reserves_are_deliverable(pf: Portfolio, plan: Plan, capture: Capture) -> None:
    """- only assets prequalified for a product hold a band of it, within their
      prequalified MW (as the portfolio states it, and as their country's treatment allows);
    - every asset's planned injection plus its upward bands (fcr + afrr_pos) stays within
      what it can physically inject in that quarter hour, and minus its downward bands
      (fcr + afrr_neg) within what it can physically withdraw; likewise at each site's
      grid connection;
    - a pool holds assets of one zone and country (one control area where pooling is
      per connecting TSO);
    - each pool's capacity sold in a block is covered by its assets' reserves in every
      quarter hour of the block, and the schedule's capacity sold by the zone's bands;
    - capacity sold is constant within each block, a whole number of the product's volume
      step, and zero or at least its minimum (as the market plugin declares them).
    """
    built = capture.built
    horizon = built.horizon
    profiles = proxy_profiles(pf, Horizon.of(SAMPLE_DAY))
    sites = {s.id: s for s in pf.sites}
    injection = plan.schedule.injection_frame()
    prequalified = {a.id: {str(q.product): q.mw for q in a.prequalifications} for a in pf.assets}

    for (asset_id, product), var in built.reserves.items():
        reserved = capture(var)
        assert (reserved >= -TOL).all()
        limit = min(
            prequalified[asset_id].get(str(product), 0.0),
            built.treatments[asset_id].prequalified_mw(product),
        )
        assert reserved.max() <= limit + TOL, f"{asset_id} reserves {product} beyond its PQ"
    for asset_id, held in plan.schedule.bands_mw.items():
        for product, values in held.items():
            assert max(values) <= prequalified[asset_id].get(str(product), 0.0) + TOL, (
                f"{asset_id} holds {max(values)} MW of {product} without that prequalification"
            )

    up_by_site: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(horizon.n))
    down_by_site: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(horizon.n))
    for asset in pf.assets:
        site = sites[asset.site]
        timezone = regulatory_registry().get(site.country).in_force(SAMPLE_DAY).timezone
        lowest, highest = physical_range(asset, capture, profiles, timezone)
        planned = injection[asset.id].to_numpy()
        up, down = bands(plan, asset.id, UP), bands(plan, asset.id, DOWN)
        where = np.flatnonzero(planned + up > highest + TOL)
        assert not len(where), f"{asset.id} ({asset.kind}): upward band undeliverable at {where}"
        where = np.flatnonzero(planned - down < lowest - TOL)
        assert not len(where), f"{asset.id} ({asset.kind}): downward band undeliverable at {where}"
        up_by_site[site.id] += planned + up
        down_by_site[site.id] += planned - down
    for site in pf.sites:
        if site.id in up_by_site:
            assert (up_by_site[site.id] <= site.grid_connection_mw + TOL).all(), site.id
            assert (down_by_site[site.id] >= -site.grid_connection_mw - TOL).all(), site.id

    registry = default_registry()
    site_of = {a.id: sites[a.site] for a in pf.assets}
    sold_in: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(horizon.n))
    for pool in built.pools:
        # a pool offers together only what its TSO lets pool: one zone and country, and
        # one control area where the country's rule pools per connecting TSO
        members = [site_of[a] for a in pool.assets]
        assert {s.bidding_zone for s in members} == {pool.zone}
        assert len({s.country for s in members}) == 1
        scopes = {
            b.pooling
            for a in pool.assets
            for b in built.treatments[a].balancing
            if b.product == pool.product
        }
        if PoolingScope.CONTROL_AREA in scopes:
            assert len({s.control_area for s in members}) == 1, pool.pool_key
        sold = [
            p.mw
            for p in plan.positions
            if p.market == pool.market and p.pool == pool.pool_key
            if p.direction == pool.direction.value and p.zone == pool.zone
        ]
        assert len(sold) == len(pool.products)
        covered = sum(capture(built.reserves[(a, pool.product)]) for a in pool.assets)
        for b, product in enumerate(pool.products):
            declared = registry.get(product.country).product(product.product_id)
            assert declared is not None
            assert is_whole_steps(sold[b], declared.volume_step_mw), sold[b]
            assert sold[b] == 0 or sold[b] >= declared.volume_min_mw - 1e-9, sold[b]
            quarters = (horizon.periods >= declared.delivery_start) & (
                horizon.periods < declared.delivery_end
            )
            where = np.flatnonzero(quarters & (covered < sold[b] - TOL))
            assert not len(where), f"{product.product_id} ({pool.pool_key}) uncovered at {where}"
            sold_in[(pool.zone, str(pool.product))][quarters] += sold[b]
    for zone, products in plan.schedule.capacity_sold_mw.items():
        for product, values in products.items():
            # what the schedule says was sold: the pools' positions, constant over each block
            np.testing.assert_allclose(values, sold_in[(zone, str(product))], atol=1e-9)
            members = [a.id for a in pf.assets if sites[a.site].bidding_zone == zone]
            reserved = sum((bands(plan, a, (str(product),)) for a in members), np.zeros(horizon.n))
            assert (np.asarray(values) <= reserved + TOL).all(), f"{zone} {product} uncovered"


@pytest.mark.parametrize(("n", "seed", "markets"), FLEET_CASES)
def test_reserved_headroom_is_deliverable_and_capacity_is_covered(n, seed, markets):
    """Synthetic mixed fleets on the sample day with balancing capacity (see the check)."""
    check_reserves_are_deliverable(*fleet_plan(n, seed, markets))


def test_balancing_products_sell_whole_megawatts_with_a_minimum() -> None:
    """What the capacity checks take from the plugin: a volume step and a minimum."""
    for market in (MarketId.AFRR_CAPACITY, MarketId.FCR_CAPACITY):
        products = default_registry().get("DE").products(SAMPLE_DAY, market)
        assert products
        for product in products:
            assert product.volume_step_mw > 0
            assert product.volume_min_mw >= product.volume_step_mw


def test_battery_keeps_the_energy_to_deliver_its_upward_reserve():
    """2 MW / 0.5 MWh battery, full, eta_d = 0.9, prequalified for 2 MW aFRR+ at a
    capacity price that makes every MW worth selling; the DE rule keeps a 15-minute reservoir.

    Delivering 2 MW for 15 minutes draws 2 * 0.25 / 0.9 = 0.556 MWh from storage, more
    than the 0.5 MWh it holds: it would run empty after 13.5 minutes. 0.5 MWh delivers at
    most 0.5 * 0.9 / 0.25 = 1.8 MW for 15 minutes, so at most 1 MW (whole MW) may be sold.
    """
    bat = battery(
        power_charge_mw=2.0,
        power_discharge_mw=2.0,
        energy_mwh=0.5,
        soc_initial_mwh=0.5,
        efficiency_discharge=0.9,
        prequalifications=[{"product": "afrr_pos", "mw": 2.0}],
    )
    prices = PriceInputs(
        day_ahead={"DE_LU": constant(50.0)},
        afrr_capacity={("DE_LU", "pos"): constant(1000.0)},
    )
    options = OptimiserOptions(markets=RESERVES, solver=SolverOptions(mip_gap=0))
    plan, capture = run(portfolio(bat), DAY, prices, options)

    built = capture.built
    reservoir_h = next(
        b.energy_reservoir_h for b in built.treatments["bat-1"].balancing if b.product == "afrr_pos"
    )
    assert reservoir_h == 0.25
    soc = capture(built.assets["bat-1"].soc)
    up = np.asarray(plan.schedule.bands_mw["bat-1"]["afrr_pos"])
    drawn = up * reservoir_h / 0.9
    assert (soc - drawn >= -TOL).all(), (
        f"holds {up.max()} MW aFRR+ with {soc[int(np.argmax(drawn - soc))]} MWh stored; "
        f"delivering it for {reservoir_h} h draws {drawn.max():.3f} MWh"
    )
    assert max(p.mw for p in plan.positions if p.market == "afrr_capacity") <= 1.0


# --- 3. bids are valid; the schedule fits the portfolio -------------------------------------


def check_bids_and_positions(pf: Portfolio, plan: Plan) -> None:
    """Every bid passes its plugin just before its gate closes, alone and together with
    the other bids of its gate (rules across bids, e.g. further-bid minimums); each
    position is a whole number of volume steps and is what the schedule records for every
    quarter hour of its product; every position traded has its bid; and the schedule
    reports no problem against the portfolio."""
    registry = default_registry()
    submissions: dict[tuple[str, Any], list[Any]] = defaultdict(list)
    for bid in plan.bids:
        plugin = registry.get(bid.product_id.split(":", 1)[0])
        product = plugin.product(bid.product_id)
        assert product is not None, bid.product_id
        now = product.gate_closure - timedelta(seconds=1)
        assert plugin.validate(bid, now=now) == [], bid
        submissions[(plugin.country, product.gate_closure)].append(bid)
        if isinstance(bid, SingleBid):
            assert is_whole_steps(bid.volume_mw, product.volume_step_mw), bid.volume_mw
        else:
            assert isinstance(bid, BalancingCapacityBid)
            assert is_whole_steps(bid.capacity_mw, product.volume_step_mw), bid.capacity_mw
    for (country, gate), bids in submissions.items():
        found = registry.get(country).validate_all(bids, now=gate - timedelta(seconds=1))
        assert all(v == [] for v in found), [v for v in found if v]
    assert len({b.bid_id for b in plan.bids}) == len(plan.bids), "bid ids repeat"

    quarters = quarter_of(plan)
    expected: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(len(quarters)))
    for position in plan.positions:
        product = registry.get(position.product_id.split(":", 1)[0]).product(position.product_id)
        assert product is not None
        assert is_whole_steps(position.mw, product.volume_step_mw), position.mw
        if position.direction is not None:
            continue
        inside = (quarters >= product.delivery_start) & (quarters < product.delivery_end)
        assert inside.sum() == product.duration_minutes // 15
        expected[(position.zone, position.market)][inside] += position.mw
    traded = Counter((p.product_id, p.direction, p.mw) for p in plan.positions if p.mw != 0)
    offered = Counter(
        (b.product_id, None, b.volume_mw)
        if isinstance(b, SingleBid)
        else (b.product_id, b.direction.value, b.capacity_mw)
        for b in plan.bids
    )
    assert traded == offered, "every position traded has exactly its bid"
    for zone, by_market in plan.schedule.positions_mw.items():
        for market, values in by_market.items():
            # constant over each product's MTU: the position itself in every quarter hour
            np.testing.assert_allclose(values, expected[(zone, str(market))], atol=1e-9)
    assert plan.schedule.validate_against(pf) == []


@pytest.mark.parametrize(("n", "seed", "markets"), FLEET_CASES)
def test_every_bid_is_valid_and_positions_are_whole_steps_over_their_mtu(n, seed, markets):
    pf, plan, _ = fleet_plan(n, seed, markets)
    check_bids_and_positions(pf, plan)


# --- 4. the zone's injection is its positions ---------------------------------------------


def check_zone_balance(pf: Portfolio, plan: Plan) -> None:
    """Per bidding zone and quarter hour, the schedule's planned injections of the zone's
    assets add up to the plan's energy positions there (all markets) within the
    schedule's tolerance, itself less than one volume step; what is missed is the
    rounding imbalance the plan reports."""
    zone_of = {a.id: s.bidding_zone for s in pf.sites for a in pf.assets if a.site == s.id}
    quarters = quarter_of(plan)
    injection = plan.schedule.injection_frame()
    registry = default_registry()
    sold: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(quarters)))
    steps = [0.0]
    for position in plan.positions:
        if position.direction is not None:
            continue
        product = registry.get(position.product_id.split(":", 1)[0]).product(position.product_id)
        assert product is not None
        steps.append(product.volume_step_mw)
        inside = (quarters >= product.delivery_start) & (quarters < product.delivery_end)
        sold[position.zone][inside] += position.mw
    tolerance = plan.schedule.position_tolerance_mw
    assert tolerance <= max(steps) + 1e-6
    for zone in {s.bidding_zone for s in pf.sites}:
        members = [a for a, z in zone_of.items() if z == zone]
        gap = np.abs(injection[members].sum(axis=1).to_numpy() - sold[zone])
        assert gap.max() <= tolerance, (
            f"{zone}: injection differs from positions by {gap.max():.6f} MW "
            f"at {quarters[int(gap.argmax())]}"
        )
        assert plan.rounding_imbalance_mwh.get(zone, 0.0) == pytest.approx(
            gap.sum() * DT, abs=1e-5
        ), zone


@pytest.mark.parametrize(("n", "seed", "markets"), FLEET_CASES)
def test_each_zones_net_injection_equals_its_positions(n, seed, markets):
    pf, plan, _ = fleet_plan(n, seed, markets)
    check_zone_balance(pf, plan)


@FLEETS
@given(case=RANDOM_FLEETS)
def test_random_fleets_keep_every_plan_invariant(case):
    """Invariants 2-4 on random small fleets (5-10 assets, any seed)."""
    pf, plan, capture = fleet_plan(*case)
    check_reserves_are_deliverable(pf, plan, capture)
    check_bids_and_positions(pf, plan)
    check_zone_balance(pf, plan)


# --- 5. splitting the model is exact ------------------------------------------------------


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
    built = build_model(pf, day, prices, options=OptimiserOptions(solver=exact))
    for block in built.positions:  # as plan.py does before its first solve
        built.model.set_integer(block.steps, False)

    solved = solve(built.model, exact)
    status, whole, bound = monolithic(built.model, exact)
    assert solved.report.status == "optimal"
    split_objective = solved.report.objective_eur
    assert split_objective is not None
    if status == "kOptimal":
        assert split_objective == pytest.approx(whole, rel=1e-6, abs=1e-6)
    else:
        assert status == "kTimeLimit", status
        slack = 1e-6 * max(1.0, abs(whole))
        assert whole - slack <= split_objective <= bound + slack

    m = MatrixModel.of(built.model)
    x = solved.values
    assert float(m.cost @ x + m.offset) == pytest.approx(split_objective, rel=1e-9, abs=1e-6)
    assert (x >= m.lower - TOL).all()
    assert (x <= m.upper + TOL).all()
    activity = m.matrix @ x
    assert (activity >= m.row_lower - 1e-5).all()
    assert (activity <= m.row_upper + 1e-5).all()
    np.testing.assert_allclose(x[m.integer], np.round(x[m.integer]), atol=1e-6)
