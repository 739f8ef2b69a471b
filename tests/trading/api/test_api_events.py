"""GET /v1/events refusals (the stream itself runs over real HTTP in tests/e2e)."""

from __future__ import annotations

from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import AsgiClient


def test_the_stream_needs_a_key(api: AsgiClient) -> None:
    answer = api.with_key(None).get("/v1/events")
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json") or (
        answer.json()["error"] == "Unauthorized"
    )


def test_a_last_event_id_that_is_no_event_id_is_a_422_naming_it(api: AsgiClient) -> None:
    answer = api.get("/v1/events", headers={"Last-Event-ID": "abc"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["field"] == "Last-Event-ID"
    assert body["value"] == "abc"
