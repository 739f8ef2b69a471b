"""Contract tests with independent peers.

- pysunspec2 (a SunSpec client we did not write) scans our battery and PV simulators: every
  model decodes without `error_info`, and it reads the values our adapter reads.
- mbpoll (Debian's C client) reads 'SunS', writes a setpoint, and gets the refusals.
- our ModbusAdapter drives a pyModbusTCP server (a Modbus server we did not write) holding
  the KWK-Control 2 register layout, identified by FC43/14.

pysunspec2, mbpoll and pyModbusTCP block: the simulator runs in a thread with its own loop.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from dispatch.devices.modbus_sim import SimulatedDevice, make_model
from dispatch.protocols.modbus import ModbusAdapter

T = TypeVar("T")
MBPOLL = shutil.which("mbpoll")


class LoopThread:
    """An event loop in a daemon thread; `run()` executes a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@contextmanager
def simulator_in_thread(kind: str, firmware: str | None = None) -> Iterator[SimulatedDevice]:
    runner = LoopThread()
    device = SimulatedDevice(f"contract-{kind}", make_model(kind, 3, firmware))
    runner.run(device.start())
    try:
        yield device
    finally:
        runner.run(device.stop())
        runner.stop()


# --- pysunspec2 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "firmware", "models"),
    [
        ("battery", "1.4.2", [1, 103, 124]),
        ("battery", "2.0.1", [1, 64999, 124, 103]),
        ("pv", None, [1, 103, 123]),
    ],
)
def test_pysunspec2_scans_our_simulators_without_errors(
    kind: str, firmware: str | None, models: list[int]
) -> None:
    from sunspec2.modbus.client import SunSpecModbusClientDeviceTCP

    with simulator_in_thread(kind, firmware) as device:
        client = SunSpecModbusClientDeviceTCP(slave_id=1, ipaddr="127.0.0.1", ipport=device.port)
        try:
            client.scan()
            found = [m for m in client.models if isinstance(m, int)]
            assert found == models
            for model_id in found:
                for model in client.models[model_id]:
                    if model_id >= 64000:  # vendor model: pysunspec2 has no definition for it
                        assert (
                            model.error_info.strip()
                            == f"Model definition not found for model {model_id}"
                        )
                    else:
                        assert model.error_info == "", f"model {model_id}: {model.error_info}"
            common = client.models[1][0]
            assert common.Mn.cvalue == device.model.vendor
            assert common.Md.cvalue == device.model.model
            assert common.Vr.cvalue == device.model.firmware
            inverter = client.models[103][0]
            assert inverter.Hz.cvalue == pytest.approx(50.0)
            assert inverter.A.cvalue is None  # not implemented sentinel
            if kind == "battery":
                storage = client.models[124][0]
                assert storage.ChaState.cvalue == pytest.approx(50.0)
                storage.StorCtl_Mod.value = 2
                storage.OutWRte.cvalue = 50.0
                storage.write()
                storage.read()
                assert storage.OutWRte.cvalue == pytest.approx(50.0)
                assert device.model.setpoint_mw() == pytest.approx(0.0015)
        finally:
            client.close()


# --- mbpoll -------------------------------------------------------------------------------


def mbpoll(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    """One-shot mbpoll call; `args` end with the host and any values to write."""
    assert MBPOLL is not None
    command = [MBPOLL, "-m", "tcp", "-p", str(port), "-a", "1", "-0", "-1", "-q", *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


@pytest.mark.skipif(MBPOLL is None, reason="mbpoll is not installed (apt-get install mbpoll)")
def test_mbpoll_reads_suns_writes_a_setpoint_and_gets_refusals() -> None:
    with simulator_in_thread("battery") as device:
        port = device.port
        marker = mbpoll(port, "-t", "4", "-r", "40000", "-c", "2", "127.0.0.1")
        assert marker.returncode == 0, marker.stderr
        assert "[40000]: \t21365" in marker.stdout or "21365" in marker.stdout
        assert "28243" in marker.stdout  # 0x5375 0x6E53 = "SunS"
        storage = device.model.image.bodies[124]
        rates = mbpoll(port, "-t", "4", "-r", str(storage + 10), "127.0.0.1", "10000", "0")
        assert rates.returncode == 0, rates.stderr
        mode = mbpoll(port, "-t", "4", "-r", str(storage + 3), "127.0.0.1", "2", "0")
        assert mode.returncode != 0  # 2 registers from StorCtl_Mod cover read-only ones
        assert "Illegal data address" in mode.stderr
        mode = mbpoll(port, "-t", "4", "-r", str(storage + 3), "127.0.0.1", "2")
        assert mode.returncode == 0, mode.stderr
        assert device.model.setpoint_mw() == pytest.approx(0.003)
        too_much = mbpoll(port, "-t", "4", "-r", str(storage + 10), "127.0.0.1", "20000")
        assert too_much.returncode == 1
        assert "Illegal data value" in too_much.stderr


# --- pyModbusTCP server driven by our adapter ----------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_our_adapter_drives_an_independent_pymodbustcp_server() -> None:
    from pyModbusTCP.server import DeviceIdentification, ModbusServer

    port = free_port()
    identification = DeviceIdentification(
        vendor_name=b"Thermogen", product_code=b"KWK-Control 2", major_minor_revision=b"2.1.0"
    )
    server = ModbusServer(host="127.0.0.1", port=port, no_block=True, device_id=identification)
    #                                 power setpoint min status fw     max serial
    server.data_bank.set_holding_registers(0, [30, 30, 25, 2, 0x0201, 50, 0x000A, 0x1234])
    server.start()

    async def scenario() -> None:
        adapter = ModbusAdapter("kwk-peer", "127.0.0.1", port, timeout_s=1.0)
        try:
            identity = await adapter.identify()
            assert (identity.vendor, identity.model, identity.firmware) == (
                "Thermogen",
                "KWK-Control 2",
                "2.1.0",
            )
            assert identity.serial == str(0x000A1234)
            telemetry = await adapter.read()
            assert telemetry.power_mw == pytest.approx(0.030)
            assert telemetry.setpoint_mw == pytest.approx(0.030)
            assert telemetry.max_mw == pytest.approx(0.050)
            ack = await adapter.write_setpoint(0.045)
            assert ack.read_back_mw == pytest.approx(0.045)
            assert server.data_bank.get_holding_registers(1, 1) == [45]
            server.data_bank.set_holding_registers(0, [0xFFF6])  # -10 kW, two's complement
            assert (await adapter.read()).power_mw == pytest.approx(-0.010)
        finally:
            await adapter.close()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
