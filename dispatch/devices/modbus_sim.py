"""Simulated devices as pymodbus Modbus TCP servers on loopback, with fault injection.

Each `SimulatedDevice` is one `ModbusTcpServer` with one `SimDevice` whose async `action`
hook (the pymodbus 3.16 way) does all the work on every request:

- physics is advanced by the elapsed time of `clock` (real by default, injectable);
- reads: the register image is refreshed from physics and copied into pymodbus' registers;
  reads past the image's end are refused (exception 2, illegal data address);
- writes: read-only registers -> exception 2, bad values -> exception 3; accepted writes are
  recorded in `writes` and the commanded setpoint goes to physics (subject to faults).

Faults (`Faults`, switchable at runtime): silence, ack without execution, partial execution,
slow ramp; `change_firmware()` switches the register layout and reboots (drops every TCP
connection). `SimulatedFleet` runs many devices in one event loop; `apply_outage()` silences a
share of them.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from dispatch.devices.sim_models import HelioMaxSim, KwkControlSim, SimModel, VoltaStorSim

WRITE_CODES = frozenset({5, 6, 15, 16, 22, 23})


@dataclass
class Faults:
    """Runtime-switchable misbehaviour of one simulated device."""

    silent: bool = False
    """Accept TCP and requests, never answer."""
    ack_without_execution: bool = False
    """Accept and store writes; physics never gets the setpoint."""
    execution_fraction: float = 1.0
    """Partial execution: physics gets setpoint * fraction."""
    ramp_factor: float = 1.0
    """Slow ramp: physics ramps at its nominal rate * factor."""


@dataclass(frozen=True)
class WriteRecord:
    """One accepted write as the device saw it: clock time [s], PDU address, registers."""

    at: float
    address: int
    values: tuple[int, ...]


class SimulatedDevice:
    """One simulated device served over Modbus TCP (unit id 1, plus id 0 as catch-all)."""

    def __init__(
        self,
        asset_id: str,
        model: SimModel,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.asset_id = asset_id
        self.model = model
        self.host = host
        self.port = port
        self.clock = clock
        self.faults = Faults()
        self.writes: list[WriteRecord] = []
        self.requests = 0
        self._nominal_ramp = model.physics.ramp_mw_per_s
        self._last = clock()
        self._server: ModbusTcpServer | None = None
        self._unsilenced = asyncio.Event()
        self._unsilenced.set()

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> int:
        """Listen (port 0 picks a free one, kept across reboots); returns the port."""
        identity = None
        if (objects := self.model.fc43()) is not None:
            identity = ModbusDeviceIdentification(info_name=objects)
        base, size = self.model.image.base, self.model.block_size
        block = SimData(base, count=size, values=0, datatype=DataType.REGISTERS)
        devices = [
            SimDevice(id=unit, simdata=[block], action=self._action, identity=identity)
            for unit in (1, 0)
        ]
        server = ModbusTcpServer(devices, address=(self.host, self.port), identity=identity)
        await server.serve_forever(background=True)
        self.port = server.transport.sockets[0].getsockname()[1]
        self._server = server
        return self.port

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        self._unsilenced.set()
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()

    async def reboot(self) -> None:
        """Drop connections and listen again on the same port (like a device reboot)."""
        await self.stop()
        self._unsilenced = asyncio.Event()
        self._unsilenced.set()
        if self.faults.silent:
            self._unsilenced.clear()
        await self.start()

    async def change_firmware(self, version: str) -> None:
        """Install another firmware: new register layout, then a reboot."""
        self.advance()
        self.model.set_firmware(version)
        setpoint = self.model.setpoint_mw()  # rebooted: follows the fresh registers (idle)
        if setpoint is not None:
            self.model.physics.set_setpoint(setpoint)
        await self.reboot()

    # --- faults ------------------------------------------------------------------------
    def set_silent(self, silent: bool) -> None:
        """Switch silence on/off (requests waiting while silent are answered late)."""
        self.faults.silent = silent
        if silent:
            self._unsilenced.clear()
        else:
            self._unsilenced.set()

    def set_ramp_factor(self, factor: float) -> None:
        """Slow (or speed up) the ramp: nominal rate * factor."""
        self.faults.ramp_factor = factor
        self.model.physics.ramp_mw_per_s = self._nominal_ramp * factor

    # --- physics -----------------------------------------------------------------------
    def advance(self) -> None:
        """Step physics by the clock time elapsed since the last step."""
        now = self.clock()
        dt = now - self._last
        if dt > 0.0:
            self.model.physics.step(dt)
        self._last = now

    @property
    def power_mw(self) -> float:
        """True power now [MW, + injection] (the simulator's side, for tests)."""
        self.advance()
        return self.model.physics.power_mw

    # --- the pymodbus hook -------------------------------------------------------------
    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.requests += 1
        if not self._unsilenced.is_set():
            await self._unsilenced.wait()
            return ExcCodes.DEVICE_BUSY
        self.advance()
        image = self.model.image
        if address < image.base or address + count > image.end:
            return ExcCodes.ILLEGAL_ADDRESS
        if set_values is None or function_code not in WRITE_CODES:
            self.model.refresh()
            first = address - start_address
            registers[first : first + count] = image.regs[
                address - image.base : address - image.base + count
            ]
            return None
        values = [int(v) for v in set_values]
        if any(address + i not in image.writable for i in range(len(values))):
            return ExcCodes.ILLEGAL_ADDRESS
        if self.model.check_write(address, values) is not None:
            return ExcCodes.ILLEGAL_VALUE
        for i, value in enumerate(values):
            image.put(address + i, value)
        self.writes.append(WriteRecord(self.clock(), address, tuple(values)))
        setpoint = self.model.setpoint_mw()
        if setpoint is not None and not self.faults.ack_without_execution:
            self.model.physics.set_setpoint(setpoint * self.faults.execution_fraction)
        return None


MODEL_NAMES = {
    "battery": "VoltaStor BX-500",
    "pv": "HelioMax 60",
    "chp": "KWK-Control 2",
}


def make_model(kind: str, index: int, firmware: str | None = None) -> SimModel:
    """A fresh simulated model of kind "battery", "pv" or "chp" (serial from index)."""
    if kind == "battery":
        return VoltaStorSim(f"VB5-{index:06d}", firmware or "1.4.2")
    if kind == "pv":
        return HelioMaxSim(f"HM60-{index:06d}", firmware or "1.2.0")
    if kind == "chp":
        return KwkControlSim(700000 + index, firmware or "2.3.1")
    raise ValueError(f"unknown device kind {kind!r}; known: {sorted(MODEL_NAMES)}")


@dataclass(frozen=True)
class FleetMember:
    """Where to reach one simulated asset."""

    asset_id: str
    host: str
    port: int
    model: str


@dataclass
class SimulatedFleet:
    """N simulated devices (kinds cycled from `kinds`) on free loopback ports, one loop."""

    n: int
    kinds: tuple[str, ...] = ("battery", "pv", "chp")
    clock: Callable[[], float] = time.monotonic
    devices: dict[str, SimulatedDevice] = field(default_factory=dict)

    async def start(self) -> list[FleetMember]:
        """Start every server; returns (asset_id, host, port, model) per device."""
        members = []
        for index in range(self.n):
            kind = self.kinds[index % len(self.kinds)]
            asset_id = f"sim-{kind}-{index:05d}"
            device = SimulatedDevice(asset_id, make_model(kind, index), clock=self.clock)
            port = await device.start()
            self.devices[asset_id] = device
            members.append(FleetMember(asset_id, device.host, port, MODEL_NAMES[kind]))
        return members

    async def stop(self) -> None:
        """Stop every server."""
        for device in self.devices.values():
            await device.stop()


def apply_outage(
    devices: Iterable[SimulatedDevice], share: float, seed: int = 0, silent: bool = True
) -> list[str]:
    """Silence (or, with silent=False, revive) a random `share` [0..1] of the devices.

    Returns the affected asset ids (sorted), reproducible for a given seed.
    """
    pool = sorted(devices, key=lambda d: d.asset_id)
    chosen = random.Random(seed).sample(pool, round(share * len(pool)))
    for device in chosen:
        device.set_silent(silent)
    return sorted(device.asset_id for device in chosen)
