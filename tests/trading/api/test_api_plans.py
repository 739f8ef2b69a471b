"""POST /v1/plans, GET /v1/plans/{id}, POST /v1/plans/{id}/submit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import DAY, GATE, AsgiClient, Keys

from trading.api import create_app
from trading.api.jobs import JobRunner
from trading.api.plans import INTERRUPTED, recover_plans
from trading.exchange.clock import ManualClock
from trading.samples import sample_portfolio_path
from trading.store import Actor, Repository, Role


def small_portfolio(tenant: str, portfolio_id: str = "essen") -> dict[str, Any]:
    """The sample portfolio's first site (a battery and rooftop PV in DE_LU) for `tenant`."""
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    site = document["sites"][0]["id"]
    document["sites"] = document["sites"][:1]
    document["assets"] = [a for a in document["assets"] if a["site"] == site]
    document["tenant"] = tenant
    document["id"] = portfolio_id
    return json.loads(json.dumps(document, default=str))  # dates as JSON sends them


@dataclass
class Planning:
    client: AsgiClient
    jobs: JobRunner
    keys: Keys

    def create(self, key: str | None = None, **body: Any) -> Any:
        sent = {"portfolio_id": "essen", "day": DAY, "markets": ["day_ahead"], **body}
        client = self.client if key is None else self.client.with_key(key)
        return client.post("/v1/plans", json=sent)

    def finished(self, plan_id: str) -> dict[str, Any]:
        self.jobs.wait(timeout_s=60)
        answer = self.client.get(f"/v1/plans/{plan_id}")
        assert answer.status_code == 200
        return answer.json()


@pytest.fixture
def planning(repo: Repository, clock: ManualClock, keys: Keys) -> Iterator[Planning]:
    admin = repo.create_api_key("acme", Role.ADMIN, "ops")
    repo.save_portfolio(
        Actor(tenant_id="acme", key_id=admin.record.id, role=Role.ADMIN), small_portfolio("acme")
    )
    jobs = JobRunner()
    yield Planning(AsgiClient(create_app(repo, clock, jobs=jobs), keys.trader), jobs, keys)
    jobs.shutdown()


def test_a_plan_runs_in_the_background_to_done_with_its_bids(planning: Planning) -> None:
    answer = planning.create()
    assert answer.status_code == 202
    accepted = answer.json()
    assert accepted["status"] == "queued"
    assert answer.headers["location"] == f"/v1/plans/{accepted['id']}"
    plan = planning.finished(accepted["id"])
    assert plan["status"] == "done", plan
    assert plan["portfolio_id"] == "essen"
    assert plan["day"] == DAY
    assert plan["markets"] == ["day_ahead"]
    assert plan["error"] is None
    assert plan["objective_eur"] > 0
    assert set(plan["revenue_by_market"]) == {"day_ahead"}
    assert plan["bids"]
    assert all(b["product_id"].startswith("DE:day_ahead:SDAC:") for b in plan["bids"])
    assert plan["started_at"]
    assert plan["finished_at"]


def test_a_day_without_prices_fails_with_the_missing_price_message(planning: Planning) -> None:
    plan_id = planning.create(day="2026-07-15").json()["id"]
    plan = planning.finished(plan_id)
    assert plan["status"] == "failed"
    assert plan["error"].startswith("day_ahead: no DE_LU price")
    assert "2026-07-15" in plan["error"]
    assert plan["bids"] is None


def test_submitting_a_done_plan_stores_its_bids_once(planning: Planning) -> None:
    plan_id = planning.create().json()["id"]
    proposed = planning.finished(plan_id)["bids"]
    answer = planning.client.post(f"/v1/plans/{plan_id}/submit")
    assert answer.status_code == 201, answer.json()
    stored = answer.json()["bids"]
    assert len(stored) == len(proposed)
    assert {b["status"] for b in stored} == {"submitted"}
    assert {b["plan_id"] for b in stored} == {plan_id}
    assert [b["product_id"] for b in stored] == [b["product_id"] for b in proposed]

    again = planning.client.post(f"/v1/plans/{plan_id}/submit")
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert planning.client.get("/v1/bids").json()["total"] == len(proposed)


def test_a_plan_not_done_cannot_be_submitted(planning: Planning) -> None:
    failed = planning.create(day="2026-07-15").json()["id"]
    planning.finished(failed)
    answer = planning.client.post(f"/v1/plans/{failed}/submit")
    assert answer.status_code == 409
    assert answer.json()["error"] == "PlanNotDone"
    assert answer.json()["status"] == "failed"


def test_plan_bids_after_the_gate_are_refused_like_any_bid(
    planning: Planning, clock: ManualClock
) -> None:
    plan_id = planning.create().json()["id"]
    planning.finished(plan_id)
    clock.advance_to(GATE)
    answer = planning.client.post(f"/v1/plans/{plan_id}/submit")
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "BidViolations"
    rules = {v["rule"] for b in body["bids"] for v in b["violations"]}
    assert "day_ahead.gate_closure" in rules
    assert planning.client.get("/v1/bids").json()["total"] == 0


def test_an_analyst_reads_but_neither_plans_nor_submits(planning: Planning) -> None:
    assert planning.create(key=planning.keys.analyst).status_code == 403
    plan_id = planning.create().json()["id"]
    planning.finished(plan_id)
    analyst = planning.client.with_key(planning.keys.analyst)
    assert analyst.get(f"/v1/plans/{plan_id}").json()["status"] == "done"
    assert analyst.post(f"/v1/plans/{plan_id}/submit").status_code == 403


def test_another_tenant_sees_no_plan_and_no_portfolio(planning: Planning) -> None:
    plan_id = planning.create().json()["id"]
    planning.finished(plan_id)
    other = planning.client.with_key(planning.keys.other_trader)
    assert other.get(f"/v1/plans/{plan_id}").status_code == 404
    assert other.post(f"/v1/plans/{plan_id}/submit").status_code == 404
    answer = planning.create(key=planning.keys.other_trader)
    assert answer.status_code == 404
    assert "essen" in answer.json()["message"]


def test_unknown_markets_and_bad_days_are_refused(planning: Planning) -> None:
    answer = planning.create(markets=["day_ahead", "futures"])
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["field"] == "body.markets"
    assert planning.create(day="2026-13-01").status_code == 422
    assert planning.client.get("/v1/plans/nope").status_code == 404


def test_plans_are_listed_per_tenant_with_filters(planning: Planning) -> None:
    first = planning.create().json()["id"]
    planning.finished(first)
    second = planning.create(day="2099-01-01").json()["id"]  # no prices that day: fails
    planning.finished(second)
    listed = planning.client.get("/v1/plans").json()
    assert [p["id"] for p in listed["items"]] == [first, second]
    assert listed["total"] == 2
    done = planning.client.get("/v1/plans", params={"status": "done"}).json()
    assert [p["id"] for p in done["items"]] == [first]
    assert done["items"][0]["bids"]
    on_day = planning.client.get("/v1/plans", params={"day": DAY}).json()
    assert [p["id"] for p in on_day["items"]] == [first]
    page = planning.client.get("/v1/plans", params={"limit": 1, "page": 2}).json()
    assert [p["id"] for p in page["items"]] == [second]
    other = planning.client.with_key(planning.keys.other_trader).get("/v1/plans").json()
    assert other["items"] == []
    assert other["total"] == 0
    bad = planning.client.get("/v1/plans", params={"status": "finished"})
    assert bad.status_code == 422
    assert "finished" in bad.text


class NeverRuns(JobRunner):
    """A job runner of a server that dies before it runs anything it was given."""

    def submit(self, job: Any, name: str) -> Any:
        return None


def test_a_restarted_server_runs_queued_plans_and_fails_interrupted_ones(
    repo: Repository, clock: ManualClock, keys: Keys
) -> None:
    admin = repo.create_api_key("acme", Role.ADMIN, "ops")
    repo.save_portfolio(
        Actor(tenant_id="acme", key_id=admin.record.id, role=Role.ADMIN), small_portfolio("acme")
    )
    dying = AsgiClient(create_app(repo, clock, jobs=NeverRuns()), keys.trader)
    body = {"portfolio_id": "essen", "day": DAY, "markets": ["day_ahead", "intraday"]}
    queued = dying.post("/v1/plans", json=body).json()["id"]
    interrupted = dying.post("/v1/plans", json=body).json()["id"]
    repo.set_plan_status(interrupted, "running", Actor.system("acme"))  # then the server died

    jobs = JobRunner()
    try:
        app = create_app(repo, clock, jobs=jobs)
        assert recover_plans(repo, app.state.plan_services) == (1, 1)
        jobs.wait(timeout_s=120)
        client = AsgiClient(app, keys.trader)
        done = client.get(f"/v1/plans/{queued}").json()
        assert done["status"] == "done", done
        assert done["markets"] == ["day_ahead", "intraday"]  # as asked, not the default
        assert set(done["revenue_by_market"]) <= {"day_ahead", "intraday"}
        failed = client.get(f"/v1/plans/{interrupted}").json()
        assert failed["status"] == "failed"
        assert failed["error"] == INTERRUPTED
        assert recover_plans(repo, app.state.plan_services) == (0, 0)
    finally:
        jobs.shutdown()


def test_a_done_plan_records_each_assets_treatment_with_rule_set_and_rule_ids(
    planning: Planning,
) -> None:
    plan = planning.finished(planning.create().json()["id"])
    treatments = plan["treatments"]
    assert set(treatments) == {a["id"] for a in small_portfolio("acme")["assets"]}
    for treatment in treatments.values():
        assert treatment["country"] == "DE"
        version = treatment["rule_set_version"]
        assert treatment["rule_ids"]
        assert all(i.startswith(f"DE:regulatory:{version}:") for i in treatment["rule_ids"])
    assert any(
        i.startswith(f"DE:regulatory:{t['rule_set_version']}:products:")
        for t in treatments.values()
        for i in t["rule_ids"]
    )


def test_plan_bids_refused_at_the_gate_leave_their_decisions(
    planning: Planning, clock: ManualClock
) -> None:
    plan_id = planning.create().json()["id"]
    proposed = planning.finished(plan_id)["bids"]
    clock.advance_to(GATE)
    body = planning.client.post(f"/v1/plans/{plan_id}/submit").json()
    refused = planning.client.get("/v1/refusals", params={"limit": 1000}).json()
    assert refused["total"] == len(proposed)
    assert {r["idempotency_key"] for r in refused["items"]} == {f"plan-{plan_id}"}
    first = body["bids"][0]
    assert first["refusal_id"] in {r["id"] for r in refused["items"]}
    assert any(i.startswith("DE:day_ahead:sessions:") for i in first["rule_ids"])
