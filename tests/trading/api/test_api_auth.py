"""Keys and roles: 401 without a valid key, 403 for readers that write, 404 across tenants."""

from __future__ import annotations

import pytest
from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import AsgiClient, Keys, single

from trading.api import create_app
from trading.exchange.clock import ManualClock
from trading.store import Repository

ENDPOINTS = [
    ("GET", "/v1/bids"),
    ("POST", "/v1/bids"),
    ("GET", "/v1/bids/some-id"),
    ("POST", "/v1/bids/some-id/withdraw"),
    ("GET", "/v1/markets"),
    ("GET", "/v1/markets/DE/products"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("key", [None, "not-a-key"])
def test_a_missing_or_wrong_key_is_a_401(
    api: AsgiClient, method: str, path: str, key: str | None
) -> None:
    answer = api.with_key(key).request(method, path, json=single(0))
    assert answer.status_code == 401
    assert answer.json()["error"] == "Unauthorized"
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_revoked_key_is_a_401(repo: Repository, clock: ManualClock, keys: Keys) -> None:
    api = AsgiClient(create_app(repo, clock, key_ttl_s=0), keys.trader)
    new = repo.create_api_key("acme", "trader", "temp")
    assert api.with_key(new.plaintext).get("/v1/bids").status_code == 200
    repo.revoke_api_key("acme", new.record.id)
    assert api.with_key(new.plaintext).get("/v1/bids").status_code == 401
    assert api.with_key(new.plaintext).post("/v1/bids", json=single(0)).status_code == 401


def test_a_key_revoked_elsewhere_can_no_longer_submit_even_while_remembered(
    api: AsgiClient, repo: Repository
) -> None:
    # Keys are remembered for up to a second (reads may pass meanwhile); the store checks
    # the key again on every write, so a revoked key's bid is refused at once, as a 401.
    new = repo.create_api_key("acme", "trader", "temp")
    assert api.with_key(new.plaintext).get("/v1/bids").status_code == 200
    repo.revoke_api_key("acme", new.record.id)
    answer = api.with_key(new.plaintext).post("/v1/bids", json=single(0))
    assert answer.status_code == 401
    assert answer.json()["error"] == "Unauthorized"
    assert "was revoked" in answer.text
    assert repo.list_bids("acme").total == 0


def test_a_bearer_token_works_like_the_header(api: AsgiClient, keys: Keys) -> None:
    bearer = {"Authorization": f"Bearer {keys.trader}"}
    assert api.with_key(None).get("/v1/bids", headers=bearer).status_code == 200
    wrong = {"Authorization": "Bearer nope"}
    assert api.with_key(None).get("/v1/bids", headers=wrong).status_code == 401


def test_an_analyst_reads_but_may_not_submit_or_withdraw(api: AsgiClient, keys: Keys) -> None:
    (bid,) = api.post("/v1/bids", json=single(0)).json()["bids"]
    analyst = api.with_key(keys.analyst)
    assert analyst.get("/v1/bids").json()["total"] == 1
    assert analyst.get(f"/v1/bids/{bid['id']}").status_code == 200
    refused = analyst.post("/v1/bids", json=single(1))
    assert refused.status_code == 403
    assert "analyst" in refused.json()["message"]
    assert analyst.post(f"/v1/bids/{bid['id']}/withdraw").status_code == 403
    assert api.get(f"/v1/bids/{bid['id']}").json()["status"] == "submitted"


def test_a_trader_sees_only_its_own_tenant(api: AsgiClient, keys: Keys) -> None:
    (bid,) = api.post("/v1/bids", json=single(0)).json()["bids"]
    other = api.with_key(keys.other_trader)
    assert other.get(f"/v1/bids/{bid['id']}").status_code == 404
    assert other.post(f"/v1/bids/{bid['id']}/withdraw").status_code == 404
    assert other.get("/v1/bids").json()["total"] == 0
    assert api.get(f"/v1/bids/{bid['id']}").json()["status"] == "submitted"


def test_tenants_have_separate_idempotency_keys(api: AsgiClient, keys: Keys) -> None:
    mine = api.post("/v1/bids", json=single(0), headers={"Idempotency-Key": "same"})
    theirs = api.with_key(keys.other_trader).post(
        "/v1/bids", json=single(0), headers={"Idempotency-Key": "same"}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["bids"][0]["id"] != theirs.json()["bids"][0]["id"]
