"""POST/GET /v1/bids, GET /v1/bids/{id}, POST /v1/bids/{id}/withdraw."""

from __future__ import annotations

from datetime import timedelta

from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import GATE, PRODUCT, AsgiClient, single

from trading.api.bids import OFF_LOOP_BIDS
from trading.exchange.clock import ManualClock
from trading.store import Repository


def submit(api: AsgiClient, body: object, key: str | None = None) -> object:
    headers = {"Idempotency-Key": key} if key else None
    return api.post("/v1/bids", json=body, headers=headers)


def test_one_bid_is_stored_as_submitted_with_its_rule_version(api: AsgiClient) -> None:
    answer = submit(api, single(0, bid_id="desk/1"))
    assert answer.status_code == 201
    body = answer.json()
    assert body["replayed"] is False
    (bid,) = body["bids"]
    assert bid["status"] == "submitted"
    assert bid["product_id"] == PRODUCT
    assert bid["market"] == "day_ahead"
    assert bid["country"] == "DE"
    assert bid["delivery_day"] == "2026-06-15"
    assert bid["gate_closure"] == "2026-06-14T10:00:00Z"
    assert bid["bid"]["bid_id"] == "desk/1"

    read = api.get(f"/v1/bids/{bid['id']}")
    assert read.status_code == 200
    (event,) = read.json()["history"]
    assert event["to_status"] == "submitted"
    assert event["rule_version"]
    assert event["details"]["product_id"] == PRODUCT


def test_a_batch_is_stored_in_order(api: AsgiClient) -> None:
    answer = submit(api, [single(0), single(1), single(2)])
    assert answer.status_code == 201
    products = [b["product_id"] for b in answer.json()["bids"]]
    assert products == [single(i)["product_id"] for i in range(3)]
    assert [b["position"] for b in answer.json()["bids"]] == [0, 1, 2]


def test_every_violation_of_every_bid_is_listed_and_nothing_stored(api: AsgiClient) -> None:
    good = single(0)
    bad_volume_and_price = single(1, volume_mw=0.05, price=99999.0, bid_id="bad-1")
    bad_price = single(2, price=-9000.0)
    answer = submit(api, [good, bad_volume_and_price, bad_price])
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "BidViolations"
    by_index = {b["index"]: b for b in body["bids"]}
    assert set(by_index) == {1, 2}
    assert by_index[1]["bid_id"] == "bad-1"
    rules = {v["rule"]: v for v in by_index[1]["violations"]}
    assert {"day_ahead.volume_min_mw", "day_ahead.price_max"} <= set(rules)
    assert rules["day_ahead.price_max"]["limit"] == "<= 4000 EUR/MWh"
    assert rules["day_ahead.price_max"]["value"] == "99999"
    assert rules["day_ahead.volume_min_mw"]["value"] == "0.05"
    (low,) = [v for v in by_index[2]["violations"] if v["rule"] == "day_ahead.price_min"]
    assert low["value"] == "-9000"
    assert "-500" in low["limit"]
    assert api.get("/v1/bids").json()["total"] == 0


def test_a_bid_after_gate_closure_is_refused_naming_the_gate(
    api: AsgiClient, clock: ManualClock
) -> None:
    clock.advance_to(GATE)
    answer = submit(api, single(0))
    assert answer.status_code == 422
    (violation,) = [
        v for v in answer.json()["bids"][0]["violations"] if v["rule"] == "day_ahead.gate_closure"
    ]
    assert violation["limit"].startswith("2026-06-14T10:00:00Z")
    assert violation["value"] == "2026-06-14T10:00:00Z"
    assert "gate_closure" in answer.json()["message"]


def test_an_unknown_product_or_country_is_a_422_naming_it(api: AsgiClient) -> None:
    unknown = "DE:day_ahead:SDAC:2031-13-01T00:00Z"
    answer = submit(api, [single(0), {**single(1), "product_id": unknown}])
    assert answer.status_code == 422
    (refused,) = answer.json()["bids"]
    assert refused["index"] == 1
    assert refused["violations"][0]["rule"] == "product.exists"
    assert refused["violations"][0]["value"] == unknown
    answer = submit(api, {**single(0), "product_id": "XX:day_ahead:SDAC:2026-06-14T22:00Z"})
    assert answer.status_code == 422
    assert "XX:day_ahead" in answer.json()["message"]


def test_a_retry_with_the_idempotency_key_returns_the_first_answer(
    api: AsgiClient, repo: Repository
) -> None:
    first = submit(api, [single(0), single(1)], key="retry-1")
    again = submit(api, [single(0), single(1)], key="retry-1")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert [b["id"] for b in again.json()["bids"]] == [b["id"] for b in first.json()["bids"]]
    assert again.json()["submission_id"] == first.json()["submission_id"]
    assert repo.list_bids("acme").total == 2


def test_a_retry_after_the_gate_still_gets_its_first_answer(
    api: AsgiClient, clock: ManualClock
) -> None:
    first = submit(api, single(0), key="late-retry")
    clock.advance_to(GATE + timedelta(minutes=5))
    again = submit(api, single(0), key="late-retry")
    assert again.status_code == 200
    assert again.json()["bids"][0]["id"] == first.json()["bids"][0]["id"]


def test_an_idempotency_key_reused_for_other_bids_is_a_409(api: AsgiClient) -> None:
    assert submit(api, single(0), key="k").status_code == 201
    answer = submit(api, single(1), key="k")
    assert answer.status_code == 409
    assert answer.json()["error"] == "IdempotencyKeyReused"
    assert "'k'" in answer.json()["message"]


def test_malformed_json_and_wrong_types_are_4xx_naming_the_field(api: AsgiClient) -> None:
    broken = api.post("/v1/bids", content=b'{"type": "single",')
    assert broken.status_code == 422
    assert broken.json()["problems"][0]["field"] == "body"
    assert "invalid JSON" in broken.json()["message"]

    wrong = submit(api, [single(0), {**single(1), "volume_mw": "lots"}])
    assert wrong.status_code == 422
    (problem,) = wrong.json()["problems"]
    assert problem["field"] == "body.1.volume_mw"
    assert problem["value"] == "'lots'"

    tag = submit(api, {"type": "swap", "product_id": PRODUCT})
    assert tag.status_code == 422
    assert "swap" in tag.json()["message"]

    assert submit(api, []).status_code == 422


def test_list_filters_and_pages(api: AsgiClient) -> None:
    ids = [b["id"] for b in submit(api, [single(i) for i in range(5)]).json()["bids"]]
    first = api.get("/v1/bids", params={"limit": 2, "page": 1}).json()
    second = api.get("/v1/bids", params={"limit": 2, "page": 3}).json()
    assert [b["id"] for b in first["items"]] == ids[:2]
    assert [b["id"] for b in second["items"]] == ids[4:]
    assert first["total"] == second["total"] == 5

    api.post(f"/v1/bids/{ids[0]}/withdraw")
    withdrawn = api.get("/v1/bids", params={"status": "withdrawn"}).json()
    assert [b["id"] for b in withdrawn["items"]] == ids[:1]
    by_product = api.get("/v1/bids", params={"product": single(3)["product_id"]}).json()
    assert [b["id"] for b in by_product["items"]] == [ids[3]]
    on_day = api.get("/v1/bids", params={"delivery_day": "2026-06-15", "market": "day_ahead"})
    assert on_day.json()["total"] == 5
    assert api.get("/v1/bids", params={"delivery_day": "2026-06-16"}).json()["total"] == 0


def test_list_refuses_bad_filters_naming_them(api: AsgiClient) -> None:
    for params, field in [
        ({"delivery_day": "15/06/2026"}, "delivery_day"),
        ({"status": "pending"}, "status"),
        ({"market": "futures"}, "market"),
        ({"limit": 0}, "limit"),
        ({"page": "x"}, "page"),
    ]:
        answer = api.get("/v1/bids", params=params)
        assert answer.status_code == 422, params
        assert field in answer.json()["message"], answer.json()


def test_withdraw_before_the_gate(api: AsgiClient) -> None:
    (bid,) = submit(api, single(0)).json()["bids"]
    answer = api.post(f"/v1/bids/{bid['id']}/withdraw", json={"reason": "position closed"})
    assert answer.status_code == 200
    assert answer.json()["status"] == "withdrawn"
    history = api.get(f"/v1/bids/{bid['id']}").json()["history"]
    assert [e["to_status"] for e in history] == ["submitted", "withdrawn"]
    assert history[-1]["reason"] == "position closed"

    twice = api.post(f"/v1/bids/{bid['id']}/withdraw")
    assert twice.status_code == 409
    assert "withdrawn" in twice.json()["message"]


def test_withdraw_after_the_gate_is_a_409_naming_it(api: AsgiClient, clock: ManualClock) -> None:
    (bid,) = submit(api, single(0)).json()["bids"]
    clock.advance_to(GATE)
    answer = api.post(f"/v1/bids/{bid['id']}/withdraw")
    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "GateClosed"
    assert body["gate_closure"] == "2026-06-14T10:00:00Z"
    assert "2026-06-14T10:00:00Z (2026-06-14 12:00 CEST)" in body["message"]
    assert api.get(f"/v1/bids/{bid['id']}").json()["status"] == "submitted"


def test_an_unknown_bid_is_a_404(api: AsgiClient) -> None:
    assert api.get("/v1/bids/no-such-bid").status_code == 404
    assert api.post("/v1/bids/no-such-bid/withdraw").status_code == 404


def test_a_large_batch_is_answered_like_a_small_one_and_replays_with_200(
    api: AsgiClient, repo: Repository
) -> None:
    """A batch over `OFF_LOOP_BIDS` is checked and rendered in a worker thread: same answer."""
    bids = [single(i % 8, bid_id=f"big/{i}") for i in range(OFF_LOOP_BIDS * 3)]
    first = submit(api, bids, key="big-1")
    assert first.status_code == 201
    assert first.headers["content-type"] == "application/json"
    body = first.json()
    small = submit(api, single(7, bid_id="small")).json()
    assert set(body) == set(small)
    assert set(body["bids"][0]) == set(small["bids"][0])
    assert [b["bid"]["bid_id"] for b in body["bids"]] == [b["bid_id"] for b in bids]
    assert [b["position"] for b in body["bids"]] == list(range(len(bids)))
    again = submit(api, bids, key="big-1")
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert [b["id"] for b in again.json()["bids"]] == [b["id"] for b in body["bids"]]
    assert repo.list_bids("acme").total == len(bids) + 1


def test_a_large_batch_breaking_a_rule_is_refused_whole_naming_the_bid(api: AsgiClient) -> None:
    bids = [single(i % 8) for i in range(OFF_LOOP_BIDS * 2)]
    bids[100] = single(3, price=-9000.0, bid_id="too-cheap")
    answer = submit(api, bids)
    assert answer.status_code == 422
    (refused,) = answer.json()["bids"]
    assert (refused["index"], refused["bid_id"]) == (100, "too-cheap")


def test_a_bid_for_a_market_not_running_that_day_says_so(api: AsgiClient) -> None:
    answer = submit(api, single(0) | {"product_id": "DE:intraday_auction:IDA1:2024-01-09T23:00Z"})
    assert answer.status_code == 422
    (violation,) = answer.json()["bids"][0]["violations"]
    assert violation["rule"] == "product.exists"
    assert (
        "intraday_auction market does not run for delivery day 2024-01-10" in (violation["message"])
    )
    assert "it runs from 2024-06-14" in violation["message"]
