"""SimulatedFleet: many servers in one loop, mixed models, outages on a share of the fleet."""

from __future__ import annotations

import asyncio

import pytest

from dispatch.device import DeviceError, DeviceTimeoutError
from dispatch.devices.modbus_sim import SimulatedFleet, apply_outage
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
            adapters = [ModbusAdapter(m.asset_id, m.host, m.port, timeout_s=0.3) for m in members]
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
