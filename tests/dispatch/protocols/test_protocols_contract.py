"""Contract tests with independent peers.

- pysunspec2 (a SunSpec client we did not write) scans our battery and PV simulators: every
  model decodes without `error_info`, and it reads the values our adapter reads.
- mbpoll (Debian's C client) reads 'SunS', writes a setpoint, and gets the refusals.
- our ModbusAdapter drives a pyModbusTCP server (a Modbus server we did not write) holding
  the KWK-Control 2 register layout, identified by FC43/14.
- discovery and layout checks against pyModbusTCP servers laid out from pysunspec2's model
  definitions (`sunspec_peer.py`, not from our maps): SunS at 40000, 0 and 50000; model 1
  of length 65 and 66; firmware strings matched (or refused) by the maps' explicit ranges;
  a scale factor changed in place; unknown firmware quarantined; identity re-read first
  after every reconnect; codec errors as device faults.

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
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from sunspec_peer import (
    Peer,
    battery_models,
    pv_models,
    start_fc43_peer,
    start_sunspec_peer,
)

from dispatch.device import DeviceError, DeviceFaultError, MapMismatchError
from dispatch.devices.modbus_sim import SimulatedDevice, make_model
from dispatch.protocols.mapsources import ENV_VAR, reload
from dispatch.protocols.modbus import ModbusAdapter
from dispatch.protocols.registermap import MAPS_DIR, RegisterMapError

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
        ("pv", None, [1, 103, 123, 64210]),
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


# --- discovery and layout checks against pysunspec2-laid-out pyModbusTCP peers ---------------


def run_adapter(peer: Peer, scenario: Any, **options: Any) -> Any:
    """Run `scenario(adapter)` with a fresh adapter on the peer; the peer stops afterwards."""

    async def main() -> Any:
        adapter = ModbusAdapter("peer", "127.0.0.1", peer.port, timeout_s=1.0, **options)
        try:
            return await scenario(adapter)
        finally:
            await adapter.close()

    try:
        return asyncio.run(main())
    finally:
        peer.stop()


@pytest.mark.parametrize("base", [40000, 0, 50000])
@pytest.mark.parametrize("common_length", [65, 66])
def test_suns_is_found_at_every_base_with_either_model_1_length(
    base: int, common_length: int
) -> None:
    peer = start_sunspec_peer(battery_models(common_length=common_length), base=base)

    async def scenario(adapter: ModbusAdapter) -> None:
        identity = await adapter.identify()
        assert adapter.negotiated is not None
        assert adapter.negotiated.probe.base == base
        assert adapter.negotiated.register_map.map_id == "voltaris-bx500-fw1"
        assert identity.models == ((1, common_length), (103, 50), (124, 24))
        assert (identity.vendor, identity.serial, identity.firmware) == (
            "Voltaris",
            "VB5-PEER-1",
            "1.4.2",
        )
        telemetry = await adapter.read()
        assert telemetry.power_mw == pytest.approx(0.0015)
        assert telemetry.soc == pytest.approx(0.5)
        assert telemetry.max_mw == pytest.approx(0.003)
        ack = await adapter.write_setpoint(0.0015)  # 50 % of WChaMax, discharging
        assert ack.read_back_mw == pytest.approx(0.0015)
        assert peer.get_point(124, "OutWRte") == [5000]  # 50.00 % at InOutWRte_SF -2
        assert peer.get_point(124, "StorCtl_Mod") == [3]

    run_adapter(peer, scenario)


@pytest.mark.parametrize(
    ("firmware", "map_id"),
    [("V01.04.02", "voltaris-bx500-fw1"), ("v1.4", "voltaris-bx500-fw1")],
)
def test_lenient_version_strings_are_matched_by_the_maps_ranges(firmware: str, map_id: str) -> None:
    peer = start_sunspec_peer(battery_models(firmware=firmware))

    async def scenario(adapter: ModbusAdapter) -> None:
        identity = await adapter.identify()
        assert identity.firmware == firmware  # reported as the device wrote it
        assert adapter.negotiated is not None
        assert adapter.negotiated.register_map.map_id == map_id

    run_adapter(peer, scenario)


def test_a_release_candidate_is_refused_unless_a_map_range_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1.4.2-rc1 lies inside '>=1.0,<2.0' by number, but that map does not admit
    pre-releases; an operator's map declaring '==1.4.2rc1' is chosen for it."""

    def identify_on(peer: Peer) -> str:
        async def scenario(adapter: ModbusAdapter) -> str:
            await adapter.identify()
            assert adapter.negotiated is not None
            return adapter.negotiated.register_map.map_id

        return run_adapter(peer, scenario)

    with pytest.raises(MapMismatchError) as refused:
        identify_on(start_sunspec_peer(battery_models(firmware="1.4.2-rc1")))
    assert "'1.4.2-rc1' (read as 1.4.2rc1)" in refused.value.reason
    assert "voltaris-bx500-fw1 fw >=1.0,<2.0" in refused.value.reason

    data = yaml.safe_load((MAPS_DIR / "voltaris_bx500_fw1.yaml").read_text(encoding="utf-8"))
    data.update(id="voltaris-bx500-fw142rc1", firmware="==1.4.2rc1")
    (tmp_path / "bx500_rc.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    reload()
    try:
        chosen = identify_on(start_sunspec_peer(battery_models("1.4.2-rc1")))
        assert chosen == "voltaris-bx500-fw142rc1"
        released = identify_on(start_sunspec_peer(battery_models("1.4.2")))
        assert released == "voltaris-bx500-fw1"
    finally:
        monkeypatch.delenv(ENV_VAR)
        reload()


def test_unknown_firmware_is_quarantined_at_connect_and_when_it_changes_in_place() -> None:
    async def at_connect(adapter: ModbusAdapter) -> None:
        with pytest.raises(MapMismatchError, match=r"firmware '3\.1' \(read as 3\.1\)"):
            await adapter.identify()
        assert adapter.errors["map_mismatch"] == 1

    run_adapter(start_sunspec_peer(battery_models(firmware="3.1")), at_connect)

    peer = start_sunspec_peer(battery_models())

    async def in_place(adapter: ModbusAdapter) -> None:
        await adapter.identify()
        await adapter.write_setpoint(0.001)
        writes = len(peer.handler.writes())
        peer.set_point(1, "Vr", "7.0.0")
        with pytest.raises(MapMismatchError, match=r"fw 1\.4\.2 .* fw 7\.0\.0"):
            await adapter.write_setpoint(0.002)
        assert adapter.quarantined
        assert len(peer.handler.writes()) == writes, "a write went through the old map"

    run_adapter(peer, in_place, identity_check_s=0.0)


def test_a_scale_factor_changed_in_place_quarantines_naming_register_and_values() -> None:
    """Same version string, W_SF -> -1 and W re-encoded: the very next read refuses."""
    peer = start_sunspec_peer(battery_models(w=1500, w_sf=0))

    async def scenario(adapter: ModbusAdapter) -> None:
        await adapter.identify()
        assert (await adapter.read()).power_mw == pytest.approx(0.0015)
        peer.set_point(103, "W_SF", -1)
        peer.set_point(103, "W", 15000)  # the same 1.5 kW, in the new layout
        register = peer.address(103, "W_SF")
        with pytest.raises(MapMismatchError) as info:
            await adapter.read()
        assert f"scale factor W_SF at register {register} changed from 0 to -1" in str(info.value)
        assert adapter.quarantined
        writes = len(peer.handler.writes())
        with pytest.raises(MapMismatchError):
            await adapter.write_setpoint(0.001)
        assert len(peer.handler.writes()) == writes
        assert adapter.errors["map_mismatch"] == 2

    run_adapter(peer, scenario)


def test_a_scale_factor_changed_during_a_reboot_is_caught_by_the_reprobe() -> None:
    peer = start_sunspec_peer(battery_models())
    port = peer.port

    async def scenario(adapter: ModbusAdapter) -> None:
        nonlocal peer
        await adapter.identify()
        peer.stop()
        with pytest.raises(DeviceError):
            await adapter.read()
        peer = start_sunspec_peer(battery_models(w=15000, w_sf=-1), port=port)
        with pytest.raises(MapMismatchError, match=r"W_SF .* changed from 0 to -1"):
            await adapter.write_setpoint(0.001)
        assert peer.handler.writes() == []
        assert adapter.reconnects == 1

    try:
        run_adapter(peer, scenario)
    finally:
        peer.stop()


def test_a_pv_limit_scale_changed_in_place_stops_the_write_before_anything_is_sent() -> None:
    """The write path reads the limit's scale factor before encoding: with WMaxLimPct_SF
    0 -> -1 (100 % re-encoded as 1000) nothing is written through the old layout."""
    peer = start_sunspec_peer(pv_models(lim_sf=0))

    async def scenario(adapter: ModbusAdapter) -> None:
        await adapter.identify()
        reading = await adapter.read()
        assert reading.power_mw == pytest.approx(0.030)  # 3000 * 10 W
        # No vendor model 64210 on this device: the map drives it all the same, and its
        # available power is unknown (the rating stands in for it).
        assert reading.max_mw == pytest.approx(0.060)
        await adapter.write_setpoint(0.03)
        assert peer.get_point(123, "WMaxLimPct") == [50]
        writes = len(peer.handler.writes())
        peer.set_point(123, "WMaxLimPct_SF", -1)
        peer.set_point(123, "WMaxLimPct", 500)
        with pytest.raises(MapMismatchError, match=r"WMaxLimPct_SF .* from 0 to -1"):
            await adapter.write_setpoint(0.045)
        assert len(peer.handler.writes()) == writes
        assert peer.get_point(123, "WMaxLimPct") == [500]

    run_adapter(peer, scenario)


def test_a_sunspec_map_that_moved_base_after_a_reboot_is_quarantined() -> None:
    """Same identity and chain, but 'SunS' now at 0: every old address is wrong."""
    peer = start_sunspec_peer(battery_models(), base=40000)
    port = peer.port

    async def scenario(adapter: ModbusAdapter) -> None:
        nonlocal peer
        await adapter.identify()
        peer.stop()
        await adapter.transport.close()
        peer = start_sunspec_peer(battery_models(), base=0, port=port)
        with pytest.raises(MapMismatchError, match=r"marker at 40000.* -> marker at 0"):
            await adapter.write_setpoint(0.001)
        assert peer.handler.writes() == []

    try:
        run_adapter(peer, scenario)
    finally:
        peer.stop()


def test_identity_is_read_again_first_after_every_reconnect() -> None:
    """After a dropped session the first requests on the wire are the SunS marker, the chain
    and model 1; only then data. A device that came back as another one is never written."""
    peer = start_sunspec_peer(battery_models())
    port = peer.port

    async def scenario(adapter: ModbusAdapter) -> None:
        nonlocal peer
        await adapter.identify()
        for expected_reconnects in (1, 2):
            await adapter.transport.close()  # the session drops (network, device reboot)
            peer.handler.requests.clear()
            await adapter.read()
            assert adapter.reconnects == expected_reconnects
            headers = [40002, peer.bodies[103] - 2, peer.bodies[124] - 2, peer.bodies[124] + 24]
            assert peer.handler.requests[:6] == [
                ("read", 40000, 2),  # the marker
                *[("read", address, 2) for address in headers],  # chain, up to its end
                ("read", peer.bodies[1], 64),  # model 1: who is it
            ]
            assert len(peer.handler.requests) > 6, "telemetry was read after the re-probe"
        peer.stop()  # the device reboots with a new firmware, same layout of model 1
        await adapter.transport.close()
        peer = start_sunspec_peer(battery_models(firmware="2.0.1"), port=port)
        with pytest.raises(MapMismatchError, match="identity changed"):
            await adapter.write_setpoint(0.001)
        assert peer.handler.writes() == []
        assert adapter.reprobes == 3

    try:
        run_adapter(peer, scenario)
    finally:
        peer.stop()


def test_a_scale_factor_that_cannot_be_true_is_a_device_fault_naming_the_register() -> None:
    """W_SF = 20 (SunSpec allows -10..10): decoding fails; a device fault, not a crash."""
    peer = start_sunspec_peer(battery_models(w=15, w_sf=20))

    async def scenario(adapter: ModbusAdapter) -> None:
        await adapter.identify()
        with pytest.raises(DeviceFaultError) as info:
            await adapter.read()
        register = peer.address(103, "W")
        assert f"point W at register {register} = 15: scale factor 20 outside" in str(info.value)
        assert info.value.asset_id == "peer"
        assert adapter.errors["device_fault"] == 1
        assert not adapter.quarantined

    run_adapter(peer, scenario)


def test_a_reading_outside_its_declared_range_is_a_device_fault() -> None:
    peer = start_sunspec_peer(battery_models())

    async def scenario(adapter: ModbusAdapter) -> None:
        await adapter.identify()
        peer.set_point(124, "ChaState", 140)  # 140 % charged cannot be true
        with pytest.raises(DeviceFaultError, match=r"ChaState .* = 140 % outside .* \[0, 100\]"):
            await adapter.read()

    run_adapter(peer, scenario)


def kwk_peer(revision: str = "2.1.0") -> Peer:
    #                                  power setpoint min status fw     max serial
    registers = {0: [30, 30, 25, 2, 0x0201, 50, 0x000A, 0x1234]}
    return start_fc43_peer(registers, "Thermogen", "KWK-Control 2", revision)


def test_a_fixed_scale_changed_in_place_is_caught_by_the_setpoint_read_back() -> None:
    """The CHP's firmware switches its power and setpoint registers to 0.1 kW steps (FC43
    identity unchanged): the setpoint register no longer holds what was written."""
    peer = kwk_peer()

    async def scenario(adapter: ModbusAdapter) -> None:
        await adapter.identify()
        ack = await adapter.write_setpoint(0.045)
        assert ack.read_back_mw == pytest.approx(0.045)
        assert (await adapter.read()).setpoint_mw == pytest.approx(0.045)
        peer.bank.set_holding_registers(0, [300, 450])  # 30 kW and 45 kW in 0.1 kW steps
        with pytest.raises(DeviceFaultError) as info:
            await adapter.read()
        assert "point setpoint_kw at register 1 = [0x01C2]" in str(info.value)
        assert "written as [0x002D]" in str(info.value)
        assert adapter.errors["device_fault"] == 1

    run_adapter(peer, scenario)


def test_an_idle_chp_whose_setpoint_register_changed_meaning_is_a_device_fault() -> None:
    """Idle (0 kW), nothing to see in a read; the first write inside the limits the device
    itself declares (25..50 kW) is refused as illegal, because 40 now means 4.0 kW."""
    peer = kwk_peer()
    peer.bank.set_holding_registers(0, [0, 0])

    async def scenario(adapter: ModbusAdapter) -> None:
        await adapter.identify()
        peer.handler.refuse = lambda address, values: address == 1 and 0 < values[0] < 250
        with pytest.raises(DeviceFaultError, match=r"40 kW refused .* declares \[25, 50\] kW"):
            await adapter.write_setpoint(0.040)
        with pytest.raises(DeviceError) as below:  # our own limit check: no device fault
            await adapter.write_setpoint(0.010)
        assert not isinstance(below.value, DeviceFaultError)
        assert adapter.errors["device_fault"] == 1

    run_adapter(peer, scenario)


def test_a_fixed_scale_device_whose_power_leaves_its_range_is_a_device_fault() -> None:
    peer = kwk_peer()

    async def scenario(adapter: ModbusAdapter) -> None:
        await adapter.identify()
        peer.bank.set_holding_registers(0, [4500])  # 4.5 MW from a 50 kW CHP
        with pytest.raises(DeviceFaultError, match=r"power_kw at register 0 = 4500 kW outside"):
            await adapter.read()

    run_adapter(peer, scenario)


def test_a_ten_fold_scale_change_never_written_through_is_caught_against_the_rating() -> None:
    """No setpoint written yet: 30 kW reported as 300 on a 50 kW CHP cannot be true."""
    peer = kwk_peer()

    async def scenario(adapter: ModbusAdapter) -> None:
        await adapter.identify()
        assert (await adapter.read()).power_mw == pytest.approx(0.030)
        peer.bank.set_holding_registers(0, [300, 300])
        with pytest.raises(DeviceFaultError, match=r"power_kw = 300 kW cannot be true .* 50 kW"):
            await adapter.read()

    run_adapter(peer, scenario)


def test_battery_power_beyond_its_rating_is_a_device_fault() -> None:
    peer = start_sunspec_peer(battery_models(w=15000, w_sf=0))  # 15 kW from a 3 kW battery

    async def scenario(adapter: ModbusAdapter) -> None:
        await adapter.identify()
        with pytest.raises(DeviceFaultError, match=r"W = 15 kW cannot be true .* rated 3 kW"):
            await adapter.read()

    run_adapter(peer, scenario)


def test_a_bad_operator_map_is_a_configuration_error_not_a_device_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken.yaml").write_text("id: broken\n", encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    reload()
    try:

        async def scenario(adapter: ModbusAdapter) -> None:
            with pytest.raises(RegisterMapError, match=r"broken\.yaml: field 'vendor'"):
                await adapter.identify()
            assert sum(adapter.errors.values()) == 0

        run_adapter(kwk_peer(), scenario)
    finally:
        monkeypatch.delenv(ENV_VAR)
        reload()


def test_errors_are_counted_by_kind_for_the_metrics() -> None:
    peer = kwk_peer()

    async def scenario(adapter: ModbusAdapter) -> None:
        await adapter.identify()
        assert adapter.errors == {
            "map_mismatch": 0,
            "device_fault": 0,
            "timeout": 0,
            "unreachable": 0,
            "refused": 0,
        }
        assert adapter.reconnects == 0
        with pytest.raises(DeviceError):
            await adapter.write_setpoint(0.010)  # below the 25 kW minimum load: refused
        peer.stop()
        with pytest.raises(DeviceError):
            await adapter.read()
        assert adapter.errors["refused"] == 1
        assert adapter.errors["unreachable"] + adapter.errors["timeout"] == 1

    run_adapter(peer, scenario)
