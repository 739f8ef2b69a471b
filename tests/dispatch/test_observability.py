"""Observability of the dispatcher: one process-wide set of series, per-asset power and state
on a scrape, device counters, dispatch ids unique across runs and naming what they serve."""

from __future__ import annotations

import asyncio
import logging
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import LogCapture

from dispatch.clock import VirtualClock
from dispatch.device import Telemetry
from dispatch.ids import uuid7_time_ms
from dispatch.inproc import InProcessDevice
from dispatch.metrics_server import (
    exposition,
    exposition_of,
    metrics_port_from_env,
    serve_metrics,
)
from dispatch.observability import DispatchMetrics, DispatchSeries
from dispatch.portfolio_fleet import portfolio_fleet
from dispatch.schedule import Schedule
from dispatch.simulation import (
    FaultSpec,
    SimulationOptions,
    inproc_fleet,
    run_fleet,
    schedule_of,
)
from regulatory import Portfolio


@pytest.fixture
def events() -> Iterator[LogCapture]:
    """Every dispatcher event of the test, debug ones included (structlog restored after)."""
    saved = structlog.get_config()
    capture = LogCapture()
    structlog.configure(
        processors=[capture],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    try:
        yield capture
    finally:
        structlog.configure(**saved)


def _run(
    options: SimulationOptions,
    *,
    registry: CollectorRegistry | None = None,
    bid_ids: tuple[str, ...] = (),
    zones: dict[str, str] | None = None,
    make_fleet: Any = inproc_fleet,
) -> tuple[dict[str, Any], list[Any]]:
    """Run `options` in process on a virtual clock; the report and the fleet."""

    async def main() -> tuple[dict[str, Any], list[Any]]:
        clock = VirtualClock(options.start)
        fleet = make_fleet(options, clock)
        schedule = schedule_of(fleet, clock.utc(), options.duration_s)
        if bid_ids:
            schedule = schedule.model_copy(update={"bid_ids": bid_ids})
        metrics = DispatchMetrics(registry, pool=options.pool, zones=zones)
        report = await run_fleet(options, fleet, clock, metrics=metrics, schedule=schedule)
        return report, fleet

    return asyncio.run(main())


def _scrape(registry: CollectorRegistry) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> [(labels, value)] of a collection of `registry`."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in registry.collect():
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


# --- one registry for the process ----------------------------------------------------------


def test_many_runs_and_pools_in_one_process_share_one_set_of_series() -> None:
    registry = CollectorRegistry()
    first = DispatchMetrics(registry, pool="north")
    second = DispatchMetrics(registry, pool="south", zones={"bat-1": "DE_LU"})
    assert first.series is second.series is DispatchSeries.on(registry)
    first.commands.labels("bat-1", "schedule", "modbus").inc()
    second.commands.labels("bat-1", "afrr", "modbus").inc(2)
    assert first.value(
        "vpp_dispatch_commands_total",
        pool="north",
        zone="unknown",
        asset="bat-1",
        market="schedule",
        protocol="modbus",
    ) == pytest.approx(1.0)
    assert second.value(
        "vpp_dispatch_commands_total",
        pool="south",
        zone="DE_LU",
        asset="bat-1",
        market="afrr",
        protocol="modbus",
    ) == pytest.approx(2.0)
    # the default is the process registry, where a second run does not raise "duplicated"
    assert DispatchMetrics(pool="a").registry is REGISTRY
    assert DispatchMetrics(pool="b").series is DispatchSeries.on()


def test_a_run_counts_its_ticks_and_commands_and_a_scrape_shows_each_asset() -> None:
    registry = CollectorRegistry()
    options = SimulationOptions(assets=10, duration_s=20, pool="pool-obs")
    zones = {f"bat-{i:05d}": "NL" for i in range(10)}
    last_read: dict[str, float] = {}

    def recording_fleet(options: SimulationOptions, clock: VirtualClock) -> list[Any]:
        """The in-process fleet, each device's latest reported power kept [MW]."""
        fleet = inproc_fleet(options, clock)
        for member in fleet:
            read = member.device.read

            async def recorded(read: Any = read, asset: str = member.adapter.asset_id) -> Any:
                reading = await read()
                last_read[asset] = reading.power_mw
                return reading

            member.device.read = recorded
        return fleet

    report, fleet = _run(options, registry=registry, zones=zones, make_fleet=recording_fleet)
    ticks = registry.get_sample_value("vpp_dispatch_tick_seconds_count", {"pool": "pool-obs"})
    assert ticks == report["ticks"]["count"]
    scraped = _scrape(registry)
    commands = sum(v for _, v in scraped["vpp_dispatch_commands_total"])
    assert commands == pytest.approx(report["commands_per_s"] * report["duration_s"], rel=0.05)
    powers = {labels["asset"]: (labels, v) for labels, v in scraped["vpp_dispatch_asset_power_mw"]}
    assert set(powers) == {m.adapter.asset_id for m in fleet}
    for member in fleet:  # the last reading of each asset, not the plan
        labels, value = powers[member.adapter.asset_id]
        # What the device last reported; its physics may have moved since (a setpoint
        # written in the last second, seen by the site meter's read after it).
        assert value == last_read[member.adapter.asset_id]
        assert labels["pool"] == "pool-obs"
        assert labels["protocol"] == "inproc"
    assert powers["bat-00000"][0]["zone"] == "NL"
    assert powers["pv-00006"][0]["zone"] == "unknown"
    states = scraped["vpp_dispatch_asset_state"]
    assert len(states) == len(fleet)  # one series per asset, its state as a label
    counts = {labels["state"]: v for labels, v in scraped["vpp_dispatch_assets"]}
    assert sum(counts.values()) == len(fleet)
    assert counts == {k: float(v) for k, v in report["states"].items()}


def test_an_asset_that_goes_silent_shows_as_unavailable_on_the_scrape() -> None:
    registry = CollectorRegistry()
    options = SimulationOptions(
        assets=10, duration_s=20, pool="pool-silent", faults=[FaultSpec("outage", 1, 5)]
    )
    report, _ = _run(options, registry=registry)
    silent = report["faults"][0]["asset"]
    states = {
        labels["asset"]: labels["state"]
        for labels, _ in _scrape(registry)["vpp_dispatch_asset_state"]
    }
    assert states[silent] == "unavailable"
    assert sum(1 for s in states.values() if s == "unavailable") == 1
    assert (
        registry.get_sample_value(
            "vpp_dispatch_asset_state_total", {"pool": "pool-silent", "state": "unavailable"}
        )
        == 1.0
    )


@dataclass
class CountingDevice(InProcessDevice):
    """An in-process device that keeps the counters a Modbus adapter keeps: errors by kind
    and reconnects (each failed read counts a timeout and, once it answers again, a
    reconnect)."""

    errors: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0
    _down: bool = False

    async def read(self) -> Telemetry:
        try:
            reading = await super().read()
        except Exception:
            self.errors["timeout"] = self.errors.get("timeout", 0) + 1
            self._down = True
            raise
        if self._down:
            self.reconnects += 1
            self._down = False
        return reading


def _counting_fleet(options: SimulationOptions, clock: VirtualClock) -> list[Any]:
    fleet = inproc_fleet(options, clock)
    for member in fleet:
        old = member.adapter
        device = CountingDevice(old.asset_id, old.physics, clock, old.kind)
        member.adapter = member.device = device
    return fleet


def test_device_error_and_reconnect_counters_are_served_per_device() -> None:
    registry = CollectorRegistry()
    options = SimulationOptions(assets=10, duration_s=30, pool="pool-count")

    async def main() -> tuple[list[Any], dict[str, Any]]:
        clock = VirtualClock(options.start)
        fleet = _counting_fleet(options, clock)
        metrics = DispatchMetrics(registry, pool=options.pool)

        async def outage() -> None:  # 4 s without answers, then back
            await clock.sleep_until(clock.now() + 8)
            fleet[0].device.inject("silence")
            await clock.sleep_until(clock.now() + 4)
            fleet[0].device.clear()

        report, _ = await asyncio.gather(
            run_fleet(options, fleet, clock, metrics=metrics), outage()
        )
        return fleet, report

    fleet, _ = asyncio.run(main())
    device = fleet[0].device
    assert device.errors["timeout"] >= 2
    assert device.reconnects == 1
    labels = {"pool": "pool-count", "zone": "unknown", "asset": device.asset_id}
    served = registry.get_sample_value(
        "vpp_dispatch_device_errors_total", {**labels, "protocol": "inproc", "kind": "timeout"}
    )
    assert served == device.errors["timeout"]
    assert registry.get_sample_value(
        "vpp_dispatch_device_reconnects_total", {**labels, "protocol": "inproc"}
    ) == pytest.approx(1.0)
    healthy = fleet[1].device.asset_id
    assert registry.get_sample_value(
        "vpp_dispatch_device_reconnects_total",
        {"pool": "pool-count", "zone": "unknown", "asset": healthy, "protocol": "inproc"},
    ) == pytest.approx(0.0)


def test_the_metrics_endpoint_serves_the_registry_over_http() -> None:
    registry = CollectorRegistry()
    metrics = DispatchMetrics(registry, pool="pool-http")
    metrics.tick_seconds.labels("pool-http").observe(0.004)
    server = serve_metrics(0, registry=registry)
    try:
        with urllib.request.urlopen(server.url, timeout=5) as answer:
            text = answer.read().decode()
    finally:
        server.close()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    count = [s for s in families["vpp_dispatch_tick_seconds"].samples if s.name.endswith("_count")]
    assert [(s.labels, s.value) for s in count] == [({"pool": "pool-http"}, 1.0)]


def test_the_port_setting_is_read_from_the_environment() -> None:
    assert metrics_port_from_env({}) is None
    assert metrics_port_from_env({"VPP_METRICS_PORT": " 9464 "}) == 9464
    with pytest.raises(ValueError, match="VPP_METRICS_PORT"):
        metrics_port_from_env({"VPP_METRICS_PORT": "ninety"})


# --- dispatch ids --------------------------------------------------------------------------


def test_two_runs_in_one_process_never_share_a_dispatch_id(events: LogCapture) -> None:
    options = SimulationOptions(assets=6, duration_s=15, pool="pool-ids")
    _run(options)
    first = {e["dispatch_id"] for e in events.entries if e["event"] == "command_sent"}
    events.entries.clear()
    _run(options)  # the same pool, seed and fleet: the same commands, other ids
    second = {e["dispatch_id"] for e in events.entries if e["event"] == "command_sent"}
    assert len(first) >= 3
    assert len(second) == len(first)
    assert first.isdisjoint(second)
    assert max(uuid7_time_ms(i) for i in first) <= min(uuid7_time_ms(i) for i in second)


def test_command_events_name_the_schedule_plan_and_bids_they_serve(events: LogCapture) -> None:
    options = SimulationOptions(
        assets=10, duration_s=20, pool="pool-refs", faults=[FaultSpec("outage", 1, 5)]
    )
    bids = ("NL:DA-2026-06-13-10", "NL:aFRR-pos-2026-06-13-08")
    _run(options, bid_ids=bids)
    sent = [e for e in events.entries if e["event"] == "command_sent"]
    assert sent
    schedule_ids = {e["schedule_id"] for e in sent}
    assert len(schedule_ids) == 1
    assert next(iter(schedule_ids)).startswith("sch-")
    assert {e["plan_id"] for e in sent} == {"sim-10"}
    assert all(e["bid_ids"] == list(bids) for e in sent)
    assert all({"asset", "product", "protocol", "pool"} <= set(e) for e in sent)
    left = [e for e in events.entries if e["event"] == "asset_left_pool"]
    assert left, "the asset that stops answering leaves the pool"
    assert left[0]["bid_ids"] == list(bids)
    assert left[0]["schedule_id"] in schedule_ids
    assert uuid.UUID(left[0]["dispatch_id"]).version == 7


def _one_site_portfolio() -> Portfolio:
    """Two 2 MW / 4 MWh batteries behind one site in DE_LU."""
    battery = {
        "kind": "battery",
        "site": "s1",
        "commissioning_date": date(2024, 3, 15),
        "power_charge_mw": 2.0,
        "power_discharge_mw": 2.0,
        "energy_mwh": 4.0,
        "efficiency_charge": 0.95,
        "efficiency_discharge": 0.95,
    }
    site = {
        "id": "s1",
        "country": "DE",
        "bidding_zone": "DE_LU",
        "control_area": "Amprion",
        "grid_connection_mw": 10.0,
        "metering_point": "m",
        "balancing_group": "bg",
    }
    assets = [{"id": "bat-a", **battery}, {"id": "bat-b", **battery}]
    return Portfolio.model_validate(
        {"id": "p1", "tenant": "demo", "sites": [site], "assets": assets}
    )


def test_a_plan_dispatched_from_its_portfolio_names_its_bids_and_zones(
    events: LogCapture,
) -> None:
    """The demo's path: the plan's own schedule, the portfolio's devices and zones."""
    portfolio = _one_site_portfolio()
    start = datetime(2026, 6, 13, 10, 0, tzinfo=UTC)
    index = tuple(start + timedelta(minutes=15 * k) for k in range(4))
    schedule = Schedule(
        portfolio_id="p1",
        plan_id="plan-p1-2026-06-13-0a1b2c3d",
        created_at=start,
        start=index[0],
        end=index[-1] + timedelta(minutes=15),
        index=index,
        injection_mw={"bat-a": (1.0, -1.0, 1.0, -1.0), "bat-b": (0.5,) * 4},
        bid_ids=("p1:DA-DE_LU-2026-06-13-10", "p1:aFRR-pos:DE_LU-2026-06-13-08"),
    )
    registry = CollectorRegistry()
    options = SimulationOptions(duration_s=20, start=start, pool="p1")
    zones = {a.id: portfolio.site_of(a).bidding_zone for a in portfolio.assets}

    async def main() -> dict[str, Any]:
        clock = VirtualClock(start)
        fleet = portfolio_fleet(portfolio, schedule, clock, on=start.date())
        metrics = DispatchMetrics(registry, pool="p1", zones=zones)
        return await run_fleet(
            options, fleet, clock, metrics=metrics, schedule=schedule, zones=zones
        )

    asyncio.run(main())
    sent = [e for e in events.entries if e["event"] == "command_sent"]
    assert {e["asset"] for e in sent} == {"bat-a", "bat-b"}
    assert {e["schedule_id"] for e in sent} == {schedule.schedule_id}
    assert {e["plan_id"] for e in sent} == {"plan-p1-2026-06-13-0a1b2c3d"}
    assert all(e["bid_ids"] == list(schedule.bid_ids) for e in sent)
    power = _scrape(registry)["vpp_dispatch_asset_power_mw"]
    assert {(labels["asset"], labels["zone"]) for labels, _ in power} == {
        ("bat-a", "DE_LU"),
        ("bat-b", "DE_LU"),
    }


def test_the_fast_exposition_says_exactly_what_the_registry_says() -> None:
    registry = CollectorRegistry()
    options = SimulationOptions(
        assets=10, duration_s=20, pool='pool "quoted"', faults=[FaultSpec("outage", 2, 5)]
    )
    _run(options, registry=registry, zones={"bat-00000": 'DE\\LU "x"'})

    def samples(families: Iterable[Any]) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
        return {
            (s.name, tuple(sorted(s.labels.items())), s.value)
            for f in families
            for s in f.samples
            if s.name.startswith("vpp_dispatch_") and not s.name.endswith("_created")
        }

    fast = samples(text_string_to_metric_families(exposition(registry).decode()))
    slow = samples(registry.collect())
    assert fast == slow
    assert any(dict(labels).get("zone") == 'DE\\LU "x"' for _, labels, _ in fast)
    names = {name for name, _, _ in fast}
    assert {"vpp_dispatch_asset_power_mw", "vpp_dispatch_commands_total"} <= names


@pytest.mark.parametrize("pools", [("pool-a",), ("pool-a", "pool-b")])
def test_several_registries_render_as_one_valid_text_with_every_series(
    pools: tuple[str, ...],
) -> None:
    """`vpp serve`'s scrape: the API's registry and the process's (its pools), or a
    cluster's partitions beside them, in one text. A family several hold is written once
    with all their samples, and the per-asset gauge named like a counter family survives
    (with one pool's registry by the fast pass, with two by the merge)."""
    api = CollectorRegistry()
    Counter("vpp_api_requests", "answered", registry=api).inc()
    registries = [api]
    for pool in pools:
        registries.append(CollectorRegistry())
        _run(SimulationOptions(assets=4, duration_s=10, pool=pool), registry=registries[-1])

    def samples(families: Iterable[Any]) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        return {
            (s.name, tuple(sorted(s.labels.items())))
            for f in families
            for s in f.samples
            if not s.name.endswith("_created")
        }

    text = exposition_of(registries).decode()
    families = list(text_string_to_metric_families(text))
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(names) == len(set(names)), "a family written twice"
    assert samples(families) == set().union(*(samples(r.collect()) for r in registries))
    states = {s.labels["pool"] for f in families for s in f.samples if f.type == "gauge"
              and s.name == "vpp_dispatch_asset_state"}  # fmt: skip
    assert states == set(pools)
