"""`vpp serve --fleet`: a portfolio's engine day dispatches the Modbus devices of its fleet
file through the real client path, and meters and settles what they measured (their truth
is unknown to the engine: stored as none, never faked)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from engine_setup import folder_config, seeded_repository

from dispatch.clock import ScaledClock
from dispatch.devices.modbus_sim import SimulatedDevice
from dispatch.devices.physics import Pv
from dispatch.devices.plant_sims import plant_model
from dispatch.fleet_file import FleetFileError, parse_fleet
from dispatch.portfolio_fleet import battery_physics
from regulatory.assets.storage import Battery as BatteryAsset
from trading.engine.live_books import LiveConfig, delivery_day
from trading.engine.live_day import LiveDay
from trading.store import Repository

TENANT = "acme"
START = datetime(2026, 6, 14, 17, 5, tzinfo=UTC)
UNTIL = datetime(2026, 6, 14, 17, 46, tzinfo=UTC)  # the 17:15 and 17:30 ISPs passed whole
ISPS = (datetime(2026, 6, 14, 17, 15, tzinfo=UTC), datetime(2026, 6, 14, 17, 30, tzinfo=UTC))
SPEED = 30.0
"""Simulated seconds per real one: 41 simulated minutes in 82 s. The day's plan and the
devices' first contact run on this clock too: on a loaded host (load 11) they took 20 real
seconds (600 simulated), so the test judges the first of two ISPs metered whole."""
PV_SHARE = 0.4
"""The PV device's weather: 40 % of its rating, whatever the plan assumed."""


def config(**changes: object) -> LiveConfig:
    return folder_config(**changes)


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    repo = seeded_repository(tmp_path / "engine.sqlite3", TENANT)
    return repo


def test_the_fleet_files_devices_are_dispatched_metered_as_measured_and_settled(
    repository: Repository,
) -> None:
    record = repository.get_portfolio(TENANT, "essen")
    assert record is not None
    portfolio = record.portfolio()
    (battery,) = [a for a in portfolio.assets if isinstance(a, BatteryAsset)]
    day = delivery_day(START)
    truth: dict[str, list[tuple[float, float]]] = {}

    async def main() -> LiveDay:
        clock = ScaledClock(START, SPEED)
        # the "real" devices: plant simulators on loopback, on the same time line
        physics = {
            battery.id: ("battery", battery_physics(battery, 0.0)),
            "pv-de-essen-roof": ("pv", Pv(8.0, profile=lambda _t: PV_SHARE)),
        }
        devices = {
            asset: SimulatedDevice(asset, plant_model(kind, i, p), clock=clock.now)
            for i, (asset, (kind, p)) in enumerate(physics.items())
        }
        ports = {asset: await d.start() for asset, d in devices.items()}
        fleet = parse_fleet(
            {
                "portfolio": "essen",
                "assets": [
                    {"asset_id": a, "host": "127.0.0.1", "port": p} for a, p in ports.items()
                ],
            }
        )
        live = LiveDay(repository, TENANT, portfolio, day, config(fleet=fleet), clock)

        async def watch() -> None:  # what the devices physically did, as the test sees it
            while clock.utc() < UNTIL:
                for asset, device in devices.items():
                    truth.setdefault(asset, []).append((clock.now(), device.physical_power_mw()))
                await asyncio.sleep(0.05)

        try:
            await asyncio.wait_for(
                asyncio.gather(live.run(asyncio.Event(), until=UNTIL), watch()), timeout=120
            )
            for asset, device in devices.items():
                assert device.writes, f"{asset}: the engine wrote no setpoint over Modbus"
        finally:
            for device in devices.values():
                await device.stop()
        return live

    live = asyncio.run(main())

    status = live.status()
    assert status["fleet"] == "modbus"
    assert status["delivered_from"] == "measured (no truth)"
    assert status["lost_assets"] == {}
    rows = repository.list_metering(TENANT, day)
    assert rows
    assert all(m.truth_mwh is None for m in rows)  # no truth invented
    by_isp = {isp: [m for m in rows if m.isp_start.replace(tzinfo=UTC) == isp] for isp in ISPS}
    whole = [isp for isp, ms in by_isp.items() if len(ms) == 2 and all(m.complete for m in ms)]
    assert whole, {isp: [(m.asset_id, m.complete) for m in ms] for isp, ms in by_isp.items()}
    isp = whole[0]
    metering = by_isp[isp]
    assert {m.asset_id for m in metering} == {battery.id, "pv-de-essen-roof"}
    # the measured energy is what the devices did (the test's own samples), within 2 % of
    # each asset's rating over the quarter hour
    edges = (isp - START).total_seconds(), (isp - START).total_seconds() + 900.0
    for m in metering:
        t, p = np.array(truth[m.asset_id]).T
        inside = (t >= edges[0]) & (t <= edges[1])
        did = float(np.trapezoid(p[inside], t[inside])) / 3600.0
        rating = 10.0 if m.asset_id == battery.id else 8.0
        assert m.measured_mwh == pytest.approx(did, abs=0.02 * rating * 0.25), m.asset_id
    pv = next(m for m in metering if m.asset_id == "pv-de-essen-roof")
    assert pv.measured_mwh <= PV_SHARE * 8.0 * 0.25 + 1e-3  # it cannot give more than the sun
    # settled on what was measured
    (settlement,) = repository.list_settlements(TENANT, day)
    row = next(r for r in settlement.document["rows"] if r["start"] == f"{isp:%Y-%m-%dT%H:%M}:00Z")
    measured = sum(m.measured_mwh for m in metering)
    assert row["delivered_mwh"] == pytest.approx(measured, abs=1e-6)
    assert row["metered_mwh"] == pytest.approx(measured, abs=1e-6)
    assert any("device truth is unavailable" in n for n in settlement.document["notes"])
    repository.close()


def test_a_fleet_file_missing_an_asset_of_the_portfolio_stops_the_day_naming_it(
    repository: Repository,
) -> None:
    record = repository.get_portfolio(TENANT, "essen")
    assert record is not None
    fleet = parse_fleet(
        {
            "portfolio": "essen",
            "assets": [{"asset_id": "bat-de-essen-01", "host": "127.0.0.1", "port": 1502}],
        }
    )

    async def main() -> None:
        clock = ScaledClock(START, SPEED)
        live = LiveDay(
            repository, TENANT, record.portfolio(), delivery_day(START), config(fleet=fleet), clock
        )
        await live.run(asyncio.Event(), until=UNTIL)

    with pytest.raises(FleetFileError, match=r"pv-de-essen-roof.*has no device"):
        asyncio.run(main())
    repository.close()
