"""Property-based fuzzing of the API from its own OpenAPI document: no request gets a 5xx.

schemathesis reads ``/openapi.json`` from the app in-process and generates requests for
every operation, valid and invalid (both generation modes). Whatever a client sends, the
answer must be a 2xx or a 4xx naming what is wrong, never a server error. An admin key
runs the main pass; a trader key and no key at all run a smaller one.

Plan runs go to a price source that refuses at once, so a queued plan fails in
milliseconds instead of running the optimiser.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
import schemathesis
import yaml
from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import BEFORE_GATES, AsgiClient
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from trading.api import create_app
from trading.api.jobs import JobRunner, PriceSourceError
from trading.exchange.clock import ManualClock
from trading.optimiser.inputs import PriceInputs
from trading.samples import sample_portfolio_path
from trading.store import Actor, Repository, Role, upgrade

TENANT = "acme"
PORTFOLIO = "sample-vpp"
"""The portfolio id of the schema's examples: a plan request of the examples finds it."""

MAIN = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
SMALL = settings(MAIN, max_examples=10)


class RefusingPrices:
    """A price source that is never readable: plan runs fail at once, without a solve."""

    def prices(self, zones: set[str], markets: Sequence[str]) -> PriceInputs:
        raise PriceSourceError("fuzzing: no prices")


@dataclass(frozen=True)
class Caller:
    """The headers a pass sends with every request (none: anonymous)."""

    headers: dict[str, str]


def _seed_portfolio(repo: Repository) -> None:
    admin = repo.create_api_key(TENANT, Role.ADMIN, "seed")
    document = yaml.safe_load(sample_portfolio_path().read_text(encoding="utf-8"))
    site = document["sites"][0]["id"]
    document["sites"] = document["sites"][:1]
    document["assets"] = [a for a in document["assets"] if a["site"] == site]
    document["tenant"], document["id"] = TENANT, PORTFOLIO
    actor = Actor(tenant_id=TENANT, key_id=admin.record.id, role=Role.ADMIN)
    repo.save_portfolio(actor, json.loads(json.dumps(document, default=str)))


@pytest.fixture(scope="module", params=["admin", "trader", "anonymous"])
def role(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repository]:
    """One store for the whole module: what one pass creates, the next one meets."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite3'}"
    upgrade(url)
    repository = Repository.from_url(url)
    repository.create_tenant(TENANT, "Acme Trading")
    repository.create_tenant("globex", "Globex Energy")
    _seed_portfolio(repository)
    yield repository
    repository.close()


@pytest.fixture(scope="module")
def fuzz_jobs() -> Iterator[JobRunner]:
    jobs = JobRunner()
    yield jobs
    jobs.shutdown()


@pytest.fixture(scope="module")
def caller(fuzz_store: Repository, role: str) -> Caller:
    if role == "anonymous":
        return Caller(headers={})
    key = fuzz_store.create_api_key(TENANT, Role(role), f"fuzz-{role}").plaintext
    return Caller(headers={"X-API-Key": key})


@pytest.fixture(scope="module")
def fuzz_app(fuzz_store: Repository, fuzz_jobs: JobRunner) -> FastAPI:
    return create_app(
        fuzz_store, ManualClock(BEFORE_GATES), prices=RefusingPrices(), jobs=fuzz_jobs
    )


# The document only: the routes never run on this app (each test calls its own `fuzz_app`).
# GET /v1/events streams until the client leaves, which an in-process call never does: its
# refusals are tested in test_api_events.py, the stream itself in tests/e2e.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(Repository.from_url("sqlite://"), ManualClock(BEFORE_GATES))
).exclude(path="/v1/events")


def _no_server_error(case: schemathesis.Case, app: FastAPI, caller: Caller) -> None:
    response = case.call(app=app, headers=dict(caller.headers))
    case.validate_response(response, checks=[not_a_server_error], headers=caller.headers)
    assert response.status_code < 500, case.as_curl_command(headers=caller.headers)


@pytest.mark.parametrize("role", ["admin"], indirect=True)
@schema.parametrize()
@MAIN
def test_no_request_of_an_admin_gets_a_server_error(
    case: schemathesis.Case, fuzz_app: FastAPI, caller: Caller
) -> None:
    _no_server_error(case, fuzz_app, caller)


@pytest.mark.parametrize("role", ["trader", "anonymous"], indirect=True)
@schema.parametrize()
@SMALL
def test_no_request_of_a_trader_or_stranger_gets_a_server_error(
    case: schemathesis.Case, fuzz_app: FastAPI, caller: Caller
) -> None:
    _no_server_error(case, fuzz_app, caller)


def test_a_page_beyond_the_database_integers_is_a_422_naming_it(api: AsgiClient) -> None:
    """Found by the fuzzer: page=92233720368547760 overflowed SQLite's INTEGER (a 500)."""
    answer = api.get("/v1/bids", params={"page": 92233720368547760})
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["problems"]
    assert problem["field"] == "query.page"
    assert "92233720368547760" in problem["value"]
    assert "1000000" in problem["rule"]
