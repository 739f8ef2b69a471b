"""DELETE /v1/plans/{id} cancels a queued or running plan; a tenant's unfinished plans are
bounded (429)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import DAY, AsgiClient, Keys
from test_api_plans import small_portfolio

from trading.api import create_app
from trading.api.jobs import FolderPrices, JobRunner
from trading.api.ratelimit import AccessLimits
from trading.exchange.clock import ManualClock
from trading.optimiser.inputs import PriceInputs
from trading.store import Actor, Repository, Role


class GatedPrices:
    """The sample prices, handed out only once `gate` is open; `reading` is released per read."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.reading = threading.Semaphore(0)
        self._prices = FolderPrices()

    def prices(self, zones: set[str], markets: Sequence[str]) -> PriceInputs:
        self.reading.release()
        assert self.gate.wait(timeout=60)
        return self._prices.prices(zones, markets)


@dataclass
class Desk:
    client: AsgiClient
    jobs: JobRunner
    prices: GatedPrices

    def plan(self) -> str:
        sent = {"portfolio_id": "essen", "day": DAY, "markets": ["day_ahead"]}
        answer = self.client.post("/v1/plans", json=sent)
        assert answer.status_code == 202, answer.text
        return answer.json()["id"]


@pytest.fixture
def desk(repo: Repository, clock: ManualClock, keys: Keys) -> Iterator[Desk]:
    admin = repo.create_api_key("acme", Role.ADMIN, "ops")
    repo.save_portfolio(
        Actor(tenant_id="acme", key_id=admin.record.id, role=Role.ADMIN), small_portfolio("acme")
    )
    jobs, prices = JobRunner(workers=1), GatedPrices()
    app = create_app(repo, clock, jobs=jobs, prices=prices, access=AccessLimits(tenant_plans=3))
    yield Desk(AsgiClient(app, keys.trader), jobs, prices)
    prices.gate.set()
    jobs.shutdown()


def test_a_running_and_a_queued_plan_are_cancelled_and_stay_cancelled(desk: Desk) -> None:
    running, queued = desk.plan(), desk.plan()
    assert desk.prices.reading.acquire(timeout=30)  # the first is running, reading prices
    assert desk.client.get(f"/v1/plans/{running}").json()["status"] == "running"
    for plan_id in (queued, running):
        answer = desk.client.request("DELETE", f"/v1/plans/{plan_id}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "failed"
        assert answer.json()["error"].startswith("cancelled by key ")
    desk.prices.gate.set()
    desk.jobs.wait(timeout_s=60)
    for plan_id in (queued, running):
        plan = desk.client.get(f"/v1/plans/{plan_id}").json()
        assert plan["status"] == "failed"
        assert plan["bids"] is None
    assert desk.client.get(f"/v1/plans/{queued}").json()["started_at"] is None  # never ran
    assert not desk.prices.reading.acquire(timeout=0.1)  # the queued one never read prices


def test_a_finished_plan_cannot_be_cancelled(desk: Desk) -> None:
    desk.prices.gate.set()
    plan_id = desk.plan()
    desk.jobs.wait(timeout_s=60)
    answer = desk.client.request("DELETE", f"/v1/plans/{plan_id}")
    assert answer.status_code == 409
    assert answer.json()["status"] == "done"
    assert desk.client.request("DELETE", "/v1/plans/no-such-plan").status_code == 404


def test_an_analyst_cannot_cancel(desk: Desk, keys: Keys) -> None:
    plan_id = desk.plan()
    answer = desk.client.with_key(keys.analyst).request("DELETE", f"/v1/plans/{plan_id}")
    assert answer.status_code == 403


def test_a_tenant_with_its_most_unfinished_plans_gets_429_until_one_ends(desk: Desk) -> None:
    plans = [desk.plan() for _ in range(3)]
    sent = {"portfolio_id": "essen", "day": DAY, "markets": ["day_ahead"]}
    refused = desk.client.post("/v1/plans", json=sent)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "5"
    body = refused.json()
    assert (body["limit"], body["value"], body["figure"]) == ("tenant_plans", 3, 3)
    assert desk.client.request("DELETE", f"/v1/plans/{plans[-1]}").status_code == 200
    assert desk.client.post("/v1/plans", json=sent).status_code == 202
