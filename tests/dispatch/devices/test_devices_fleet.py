"""SimulatedFleet: many servers in one loop, mixed models, faults on a share of the fleet."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from dispatch.clock import VirtualClock
from dispatch.device import DeviceError, DeviceTimeoutError
from dispatch.devices.fault_injection import choose_share, inject_share
from dispatch.devices.faults import Fault
from dispatch.devices.modbus_sim import SimulatedDevice, SimulatedFleet, apply_outage, make_model
from dispatch.devices.physics import Battery
from dispatch.inproc import InProcessDevice
from dispatch.protocols.modbus import ModbusAdapter

MODEL_TO_MAP = {
    "VoltaStor BX-500": "voltaris-bx500-fw1",
    "HelioMax 60": "helion-heliomax60-fw1",
    "KWK-Control 2": "thermogen-kwk2-fw2",
}


def test_fleet_of_mixed_devices_and_a_partial_outage() -> None:
    async def scenario() -> None:
        fleet = SimulatedFleet(30)
        members = await fleet.start()
        adapters: list[ModbusAdapter] = []
        try:
            assert len({m.port for m in members}) == 30
            assert {m.model for m in members} == set(MODEL_TO_MAP)
            # A silent device times out; an answering one must not, even when the suite runs
            # on every core beside this test (0.3 s was once too short for a healthy one).
            adapters = [ModbusAdapter(m.asset_id, m.host, m.port, timeout_s=2.0) for m in members]
            identities = await asyncio.gather(*(a.identify() for a in adapters))
            for member, adapter, identity in zip(members, adapters, identities, strict=True):
                assert identity.model == member.model
                assert adapter.negotiated is not None
                assert adapter.negotiated.register_map.map_id == MODEL_TO_MAP[member.model]

            down = apply_outage(fleet.devices.values(), share=0.2, seed=7)
            assert len(down) == 6
            assert down == apply_outage(fleet.devices.values(), share=0.2, seed=7)
            results = await asyncio.gather(*(a.read() for a in adapters), return_exceptions=True)
            failed = sorted(
                m.asset_id
                for m, r in zip(members, results, strict=True)
                if isinstance(r, DeviceError)
            )
            assert failed == down
            assert all(
                isinstance(r, DeviceTimeoutError) for r in results if isinstance(r, Exception)
            )
            apply_outage(fleet.devices.values(), share=0.2, seed=7, silent=False)
            results = await asyncio.gather(*(a.read() for a in adapters), return_exceptions=True)
            assert not [r for r in results if isinstance(r, Exception)]
        finally:
            await asyncio.gather(*(a.close() for a in adapters))
            await fleet.stop()

    asyncio.run(scenario())


def test_unknown_kind_is_refused() -> None:
    async def scenario() -> None:
        with pytest.raises(ValueError, match="unknown device kind"):
            await SimulatedFleet(1, kinds=("wind",)).start()

    asyncio.run(scenario())


def test_a_trip_on_a_share_of_the_fleet_takes_their_power_off_the_grid() -> None:
    async def scenario() -> None:
        now = [0.0]
        fleet = SimulatedFleet(9, clock=lambda: now[0])
        members = await fleet.start()
        adapters: list[ModbusAdapter] = []
        try:
            steady = {"battery": 0.002, "pv": 0.03, "chp": 0.04}  # MW, each within its limits
            for asset_id, device in fleet.devices.items():
                physics = device.model.physics
                physics.power_mw = physics.target_mw = steady[asset_id.split("-")[1]]
            before = {a: d.physical_power_mw() for a, d in fleet.devices.items()}
            tripped = fleet.inject(Fault.TRIP, share=1 / 3, seed=3)
            assert len(tripped) == 3
            now[0] += 2.0
            assert fleet.physical_power_mw() == pytest.approx(
                sum(p for a, p in before.items() if a not in tripped)
            )
            # A silent device times out; an answering one must not, even when the suite runs
            # on every core beside this test (0.3 s was once too short for a healthy one).
            adapters = [ModbusAdapter(m.asset_id, m.host, m.port, timeout_s=2.0) for m in members]
            results = await asyncio.gather(
                *(a.identify() for a in adapters), return_exceptions=True
            )
            failed = sorted(
                m.asset_id
                for m, r in zip(members, results, strict=True)
                if isinstance(r, DeviceError)
            )
            assert failed == tripped
            only_chp = fleet.inject(Fault.STUCK, share=1.0, kind="chp")
            assert only_chp == sorted(a for a in fleet.devices if a.startswith("sim-chp"))
            fleet.clear()
            await fleet.settled()
            assert all(d.fault is None for d in fleet.devices.values())
        finally:
            await asyncio.gather(*(a.close() for a in adapters))
            await fleet.stop()

    asyncio.run(scenario())


def test_the_same_seed_picks_the_same_assets_in_process_and_over_modbus() -> None:
    clock = VirtualClock(datetime(2026, 6, 13, tzinfo=UTC))
    inproc = [
        InProcessDevice(f"sim-battery-{i:05d}", Battery(1.0, -1.0, 1.0), clock, "battery")
        for i in range(20)
    ]
    modbus = [SimulatedDevice(f"sim-battery-{i:05d}", make_model("battery", i)) for i in range(20)]
    picked = inject_share(inproc, "outage", share=0.3, seed=11)
    assert len(picked) == 6
    assert [d.asset_id for d in choose_share(modbus, 0.3, seed=11)] == picked
    assert {d.asset_id for d in inproc if d.fault is Fault.SILENCE} == set(picked)
    with pytest.raises(ValueError, match="within"):
        choose_share(modbus, 1.5)
