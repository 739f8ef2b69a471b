"""Risk limits on submission: max MW per bid, max net position per product, max notional
per delivery day; a refusal is a 422 naming the limit, its value and the bid's figure."""

from __future__ import annotations

from datetime import date

import pytest
from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import AsgiClient, single
from hypothesis import given
from hypothesis import strategies as st

from markets.bids import SingleBid
from markets.registry import default_registry
from trading.api.limits import check_batch
from trading.store import Actor, BidStatus, NewBid, Repository
from trading.store.vocabulary import RiskLimitKind


@pytest.fixture
def risk(repo: Repository, api: AsgiClient) -> Actor:
    """acme's admin, acting on the limits."""
    return repo.create_api_key("acme", "admin", "risk").record.actor


def violations(answer: object) -> list[dict]:
    return [v for bid in answer.json()["bids"] for v in bid["violations"]]  # type: ignore[attr-defined]


def test_a_fat_finger_bid_is_refused_naming_the_limit(
    api: AsgiClient, repo: Repository, risk: Actor
) -> None:
    repo.set_risk_limit(risk, RiskLimitKind.MAX_BID_MW, 10)
    # (1e308 MW is refused before any tenant limit, by the engine's sanity bound.)
    answer = api.post("/v1/bids", json=single(0, volume_mw=250))
    assert answer.status_code == 422
    (violation,) = violations(answer)
    assert violation["rule"] == "risk_limit.max_bid_mw"
    assert violation["limit"] == "10 MW"
    assert violation["value"] == "250 MW"
    assert "risk_limit.max_bid_mw" in answer.json()["message"]
    assert api.post("/v1/bids", json=single(0, volume_mw=-10)).status_code == 201
    assert repo.list_bids("acme").total == 1


def test_a_position_may_grow_to_its_limit_and_always_shrink(
    api: AsgiClient, repo: Repository, risk: Actor
) -> None:
    repo.set_risk_limit(risk, RiskLimitKind.MAX_NET_POSITION_MW, 5)
    assert api.post("/v1/bids", json=single(0, volume_mw=3)).status_code == 201
    answer = api.post("/v1/bids", json=single(0, volume_mw=3))
    assert answer.status_code == 422
    (violation,) = violations(answer)
    assert violation["rule"] == "risk_limit.max_net_position_mw"
    assert (violation["limit"], violation["value"]) == ("5 MW net on a product", "6 MW")
    assert "DE_LU" in violation["message"]
    assert api.post("/v1/bids", json=single(1, volume_mw=5)).status_code == 201  # another product
    batch = api.post("/v1/bids", json=[single(0, volume_mw=1), single(0, volume_mw=2)])
    assert batch.status_code == 422  # the batch together: 3 + 1 + 2 = 6 MW
    assert [b["index"] for b in batch.json()["bids"]] == [1]
    assert api.post("/v1/bids", json=single(0, volume_mw=-8)).status_code == 201  # 3 - 8 = -5
    (first,) = [b for b in repo.list_bids("acme").items if b.document["volume_mw"] == 3]
    assert api.post(f"/v1/bids/{first.id}/withdraw").status_code == 200  # position now -8
    assert api.post("/v1/bids", json=single(0, volume_mw=3)).status_code == 201


def test_a_days_notional_is_bounded_and_a_retry_still_gets_its_answer(
    api: AsgiClient, repo: Repository, risk: Actor
) -> None:
    # 1 MW x 0.25 h x 50 EUR/MWh = 12.5 EUR a bid: eight fill 100 EUR
    repo.set_risk_limit(risk, RiskLimitKind.MAX_NOTIONAL_EUR_PER_DAY, 100)
    headers = {"Idempotency-Key": "eight"}
    eight = [single(i) for i in range(8)]
    assert api.post("/v1/bids", json=eight, headers=headers).status_code == 201
    answer = api.post("/v1/bids", json=single(0))
    assert answer.status_code == 422
    (violation,) = violations(answer)
    assert violation["rule"] == "risk_limit.max_notional_eur_per_day"
    assert violation["value"] == "112.5 EUR"
    assert "2026-06-15" in violation["message"]
    replay = api.post("/v1/bids", json=eight, headers=headers)
    assert replay.status_code == 200
    assert repo.list_bids("acme").total == 8


def test_another_tenants_limits_and_bids_do_not_count(
    api: AsgiClient, repo: Repository, risk: Actor, keys: object
) -> None:
    repo.set_risk_limit(risk, RiskLimitKind.MAX_NET_POSITION_MW, 1)
    other = api.with_key(keys.other_trader)  # type: ignore[attr-defined]
    assert other.post("/v1/bids", json=single(0, volume_mw=50)).status_code == 201
    assert api.post("/v1/bids", json=single(0, volume_mw=1)).status_code == 201


PRODUCTS = default_registry().get("DE").products(date(2026, 6, 15), "day_ahead")[:3]


def _bid(index: int, volume: float) -> tuple[SingleBid, NewBid]:
    product = PRODUCTS[index]
    bid = SingleBid(product_id=product.product_id, volume_mw=volume, price_eur_per_mwh=50.0)
    return bid, NewBid.from_product(bid, product, status=BidStatus.SUBMITTED)


@given(
    limit=st.floats(0.5, 50),
    batches=st.lists(
        st.lists(st.tuples(st.integers(0, 2), st.floats(-40, 40)), min_size=1, max_size=4),
        min_size=1,
        max_size=12,
    ),
)
def test_no_accepted_batch_leaves_a_position_beyond_the_limit_unless_it_shrank(
    limit: float, batches: list[list[tuple[int, float]]]
) -> None:
    limits = {RiskLimitKind.MAX_NET_POSITION_MW: limit}
    live: list[tuple[date, SingleBid]] = []
    for batch in batches:
        made = [_bid(index, volume) for index, volume in batch]
        refused = check_batch(
            limits, [b for b, _ in made], [n for _, n in made], live, lambda p: 0.25, str
        )
        before = {
            p.product_id: sum(b.volume_mw for _, b in live if b.product_id == p.product_id)
            for p in PRODUCTS
        }
        after = dict(before)
        for bid, _ in made:
            after[bid.product_id] += bid.volume_mw
        grew_beyond = [
            p for p in after if abs(after[p]) > limit and abs(after[p]) > abs(before[p]) + 1e-9
        ]
        assert bool(refused) == bool(grew_beyond)
        if not refused:
            live.extend((date(2026, 6, 15), b) for b, _ in made)
