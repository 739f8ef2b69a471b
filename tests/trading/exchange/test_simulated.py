"""What a trader sees of the simulated exchange: outcomes, gates, withdrawals, refusals."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import structlog
from exchange_factories import (
    DAY,
    DAY_AHEAD_GATE,
    ZONE,
    capacity,
    capacity_product,
    exchange,
    flat,
    flat_prices,
    products,
    quarter_hours,
    single,
)
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from markets.bids import BalancingEnergyBid, Bid, BlockBid, CurveBid, CurvePoint
from markets.products import Direction, MarketId, Pricing
from trading.exchange import (
    ClearingStatus,
    GateClosedError,
    MarketGateway,
    SubmissionRefusedError,
    UnknownBidError,
)
from trading.optimiser.inputs import PriceInputs

AFTER_DAY = datetime(2026, 3, 30, 0, 0, tzinfo=UTC)


def test_the_simulated_exchange_is_a_market_gateway() -> None:
    simulated, _, _ = exchange()
    assert isinstance(simulated, MarketGateway)


def test_day_ahead_sale_below_the_clearing_price_is_accepted_in_full_at_that_price() -> None:
    simulated, clock, _ = exchange(flat_prices(day_ahead=50.0))
    (key,) = simulated.submit([single(products(MarketId.DAY_AHEAD)[0], 3.5, 40.0)])
    clock.advance_to(DAY_AHEAD_GATE)
    (clearing,) = simulated.clear_due()
    assert clearing.bid_key == key
    assert clearing.status is ClearingStatus.ACCEPTED
    assert clearing.cleared_volume_mw == 3.5
    assert clearing.clearing_price_eur_per_mwh == 50.0
    assert clearing.remuneration_eur_per_mwh == 50.0
    assert clearing.cleared_at == DAY_AHEAD_GATE


def test_day_ahead_sale_above_the_clearing_price_is_rejected_with_nothing_cleared() -> None:
    simulated, clock, _ = exchange(flat_prices(day_ahead=50.0))
    simulated.submit([single(products(MarketId.DAY_AHEAD)[0], 3.5, 50.01)])
    clock.advance_to(DAY_AHEAD_GATE)
    (clearing,) = simulated.clear_due()
    assert clearing.status is ClearingStatus.REJECTED
    assert clearing.cleared_volume_mw == 0.0
    assert clearing.remuneration_eur_per_mwh is None
    assert "below the limit" in clearing.reason


@pytest.mark.parametrize(
    ("limit_eur_per_mwh", "status"),
    [
        (60.0, ClearingStatus.ACCEPTED),
        (50.0, ClearingStatus.ACCEPTED),
        (49.99, ClearingStatus.REJECTED),
    ],
)
def test_a_purchase_clears_when_the_price_is_at_or_below_its_limit(
    limit_eur_per_mwh: float, status: ClearingStatus
) -> None:
    simulated, clock, _ = exchange(flat_prices(day_ahead=50.0))
    simulated.submit([single(products(MarketId.DAY_AHEAD)[0], -2.0, limit_eur_per_mwh)])
    clock.advance_to(DAY_AHEAD_GATE)
    (clearing,) = simulated.clear_due()
    assert clearing.status is status
    assert clearing.cleared_volume_mw == (-2.0 if status is ClearingStatus.ACCEPTED else 0.0)


@pytest.mark.parametrize(
    ("price_eur_per_mwh", "cleared_mw"),
    [
        (10.0, -4.0),  # below every point: the purchase at <= 20 holds
        (20.0, -4.0),  # at a point: that point's volume
        (30.0, 0.0),  # between a purchase and a sale step: neither limit is met
        (45.0, 2.0),
        (60.0, 2.0),  # a step, not a line: still the 45 EUR/MWh point's sale
        (80.0, 6.0),
        (500.0, 6.0),  # above every point: the last sale holds
    ],
)
def test_a_curve_clears_its_step_volume_at_the_clearing_price(
    price_eur_per_mwh: float, cleared_mw: float
) -> None:
    simulated, clock, _ = exchange(flat_prices(day_ahead=price_eur_per_mwh))
    points = ((20.0, -4.0), (45.0, 2.0), (80.0, 6.0))
    curve = CurveBid(
        product_id=products(MarketId.DAY_AHEAD)[10].product_id,
        points=tuple(CurvePoint(price_eur_per_mwh=p, volume_mw=v) for p, v in points),
    )
    simulated.submit([curve])
    clock.advance_to(DAY_AHEAD_GATE)
    (clearing,) = simulated.clear_due()
    assert clearing.cleared_volume_mw == cleared_mw
    expected = ClearingStatus.ACCEPTED if cleared_mw else ClearingStatus.REJECTED
    assert clearing.status is expected


def _block_prices() -> PriceInputs:
    """Day-ahead 30, 30, 90, 90 EUR/MWh on the first four quarter hours, 50 elsewhere."""
    series = flat(50.0)
    series.iloc[:4] = [30.0, 30.0, 90.0, 90.0]
    return PriceInputs(day_ahead={ZONE: series})


@pytest.mark.parametrize(
    ("limit_eur_per_mwh", "status"),
    [(75.0, ClearingStatus.ACCEPTED), (75.01, ClearingStatus.REJECTED)],
)
def test_a_block_is_all_or_nothing_on_its_volume_weighted_average_price(
    limit_eur_per_mwh: float, status: ClearingStatus
) -> None:
    simulated, clock, _ = exchange(_block_prices())
    mtus = products(MarketId.DAY_AHEAD)[:4]
    volumes = (1.0, 1.0, 3.0, 3.0)  # weighted average (30 + 30 + 270 + 270) / 8 = 75
    block = BlockBid(
        product_ids=tuple(p.product_id for p in mtus),
        volumes_mw=volumes,
        price_eur_per_mwh=limit_eur_per_mwh,
    )
    simulated.submit([block])
    clock.advance_to(DAY_AHEAD_GATE)
    (clearing,) = simulated.clear_due()
    assert clearing.status is status
    assert clearing.clearing_price_eur_per_mwh == pytest.approx(75.0)
    accepted = status is ClearingStatus.ACCEPTED
    assert clearing.cleared_volumes_mw == (volumes if accepted else (0.0, 0.0, 0.0, 0.0))


@pytest.mark.parametrize(
    ("parent_limit_eur_per_mwh", "status"),
    [(30.0, ClearingStatus.ACCEPTED), (40.0, ClearingStatus.REJECTED)],
)
def test_a_linked_block_clears_only_with_its_parent(
    parent_limit_eur_per_mwh: float, status: ClearingStatus
) -> None:
    simulated, clock, _ = exchange(_block_prices())
    mtus = [p.product_id for p in products(MarketId.DAY_AHEAD)]
    parent = BlockBid(
        bid_id="parent",
        product_ids=tuple(mtus[:2]),
        volumes_mw=(1.0, 1.0),
        price_eur_per_mwh=parent_limit_eur_per_mwh,
    )
    child = BlockBid(
        bid_id="child",
        product_ids=tuple(mtus[2:4]),
        volumes_mw=(1.0, 1.0),
        price_eur_per_mwh=40.0,
        linked_to="parent",
    )
    simulated.submit([child, parent])  # the child first: clearing still takes the parent first
    clock.advance_to(DAY_AHEAD_GATE)
    outcome = {c.bid_key: c for c in simulated.clear_due()}
    assert outcome["parent"].status is status  # its MTUs clear at 30 EUR/MWh
    assert outcome["child"].status is status  # its own MTUs, at 90 EUR/MWh, would clear
    if status is ClearingStatus.REJECTED:
        assert "parent block parent was rejected" in outcome["child"].reason


def test_afrr_capacity_is_paid_as_bid_and_fcr_capacity_as_cleared() -> None:
    paid_as_bid = capacity_product(Pricing.PAY_AS_BID)
    paid_as_cleared = capacity_product(Pricing.PAY_AS_CLEARED)
    assert (paid_as_bid.market, paid_as_cleared.market) == (
        MarketId.AFRR_CAPACITY,
        MarketId.FCR_CAPACITY,
    )
    simulated, clock, _ = exchange(flat_prices(afrr_pos=8.0, fcr=12.0))
    as_bid, as_cleared = simulated.submit(
        [capacity(paid_as_bid, 5.0, 3.0), capacity(paid_as_cleared, 2.0, 4.0)]
    )
    clock.advance_to(DAY_AHEAD_GATE)
    results = {c.bid_key: c for c in simulated.clear_due()}
    assert results[as_bid].remuneration_eur_per_mw_h == 3.0
    assert results[as_bid].capacity_price_eur_per_mw_h == 8.0
    assert results[as_bid].cleared_volume_mw == 5.0
    assert results[as_cleared].remuneration_eur_per_mw_h == 12.0
    assert results[as_cleared].cleared_volume_mw == 2.0


def test_a_capacity_bid_above_the_marginal_price_is_rejected() -> None:
    simulated, clock, _ = exchange(flat_prices(afrr_neg=6.0))
    negative = next(p for p in products(MarketId.AFRR_CAPACITY) if p.direction is Direction.NEG)
    simulated.submit([capacity(negative, 5.0, 6.01)])
    clock.advance_to(DAY_AHEAD_GATE)
    (clearing,) = simulated.clear_due()
    assert clearing.status is ClearingStatus.REJECTED
    assert clearing.capacity_price_eur_per_mw_h == 6.0
    assert clearing.remuneration_eur_per_mw_h is None


def _one_bid_per_product() -> list[Bid]:
    bids: list[Bid] = [
        single(p, 1.0, 10.0)
        for market in (MarketId.DAY_AHEAD, MarketId.INTRADAY_AUCTION)
        for p in products(market)
    ]
    bids += [
        capacity(p, 1.0, 1.0)
        for market in (MarketId.AFRR_CAPACITY, MarketId.FCR_CAPACITY)
        for p in products(market)
    ]
    return bids


def test_walking_the_short_dst_day_clears_every_bid_at_its_gate_closure_and_never_before() -> None:
    simulated, clock, _ = exchange()
    keys = simulated.submit(_one_bid_per_product())
    gate_of = {key: held.gate_closure for key, held in simulated.pending().items()}
    step = timedelta(minutes=15)
    cleared_at_step: dict[str, datetime] = {}
    while clock.now() < AFTER_DAY:
        for clearing in simulated.clear_due():
            cleared_at_step[clearing.bid_key] = clock.now()
        assert all(held.gate_closure > clock.now() for held in simulated.pending().values())
        clock.advance(step)
    assert set(cleared_at_step) == set(keys)
    assert all(cleared_at_step[key] == gate_of[key] for key in keys)  # gates fall on the grid
    day_ahead = [c for c in simulated.results().values() if c.market is MarketId.DAY_AHEAD]
    assert len(day_ahead) == len(products(MarketId.DAY_AHEAD, DAY)) == 92  # short DST day
    assert all(c.status is ClearingStatus.ACCEPTED for c in simulated.results().values())
    ida3 = [c for c in simulated.results().values() if "IDA3" in c.product_ids[0]]
    assert {c.cleared_at for c in ida3} == {datetime(2026, 3, 29, 8, 0, tzinfo=UTC)}
    assert not simulated.pending()


def test_clearing_again_changes_no_outcome() -> None:
    simulated, clock, _ = exchange()
    simulated.submit(_one_bid_per_product()[:10])
    clock.advance_to(DAY_AHEAD_GATE)
    assert len(simulated.clear_due()) == 10
    before = dict(simulated.results())
    clock.advance(timedelta(days=2))
    assert simulated.clear_due() == ()
    assert dict(simulated.results()) == before


def test_a_product_without_a_price_is_rejected_with_the_reason() -> None:
    gap = flat(50.0)
    first_hour = quarter_hours()[:4]
    gap = gap.drop(first_hour)
    simulated, clock, _ = exchange(PriceInputs(day_ahead={ZONE: gap}))
    fcr_block = products(MarketId.FCR_CAPACITY)[0]
    keys = simulated.submit(
        [single(products(MarketId.DAY_AHEAD)[1], 1.0, 10.0), capacity(fcr_block, 1.0, 1.0)]
    )
    clock.advance_to(DAY_AHEAD_GATE)
    results = {c.bid_key: c for c in simulated.clear_due()}
    energy, reserve = results[keys[0]], results[keys[1]]
    assert energy.status is ClearingStatus.REJECTED
    assert energy.reason == (
        "rejected at its gate closure 2026-03-28T11:00:00Z: "
        f"no clearing price for day_ahead {ZONE} 2026-03-28T23:15:00Z"
    )
    assert reserve.status is ClearingStatus.REJECTED
    assert reserve.reason == (
        "rejected at its gate closure 2026-03-28T07:00:00Z: "
        f"no clearing price for fcr_capacity {ZONE} 2026-03-28T23:00:00Z"
    )


def test_a_bid_withdrawn_before_its_gate_is_not_cleared() -> None:
    simulated, clock, _ = exchange()
    kept, withdrawn = simulated.submit(
        [
            single(products(MarketId.DAY_AHEAD)[0], 1.0, 10.0),
            single(products(MarketId.DAY_AHEAD)[1], 1.0, 10.0),
        ]
    )
    clock.advance_to(DAY_AHEAD_GATE - timedelta(seconds=1))
    simulated.withdraw(withdrawn)
    clock.advance_to(DAY_AHEAD_GATE)
    assert [c.bid_key for c in simulated.clear_due()] == [kept]
    with pytest.raises(UnknownBidError, match="already withdrawn"):
        simulated.withdraw(withdrawn)


def test_withdrawal_at_the_gate_closure_is_refused_naming_it() -> None:
    simulated, clock, _ = exchange()
    (key,) = simulated.submit([single(products(MarketId.DAY_AHEAD)[0], 1.0, 10.0)])
    clock.advance_to(DAY_AHEAD_GATE)
    with pytest.raises(GateClosedError, match=r"2026-03-28T11:00:00Z \(2026-03-28 12:00 CET\)"):
        simulated.withdraw(key)
    assert key in simulated.pending()  # still cleared at the gate
    simulated.clear_due()
    with pytest.raises(GateClosedError, match=r"cleared \(accepted\) at its gate closure"):
        simulated.withdraw(key)


def test_balancing_energy_and_continuous_bids_say_how_they_will_leave_and_do_at_the_gate() -> None:
    simulated, clock, _ = exchange(start=datetime(2026, 3, 28, 15, 0, tzinfo=UTC))
    energy_product = products(MarketId.AFRR_ENERGY)[0]
    continuous = products(MarketId.INTRADAY_CONTINUOUS)[0]
    energy_bid = BalancingEnergyBid(
        product_id=energy_product.product_id,
        direction=Direction(energy_product.direction),
        volume_mw=5.0,
        energy_price_eur_per_mwh=120.0,
    )
    keys = simulated.submit([energy_bid, single(continuous, 1.0, 10.0)])
    pending = simulated.pending()
    assert "aFRR energy activation price" in pending[keys[0]].reason
    assert "intraday price proxy (a proxy, not market data)" in pending[keys[1]].reason
    clock.advance_to(AFTER_DAY)
    outcomes = {c.bid_key: c for c in simulated.clear_due()}
    assert set(outcomes) == set(keys)
    assert simulated.pending() == {}
    assert "no aFRR energy price" in outcomes[keys[0]].reason  # flat_prices has none
    assert outcomes[keys[1]].accepted  # a sale at 10 against a proxy of 55 fills


def test_a_submission_with_one_bad_bid_holds_none_and_names_the_rule() -> None:
    simulated, _, _ = exchange()
    good = single(products(MarketId.DAY_AHEAD)[0], 1.0, 10.0)
    off_tick = single(products(MarketId.DAY_AHEAD)[1], 1.0, 10.001)
    with pytest.raises(SubmissionRefusedError, match=r"bid #1 .*day_ahead\.price_tick") as refused:
        simulated.submit([good, off_tick])
    assert [r.index for r in refused.value.refusals] == [1]
    assert not simulated.pending()


def test_a_bid_after_its_gate_closure_is_refused() -> None:
    simulated, _, _ = exchange(start=DAY_AHEAD_GATE)
    with pytest.raises(SubmissionRefusedError, match=r"day_ahead\.gate_closure"):
        simulated.submit([single(products(MarketId.DAY_AHEAD)[0], 1.0, 10.0)])


def test_a_bid_id_already_in_use_is_refused() -> None:
    simulated, _, _ = exchange()
    product = products(MarketId.DAY_AHEAD)[0]
    first = single(product, 1.0, 10.0).model_copy(update={"bid_id": "mine"})
    assert simulated.submit([first]) == ("mine",)
    with pytest.raises(SubmissionRefusedError, match="'mine' is already held"):
        simulated.submit([first])


def test_outcomes_are_logged_and_counted_by_market_and_status() -> None:
    # Every level, whatever an earlier test left configured (the conftest restores it).
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    simulated, clock, metrics = exchange(flat_prices(day_ahead=50.0))
    day_ahead = products(MarketId.DAY_AHEAD)
    simulated.submit([single(day_ahead[0], 1.0, 40.0), single(day_ahead[1], 1.0, 60.0)])
    clock.advance_to(DAY_AHEAD_GATE)
    with capture_logs() as events:
        simulated.clear_due()
    names = sorted(e["event"] for e in events)
    assert names == ["bid_cleared", "bid_rejected"]
    rejected = next(e for e in events if e["event"] == "bid_rejected")
    assert rejected["market"] == "day_ahead"
    assert "below the limit" in rejected["reason"]
    for status in ("accepted", "rejected"):
        sample = metrics.get_sample_value(
            "vpp_exchange_clearings_total", {"market": "day_ahead", "status": status}
        )
        assert sample == 1.0


@given(
    volume_steps=st.integers(min_value=-500, max_value=500).filter(bool),
    limit_cents=st.integers(min_value=-50_000, max_value=400_000),
    price_cents=st.integers(min_value=-50_000, max_value=400_000),
)
def test_a_single_order_clears_in_full_exactly_when_the_price_is_on_its_side(
    volume_steps: int, limit_cents: int, price_cents: int
) -> None:
    volume_mw, limit, price = volume_steps / 10, limit_cents / 100, price_cents / 100
    product = products(MarketId.DAY_AHEAD)[0]
    series = pd.Series([price], index=pd.DatetimeIndex([product.delivery_start]))
    simulated, clock, _ = exchange(PriceInputs(day_ahead={ZONE: series}))
    simulated.submit([single(product, volume_mw, limit)])
    clock.advance_to(DAY_AHEAD_GATE)
    (clearing,) = simulated.clear_due()
    on_its_side = price >= limit if volume_mw > 0 else price <= limit
    assert clearing.accepted is on_its_side
    assert clearing.cleared_volume_mw == (volume_mw if on_its_side else 0.0)
