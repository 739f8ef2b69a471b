"""Failed logins per client address and requests per tenant: 429 with Retry-After, logged."""

from __future__ import annotations

import pytest
from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import AsgiClient, Keys
from structlog.testing import capture_logs

from trading.api import create_app
from trading.api.ratelimit import AccessLimits
from trading.exchange.clock import ManualClock
from trading.store import Repository


def test_bad_keys_get_429_after_the_threshold_and_every_failure_is_logged(
    repo: Repository, clock: ManualClock, keys: Keys
) -> None:
    api = AsgiClient(create_app(repo, clock, access=AccessLimits(auth_failures=5)))
    wrong = "vpp_k0123456789abcdef_not-the-secret"
    with capture_logs() as events:
        answers = [api.with_key(wrong).get("/v1/bids") for _ in range(8)]
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 3
    refused = answers[-1]
    assert 1 <= int(refused.headers["retry-after"]) <= 10
    body = refused.json()
    assert body["error"] == "TooManyRequests"
    assert (body["limit"], body["value"]) == ("auth_failures", 5)
    assert "127.0.0.1" in body["message"]
    failures = [e for e in events if e["event"] == "auth_failed"]
    assert len(failures) == 5  # the 429s are not looked up, so not counted again
    assert {(e["client"], e["reason"]) for e in failures} == {("127.0.0.1", "key refused")}
    assert all(wrong not in str(e) and "not-the-secret" not in str(e) for e in events)


def test_a_locked_out_address_still_uses_a_key_it_has_already_proved(
    repo: Repository, clock: ManualClock, keys: Keys
) -> None:
    app = create_app(repo, clock, access=AccessLimits(auth_failures=3), key_ttl_s=60)
    api = AsgiClient(app, keys.trader)
    assert api.get("/v1/bids").status_code == 200  # remembered by the key cache
    for _ in range(3):
        assert api.with_key(None).get("/v1/bids").status_code == 401
    assert api.with_key("guess").get("/v1/bids").status_code == 429
    assert api.get("/v1/bids").status_code == 200


def test_a_tenant_over_its_request_quota_gets_429_and_others_do_not(
    repo: Repository, clock: ManualClock, keys: Keys
) -> None:
    app = create_app(repo, clock, access=AccessLimits(tenant_requests_per_s=5))
    acme, globex = AsgiClient(app, keys.trader), AsgiClient(app, keys.other_trader)
    codes = [acme.get("/v1/markets").status_code for _ in range(7)]
    assert codes[:5] == [200] * 5
    assert codes[5:] == [429, 429]
    refused = acme.get("/v1/markets")
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["limit"] == "tenant_requests_per_s"
    assert globex.get("/v1/markets").status_code == 200


def test_limits_come_from_the_environment_and_bad_values_name_the_variable() -> None:
    limits = AccessLimits.from_env({"VPP_AUTH_FAILURES": "7", "VPP_TENANT_PLANS": "0"})
    assert (limits.auth_failures, limits.tenant_plans, limits.auth_window_s) == (7, 0, 10)
    with pytest.raises(ValueError, match="VPP_AUTH_WINDOW_S"):
        AccessLimits.from_env({"VPP_AUTH_WINDOW_S": "ten"})
    with pytest.raises(ValueError, match="VPP_TENANT_REQUESTS_PER_S"):
        AccessLimits.from_env({"VPP_TENANT_REQUESTS_PER_S": "-3"})
