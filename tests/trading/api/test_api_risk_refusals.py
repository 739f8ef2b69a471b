"""A refusal by a tenant's risk limit is kept as a decision with its evidence, like a
refusal by a market rule: in GET /v1/refusals and in `vpp compliance export`, citing the
limit's rule id and version (when and by whom it was set)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import DAY, AsgiClient, Keys, single

from markets.registry import default_registry as market_registry
from regulatory.registry import default_registry as regulatory_registry
from trading.api.limits import LimitVersion, risk_limit_rule_id
from trading.compliance.export import export, period_of, verify
from trading.exchange.clock import ManualClock
from trading.store import Actor, Repository, Role
from trading.store.vocabulary import RiskLimitKind


@pytest.fixture
def risk(repo: Repository, api: AsgiClient) -> Actor:
    """acme's admin, who sets the limits."""
    return repo.create_api_key("acme", "admin", "risk").record.actor


def _limit_rule_id(repo: Repository, kind: RiskLimitKind) -> str:
    (record,) = [r for r in repo.list_risk_limits("acme") if r.kind == kind]
    return risk_limit_rule_id(kind, LimitVersion.of(record))


def test_a_bid_refused_by_a_limit_is_stored_as_a_decision_citing_the_limits_version(
    api: AsgiClient, repo: Repository, risk: Actor
) -> None:
    repo.set_risk_limit(risk, RiskLimitKind.MAX_BID_MW, 10)
    cited = _limit_rule_id(repo, RiskLimitKind.MAX_BID_MW)
    assert cited.startswith("vpp-engine:risk_limit.max_bid_mw@20")
    answer = api.post(
        "/v1/bids", json=single(0, volume_mw=250, bid_id="fat-1"), headers={"Idempotency-Key": "f1"}
    )
    assert answer.status_code == 422
    (refused,) = answer.json()["bids"]
    assert refused["rule_ids"] == [cited]
    assert refused["refusal_id"]

    decision = api.get(f"/v1/refusals/{refused['refusal_id']}").json()
    assert decision["client_bid_id"] == "fat-1"
    assert decision["idempotency_key"] == "f1"
    assert decision["plugin_distribution"] == "vpp-engine"
    assert cited in decision["rule_ids"]
    assert any(i.startswith("DE:day_ahead:") for i in decision["rule_ids"])  # the market's too
    (violation,) = decision["violations"]
    assert violation["rule"] == "risk_limit.max_bid_mw"
    assert violation["rule_id"] == cited
    assert f"by admin key {risk.key_id}" in violation["source"]
    assert repo.list_bids("acme").total == 0

    listed = api.get("/v1/refusals", params={"bid_id": "fat-1"}).json()
    assert [r["id"] for r in listed["items"]] == [refused["refusal_id"]]


def test_a_changed_limit_is_cited_with_the_version_that_judged_each_bid(
    api: AsgiClient, repo: Repository, risk: Actor
) -> None:
    def refused_by() -> list[str]:
        answer = api.post("/v1/bids", json=single(0, volume_mw=6))
        assert answer.status_code == 422
        (refused,) = answer.json()["bids"]
        decision = api.get(f"/v1/refusals/{refused['refusal_id']}").json()
        return [i for i in decision["rule_ids"] if i.startswith("vpp-engine:risk_limit")]

    repo.set_risk_limit(risk, RiskLimitKind.MAX_NET_POSITION_MW, 5)
    assert refused_by() == [_limit_rule_id(repo, RiskLimitKind.MAX_NET_POSITION_MW)]
    repo.set_risk_limit(risk, RiskLimitKind.MAX_NET_POSITION_MW, 4)
    api.app.state.services.risk.forget("acme")  # as the admin route does after a change
    assert refused_by() == [_limit_rule_id(repo, RiskLimitKind.MAX_NET_POSITION_MW)]


def test_the_compliance_export_of_the_day_holds_the_limit_refusal_and_verifies(
    api: AsgiClient, repo: Repository, risk: Actor, tmp_path: Path
) -> None:
    repo.set_risk_limit(risk, RiskLimitKind.MAX_NOTIONAL_EUR_PER_DAY, 100)
    cited = _limit_rule_id(repo, RiskLimitKind.MAX_NOTIONAL_EUR_PER_DAY)
    assert api.post("/v1/bids", json=single(0, volume_mw=20, price=50)).status_code == 422
    since, until = period_of(date(2026, 6, 14), date(2026, 6, 14))  # the clock's day
    out = tmp_path / "export"
    summary = export(repo, market_registry(), regulatory_registry(), since, until, out)
    assert summary.rows["bid_decisions"] == 1
    rows = json.loads((out / "bid_decisions.json").read_text(encoding="utf-8"))
    (refusal,) = rows
    assert refusal["decision"] == "refused"
    assert refusal["at"] == "2026-06-14T08:00:00Z"
    assert cited in refusal["rule_ids"]
    assert verify(out) == []


def test_a_plan_submission_refused_by_a_limit_leaves_its_decisions(
    repo: Repository, clock: ManualClock, keys: Keys
) -> None:
    from test_api_plans import small_portfolio

    from trading.api import create_app
    from trading.api.jobs import JobRunner

    admin = repo.create_api_key("acme", Role.ADMIN, "ops").record.actor
    repo.save_portfolio(admin, small_portfolio("acme"))
    jobs = JobRunner()
    try:
        client = AsgiClient(create_app(repo, clock, jobs=jobs), keys.trader)
        plan_id = client.post(
            "/v1/plans", json={"portfolio_id": "essen", "day": DAY, "markets": ["day_ahead"]}
        ).json()["id"]
        jobs.wait(timeout_s=60)
        proposed = client.get(f"/v1/plans/{plan_id}").json()["bids"]
        assert proposed
        repo.set_risk_limit(admin, RiskLimitKind.MAX_BID_MW, 0.001)  # below any plan bid
        cited = _limit_rule_id(repo, RiskLimitKind.MAX_BID_MW)
        answer = client.post(f"/v1/plans/{plan_id}/submit")
        assert answer.status_code == 422
        refused = client.get("/v1/refusals", params={"limit": 1000}).json()
        assert refused["total"] == len(proposed)
        assert {r["idempotency_key"] for r in refused["items"]} == {f"plan-{plan_id}"}
        assert all(cited in r["rule_ids"] for r in refused["items"])
        assert client.get("/v1/bids").json()["total"] == 0
    finally:
        jobs.shutdown()
