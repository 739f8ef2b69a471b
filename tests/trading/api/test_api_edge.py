"""The API's edge: text rules, duplicate keys, body limits, key before body, problem bodies."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import AsgiClient, Keys, single
from hypothesis import given
from hypothesis import strategies as st

from trading.api import create_app
from trading.api.strict_json import JsonRefusedError, loads_strict
from trading.exchange.clock import ManualClock
from trading.store import Repository


def problem(answer: object) -> dict:
    body = answer.json()  # type: ignore[attr-defined]
    assert answer.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    assert body["status"] == answer.status_code  # type: ignore[attr-defined]
    assert body["type"].startswith("urn:vpp-engine:problem:")
    assert body["title"]
    assert body["detail"]
    return body


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/bids", {"product": "a\x00b"}, "query.product"),
        ("/v1/bids", {"market": "day\x1bahead"}, "query.market"),
        ("/v1/bids/a\x00b", {}, "path.bid_id"),
        ("/v1/plans/\x00", {}, "path.plan_id"),
        ("/v1/portfolio/assets", {"kind": "\x00"}, "query.kind"),
    ],
)
def test_nul_and_control_characters_in_parameters_are_a_422_naming_them(
    api: AsgiClient, path: str, params: dict[str, str], field: str
) -> None:
    answer = api.get(path, params=params)
    assert answer.status_code == 422, answer.text
    body = problem(answer)
    assert body["field"] == field
    assert "\\u00" in body["value"]


@pytest.mark.parametrize(
    ("bid_id", "rule"),
    [
        ("a\x00b", "NUL"),
        ("a\ud800b", "lone surrogate"),
        ("tab\there", None),  # a tab is allowed in text, but ...
        ("x" * 201, "at most 200"),
    ],
)
def test_a_bid_with_unstorable_or_oversized_text_is_refused_naming_the_field(
    api: AsgiClient, bid_id: str, rule: str | None
) -> None:
    body = json.dumps(single(0, bid_id=bid_id)).encode()  # \ud800 as an escape: valid JSON
    answer = api.post("/v1/bids", content=body)
    if rule is None:
        assert answer.status_code == 201, answer.text
        return
    assert answer.status_code == 422, answer.text
    found = problem(answer)
    assert "bid_id" in found["field"]
    assert rule in found["rule"]
    assert api.get("/v1/bids").json()["total"] == 0


def test_a_duplicate_json_key_is_a_422_naming_it_and_nothing_is_stored(api: AsgiClient) -> None:
    body = (
        b'{"type":"single","product_id":"DE:day_ahead:SDAC:2026-06-14T22:00Z",'
        b'"volume_mw":1,"volume_mw":-1,"price_eur_per_mwh":50}'
    )
    answer = api.post("/v1/bids", content=body)
    assert answer.status_code == 422
    found = problem(answer)
    assert found["field"] == "body.volume_mw"
    assert "twice" in found["rule"]
    assert api.get("/v1/bids").json()["total"] == 0


def test_a_fat_finger_volume_is_refused_naming_the_limit(api: AsgiClient) -> None:
    answer = api.post("/v1/bids", json=single(0, volume_mw=1e308))
    assert answer.status_code == 422
    (violation,) = [v for v in answer.json()["bids"][0]["violations"] if "sanity" in v["rule"]]
    assert violation["rule"] == "day_ahead.volume_sanity_max_mw"
    assert violation["limit"].startswith("<= 10000 MW")
    assert violation["field"] == "volume_mw"
    assert api.get("/v1/bids").json()["total"] == 0


def test_a_body_over_the_limit_is_a_413_before_the_key_is_even_looked_at(
    repo: Repository, clock: ManualClock
) -> None:
    client = AsgiClient(create_app(repo, clock, max_body_bytes=1000), key=None)
    answer = client.post("/v1/bids", content=b"[" + b" " * 2000 + b"]")
    assert answer.status_code == 413
    assert problem(answer)["limit"] == 1000


def test_a_write_without_a_valid_key_is_a_401_before_the_body_is_parsed(
    api: AsgiClient,
) -> None:
    not_json = b"{" * 10_000  # would be a 422 if it were parsed first
    assert api.with_key(None).post("/v1/bids", content=not_json).status_code == 401
    unknown = api.with_key("vpp_not-a-key").post("/v1/bids", content=not_json)
    assert unknown.status_code == 401
    assert problem(unknown)["error"] == "Unauthorized"


def test_routing_errors_are_problem_bodies(api: AsgiClient) -> None:
    missing = api.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert problem(missing)["field"] == "path"
    wrong = api.request("DELETE", "/v1/markets")
    assert wrong.status_code == 405
    assert problem(wrong)["field"] == "method"


def test_an_unexpected_failure_is_a_json_500(repo: Repository, clock: ManualClock) -> None:
    app = create_app(repo, clock)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/boom")

    answer = asyncio.run(call())
    assert answer.status_code == 500
    assert "a bug" not in answer.text  # nothing internal leaks
    assert problem(answer)["error"] == "InternalServerError"


def test_readyz_is_ready_at_head_and_503_on_an_unmigrated_database(
    api: AsgiClient, tmp_path: object, clock: ManualClock
) -> None:
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["database"] == ready.json()["head"]

    bare = Repository.from_url(f"sqlite:///{tmp_path}/bare.sqlite3")
    try:
        answer = AsgiClient(create_app(bare, clock)).get("/readyz")
        assert answer.status_code == 503
        assert answer.headers["retry-after"]
        assert problem(answer)["error"] == "NotMigrated"
        assert AsgiClient(create_app(bare, clock)).get("/healthz").status_code == 200
    finally:
        bare.close()


def test_a_database_that_is_away_answers_503_with_retry_after(
    repo: Repository, clock: ManualClock, keys: Keys
) -> None:
    away = Repository.from_url("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        client = AsgiClient(create_app(away, clock), key=keys.trader)
        answer = client.get("/v1/bids")
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert problem(answer)["error"] == "DatabaseUnavailable"
        assert client.get("/readyz").status_code == 503
    finally:
        away.close()


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_strict_reading_agrees_with_json_on_storable_documents(document: object) -> None:
    """Every document json.dumps writes reads back equal, or is refused naming a text rule."""
    text = json.dumps(document)
    try:
        read = loads_strict(text)
    except JsonRefusedError as refused:
        rule = refused.rule
        assert any(word in rule for word in ("NUL", "surrogate", "control")), rule
    else:
        assert read == document


def test_a_bid_id_names_one_bid_of_a_tenant(api: AsgiClient, keys: Keys) -> None:
    first = api.post("/v1/bids", json=single(0, bid_id="desk/7"))
    assert first.status_code == 201
    (stored,) = first.json()["bids"]

    again = api.post("/v1/bids", json=single(0, bid_id="desk/7"))  # no Idempotency-Key
    assert again.status_code == 200, again.text
    assert again.json()["replayed"] is True
    assert [b["id"] for b in again.json()["bids"]] == [stored["id"]]

    changed = api.post("/v1/bids", json=single(0, volume_mw=-1.0, bid_id="desk/7"))
    assert changed.status_code == 409
    found = problem(changed)
    assert found["error"] == "BidIdTaken"
    assert found["field"] == "bid_id"
    assert found["value"] == "desk/7"

    partly = api.post("/v1/bids", json=[single(0, bid_id="desk/7"), single(1, bid_id="desk/8")])
    assert partly.status_code == 409
    twice = api.post("/v1/bids", json=[single(2, bid_id="desk/9"), single(3, bid_id="desk/9")])
    assert twice.status_code == 422
    assert "desk/9" in problem(twice)["value"]
    assert api.get("/v1/bids").json()["total"] == 1

    other = api.with_key(keys.other_trader).post("/v1/bids", json=single(0, bid_id="desk/7"))
    assert other.status_code == 201  # another tenant's ids are its own


@pytest.mark.parametrize(
    "body",
    [b'{"bid_id": "\xff\xfe"}', b"[" * 100_000 + b"]" * 100_000, b'{"n": ' + b"9" * 5000 + b"}"],
    ids=["not-utf8", "nested-too-deep", "huge-integer"],
)
def test_a_body_json_cannot_read_is_a_422_naming_the_body(api: AsgiClient, body: bytes) -> None:
    answer = api.post("/v1/bids", content=body)
    assert answer.status_code == 422, answer.text
    assert problem(answer)["field"] == "body"


def test_a_path_no_route_takes_with_a_control_character_is_a_422_naming_the_path(
    api: AsgiClient,
) -> None:
    answer = api.get("/v1/no\x00where/at/all")
    assert answer.status_code == 422
    assert problem(answer)["field"] == "path"
