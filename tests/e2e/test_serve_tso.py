"""`vpp serve --tso iec104`: a simulated TSO's aFRR setpoints reach the engine's pool.

A real server process on a simulated clock (x10) with the IEC 104 extra: the sample's
Essen site (a battery prequalified for 10 MW of aFRR, 8 MW of PV, DE_LU) holds 2 MW of
aFRR+ for 14:00-18:00Z, cleared at its gate the day before (bid and clearing stored
before the server starts; the engine books them at its first round). The pool's station
listens on ``--tso-port``; a simulated TSO (a c104 client, `SimulatedTso`) connects to it
and sends +1 MW, then 6 MW (three times the band sold), then drops the link. What the TSO
reads back over the wire says: the band up is the 2 MW cleared (not the battery's 10), the
setpoint in force is 1 MW and then 2 MW (clamped), the pool's measured power less its
schedule follows the setpoint within the full activation time, and there is room up to
report. `GET /v1/engine` names the pool's port and the connected TSO.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("c104", reason="the iec104 extra (c104) is not installed")

from conftest import SHARED_DATA
from serve_process import ServerProcess, create_key, free_port, start_server, vpp

from dispatch.clock import ScaledClock
from dispatch.protocols.iec104.points import PointsMap
from dispatch.protocols.iec104.steps import parse_steps
from dispatch.protocols.iec104.tso import SimulatedTso
from markets.bids import BalancingCapacityBid
from markets.products import Direction
from markets.registry import default_registry
from trading.api.jobs import FolderPrices
from trading.api.server import activation_prices, exchange_prices
from trading.engine.activation import german_pattern, pattern_share_steps
from trading.engine.desk import Desk, EngineClock
from trading.samples import sample_site_portfolio
from trading.store import Actor, Repository, upgrade

TENANT, ZONE = "acme", "DE_LU"
BAND_MW = 2.0
PRODUCT = "DE:afrr_capacity:4h:pos:2026-06-14T14:00Z"  # 14:00-18:00Z, gate 06-13 07:00Z
CLOCK_START = "2026-06-14T15:00:00Z"
SPEED = 10.0
STEPS = "1@5s,6@305s,drop@605s"
"""Simulated seconds from the TSO's start: each step held for 300 s (the FAT)."""
FAT_S = 300.0
REACHED_S = 240.0
"""From this long after a step the pool must hold it [simulated s], within the FAT."""
TOLERANCE_MW = 0.1 * BAND_MW
"""How far the measured pool power less its schedule may be from the setpoint in force once
reached [MW]: the pool's PI and a busy machine's late reads (the station's own accuracy,
2 % of the band, is tested in tests/dispatch/test_iec104.py)."""
DEADLINE_S = 180.0


def stored_capacity(url: str) -> None:
    """The tenant, its portfolio and 2 MW of aFRR+ cleared at its gate, in the store."""
    upgrade(url)
    repository = Repository.from_url(url)
    try:
        if repository.get_tenant(TENANT) is None:
            repository.create_tenant(TENANT, "Acme")
        repository.save_portfolio(
            Actor.system(TENANT), sample_site_portfolio("de-amp-essen", "essen", TENANT)
        )
        now = [datetime(2026, 6, 13, 6, 0, tzinfo=UTC)]
        folder = FolderPrices()
        desk = Desk(
            repository,
            TENANT,
            exchange_prices(folder),
            default_registry(),
            EngineClock(lambda: now[0]),
            activation_prices(folder),
        )
        bid = BalancingCapacityBid(
            product_id=PRODUCT,
            direction=Direction.POS,
            capacity_mw=BAND_MW,
            capacity_price_eur_per_mw_h=0.5,
        )
        desk.submit([bid], "band-1")
        now[0] = datetime(2026, 6, 13, 7, 1, tzinfo=UTC)  # past the gate
        (clearing,) = desk.clear()
        assert clearing.accepted, clearing.reason
    finally:
        repository.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str], int]]:
    url = f"sqlite:///{tmp_path / 'tso.sqlite3'}"
    key = create_key(url, TENANT, "admin")
    stored_capacity(url)
    tso_port = free_port()
    running = start_server(
        url,
        tmp_path / "serve.log",
        "--clock-start",
        CLOCK_START,
        "--clock-speed",
        str(SPEED),
        "--engine-tick",
        "1",
        "--tso",
        "iec104",
        "--tso-port",
        str(tso_port),
    )
    try:
        yield running, {"X-API-Key": key}, tso_port
    finally:
        running.stop()


def wait_for(what: str, server: ServerProcess, probe: Any) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE_S} s\n{server.tail()}"
        time.sleep(0.25)


def test_a_simulated_tsos_setpoints_reach_the_served_pool_within_the_band_sold(
    served: tuple[ServerProcess, dict[str, str], int],
) -> None:
    running, headers, tso_port = served

    def engine() -> dict[str, Any]:
        answer = httpx.get(f"{running.base}/v1/engine", headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def station_up() -> dict[str, Any] | None:
        status = engine()
        assert status.get("error") is None, status
        pools = (status.get("tso") or {}).get("pools", {})
        day = status.get("day") or {}
        return status if ZONE in pools and day.get("positions") else None

    status = wait_for("the pool's station and the band booked", running, station_up)
    assert status["tso"]["pools"][ZONE]["port"] == tso_port
    assert status["tso"]["pools"][ZONE]["connected"] is False

    now = datetime.fromisoformat(
        httpx.get(f"{running.base}/healthz", timeout=30).json()["now"].replace("Z", "+00:00")
    )
    clock = ScaledClock(now, SPEED)  # the server's time line, as near as a test can take it
    points = PointsMap()
    tso = SimulatedTso(clock, parse_steps(STEPS), port=tso_port, points=points)
    connected: list[dict[str, Any]] = []

    async def main() -> None:
        run = asyncio.ensure_future(tso.run())
        await asyncio.sleep(100.0 / SPEED)  # mid-way through the first step
        connected.append(await asyncio.to_thread(engine))
        await run

    asyncio.run(main())

    pool = connected[0]["tso"]["pools"][ZONE]
    assert pool["connected"] is True
    assert pool["setpoint_mw"] == 1.0
    record = tso.record
    assert record.frame_errors == []
    assert record.confirmations, "no setpoint confirmed on the wire"
    assert not any(negative for _t, _mw, negative in record.confirmations)

    def values(ioa: int) -> list[tuple[float, float, datetime | None]]:
        """(received [s], value, time tag) of each good value of `ioa`."""
        return [
            (r.received_t, float(r.value.value), r.value.time_tag)
            for r in tso.readings(ioa)
            if not r.value.quality & 0x80  # IV: no asset answered
        ]

    # the band sold is the capacity cleared: 2 MW up, none down
    assert {v for _t, v, _tag in values(points.band_up)} == {BAND_MW}
    assert {v for _t, v, _tag in values(points.band_down)} == {0.0}
    # the setpoint in force: 1 MW, then the 6 MW asked clamped to the 2 MW band
    in_force = [v for _t, v, _tag in values(points.setpoint_in_force)]
    assert 1.0 in in_force
    assert max(in_force) == BAND_MW
    # room up is reported while the band is held
    assert max(v for _t, v, _tag in values(points.available_up)) > 0.0

    # measured pool power less the schedule follows the setpoint in force, once reached
    # (the station ramps within half the FAT; judged from REACHED_S after each step, which
    # is within the FAT, to its end)
    start = record.sent[0][0]
    scheduled = values(points.scheduled)
    windows = [
        (1.0, start + REACHED_S, start + 295.0),
        (BAND_MW, start + 300.0 + REACHED_S, start + 595.0),
    ]
    for setpoint, first, last in windows:
        deviations = []
        for received, measured, _tag in values(points.measured):
            if not first <= received <= last:
                continue
            planned = [v for t, v, _ in scheduled if t <= received]
            if planned:
                deviations.append(measured - planned[-1] - setpoint)
        assert deviations, f"no measured value read back for the {setpoint} MW step"
        worst = max(deviations, key=abs)
        assert abs(worst) <= TOLERANCE_MW, (setpoint, worst, running.tail())


PATTERN_TOLERANCE_MW = 0.05
"""How far measured less scheduled power may be from a pattern setpoint held a whole half
quarter hour [MW]: the pattern asks 0.1-0.3 MW of this band, so the step test's 10 % of the
band would pass a pool that did nothing (seen: 0.280 and 0.179 MW against 0.296 and 0.172)."""
PATTERN_S = 900.0
"""Simulated seconds of the German pattern `vpp tso simulate` plays (two half-quarters and
more of the 2 MW band)."""


@pytest.mark.realdata
def test_vpp_tso_simulate_plays_the_german_pattern_on_the_band_the_station_reports(
    served: tuple[ServerProcess, dict[str, str], int],
) -> None:
    """The command a TSO's stand-in runs from outside the server: it reads the band sold
    from the station and plays the real German activation pattern on it, and the pool
    follows each setpoint it held long enough to reach."""
    running, headers, tso_port = served

    def station_up() -> bool:
        status = httpx.get(f"{running.base}/v1/engine", headers=headers, timeout=30).json()
        return ZONE in (status.get("tso") or {}).get("pools", {}) and bool(
            (status.get("day") or {}).get("positions")
        )

    wait_for("the pool's station and the band booked", running, station_up)
    now = httpx.get(f"{running.base}/healthz", timeout=30).json()["now"]
    ran = subprocess.run(
        vpp(
            "tso", "simulate", "--port", str(tso_port), "--pattern", "de",
            "--duration", str(PATTERN_S), "--clock-start", now,
            "--clock-speed", str(SPEED), "--json",
        ),
        capture_output=True,
        text=True,
        timeout=PATTERN_S / SPEED + DEADLINE_S,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr + running.tail()
    summary = json.loads(ran.stdout)
    assert summary["frame_errors"] == []
    assert summary["sent"] > 0, summary
    assert summary["confirmed"] == summary["sent"], summary
    assert summary["read_back"]["band_up_mw"]["last"] == BAND_MW
    assert summary["read_back"]["band_down_mw"]["last"] == 0.0

    # what was asked is the pattern's share of the band reported, half-quarter by half-quarter
    start = datetime.fromisoformat(summary["start_utc"].replace("Z", "+00:00"))
    pattern = german_pattern(SHARED_DATA)
    wanted = [
        round(step.setpoint_mw * (BAND_MW if step.setpoint_mw > 0 else 0.0), 3)
        for step in pattern_share_steps(pattern, start, PATTERN_S)
        if step.setpoint_mw is not None
    ]
    changes = [mw for k, mw in enumerate(wanted) if k == 0 or mw != wanted[k - 1]]
    rows = summary["steps"]
    assert [row["asked_mw"] for row in rows] == changes
    assert any(row["asked_mw"] > 0 for row in rows), "the pattern asked nothing up"

    # the station put each in force, and the pool followed those held long enough to reach
    ends = [row["at_s"] for row in rows[1:]] + [PATTERN_S]
    for row, end in zip(rows, ends, strict=True):
        assert row["in_force_mw"] == pytest.approx(row["asked_mw"], abs=1e-3), row
        if end - row["at_s"] >= REACHED_S + 30.0:
            assert row["measured_less_scheduled_mw"] == pytest.approx(
                row["asked_mw"], abs=PATTERN_TOLERANCE_MW
            ), (row, running.tail())
