"""What a submission needs to be held: known products, free keys, no cycle of linked blocks."""

from __future__ import annotations

import pytest
from exchange_factories import exchange, products, single

from markets.bids import BlockBid, SingleBid
from markets.products import MarketId
from trading.exchange import SubmissionRefusedError


def test_a_product_of_an_unknown_country_is_refused_naming_the_known_ones() -> None:
    simulated, _, _ = exchange()
    bid = SingleBid(
        product_id="XX:day_ahead:SDAC:2026-03-28T23:00Z", volume_mw=1.0, price_eur_per_mwh=1.0
    )
    with pytest.raises(
        SubmissionRefusedError, match=r"no market plugin for country 'XX'; known: .*DE"
    ):
        simulated.submit([bid])


def test_a_malformed_product_id_is_refused() -> None:
    simulated, _, _ = exchange()
    bid = SingleBid(product_id="tomorrow 12:00", volume_mw=1.0, price_eur_per_mwh=1.0)
    with pytest.raises(SubmissionRefusedError, match="'tomorrow 12:00' is not <country>"):
        simulated.submit([bid])


def test_two_bids_with_one_bid_id_are_refused() -> None:
    simulated, _, _ = exchange()
    bid = single(products(MarketId.DAY_AHEAD)[0], 1.0, 10.0).model_copy(update={"bid_id": "a"})
    with pytest.raises(SubmissionRefusedError, match="also the bid_id of bid #0"):
        simulated.submit([bid, bid])


def test_generated_keys_never_take_a_traders_bid_id() -> None:
    simulated, _, _ = exchange()
    day_ahead = products(MarketId.DAY_AHEAD)
    named = single(day_ahead[0], 1.0, 10.0).model_copy(update={"bid_id": "sim-000001"})
    keys = simulated.submit([named, single(day_ahead[1], 1.0, 10.0)])
    assert keys == ("sim-000001", "sim-000002")


def test_linked_blocks_in_a_cycle_are_refused() -> None:
    simulated, _, _ = exchange()
    mtus = [p.product_id for p in products(MarketId.DAY_AHEAD)]
    first = BlockBid(
        bid_id="a",
        product_ids=tuple(mtus[:2]),
        volumes_mw=(1.0, 1.0),
        price_eur_per_mwh=1.0,
        linked_to="b",
    )
    second = BlockBid(
        bid_id="b",
        product_ids=tuple(mtus[2:4]),
        volumes_mw=(1.0, 1.0),
        price_eur_per_mwh=1.0,
        linked_to="a",
    )
    with pytest.raises(SubmissionRefusedError, match="cycle: a -> b -> a") as refused:
        simulated.submit([first, second])
    assert [r.index for r in refused.value.refusals] == [0, 1]
    assert not simulated.pending()
