"""Decisions keep their evidence over the API: the plugin and rule ids of an accepted bid
in its history, a refused bid's stored decision (GET /v1/refusals), the audit log route."""

from __future__ import annotations

from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import PRODUCT, AsgiClient, Keys, single

from markets.registry import default_registry
from trading.api import create_app
from trading.compliance.evidence import engine_version
from trading.exchange.clock import ManualClock
from trading.store import Repository, Role

_DE_PRODUCT = default_registry().get("DE").product(PRODUCT)
assert _DE_PRODUCT is not None
PRICE_MAX = _DE_PRODUCT.rules["price_max"].rule_id
"""The id of the DE day-ahead price cap record in force on the test day."""


def test_an_accepted_bid_shows_the_plugin_and_rule_ids_in_its_history(api: AsgiClient) -> None:
    answer = api.post("/v1/bids", json=single(0, bid_id="desk/1"))
    assert answer.status_code == 201
    bid_id = answer.json()["bids"][0]["id"]
    (event,) = api.get(f"/v1/bids/{bid_id}").json()["history"]
    assert event["plugin_distribution"] == "vpp-engine"
    assert event["plugin_version"] == engine_version() is not None
    # the rules that define the product: its price bounds, its MTU, its gate among them
    assert PRICE_MAX in event["rule_ids"]
    assert _DE_PRODUCT.rules["mtu_minutes"].rule_id in event["rule_ids"]
    assert any(i.startswith("DE:day_ahead:sessions:") for i in event["rule_ids"])
    assert event["rule_ids"] == list(_DE_PRODUCT.rule_ids)
    assert event["rule_ids"] == sorted(event["rule_ids"])


def test_a_refused_bid_is_not_stored_but_its_decision_is(api: AsgiClient, repo: Repository) -> None:
    good = single(0, bid_id="ok-1")
    too_dear = single(1, price=99999.0, bid_id="dear-1")
    answer = api.post("/v1/bids", json=[good, too_dear], headers={"Idempotency-Key": "k-1"})
    assert answer.status_code == 422
    (refused,) = answer.json()["bids"]
    assert refused["index"] == 1
    assert refused["rule_ids"] == [PRICE_MAX]
    assert api.get("/v1/bids").json()["total"] == 0  # no bid stored

    read = api.get(f"/v1/refusals/{refused['refusal_id']}")
    assert read.status_code == 200
    decision = read.json()
    assert decision["client_bid_id"] == "dear-1"
    assert decision["plugin_distribution"] == "vpp-engine"
    assert decision["plugin_version"] == engine_version()
    assert PRICE_MAX in decision["rule_ids"]
    (violation,) = decision["violations"]
    assert violation["rule"] == "day_ahead.price_max"
    assert violation["rule_id"] == PRICE_MAX
    assert decision["document"]["price_eur_per_mwh"] == 99999.0
    assert decision["idempotency_key"] == "k-1"

    # the good bid was refused with its batch: recorded too, with no violation of its own
    listed = api.get("/v1/refusals", params={"bid_id": "ok-1"}).json()
    (batch_mate,) = listed["items"]
    assert batch_mate["violations"] == []
    assert batch_mate["product_id"] == PRODUCT
    assert batch_mate["rule_ids"]


def test_an_unknown_product_is_refused_citing_the_engine_check(api: AsgiClient) -> None:
    bid = single(0, bid_id="ghost")
    bid["product_id"] = "DE:day_ahead:SDAC:2026-06-14T22:07Z"
    answer = api.post("/v1/bids", json=bid)
    assert answer.status_code == 422
    (refused,) = answer.json()["bids"]
    assert refused["rule_ids"] == ["vpp-engine:product.exists"]
    decision = api.get(f"/v1/refusals/{refused['refusal_id']}").json()
    assert decision["plugin_distribution"] == "vpp-engine"  # the DE plugin said "no such product"
    assert decision["market"] is None
    assert decision["rule_ids"] == ["vpp-engine:product.exists"]


def test_refusals_are_tenant_scoped(api: AsgiClient, keys: Keys) -> None:
    answer = api.post("/v1/bids", json=single(0, price=99999.0))
    refusal_id = answer.json()["bids"][0]["refusal_id"]
    other = api.with_key(keys.other_trader)
    assert other.get(f"/v1/refusals/{refusal_id}").status_code == 404
    assert other.get("/v1/refusals").json()["total"] == 0
    assert api.with_key(keys.analyst).get(f"/v1/refusals/{refusal_id}").status_code == 200


def test_the_audit_log_is_read_by_compliance_and_admin_only(
    repo: Repository, clock: ManualClock, keys: Keys
) -> None:
    app = create_app(repo, clock)
    compliance = repo.create_api_key("acme", Role.COMPLIANCE, "officer").plaintext
    admin = repo.create_api_key("acme", Role.ADMIN, "boss").plaintext
    trader = AsgiClient(app, keys.trader)
    assert trader.post("/v1/bids", json=single(0)).status_code == 201
    assert trader.post("/v1/bids", json=single(1, price=99999.0)).status_code == 422

    officer = AsgiClient(app, compliance)
    page = officer.get("/v1/audit").json()
    actions = [row["action"] for row in page["items"]]
    assert "bid.create" in actions
    assert "bid.refuse" in actions
    assert all("tenant_id" not in row for row in page["items"])
    refused = officer.get("/v1/audit", params={"action": "bid.refuse"}).json()["items"]
    (row,) = refused
    assert row["role"] == "trader"
    assert row["details"]["broken_rule_ids"] == [PRICE_MAX]
    assert AsgiClient(app, admin).get("/v1/audit").status_code == 200

    for key in (keys.trader, keys.analyst):
        denied = AsgiClient(app, key).get("/v1/audit")
        assert denied.status_code == 403
        assert "needs admin, compliance" in denied.json()["message"]
    # another tenant's officer sees none of acme's rows
    repo_officer = repo.create_api_key("globex", Role.COMPLIANCE, "theirs").plaintext
    theirs = AsgiClient(app, repo_officer).get("/v1/audit").json()["items"]
    assert all(row["action"] != "bid.create" for row in theirs)


def test_bad_audit_filters_are_422_naming_them(repo: Repository, clock: ManualClock) -> None:
    repo.create_tenant("acme", "Acme")
    officer = AsgiClient(
        create_app(repo, clock), repo.create_api_key("acme", Role.COMPLIANCE, "o").plaintext
    )
    naive = officer.get("/v1/audit", params={"since": "2026-06-14T00:00:00"})
    assert naive.status_code == 422
    assert "since" in naive.text
    unknown = officer.get("/v1/audit", params={"action": "bid.delete"})
    assert unknown.status_code == 422
    assert "action" in unknown.text
