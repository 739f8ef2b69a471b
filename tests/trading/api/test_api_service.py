"""GET /v1/markets, /v1/markets/{country}/products, /healthz, /metrics and the OpenAPI document."""

from __future__ import annotations

from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import DAY, PRODUCT, AsgiClient, single

from trading.store import Repository


def test_markets_lists_every_country_with_its_markets(api: AsgiClient) -> None:
    answer = api.get("/v1/markets")
    assert answer.status_code == 200
    countries = {c["country"]: c for c in answer.json()}
    assert {"AT", "BE", "DE", "FR", "NL"} <= set(countries)
    assert countries["DE"]["timezone"] == "Europe/Berlin"
    assert "day_ahead" in [m["market"] for m in countries["DE"]["markets"]]


def test_products_of_a_day(api: AsgiClient) -> None:
    answer = api.get("/v1/markets/DE/products", params={"day": DAY, "market": "day_ahead"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["country"] == "DE"
    assert body["day"] == DAY
    assert len(body["products"]) == 96
    first = body["products"][0]
    assert first["product_id"] == PRODUCT
    assert first["gate_closure"] == "2026-06-14T10:00:00Z"
    assert first["price_max"] == 4000.0
    everything = api.get("/v1/markets/de/products", params={"day": DAY}).json()["products"]
    assert len(everything) > 96


def test_products_refuse_bad_input_naming_it(api: AsgiClient) -> None:
    unknown = api.get("/v1/markets/XX/products", params={"day": DAY})
    assert unknown.status_code == 404
    assert "'XX'" in unknown.json()["message"]
    assert "DE" in unknown.json()["message"]
    bad_day = api.get("/v1/markets/DE/products", params={"day": "2026-02-30"})
    assert bad_day.status_code == 422
    assert "day" in bad_day.json()["message"]
    assert "2026-02-30" in bad_day.json()["message"]
    no_day = api.get("/v1/markets/DE/products")
    assert no_day.status_code == 422
    assert "day" in no_day.json()["message"]
    market = api.get("/v1/markets/DE/products", params={"day": DAY, "market": "futures"})
    assert market.status_code == 422
    assert "futures" in market.json()["message"]


def test_healthz_needs_no_key_and_tells_the_clock(api: AsgiClient) -> None:
    answer = api.with_key(None).get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "now": "2026-06-14T08:00:00Z"}


def test_an_unknown_path_is_a_404(api: AsgiClient) -> None:
    answer = api.get("/v2/nothing")
    assert answer.status_code == 404
    assert "/v2/nothing" in answer.json()["message"]


def test_metrics_count_requests_latency_and_bids(
    api: AsgiClient, keys: object, repo: Repository
) -> None:
    (bid,) = api.post("/v1/bids", json=single(0)).json()["bids"]
    api.post("/v1/bids", json=single(1))
    api.post(f"/v1/bids/{bid['id']}/withdraw")
    api.with_key(None).get("/v1/bids")
    api.get(f"/v1/bids/{bid['id']}")
    admin = repo.create_api_key("acme", "admin", "ops").plaintext
    answer = api.with_key(admin).get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert 'vpp_api_requests_total{method="POST",route="/v1/bids",status="201"} 2.0' in text
    assert 'vpp_api_requests_total{method="GET",route="/v1/bids",status="401"} 1.0' in text
    assert 'route="/v1/bids/{bid_id}",status="200"' in text
    assert "vpp_api_request_duration_seconds_bucket" in text
    assert 'vpp_api_bids_total{market="day_ahead",status="submitted"} 2.0' in text
    assert 'vpp_api_bids_total{market="day_ahead",status="withdrawn"} 1.0' in text
    assert "vpp_store_write_group_size_count 2.0" in text  # two submissions written


def test_a_server_shutting_down_answers_503_and_stores_nothing(
    api: AsgiClient, repo: object
) -> None:
    api.app.state.services.writer.close()
    answer = api.post("/v1/bids", json=single(0))
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert "shutting down" in answer.json()["message"]
    assert api.get("/v1/bids").json()["total"] == 0


def test_openapi_documents_the_endpoints_with_examples(api: AsgiClient) -> None:
    document = api.with_key(None).get("/openapi.json").json()
    paths = document["paths"]
    assert {
        "/v1/bids",
        "/v1/bids/{bid_id}",
        "/v1/bids/{bid_id}/withdraw",
        "/v1/markets",
        "/v1/markets/{country}/products",
        "/healthz",
        "/metrics",
    } <= set(paths)
    submit = paths["/v1/bids"]["post"]
    examples = submit["requestBody"]["content"]["application/json"]["examples"]
    assert examples["one bid"]["value"]["product_id"] == PRODUCT
    assert {"201", "200", "401", "403", "409", "422"} <= set(submit["responses"])
    schemes = document["components"]["securitySchemes"]
    assert {"APIKeyHeader", "HTTPBearer"} <= set(schemes)
