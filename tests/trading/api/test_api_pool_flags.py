"""Feature flags per pool over the API: admins set them (audited), every key of the tenant
reads them, bad names and values are a 422 naming field, value and rule, and another tenant
neither sees nor sets them."""

from __future__ import annotations

import pytest
from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import AsgiClient, Keys

from trading.samples import sample_site_portfolio
from trading.store import Actor, Repository
from trading.store.vocabulary import AuditAction

POOL = "DE_LU"


@pytest.fixture
def admin(api: AsgiClient, repo: Repository) -> AsgiClient:
    """acme's admin, on the same app as `api`; acme has a portfolio in DE_LU."""
    repo.save_portfolio(
        Actor.system("acme"), sample_site_portfolio("de-amp-essen", "essen", "acme")
    )
    return api.with_key(repo.create_api_key("acme", "admin", "ops").plaintext)


def flag_of(listing: dict, pool: str, flag: str) -> dict:
    (found,) = [i for i in listing["items"] if i["pool"] == pool and i["flag"] == flag]
    return found


def test_an_admin_switches_afrr_off_audited_and_every_key_of_the_tenant_reads_it(
    admin: AsgiClient, api: AsgiClient, repo: Repository
) -> None:
    before = admin.get("/v1/pools/flags").json()
    assert before["pools"] == [POOL]
    default = flag_of(before, POOL, "afrr_activation")
    assert (default["value"], default["default"], default["updated_at"]) == ("on", "on", None)
    assert default["allowed"] == ["on", "off"]

    answer = admin.request(
        "PUT",
        f"/v1/pools/{POOL}/flags/afrr_activation",
        json={"value": "off", "reason": "battery maintenance"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["pool"], body["flag"], body["value"]) == (POOL, "afrr_activation", "off")
    admin_key = body["updated_by"]
    assert admin_key is not None
    assert admin_key.startswith("k")

    # the trader reads what the admin set, who set it and why
    seen = flag_of(api.get(f"/v1/pools/{POOL}/flags").json(), POOL, "afrr_activation")
    assert (seen["value"], seen["reason"], seen["updated_by"]) == (
        "off",
        "battery maintenance",
        admin_key,
    )
    # an on/off flag also takes a JSON boolean; a strategy takes its name
    assert (
        admin.request(
            "PUT",
            f"/v1/pools/{POOL}/flags/virtual_trader",
            json={"value": True, "reason": "let the virtual trader bid"},
        ).json()["value"]
        == "on"
    )

    strategy = admin.request(
        "PUT",
        f"/v1/pools/{POOL}/flags/allocation_strategy",
        json={"value": "merit_order", "reason": "cheapest assets take the activation"},
    )
    assert strategy.status_code == 200, strategy.text
    assert strategy.json()["value"] == "merit_order"
    listed = flag_of(api.get("/v1/pools/flags").json(), POOL, "allocation_strategy")
    assert listed["allowed"] == ["plan_then_headroom", "merit_order"]
    assert listed["value"] == "merit_order"

    (row,) = repo.list_audit(
        "acme", action=AuditAction.POOL_FLAG_SET, subject=f"pool {POOL} flag afrr_activation"
    ).items
    assert (row.key_id, row.role.value if row.role else None) == (admin_key, "admin")
    assert row.details == {
        "pool": POOL,
        "flag": "afrr_activation",
        "old": "on",
        "new": "off",
        "reason": "battery maintenance",
    }
    assert row.at is not None
    # the app's in-memory flags (the engine's, in vpp serve) changed with the write
    flags = admin.app.state.pool_flags
    assert flags.afrr_activation("acme", POOL) is False
    assert flags.refreshes == 0  # not read back from the store: changed in place

    again = admin.request(
        "PUT",
        f"/v1/pools/{POOL}/flags/afrr_activation",
        json={"value": "on", "reason": "maintenance done"},
    )
    assert again.status_code == 200
    audited = repo.list_audit("acme", action=AuditAction.POOL_FLAG_SET).items
    assert [(r.details["flag"], r.details["old"], r.details["new"]) for r in audited] == [
        ("afrr_activation", "on", "off"),
        ("virtual_trader", "off", "on"),
        ("allocation_strategy", "plan_then_headroom", "merit_order"),
        ("afrr_activation", "off", "on"),
    ]
    assert flags.afrr_activation("acme", POOL) is True


def test_only_an_admin_may_set_a_flag(
    admin: AsgiClient, api: AsgiClient, repo: Repository, keys: Keys
) -> None:
    for client in (api, api.with_key(keys.analyst)):
        answer = client.request(
            "PUT",
            f"/v1/pools/{POOL}/flags/afrr_activation",
            json={"value": "off", "reason": "not mine to decide"},
        )
        assert answer.status_code == 403, answer.text
        assert "admin" in answer.json()["message"]
    assert repo.list_pool_flags("acme") == []
    assert repo.list_audit("acme", action=AuditAction.POOL_FLAG_SET).total == 0
    assert admin.app.state.pool_flags.afrr_activation("acme", POOL) is True


@pytest.mark.parametrize(
    ("path", "body", "field", "value", "rule"),
    [
        (
            f"/v1/pools/{POOL}/flags/afrr_activaton",
            {"value": "off", "reason": "typo"},
            "flag",
            "afrr_activaton",
            "must be one of afrr_activation, virtual_trader, allocation_strategy",
        ),
        (
            f"/v1/pools/{POOL}/flags/afrr_activation",
            {"value": "disabled", "reason": "wrong word"},
            "value",
            "disabled",
            "must be one of on, off (or true, false)",
        ),
        (
            f"/v1/pools/{POOL}/flags/allocation_strategy",
            {"value": "random", "reason": "try it"},
            "value",
            "random",
            "must be one of plan_then_headroom, merit_order",
        ),
        (
            "/v1/pools/NL/flags/afrr_activation",
            {"value": "off", "reason": "no such pool"},
            "pool",
            "NL",
            "must be a bidding zone of the tenant's stored portfolios (DE_LU)",
        ),
        (
            f"/v1/pools/{POOL}/flags/afrr_activation",
            {"value": "off", "reason": "   "},
            "reason",
            "   ",
            "must say why: 1 or more characters",
        ),
    ],
)
def test_a_bad_flag_value_pool_or_reason_is_a_422_naming_it(
    admin: AsgiClient,
    repo: Repository,
    path: str,
    body: dict,
    field: str,
    value: str,
    rule: str,
) -> None:
    answer = admin.request("PUT", path, json=body)
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["problems"]
    assert (problem["field"], problem["value"], problem["rule"]) == (field, value, rule)
    assert repo.list_pool_flags("acme") == []


def test_a_body_without_a_reason_is_a_422_naming_the_field(admin: AsgiClient) -> None:
    answer = admin.request("PUT", f"/v1/pools/{POOL}/flags/afrr_activation", json={"value": "off"})
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["field"] == "body.reason"


def test_another_tenant_neither_sees_nor_sets_a_tenants_flags(
    admin: AsgiClient, repo: Repository, keys: Keys
) -> None:
    assert (
        admin.request(
            "PUT",
            f"/v1/pools/{POOL}/flags/afrr_activation",
            json={"value": "off", "reason": "acme's own"},
        ).status_code
        == 200
    )
    other_admin = admin.with_key(repo.create_api_key("globex", "admin", "ops").plaintext)
    listing = other_admin.get("/v1/pools/flags").json()
    assert listing == {"pools": [], "items": []}
    assert other_admin.get(f"/v1/pools/{POOL}/flags").status_code == 404
    # globex has no portfolio in DE_LU: its PUT is refused and acme's flag stays off
    refused = other_admin.request(
        "PUT",
        f"/v1/pools/{POOL}/flags/afrr_activation",
        json={"value": "on", "reason": "not theirs"},
    )
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["field"] == "pool"
    globex_trader = admin.with_key(keys.other_trader)
    assert globex_trader.get("/v1/pools/flags").json()["items"] == []
    flags = admin.app.state.pool_flags
    assert flags.afrr_activation("acme", POOL) is False
    assert flags.afrr_activation("globex", POOL) is True
    assert [r.value for r in repo.list_pool_flags("acme")] == ["off"]
    assert repo.list_pool_flags("globex") == []
