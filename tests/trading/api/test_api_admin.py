"""Admin routes: a tenant's keys (list, create, rotate, revoke) and limits; /metrics for admins."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import AsgiClient, Keys, single
from fastapi import FastAPI

from trading.api import create_app
from trading.api.ratelimit import AccessLimits
from trading.exchange.clock import ManualClock
from trading.store import Repository

PARAMS = {"{bid_id}": "b-1", "{plan_id}": "p-1", "{key_id}": "k00", "{kind}": "max_bid_mw"}
"""A value for each path parameter of the app's routes."""


def every_route(app: FastAPI) -> list[tuple[str, str]]:
    """(method, concrete path) of every operation of the app's OpenAPI document but the
    probes a load balancer calls without a key (/healthz, /readyz)."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path in ("/healthz", "/readyz"):
            continue
        for template, value in PARAMS.items():
            path = path.replace(template, value)
        found.extend((method.upper(), path) for method in sorted(operations))
    return found


@pytest.fixture
def admin(api: AsgiClient, repo: Repository) -> AsgiClient:
    """acme's admin, on the same app as `api`."""
    return api.with_key(repo.create_api_key("acme", "admin", "ops").plaintext)


def test_a_key_revoked_by_an_admin_is_a_401_on_every_route_at_once(
    repo: Repository, clock: ManualClock, keys: Keys
) -> None:
    # failed logins are not rate-limited here: each route's 401 is what is looked at
    app = create_app(repo, clock, access=AccessLimits(auth_failures=0))
    admin = AsgiClient(app, repo.create_api_key("acme", "admin", "ops").plaintext)
    victim = repo.create_api_key("acme", "admin", "leaked")
    client = admin.with_key(victim.plaintext)
    assert client.get("/v1/bids").status_code == 200  # now remembered by the key cache
    answer = admin.request("DELETE", f"/v1/admin/keys/{victim.record.id}")
    assert answer.status_code == 200
    assert answer.json()["revoked_at"] is not None
    assert answer.json()["active"] is False
    routes = every_route(app)
    assert len(routes) >= 20
    for method, path in routes:
        reply = client.request(method, path, json=single(0))
        assert reply.status_code == 401, (method, path, reply.text)
        assert reply.json()["error"] == "Unauthorized"


def test_admins_list_create_and_rotate_their_tenants_keys(
    admin: AsgiClient, repo: Repository
) -> None:
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    made = admin.post(
        "/v1/admin/keys", json={"role": "trader", "name": "desk 9", "expires_at": expires}
    )
    assert made.status_code == 201
    created = made.json()
    assert created["key"].startswith(f"vpp_{created['id']}_")
    assert created["expires_at"] is not None
    listed = admin.get("/v1/admin/keys").json()
    assert created["id"] in {k["id"] for k in listed}
    assert all("key" not in k and "secret_sha256" not in k for k in listed)
    assert {k["tenant_id"] for k in listed} == {"acme"}
    rotated = admin.post(f"/v1/admin/keys/{created['id']}/rotate", json={"grace_s": 0})
    assert rotated.status_code == 201
    successor = rotated.json()
    assert (successor["role"], successor["name"]) == ("trader", "desk 9")
    assert admin.with_key(created["key"]).get("/v1/bids").status_code == 401
    assert admin.with_key(successor["key"]).get("/v1/bids").status_code == 200


def test_admin_routes_are_for_admins_of_their_own_tenant(
    api: AsgiClient, admin: AsgiClient, repo: Repository, keys: Keys
) -> None:
    answer = api.get("/v1/admin/keys")  # a trader
    assert answer.status_code == 403
    assert "role=trader" in answer.json()["message"]
    theirs = repo.create_api_key("globex", "trader", "desk")
    assert admin.request("DELETE", f"/v1/admin/keys/{theirs.record.id}").status_code == 404
    assert admin.post(f"/v1/admin/keys/{theirs.record.id}/rotate").status_code == 404
    assert repo.verify_api_key(theirs.plaintext) is not None
    assert admin.request("DELETE", "/v1/admin/keys/not%20a%20key").status_code == 422


def test_an_expired_key_is_a_401(repo: Repository, clock: ManualClock, keys: Keys) -> None:
    api = AsgiClient(create_app(repo, clock, key_ttl_s=60), keys.trader)
    soon = datetime.now(UTC) + timedelta(seconds=1.0)
    short = repo.create_api_key("acme", "trader", "short", expires_at=soon)
    assert api.with_key(short.plaintext).get("/v1/bids").status_code == 200
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
    # the key cache would remember it for a minute, but never past its expiry
    assert api.with_key(short.plaintext).get("/v1/bids").status_code == 401
    assert api.with_key(short.plaintext).post("/v1/bids", json=single(0)).status_code == 401


def test_an_expiry_in_the_past_is_a_422_naming_it(admin: AsgiClient) -> None:
    answer = admin.post(
        "/v1/admin/keys", json={"role": "trader", "name": "x", "expires_at": "2020-01-01T00:00Z"}
    )
    assert answer.status_code == 422
    assert "expires_at" in answer.text


def test_admins_set_and_clear_limits_which_the_audit_log_keeps(
    admin: AsgiClient, repo: Repository
) -> None:
    answer = admin.request("PUT", "/v1/admin/limits/max_bid_mw", json={"value": 25})
    assert answer.status_code == 200
    assert answer.json()["value"] == 25
    assert admin.get("/v1/admin/limits").json()[0]["kind"] == "max_bid_mw"
    assert (
        admin.request("PUT", "/v1/admin/limits/max_bid_mw", json={"value": -1}).status_code == 422
    )
    assert admin.request("PUT", "/v1/admin/limits/leverage", json={"value": 1}).status_code == 422
    assert admin.request("DELETE", "/v1/admin/limits/max_bid_mw").status_code == 204
    assert admin.request("DELETE", "/v1/admin/limits/max_bid_mw").status_code == 404
    actions = [a.action for a in repo.list_audit("acme", subject="risk_limit max_bid_mw").items]
    assert actions == ["risk_limit.set", "risk_limit.clear"]


def test_metrics_need_an_admin_key(api: AsgiClient, admin: AsgiClient) -> None:
    api.post("/v1/bids", json=single(0))
    assert api.with_key(None).get("/metrics").status_code == 401
    assert api.get("/metrics").status_code == 403  # a trader
    answer = admin.get("/metrics")
    assert answer.status_code == 200
    assert "vpp_api_bids_total" in answer.text
