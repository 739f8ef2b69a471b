"""GET /v1/portfolio/assets and POST /v1/portfolio/assets (a whole portfolio document)."""

from __future__ import annotations

from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import AsgiClient, Keys
from test_api_plans import small_portfolio

from trading.store import Repository, Role


def compliance(api: AsgiClient, repo: Repository, tenant: str = "acme") -> AsgiClient:
    return api.with_key(repo.create_api_key(tenant, Role.COMPLIANCE, "rules").plaintext)


def test_compliance_saves_a_portfolio_and_every_role_lists_its_assets(
    api: AsgiClient, repo: Repository, keys: Keys
) -> None:
    answer = compliance(api, repo).post("/v1/portfolio/assets", json=small_portfolio("acme"))
    assert answer.status_code == 201, answer.json()
    saved = answer.json()
    assert saved["id"] == "essen"
    assert saved["version"] == 1
    assert {a["id"] for a in saved["assets"]} == {"bat-de-essen-01", "pv-de-essen-roof"}

    for key in (keys.trader, keys.analyst):
        listed = api.with_key(key).get("/v1/portfolio/assets")
        assert listed.status_code == 200
        body = listed.json()
        assert body["total"] == 2
        assert {(a["id"], a["kind"], a["country"]) for a in body["items"]} == {
            ("bat-de-essen-01", "battery", "DE"),
            ("pv-de-essen-roof", "pv", "DE"),
        }
    only = api.get("/v1/portfolio/assets", params={"kind": "battery"}).json()
    assert [a["id"] for a in only["items"]] == ["bat-de-essen-01"]


def test_saving_again_makes_a_new_version(api: AsgiClient, repo: Repository) -> None:
    admin = api.with_key(repo.create_api_key("acme", Role.ADMIN, "ops").plaintext)
    document = small_portfolio("acme")
    assert admin.post("/v1/portfolio/assets", json=document).json()["version"] == 1
    document["assets"] = document["assets"][:1]
    again = admin.post("/v1/portfolio/assets", json=document).json()
    assert again["version"] == 2
    assert [a["id"] for a in again["assets"]] == ["bat-de-essen-01"]


def test_every_regulatory_problem_is_listed(api: AsgiClient, repo: Repository) -> None:
    document = small_portfolio("acme")
    document["assets"][0]["prequalifications"][0]["mw"] = 50
    document["assets"][1]["rated_power_mw"] = -8
    document["sites"][0]["bidding_zone"] = "NL"
    answer = compliance(api, repo).post("/v1/portfolio/assets", json=document)
    assert answer.status_code == 422
    problems = {(p["subject"], p["field"]): p for p in answer.json()["problems"]}
    assert set(problems) >= {
        ("asset bat-de-essen-01", "prequalifications[0].mw"),
        ("asset pv-de-essen-roof", "rated_power_mw"),
        ("site de-amp-essen", "bidding_zone"),
    }
    zone = problems[("site de-amp-essen", "bidding_zone")]
    assert zone["value"] == "NL"
    assert "DE_LU" in zone["rule"]
    assert api.get("/v1/portfolio/assets").json()["total"] == 0


def test_a_portfolio_of_another_tenant_is_refused(api: AsgiClient, repo: Repository) -> None:
    answer = compliance(api, repo).post("/v1/portfolio/assets", json=small_portfolio("globex"))
    assert answer.status_code == 422
    (problem,) = answer.json()["problems"]
    assert problem["field"] == "tenant"
    assert problem["value"] == "globex"


def test_traders_and_analysts_may_not_save(api: AsgiClient, keys: Keys) -> None:
    for key in (keys.trader, keys.analyst):
        answer = api.with_key(key).post("/v1/portfolio/assets", json=small_portfolio("acme"))
        assert answer.status_code == 403
        assert "compliance" in answer.json()["message"]


def test_tenants_see_only_their_own_assets(api: AsgiClient, repo: Repository, keys: Keys) -> None:
    compliance(api, repo).post("/v1/portfolio/assets", json=small_portfolio("acme"))
    other = api.with_key(keys.other_trader).get("/v1/portfolio/assets").json()
    assert other == {"items": [], "total": 0, "on": None}
    assert api.with_key(None).get("/v1/portfolio/assets").status_code == 401


def test_the_listing_shows_both_dates_and_whether_each_asset_is_in_service_on_a_day(
    api: AsgiClient, repo: Repository
) -> None:
    document = small_portfolio("acme")
    battery, pv = document["assets"]
    battery["commissioning_date"] = "2027-02-01"
    for pq in battery["prequalifications"]:
        pq.pop("certified_on", None)
    pv["decommissioning_date"] = "2026-07-01"
    assert compliance(api, repo).post("/v1/portfolio/assets", json=document).status_code == 201

    def listed(**params: str) -> dict[str, dict[str, object]]:
        body = api.get("/v1/portfolio/assets", params=params).json()
        assert body["on"] == params.get("on")
        return {a["id"]: a for a in body["items"]}

    plain = listed()
    assert plain[battery["id"]]["commissioning_date"] == "2027-02-01"
    assert plain[battery["id"]]["decommissioning_date"] is None
    assert plain[pv["id"]]["decommissioning_date"] == "2026-07-01"
    assert {a["in_service"] for a in plain.values()} == {None}

    june = listed(on="2026-06-13")
    assert (june[battery["id"]]["in_service"], june[battery["id"]]["service_note"]) == (
        False,
        "not in service on 2026-06-13: commissioned 2027-02-01",
    )
    assert (june[pv["id"]]["in_service"], june[pv["id"]]["service_note"]) == (True, None)

    july = listed(on="2026-07-01")
    assert july[pv["id"]]["in_service"] is False
    assert july[pv["id"]]["service_note"] == (
        "not in service on 2026-07-01: decommissioned 2026-07-01"
    )
    assert listed(on="2027-02-01")[battery["id"]]["in_service"] is True


def test_a_day_that_is_not_a_date_is_refused_naming_it(api: AsgiClient) -> None:
    answer = api.get("/v1/portfolio/assets", params={"on": "13.06.2026"})
    assert answer.status_code == 422
    assert "13.06.2026" in answer.text
