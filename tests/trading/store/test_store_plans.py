"""Plans: queue, run, finish or fail, read, list, delete; and what is refused."""

from __future__ import annotations

from datetime import date

import pytest
from store_factories import DAY, portfolio_document, single
from store_fixtures import *  # noqa: F403 - the store's fixtures: db_url, pg_url, repo, tenant

from trading.store import (
    Actor,
    AuditAction,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PlanStatus,
    Repository,
    TransitionError,
)


@pytest.fixture
def actor(repo: Repository, tenant: str) -> Actor:
    actor = Actor.system(tenant)
    repo.save_portfolio(actor, portfolio_document(tenant))
    return actor


def test_a_plan_runs_from_queued_to_done(repo: Repository, actor: Actor) -> None:
    plan = repo.create_plan(actor, "sample-vpp", DAY)
    assert (plan.status, plan.day, plan.started_at, plan.result) == ("queued", DAY, None, None)
    running = repo.set_plan_status(plan.id, "running", actor)
    assert running.status is PlanStatus.RUNNING
    assert running.started_at is not None
    done = repo.set_plan_status(plan.id, "done", actor, result={"objective_eur": 1234.5})
    assert done.finished_at >= running.started_at
    assert repo.get_plan(actor.tenant_id, plan.id) == done
    assert done.result == {"objective_eur": 1234.5}
    assert done.error is None
    actions = [a.action for a in repo.list_audit(actor.tenant_id, subject=f"plan {plan.id}").items]
    assert actions == [AuditAction.PLAN_CREATE, AuditAction.PLAN_STATUS, AuditAction.PLAN_STATUS]


def test_a_failed_plan_keeps_its_error(repo: Repository, actor: Actor) -> None:
    plan = repo.create_plan(actor, "sample-vpp", DAY)
    failed = repo.set_plan_status(plan.id, "failed", actor, error="infeasible: battery bat-7")
    assert failed.status is PlanStatus.FAILED
    assert failed.error == "infeasible: battery bat-7"
    with pytest.raises(TransitionError, match="status failed -> running"):
        repo.set_plan_status(plan.id, "running", actor)


@pytest.mark.parametrize(
    ("to_status", "kwargs", "message"),
    [
        ("done", {}, "result=None is required to finish a plan"),
        ("failed", {"error": " "}, "error=' ' must say why the plan failed"),
        ("running", {"error": "x"}, "error='x' is only taken moving to failed"),
        ("done", {"result": {"x": float("nan")}}, "result="),
        ("paused", {}, "to_status='paused' must be one of queued"),
    ],
)
def test_bad_status_changes_name_the_field(
    repo: Repository, actor: Actor, to_status: str, kwargs: dict, message: str
) -> None:
    plan = repo.create_plan(actor, "sample-vpp", DAY)
    repo.set_plan_status(plan.id, "running", actor)
    with pytest.raises(InvalidInputError) as caught:
        repo.set_plan_status(plan.id, to_status, actor, **kwargs)
    assert message in str(caught.value)


def test_a_queued_plan_cannot_finish_without_running(repo: Repository, actor: Actor) -> None:
    plan = repo.create_plan(actor, "sample-vpp", DAY)
    with pytest.raises(TransitionError, match="queued -> done"):
        repo.set_plan_status(plan.id, "done", actor, result={})


def test_plans_need_a_portfolio_of_the_tenant(repo: Repository, actor: Actor) -> None:
    with pytest.raises(InvalidInputError, match="portfolio_id='nope' is not a portfolio of"):
        repo.create_plan(actor, "nope", DAY)


def test_plans_are_listed_per_tenant_with_filters(repo: Repository, actor: Actor) -> None:
    first = repo.create_plan(actor, "sample-vpp", DAY)
    second = repo.create_plan(actor, "sample-vpp", date(2026, 3, 3))
    repo.set_plan_status(second.id, "running", actor)
    assert [p.id for p in repo.list_plans(actor.tenant_id).items] == [first.id, second.id]
    assert [p.id for p in repo.list_plans(actor.tenant_id, day=DAY).items] == [first.id]
    assert [p.id for p in repo.list_plans(actor.tenant_id, status="running").items] == [second.id]
    repo.create_tenant("other", "Other")
    assert repo.list_plans("other").total == 0
    assert repo.get_plan("other", first.id) is None
    with pytest.raises(NotFoundError):
        repo.set_plan_status(first.id, "running", Actor.system("other"))


def test_deleting_a_plan(repo: Repository, actor: Actor) -> None:
    unused = repo.create_plan(actor, "sample-vpp", DAY)
    repo.delete_plan(unused.id, actor)
    assert repo.get_plan(actor.tenant_id, unused.id) is None
    assert repo.list_audit(actor.tenant_id, action="plan.delete").total == 1
    used = repo.create_plan(actor, "sample-vpp", DAY)
    repo.add_bids(actor.tenant_id, None, [single(0, plan_id=used.id)], "req-1")
    with pytest.raises(ConflictError, match="1 bid\\(s\\) refer to it"):
        repo.delete_plan(used.id, actor)
    running = repo.create_plan(actor, "sample-vpp", DAY)
    repo.set_plan_status(running.id, "running", actor)
    with pytest.raises(ConflictError, match="is running"):
        repo.delete_plan(running.id, actor)


def test_a_plan_keeps_what_was_asked_and_refuses_what_is_not_json(
    repo: Repository, actor: Actor
) -> None:
    plan = repo.create_plan(actor, "sample-vpp", DAY, request={"markets": ["day_ahead"]})
    assert repo.get_plan(actor.tenant_id, plan.id).request == {"markets": ["day_ahead"]}
    assert repo.create_plan(actor, "sample-vpp", DAY).request is None
    with pytest.raises(InvalidInputError, match="request"):
        repo.create_plan(actor, "sample-vpp", DAY, request={"markets": {1, 2}})


def test_unfinished_plans_are_every_tenants_queued_and_running_ones(
    repo: Repository, actor: Actor
) -> None:
    other = Actor.system("other")
    repo.create_tenant("other", "Other Trading")
    repo.save_portfolio(other, portfolio_document("other"))
    queued = repo.create_plan(actor, "sample-vpp", DAY)
    running = repo.create_plan(other, "sample-vpp", DAY)
    repo.set_plan_status(running.id, "running", other)
    done = repo.create_plan(actor, "sample-vpp", DAY)
    repo.set_plan_status(done.id, "running", actor)
    repo.set_plan_status(done.id, "done", actor, result={})
    failed = repo.create_plan(actor, "sample-vpp", DAY)
    repo.set_plan_status(failed.id, "failed", actor, error="no prices")
    found = repo.unfinished_plans()
    assert [(p.id, p.tenant_id, p.status) for p in found] == [
        (queued.id, actor.tenant_id, PlanStatus.QUEUED),
        (running.id, "other", PlanStatus.RUNNING),
    ]
