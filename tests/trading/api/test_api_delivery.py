"""The desk's routes over the engine's books: positions, current schedule, delivery,
settlement; each tenant sees only its own."""

from __future__ import annotations

from datetime import UTC, date, datetime

from api_fixtures import *  # noqa: F403 - the API fixtures: api, clock, keys, repo
from api_fixtures import AsgiClient, Keys, single
from test_api_plans import small_portfolio

from trading.store import Actor, Repository

DAY = date(2026, 6, 15)
START = datetime(2026, 6, 14, 22, 0, tzinfo=UTC)
END = datetime(2026, 6, 14, 22, 15, tzinfo=UTC)


def books(api: AsgiClient, repo: Repository) -> str:
    """Store a day's books for acme around one bid submitted through the API."""
    repo.save_portfolio(Actor.system("acme"), small_portfolio("acme"))
    answer = api.post("/v1/bids", json=single(0), headers={"Idempotency-Key": "k1"})
    assert answer.status_code == 201
    bid_id = answer.json()["bids"][0]["id"]
    entry = {
        "bid_id": bid_id,
        "market": "day_ahead",
        "product_id": "DE:day_ahead:SDAC:2026-06-14T22:00Z",
        "zone": "DE_LU",
        "direction": None,
        "pool": None,
        "delivery_start": START,
        "delivery_end": END,
        "mw": 1.0,
        "remuneration": 50.0,
    }
    repo.add_positions("acme", "essen", DAY, [entry])
    for version in (1, 2):
        repo.add_schedule_version(
            "acme",
            "essen",
            DAY,
            schedule_id=f"sch-essen-v{version}",
            version=version,
            reason="test",
            plan_id="plan-1",
            bid_ids=[bid_id],
            issued_at=START.replace(hour=version),
            document={"index": []},
        )
    repo.add_metering(
        "acme",
        "essen",
        DAY,
        [
            {
                "asset_id": "bat-de-essen-01",
                "isp_start": START,
                "zone": "DE_LU",
                "measured_mwh": 0.25,
                "truth_mwh": 0.249,
                "complete": True,
            }
        ],
    )
    books = {"revenue_by_market": {"day_ahead": 12.5}, "net_eur": 12.5, "rows": [{"zone": "DE_LU"}]}
    repo.save_settlement("acme", "essen", DAY, books, END)
    return bid_id


def test_the_desk_reads_its_books_and_nobody_elses(
    api: AsgiClient, repo: Repository, keys: Keys
) -> None:
    bid_id = books(api, repo)
    positions = api.get("/v1/positions", params={"day": "2026-06-15"}).json()
    assert positions["total"] == 1
    assert (positions["items"][0]["bid_id"], positions["items"][0]["mw"]) == (bid_id, 1.0)
    current = api.get("/v1/schedules/current").json()
    assert (current["id"], current["version"]) == ("sch-essen-v2", 2)
    delivery = api.get("/v1/delivery", params={"day": "2026-06-15"}).json()
    assert delivery["metering"][0]["measured_mwh"] == 0.25
    assert delivery["zones"] == [{"zone": "DE_LU"}]
    (settled,) = api.get("/v1/settlement", params={"day": "2026-06-15"}).json()
    assert settled["document"]["net_eur"] == 12.5

    other = api.with_key(keys.other_trader)
    assert other.get("/v1/positions", params={"day": "2026-06-15"}).json()["total"] == 0
    assert other.get("/v1/schedules/current").status_code == 404
    assert other.get("/v1/settlement", params={"day": "2026-06-15"}).status_code == 404


def test_a_bad_day_is_refused_naming_it(api: AsgiClient) -> None:
    answer = api.get("/v1/positions", params={"day": "15.06.2026"})
    assert answer.status_code == 422
    assert "day" in answer.text
    assert api.get("/v1/settlement", params={"day": "2026-06-16"}).status_code == 404
