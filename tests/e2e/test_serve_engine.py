"""`vpp serve` runs the engine: a real server process on a fast simulated clock, real HTTP.

A portfolio is saved over the API (the sample's Essen site: a battery and rooftop PV in
DE_LU); the engine starts its embedded simulated fleet on schedule version 1. A
continuous-intraday sale is POSTed for a quarter hour shortly ahead; the server's clearing
loop clears it at its gate, the engine issues a new schedule version serving it, the fleet
delivers it, and every ISP that passes is metered and settled. The books are checked
against figures computed here from `/v1/positions` and `/v1/delivery`.

The clock runs 120 simulated seconds per real one, so the hour the test needs passes in
about half a minute; every wait polls with a generous deadline (the suite may run on
every core beside it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from serve_process import ServerProcess, create_key, start_server

from markets.calendar import delivery_day_of
from trading.api.engine_status import OFF
from trading.api.jobs import FolderPrices
from trading.samples import sample_site_portfolio

TENANT = "acme"
CLOCK_START = "2026-06-14T16:00:00Z"  # evening of a sample-price day: intraday prices are high
SPEED = 120.0
GATE_LEAD = timedelta(minutes=30)
"""German continuous intraday closes 30 minutes before delivery."""
SOLD_MW = 2.0
BELOW_PROXY = 10.0
"""The sale's limit is this far below the intraday price proxy of its quarter hour
[EUR/MWh], so that it fills (at its limit) whenever a slow start moves the quarter hour."""
DEADLINE_S = 240.0


def essen_part() -> dict[str, Any]:
    """The sample's Essen site (10 MW battery, 8 MW rooftop PV, DE_LU), of tenant acme."""
    return sample_site_portfolio("de-amp-essen", "essen", TENANT)


def intraday_proxy(start: datetime) -> float:
    """The server's intraday price proxy of DE_LU for the quarter hour at `start` [EUR/MWh]
    (the sample prices it serves by default)."""
    frame = pd.read_csv(FolderPrices().folder / "intraday.csv")
    row = frame[
        (frame["zone"] == "DE_LU") & (frame["timestamp_utc"] == f"{start:%Y-%m-%dT%H:%M:%S}Z")
    ]
    return float(row["price_eur_mwh"].iloc[0])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def wait_for(what: str, server: ServerProcess, probe: Callable[[], Any]) -> Any:
    """Poll `probe` until it answers something truthy; fail naming `what` after the
    deadline, with the server's output."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE_S} s\n{server.tail()}"
        time.sleep(0.5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'engine.sqlite3'}"
    key = create_key(url, TENANT, "admin")
    running = start_server(
        url,
        tmp_path / "serve.log",
        "--clock-start",
        CLOCK_START,
        "--clock-speed",
        str(SPEED),
        "--clearing-interval",
        "0.5",
        "--engine-tick",
        "5",
    )
    try:
        yield running, {"X-API-Key": key}
    finally:
        running.stop()


def test_serve_clears_schedules_dispatches_meters_and_settles_a_sale(
    server: tuple[ServerProcess, dict[str, str]],
) -> None:
    running, headers = server
    base = running.base

    def get(path: str, **params: str) -> httpx.Response:
        return httpx.get(f"{base}{path}", params=params, headers=headers, timeout=30)

    saved = httpx.post(
        f"{base}/v1/portfolio/assets", json=essen_part(), headers=headers, timeout=60
    )
    assert saved.status_code == 201, saved.text

    def engine_day() -> dict[str, Any] | None:
        status = get("/v1/engine").json()
        assert status.get("error") is None, status
        day = status.get("day")
        return day if day and day.get("schedule") else None

    first = wait_for("schedule version 1", running, engine_day)
    assert first["schedule"]["version"] == 1
    assert first["schedule"]["bids"] == 0
    assert first["assets"] == ["bat-de-essen-01", "pv-de-essen-roof"]

    # a quarter hour whose gate is at least 20 simulated minutes (10 s) ahead
    now = at(httpx.get(f"{base}/healthz", timeout=30).json()["now"])
    delivery = (now + GATE_LEAD + timedelta(minutes=20)).replace(second=0, microsecond=0)
    delivery += timedelta(minutes=-delivery.minute % 15)
    product = f"DE:intraday_continuous:PT15M:{delivery:%Y-%m-%dT%H:%M}Z"
    day = str(delivery_day_of(delivery, "Europe/Berlin"))
    limit = round(intraday_proxy(delivery) - BELOW_PROXY, 2)
    sale = {"type": "single", "product_id": product, "volume_mw": SOLD_MW}
    bids = [{**sale, "price_eur_per_mwh": limit}, {**sale, "price_eur_per_mwh": 3000.0}]
    answer = httpx.post(f"{base}/v1/bids", json=bids, headers=headers, timeout=60)
    assert answer.status_code == 201, answer.text
    sold_id, unsold_id = [b["id"] for b in answer.json()["bids"]]

    # cleared at the gate: the sale filled at its limit, the dear one expired
    def outcome(bid_id: str) -> str | None:
        status = get(f"/v1/bids/{bid_id}").json()["status"]
        return None if status == "submitted" else status

    assert wait_for("the sale's clearing", running, lambda: outcome(sold_id)) == "accepted"
    assert wait_for("the dear bid's expiry", running, lambda: outcome(unsold_id)) == "rejected"
    sold = get(f"/v1/bids/{sold_id}").json()
    assert sold["clearing"]["cleared_volume_mw"] == SOLD_MW
    assert at(sold["history"][-1]["at"]) >= delivery - GATE_LEAD  # at the gate, not before

    # the engine books the clearing from the store at its next round (seconds, not at once)
    def booked() -> list[dict[str, Any]] | None:
        return get("/v1/positions", day=day).json()["items"] or None

    positions = wait_for("the sale's position", running, booked)
    assert [(p["bid_id"], p["mw"], p["remuneration"]) for p in positions] == [
        (sold_id, SOLD_MW, limit)
    ]

    # the schedule version changed after the clearing, serving the sale (a busy machine may
    # also make a re-plan for an asset it judged lost: the version serving the sale counts)
    def new_version() -> dict[str, Any] | None:
        current = get("/v1/schedules/current")
        body = current.json() if current.status_code == 200 else {}
        return body if sold_id in body.get("bid_ids", {}).get("bids", []) else None

    second = wait_for("a schedule version serving the sale", running, new_version)
    assert second["version"] >= 2
    assert at(second["issued_at"]) >= delivery - GATE_LEAD

    # wait until the sold quarter hour and the one after it have passed and been metered
    def metered_past_delivery() -> dict[str, Any] | None:
        day = engine_day()
        last = day and day.get("last_isp_metered")
        return day if last and at(last) > delivery else None

    status = wait_for("the sold ISP metered", running, metered_past_delivery)
    assert status["schedule"]["version"] >= 2
    metrics = get("/metrics").text
    assert f'vpp_engine_schedule_version{{tenant="{TENANT}"}}' in metrics
    assert f'vpp_engine_isps_metered{{tenant="{TENANT}"}}' in metrics
    # one scrape shows the dispatcher's pools and the exchange's clearings too
    ticks = re.findall(r'^vpp_dispatch_tick_seconds_count\{pool="([^"]+)"\} (\S+)$', metrics, re.M)
    assert ticks, "no dispatcher tick series on /metrics"
    assert max(float(count) for _pool, count in ticks) > 0
    assert re.search(r"^vpp_exchange_clearings_total\{.*\} [1-9]", metrics, re.M), metrics[-2000:]

    # the books first, then the metering (which holds at least every ISP the books settled)
    (books,) = get("/v1/settlement", day=day).json()
    document = books["document"]
    rows = document["rows"]
    metering = get("/v1/delivery", day=day).json()["metering"]
    settled = [at(r["start"]) for r in rows]
    assert settled[0] == at(document["first_isp"])
    assert settled[-1] == at(document["last_isp"]) > delivery
    assert settled == [settled[0] + timedelta(minutes=15 * k) for k in range(len(settled))]
    assert document["isps_settled"] == len(settled)
    # every ISP that passed is metered, for each asset, device truth beside the meter
    assets = {"bat-de-essen-01", "pv-de-essen-roof"}
    for start in settled:
        found = [m for m in metering if at(m["isp_start"]) == start]
        assert {m["asset_id"] for m in found} == assets, start
        assert all(m["truth_mwh"] is not None for m in found)

    # the settled rows add up: imbalance = delivered - position, against /v1/positions
    lost = (engine_day() or {}).get("lost_assets")
    for row in rows:
        start = at(row["start"])
        position = sum(
            p["mw"] * 0.25
            for p in positions
            if at(p["delivery_start"]) <= start < at(p["delivery_end"])
        )
        truth = sum(m["truth_mwh"] for m in metering if at(m["isp_start"]) == start)
        assert row["position_mwh"] == pytest.approx(position, abs=1e-9)
        assert row["delivered_mwh"] == pytest.approx(truth, abs=1e-5)
        assert row["imbalance_mwh"] == pytest.approx(
            truth - position - row["afrr_requested_mwh"], abs=2e-5
        )
        assert row["imbalance_eur"] == pytest.approx(
            row["imbalance_mwh"] * row["imbalance_price_eur_mwh"], abs=0.011
        )
        if start == delivery and not lost:  # the fleet delivered the sale
            assert truth == pytest.approx(SOLD_MW * 0.25, abs=0.25)  # loose: a busy machine
    revenue = round(sum(p["mw"] * p["remuneration"] * 0.25 for p in positions), 2)
    assert document["revenue_by_market"] == {"intraday_continuous": revenue}
    assert revenue == round(SOLD_MW * 0.25 * limit, 2)
    imbalance_cost = -sum(r["imbalance_eur"] for r in rows)
    assert document["imbalance_cost_eur"] == pytest.approx(imbalance_cost, abs=0.01 * len(rows))
    net = document["revenue_eur"] - document["costs_eur"] - document["imbalance_cost_eur"]
    assert document["net_eur"] == pytest.approx(round(net, 2), abs=1e-9)
    assert document["final"] is False


def test_serve_without_the_engine_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'off.sqlite3'}"
    key = create_key(url, TENANT, "admin")
    running = start_server(url, tmp_path / "serve.log", "--no-engine")
    try:
        headers = {"X-API-Key": key}
        saved = httpx.post(
            f"{running.base}/v1/portfolio/assets", json=essen_part(), headers=headers, timeout=60
        )
        assert saved.status_code == 201, saved.text
        status = httpx.get(f"{running.base}/v1/engine", headers=headers, timeout=30).json()
        assert status == {**status, "running": False, "reason": OFF}
        time.sleep(3.0)  # an engine would have issued version 1 by now (within a second)
        gone = httpx.get(f"{running.base}/v1/schedules/current", headers=headers, timeout=30)
        assert gone.status_code == 404  # nothing dispatches, nothing is issued
    finally:
        running.stop()
