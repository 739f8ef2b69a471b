"""Over real Modbus TCP (pymodbus simulators on loopback): /metrics shows each device's
own error counters, its measured power and its state, and a silent device stands out."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from dispatch.metrics_server import exposition
from dispatch.modbus_fleet import run_modbus_simulation
from dispatch.simulation import FaultSpec, SimulationOptions

POOL = "pool-modbus-metrics"


def test_a_silent_modbus_device_shows_its_timeouts_and_its_state_on_the_scrape() -> None:
    options = SimulationOptions(
        assets=5, duration_s=10, pool=POOL, faults=[FaultSpec("silence", 1, 3)]
    )
    report = run_modbus_simulation(options)
    (fault,) = report["faults"]
    silent = fault["asset"]
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(exposition(REGISTRY).decode()):
        for sample in family.samples:
            if sample.labels.get("pool") == POOL:
                samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    timeouts = {
        labels["asset"]: value
        for labels, value in samples["vpp_dispatch_device_errors_total"]
        if labels["kind"] == "timeout"
    }
    assert len(timeouts) == 5  # every Modbus device has its counters
    assert timeouts[silent] >= 2  # it stopped answering for 7 s
    assert all(v == 0 for asset, v in timeouts.items() if asset != silent)
    states = {labels["asset"]: labels["state"] for labels, _ in samples["vpp_dispatch_asset_state"]}
    assert states[silent] == "unavailable"
    power = samples["vpp_dispatch_asset_power_mw"]
    assert {labels["protocol"] for labels, _ in power} == {"modbus"}
    assert len(samples["vpp_dispatch_device_reconnects_total"]) == 5
