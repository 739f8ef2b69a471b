"""The wire of `vpp serve --cluster` (`dispatch.cluster.wire`): a partition elsewhere
reaches the server's own devices as it reaches a field, fencing included, and its reports
reach the server's coordinator; a server that goes away fails the partition's calls
instead of hanging them, and the partition reconnects when it is back."""

from __future__ import annotations

import asyncio
import time

import pytest

from dispatch.cluster.field import DeviceField, WallClock
from dispatch.cluster.wire import FieldClient, FieldServer
from dispatch.simulation import SimulationOptions, inproc_fleet


def server_devices() -> DeviceField:
    """Three simulated devices as a server holds them (built before the wire exists)."""
    members = inproc_fleet(SimulationOptions(assets=3, site_size=0), WallClock(time.time()))
    return DeviceField.of({m.adapter.asset_id: m.adapter for m in members})  # type: ignore[misc]


def test_a_partition_writes_reads_and_reports_through_the_wire_and_old_tokens_are_refused() -> None:
    field = server_devices()
    asset = sorted(field.devices)[0]
    reports: list[tuple[str, float, float, float, float]] = []

    def report(p: str, t: float, target: float, measured: float, available: float) -> float:
        reports.append((p, t, target, measured, available))
        return 1.5

    async def scenario() -> None:
        server = FieldServer(field.exchange, report)
        host, port = await server.start("127.0.0.1")
        client = FieldClient(host, port)
        try:
            answers, readings = await client.exchange([(asset, 0.25, ("p.0", 2, "b"))], [asset])
            assert answers == [(True, None)]
            assert readings[0] is not None
            assert readings[0][1] == pytest.approx(0.25)  # the setpoint the device holds
            # an owner with an older token (as after a network split) is refused
            answers, _ = await client.exchange([(asset, -0.25, ("p.0", 1, "a"))], [])
            assert answers[0][0] is False
            assert "DeviceFencedError" in str(answers[0][1])
            assert await client.report("p.0", 12.0, 3.0, 2.5, 4.0) == 1.5
        finally:
            await client.close()
            await server.close()

    asyncio.run(scenario())
    assert field.devices[asset].fence.refused == 1  # type: ignore[attr-defined]
    assert reports == [("p.0", 12.0, 3.0, 2.5, 4.0)]


def test_a_partition_fails_fast_while_the_server_is_away_and_reconnects_when_back() -> None:
    field = server_devices()
    asset = sorted(field.devices)[0]

    async def scenario() -> None:
        server = FieldServer(field.exchange, lambda *args: 0.0)
        host, port = await server.start("127.0.0.1")
        client = FieldClient(host, port)
        await client.exchange([], [asset])
        await server.close()
        await asyncio.sleep(0.1)
        with pytest.raises(ConnectionError):  # refused or reset: never a hang
            await asyncio.wait_for(client.exchange([], [asset]), timeout=30)
        again = FieldServer(field.exchange, lambda *args: 0.0)
        await again.start(host, port)
        try:
            _, readings = await asyncio.wait_for(client.exchange([], [asset]), timeout=30)
            assert readings[0] is not None
        finally:
            await client.close()
            await again.close()

    asyncio.run(scenario())
