"""A fleet built from a portfolio leaves out the assets not in service on its day, and says so."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog
from structlog.testing import capture_logs

from dispatch.clock import VirtualClock
from dispatch.portfolio_fleet import portfolio_fleet
from dispatch.schedule import Schedule
from regulatory import Portfolio

START = datetime(2026, 6, 13, 10, 0, tzinfo=UTC)
DECOMMISSIONED = date(2026, 6, 1)
COMMISSIONED = date(2026, 7, 1)


def battery(asset_id: str, **dates: date) -> dict[str, Any]:
    """A 2 MW / 4 MWh battery behind site s1, in service from 2024-03-15 unless `dates` say."""
    return {
        "id": asset_id,
        "kind": "battery",
        "site": "s1",
        "commissioning_date": date(2024, 3, 15),
        "power_charge_mw": 2.0,
        "power_discharge_mw": 2.0,
        "energy_mwh": 4.0,
        "efficiency_charge": 0.95,
        "efficiency_discharge": 0.95,
    } | dates


def portfolio() -> Portfolio:
    """One battery in service, one decommissioned on 2026-06-01, one commissioned 2026-07-01."""
    return Portfolio.model_validate(
        {
            "id": "p1",
            "tenant": "demo",
            "sites": [
                {
                    "id": "s1",
                    "country": "DE",
                    "bidding_zone": "DE_LU",
                    "control_area": "Amprion",
                    "grid_connection_mw": 10.0,
                    "metering_point": "m",
                    "balancing_group": "bg",
                }
            ],
            "assets": [
                battery("bat-running"),
                battery("bat-retired", decommissioning_date=DECOMMISSIONED),
                battery("bat-future", commissioning_date=COMMISSIONED),
            ],
        }
    )


def schedule_of_every_asset(assets: list[str]) -> Schedule:
    """An hour from `START` that plans 1 MW for each asset, also those out of service."""
    index = tuple(START + timedelta(minutes=15 * k) for k in range(4))
    return Schedule(
        portfolio_id="p1",
        plan_id="plan-1",
        created_at=START,
        start=index[0],
        end=index[-1] + timedelta(minutes=15),
        index=index,
        injection_mw=dict.fromkeys(assets, (1.0,) * 4),
    )


@contextmanager
def warnings_captured() -> Iterator[list[dict[str, Any]]]:
    """Capture log events at warning and above, whatever level another test configured."""
    before = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        with capture_logs() as events:
            yield events
    finally:
        structlog.configure(wrapper_class=before)


def fleet_ids(on: date | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """The asset ids of the fleet built at `START` (for day `on`), and the log events."""
    whole = portfolio()
    schedule = schedule_of_every_asset([a.id for a in whole.assets])
    with warnings_captured() as events:
        fleet = portfolio_fleet(whole, schedule, VirtualClock(START), on=on)
    return [member.adapter.asset_id for member in fleet], events


def test_a_decommissioned_and_a_future_asset_get_no_device_even_if_scheduled() -> None:
    ids, _ = fleet_ids()
    assert ids == ["bat-running"]


def test_each_asset_left_out_is_logged_with_its_reason() -> None:
    _, events = fleet_ids()
    left_out = {
        e["asset"]: e["reason"] for e in events if e["event"] == "fleet.asset_out_of_service"
    }
    assert left_out == {
        "bat-retired": "not in service on 2026-06-13: decommissioned 2026-06-01",
        "bat-future": "not in service on 2026-06-13: commissioned 2026-07-01",
    }
    assert all(e["log_level"] == "warning" for e in events if e["event"].startswith("fleet."))


def test_the_day_given_decides_rather_than_the_clock() -> None:
    ids, events = fleet_ids(on=DECOMMISSIONED - timedelta(days=1))
    assert ids == ["bat-running", "bat-retired"]
    assert [e["asset"] for e in events if e["event"] == "fleet.asset_out_of_service"] == [
        "bat-future"
    ]
