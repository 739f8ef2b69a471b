"""PUT /v1/bids/{id} (replace by a new version) and POST /v1/bids/cancel-all (the kill switch)."""

from __future__ import annotations

from datetime import timedelta

from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import GATE, AsgiClient, Keys, single

from trading.exchange.clock import ManualClock
from trading.store import Actor, Repository
from trading.store.vocabulary import AuditAction, BidStatus

NEXT_DAY = "DE:day_ahead:SDAC:2026-06-15T22:00Z"
"""The first day-ahead quarter hour of 2026-06-16 in DE; gate 2026-06-15T10:00Z."""
NL_PRODUCT = "NL:day_ahead:SDAC:2026-06-14T22:00Z"
"""The first day-ahead quarter hour of 2026-06-15 in NL; gate 2026-06-14T10:00Z."""


def submitted(api: AsgiClient, *bodies: dict) -> list[dict]:
    answer = api.post("/v1/bids", json=list(bodies))
    assert answer.status_code == 201, answer.text
    return answer.json()["bids"]


def history(api: AsgiClient, bid_id: str) -> list[dict]:
    answer = api.get(f"/v1/bids/{bid_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()["history"]


# --- replace ------------------------------------------------------------------------------


def test_replace_makes_a_new_version_and_keeps_both_histories(api: AsgiClient) -> None:
    (old,) = submitted(api, single(0, price=50.0, bid_id="desk/1"))
    answer = api.request(
        "PUT", f"/v1/bids/{old['id']}", json=single(0, price=61.5, bid_id="desk/1")
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["replaced"]["id"] == old["id"]
    assert body["replaced"]["status"] == "withdrawn"
    (new,) = body["submission"]["bids"]
    assert new["id"] != old["id"]
    assert new["status"] == "submitted"
    assert new["bid"]["price_eur_per_mwh"] == 61.5
    assert new["bid"]["bid_id"] == "desk/1"  # the new version carries the client's name

    old_steps = history(api, old["id"])
    assert [s["to_status"] for s in old_steps] == ["submitted", "withdrawn"]
    assert old_steps[-1]["reason"] == f"replaced by bid {new['id']}"
    new_steps = history(api, new["id"])
    assert new_steps[0]["reason"] == f"created, replacing bid {old['id']}"
    listed = api.get("/v1/bids").json()["items"]
    assert {(b["id"], b["status"]) for b in listed} == {
        (old["id"], "withdrawn"),
        (new["id"], "submitted"),
    }
    assert api.get(f"/v1/bids/{old['id']}").json()["bid"]["price_eur_per_mwh"] == 50.0


def test_replace_after_the_gate_is_refused_naming_the_gate(
    api: AsgiClient, clock: ManualClock
) -> None:
    (old,) = submitted(api, single(0))
    clock.advance_to(GATE)
    answer = api.request("PUT", f"/v1/bids/{old['id']}", json=single(0, price=70.0))
    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "GateClosed"
    assert body["gate_closure"] == "2026-06-14T10:00:00Z"
    assert "2026-06-14T10:00:00Z" in body["detail"]
    assert api.get(f"/v1/bids/{old['id']}").json()["status"] == "submitted"
    assert api.get("/v1/bids").json()["total"] == 1


def test_a_new_version_breaking_a_market_rule_is_refused_and_the_old_stays(
    api: AsgiClient,
) -> None:
    (old,) = submitted(api, single(0))
    answer = api.request("PUT", f"/v1/bids/{old['id']}", json=single(0, price=99999.0))
    assert answer.status_code == 422
    rules = {v["rule"] for v in answer.json()["bids"][0]["violations"]}
    assert any("price" in rule for rule in rules), rules
    assert api.get(f"/v1/bids/{old['id']}").json()["status"] == "submitted"
    assert api.get("/v1/bids").json()["total"] == 1


def test_a_new_version_over_a_risk_limit_is_refused_naming_the_limit(
    api: AsgiClient, repo: Repository
) -> None:
    repo.set_risk_limit(Actor.system("acme"), "max_bid_mw", 5.0)
    (old,) = submitted(api, single(0, volume_mw=2.0))
    answer = api.request("PUT", f"/v1/bids/{old['id']}", json=single(0, volume_mw=8.0))
    assert answer.status_code == 422
    assert "max_bid_mw" in answer.text
    assert api.get(f"/v1/bids/{old['id']}").json()["status"] == "submitted"


def test_replace_with_an_idempotency_key_answers_a_retry_with_the_first_result(
    api: AsgiClient,
) -> None:
    (old,) = submitted(api, single(0))
    headers = {"Idempotency-Key": "replace-0001"}
    first = api.request("PUT", f"/v1/bids/{old['id']}", json=single(0, price=55.0), headers=headers)
    again = api.request("PUT", f"/v1/bids/{old['id']}", json=single(0, price=55.0), headers=headers)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["submission"]["replayed"] is True
    new_id = first.json()["submission"]["bids"][0]["id"]
    assert again.json()["submission"]["bids"][0]["id"] == new_id
    assert api.get("/v1/bids").json()["total"] == 2
    other = api.request("PUT", f"/v1/bids/{old['id']}", json=single(0, price=56.0), headers=headers)
    assert other.status_code == 409


def test_a_replaced_version_cannot_be_replaced_again(api: AsgiClient) -> None:
    (old,) = submitted(api, single(0))
    first = api.request("PUT", f"/v1/bids/{old['id']}", json=single(0, price=55.0))
    new_id = first.json()["submission"]["bids"][0]["id"]
    second = api.request("PUT", f"/v1/bids/{old['id']}", json=single(0, price=57.0))
    assert second.status_code == 409
    assert f"replaced by bid {new_id}" in second.json()["detail"]
    assert api.get("/v1/bids").json()["total"] == 2


def test_replace_is_for_the_owner_and_for_writers_only(api: AsgiClient, keys: Keys) -> None:
    (old,) = submitted(api, single(0))
    stranger = api.with_key(keys.other_trader)
    assert stranger.request("PUT", f"/v1/bids/{old['id']}", json=single(0)).status_code == 404
    reader = api.with_key(keys.analyst)
    assert reader.request("PUT", f"/v1/bids/{old['id']}", json=single(0)).status_code == 403
    assert api.get(f"/v1/bids/{old['id']}").json()["status"] == "submitted"


# --- cancel-all ---------------------------------------------------------------------------


def test_cancel_all_withdraws_every_live_bid_of_the_tenant_only(
    api: AsgiClient, keys: Keys, repo: Repository
) -> None:
    ours = submitted(api, single(0), single(1), {**single(2), "product_id": NEXT_DAY})
    theirs = submitted(api.with_key(keys.other_trader), single(0))
    answer = api.post("/v1/bids/cancel-all", json={"reason": "desk halt"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["withdrawn_count"] == 3
    assert set(body["withdrawn"]) == {b["id"] for b in ours}
    assert body["kept"] == []
    assert history(api, ours[0]["id"])[-1]["reason"] == "desk halt"
    other = api.with_key(keys.other_trader).get(f"/v1/bids/{theirs[0]['id']}")
    assert other.json()["status"] == "submitted"
    (entry,) = repo.list_audit("acme", action=AuditAction.BID_CANCEL_ALL).items
    assert set(entry.details["withdrawn"]) == {b["id"] for b in ours}
    assert repo.list_audit("globex", action=AuditAction.BID_CANCEL_ALL).total == 0


def test_cancel_all_filters_by_zone_market_and_delivery_day(api: AsgiClient) -> None:
    de_today, de_tomorrow = submitted(api, single(0), {**single(1), "product_id": NEXT_DAY})
    (nl_today,) = submitted(api, {**single(2), "product_id": NL_PRODUCT})

    by_zone = api.post("/v1/bids/cancel-all", json={"zone": "NL"}).json()
    assert by_zone["withdrawn"] == [nl_today["id"]]
    by_market = api.post("/v1/bids/cancel-all", json={"market": "intraday"}).json()
    assert by_market["withdrawn_count"] == 0
    by_day = api.post("/v1/bids/cancel-all", json={"delivery_day": "2026-06-16"}).json()
    assert by_day["withdrawn"] == [de_tomorrow["id"]]
    assert api.get(f"/v1/bids/{de_today['id']}").json()["status"] == "submitted"
    rest = api.post("/v1/bids/cancel-all", json={"market": "day_ahead", "zone": "DE"}).json()
    assert rest["withdrawn"] == [de_today["id"]]


def test_cancel_all_names_the_bids_past_their_gate_and_why(
    api: AsgiClient, clock: ManualClock
) -> None:
    today, tomorrow = submitted(api, single(0), {**single(1), "product_id": NEXT_DAY})
    clock.advance_to(GATE + timedelta(minutes=1))
    body = api.post("/v1/bids/cancel-all").json()
    assert body["withdrawn"] == [tomorrow["id"]]
    (kept,) = body["kept"]
    assert kept["id"] == today["id"]
    assert kept["gate_closure"].startswith("2026-06-14T10:00:00Z")
    assert "gate closure" in kept["reason"]
    assert "passed" in kept["reason"]
    assert api.get(f"/v1/bids/{today['id']}").json()["status"] == BidStatus.SUBMITTED.value


def test_cancel_all_is_for_writers_and_refuses_unknown_filters(api: AsgiClient, keys: Keys) -> None:
    (bid,) = submitted(api, single(0))
    assert api.with_key(keys.analyst).post("/v1/bids/cancel-all").status_code == 403
    bad = api.post("/v1/bids/cancel-all", json={"zone": "DE", "country": "DE"})
    assert bad.status_code == 422
    bad_day = api.post("/v1/bids/cancel-all", json={"delivery_day": "16.06.2026"})
    assert bad_day.status_code == 422
    assert api.get(f"/v1/bids/{bid['id']}").json()["status"] == "submitted"
