"""Simulated devices as pymodbus Modbus TCP servers on loopback, with fault injection.

Each `SimulatedDevice` is one `ModbusTcpServer` serving one unit id (`unit_id`, default 1)
whose requests go through the device's own handler before pymodbus sees them:

- silence (``silence`` and ``trip``): every request, whatever its unit id or function, waits
  until the device answers again and then gets exception 6 (device busy): the client sees
  no answer within its deadline;
- another unit id: exception 0x0B (gateway target device failed to respond). Modbus TCP
  addresses the device by IP (Messaging on TCP/IP Implementation Guide V1.0b, 4.4.1.2);
  an interface that serves units behind it answers a unit it does not have with 0x0B
  (Application Protocol V1.1b3, 7), so a wrong unit id is said at once rather than looking
  like a dead device. There is no catch-all unit and no broadcast (unit 0 is just another
  unit: broadcast does not exist on Modbus TCP);
- FC43/14 (read device identification): answered per device from its own model
  (`dispatch.devices.sim_fc43`), never from pymodbus' process-wide identity;
- everything else goes to the SimDevice `action` hook (the pymodbus 3.16 way): physics is
  advanced by the elapsed time of `clock` (real by default, injectable), reads refresh the
  register image from physics (reads past its end: exception 2), writes to read-only
  registers are exception 2, bad values exception 3; accepted writes are recorded in
  `writes` and the commanded setpoint goes to physics (faults permitting).

How each fault (`dispatch.devices.faults.Fault`, given with `inject`, removed with `clear`)
shows on the wire, and what the device physically does (`physical_power_mw()`):

- ``trip``: no answer (as silence above); physics drops to 0 MW at once and ignores the
  setpoint its registers still hold.
- ``silence``: no answer; physics runs on at the last setpoint.
- ``ack_no_exec``: writes answered normally and stored (read back unchanged); physics never
  gets them.
- ``partial``: writes answered and stored; physics gets 0.6 x the setpoint.
- ``slow_ramp``: all normal on the wire; physics ramps at 0.1 x its rated rate.
- ``stuck``: writes answered and stored; power frozen, so the measured-power register stays.
- ``fake_meter``: writes answered and stored; physics frozen where it was; the
  measured-power register (model 103 W, or CHP register 0) reports the setpoint the
  registers command (PV: the limit, rated when disabled); a battery's ChaState follows the
  real power.
- ``firmware``: a new version (`SimModel.firmware_update()`: battery 2.0.0, a known layout
  with another chain order, W_SF -1 and the W sign flipped; PV 9.0.0 and CHP 9.0, no map
  knows them) and a reboot: every TCP connection dropped, listening again on the same port;
  after it, model 1 Vr / FC43 MajorMinorRevision show the new version, the registers are
  fresh (setpoints idle) and physics follows them.
- ``firmware_inplace``: no reboot, same identity (model 1 and FC43 unchanged, connections
  kept), but scale factors change and the values they scale are re-encoded:
  battery model 103 W_SF 0 -> -1 (fw 2.x: -1 -> 0) and model 124 InOutWRte_SF -2 -> -1;
  PV model 103 W_SF 1 -> 2 and model 123 WMaxLimPct_SF -1 -> -2; the CHP (no SunSpec)
  register 0 (power) and 1 (setpoint) switch from kW to 0.1 kW while registers 2 and 5
  (min load, max) stay in kW, so with the CHP running its power reads 10x the max, its held
  setpoint reads 10x what was written, and a setpoint write in kW (25..50) is refused with
  exception 3 (it means 2.5..5 kW, below min load). A reader that re-reads the scale
  factors gets right values; one that assumes the negotiated ones is wrong by 10x (or 100x
  on writes): the adapter's layout check must compare them.

`SimulatedFleet` runs many devices in one event loop; `inject_share()` gives a fault kind
to a share of them, `apply_outage()` silences (or revives) a share.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ExceptionResponse
from pymodbus.pdu.mei_message import ReadDeviceInformationRequest
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import DataType, SimData, SimDevice

from dispatch.devices import sim_fc43
from dispatch.devices.fault_injection import choose_share, inject_share
from dispatch.devices.faults import OUTAGE_ALIAS, Fault
from dispatch.devices.sim_models import HelioMaxSim, KwkControlSim, SimModel, VoltaStorSim
from dispatch.devices.sim_registers import CHASTATE_SF

WRITE_CODES = frozenset({5, 6, 15, 16, 22, 23})
PARTIAL_SHARE = 0.6
"""A ``partial`` device executes this share of each setpoint."""
SLOW_RAMP_FACTOR = 0.1
"""A ``slow_ramp`` device ramps at this share of its rated rate."""


@dataclass
class Faults:
    """Runtime-switchable misbehaviour of one simulated device (set by `inject`)."""

    silent: bool = False
    """Accept TCP and requests, never answer."""
    ack_without_execution: bool = False
    """Accept and store writes; physics never gets the setpoint."""
    execution_fraction: float = 1.0
    """Partial execution: physics gets setpoint * fraction."""
    ramp_factor: float = 1.0
    """Slow ramp: physics ramps at its nominal rate * factor."""
    fake_meter: bool = False
    """The measured-power register reports the commanded setpoint."""


@dataclass(frozen=True)
class WriteRecord:
    """One accepted write as the device saw it: clock time [s], PDU address, registers."""

    at: float
    address: int
    values: tuple[int, ...]


class _DeviceRequestHandler(ServerRequestHandler):
    """pymodbus' per-connection handler, with the device's own silence, unit id and FC43."""

    server: _DeviceServer

    async def handle_request(self) -> None:
        pdu, addr = self.last_pdu, self.last_addr
        if not pdu:
            return
        device = self.server.device
        if not device._unsilenced.is_set():
            await device._unsilenced.wait()
            self._answer(pdu, ExceptionResponse(pdu.function_code, ExcCodes.DEVICE_BUSY), addr)
            return
        if pdu.dev_id != device.unit_id:
            failed = ExceptionResponse(pdu.function_code, ExcCodes.GATEWAY_NO_RESPONSE)
            self._answer(pdu, failed, addr)
            return
        if isinstance(pdu, ReadDeviceInformationRequest):
            device.requests += 1
            self.server_send(sim_fc43.answer(pdu, device.model.fc43()), addr)
            return
        await super().handle_request()

    def _answer(self, pdu: Any, response: ExceptionResponse, addr: Any) -> None:
        response.transaction_id = pdu.transaction_id
        response.dev_id = pdu.dev_id
        self.server_send(response, addr)


class _DeviceServer(ModbusTcpServer):
    """A `ModbusTcpServer` whose connections are handled by `_DeviceRequestHandler`."""

    def __init__(self, device: SimulatedDevice, devices: list[SimDevice], **kwargs: Any) -> None:
        super().__init__(devices, **kwargs)
        self.device = device

    def callback_new_connection(self) -> _DeviceRequestHandler:
        return _DeviceRequestHandler(self, self.trace_packet, self.trace_pdu, self.trace_connect)


class SimulatedDevice:
    """One simulated device served over Modbus TCP, answering only `unit_id`."""

    def __init__(
        self,
        asset_id: str,
        model: SimModel,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        unit_id: int = 1,
    ) -> None:
        self.asset_id = asset_id
        self.model = model
        self.host = host
        self.port = port
        self.clock = clock
        self.unit_id = unit_id
        self.faults = Faults()
        self.fault: Fault | None = None
        self.writes: list[WriteRecord] = []
        self.requests = 0
        self._original_firmware = model.firmware
        self._nominal_ramp = model.physics.ramp_mw_per_s
        self._last = clock()
        self._server: _DeviceServer | None = None
        self._unsilenced = asyncio.Event()
        self._unsilenced.set()
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> int:
        """Listen (port 0 picks a free one, kept across reboots); returns the port."""
        base, size = self.model.image.base, self.model.block_size
        block = SimData(base, count=size, values=0, datatype=DataType.REGISTERS)
        unit = SimDevice(id=self.unit_id, simdata=[block], action=self._action)
        server = _DeviceServer(self, [unit], address=(self.host, self.port))
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
        self._install(version)
        await self.reboot()

    def _install(self, version: str) -> None:
        """The new layout at once (the reboot that goes with it is the caller's)."""
        self.advance()
        self.model.set_firmware(version)
        setpoint = self.model.setpoint_mw()  # rebooted: follows the fresh registers (idle)
        if setpoint is not None:
            self.model.physics.set_setpoint(setpoint)

    async def settled(self) -> None:
        """Wait until every reboot a fault (or its clearing) started has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    # --- faults ------------------------------------------------------------------------
    def inject(self, fault: Fault | str) -> None:
        """Give the device `fault` from now on, replacing any other (see the module doc for
        how each shows on the wire). ``firmware`` reboots in a task: `settled()` waits for
        it. The old name "outage" is ``silence``."""
        kind = Fault.SILENCE if fault == OUTAGE_ALIAS else Fault(fault)
        self.clear()
        self.fault = kind
        physics = self.model.physics
        if kind is Fault.TRIP:
            physics.trip()
            self.set_silent(True)
        elif kind is Fault.SILENCE:
            self.set_silent(True)
        elif kind is Fault.ACK_NO_EXEC:
            self.faults.ack_without_execution = True
        elif kind is Fault.PARTIAL:
            self.faults.execution_fraction = PARTIAL_SHARE
        elif kind is Fault.SLOW_RAMP:
            self.set_ramp_factor(SLOW_RAMP_FACTOR)
        elif kind is Fault.STUCK:
            physics.hold()
        elif kind is Fault.FAKE_METER:
            physics.hold()
            self.faults.fake_meter = True
        elif kind is Fault.FIRMWARE:
            self._install(self.model.firmware_update())
            self._reboot_if_serving()
        else:
            self.model.set_inplace(True)

    def clear(self) -> None:
        """Remove any fault: answers again, a tripped device resets (idle at 0 MW until the
        next write), one that did not execute its registers (held, ack_no_exec, partial)
        follows them again, the original firmware and layout come back (a changed firmware
        with a reboot)."""
        self.advance()
        physics = self.model.physics
        if physics.tripped:
            physics.reset()
        physics.release()
        self.set_ramp_factor(1.0)
        self.set_silent(False)
        skipped = self.faults.ack_without_execution or self.faults.execution_fraction != 1.0
        if self.writes and (skipped or self.fault in (Fault.STUCK, Fault.FAKE_METER)):
            setpoint = self.model.setpoint_mw()  # healthy: follows what its registers hold
            if setpoint is not None:
                physics.set_setpoint(setpoint)
        self.faults = Faults()
        self.model.set_inplace(False)
        if self.model.firmware != self._original_firmware:
            self._install(self._original_firmware)
            self._reboot_if_serving()
        self.fault = None

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

    def _reboot_if_serving(self) -> None:
        """Reboot in a task if listening (a device not started yet starts with the new
        firmware)."""
        if self._server is not None or self._tasks:
            self._in_task(self.reboot())

    def _in_task(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in a task after any earlier one (reboots never overlap)."""
        earlier = list(self._tasks)

        async def in_turn() -> None:
            await asyncio.gather(*earlier, return_exceptions=True)
            await work

        task = asyncio.get_running_loop().create_task(in_turn())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- physics -----------------------------------------------------------------------
    def advance(self) -> None:
        """Step physics by the clock time elapsed since the last step."""
        now = self.clock()
        dt = now - self._last
        if dt > 0.0:
            self.model.physics.step(dt)
        self._last = now

    def physical_power_mw(self) -> float:
        """What the device really injects now [MW, + injection] (0 when tripped), whatever
        its registers say; advances the physics. The simulator's side (the truth)."""
        self.advance()
        return self.model.physics.power_mw

    @property
    def soc_resolution(self) -> float:
        """The step of the state of charge this device reports [0..1]: ChaState in 0.01 %
        (`sim_registers.CHASTATE_SF`)."""
        return 10.0**CHASTATE_SF / 100.0

    def metered_power_mw(self) -> float:
        """What the measured-power register says now [MW, + injection], silence aside (a
        fake meter: the setpoint its registers command; otherwise the real power)."""
        self.advance()
        if self.faults.fake_meter:
            setpoint = self.model.setpoint_mw()
            if setpoint is not None:
                return setpoint
        return self.model.physics.power_mw

    @property
    def power_mw(self) -> float:
        """True power now [MW, + injection]: `physical_power_mw()`."""
        return self.physical_power_mw()

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
        self.advance()
        image = self.model.image
        if address < image.base or address + count > image.end:
            return ExcCodes.ILLEGAL_ADDRESS
        if set_values is None or function_code not in WRITE_CODES:
            self.model.refresh(self.model.setpoint_mw() if self.faults.fake_meter else None)
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

    def inject(
        self, fault: Fault | str, share: float, seed: int = 0, kind: str | None = None
    ) -> list[str]:
        """Give `fault` to a seeded `share` [0..1] of the devices (of `kind` only, if
        given: "battery", "pv", "chp"); the affected asset ids, sorted. A ``firmware``
        fault reboots in the background: `settled()` waits for it."""
        pool = [d for a, d in self.devices.items() if kind is None or a.split("-")[1] == kind]
        return inject_share(pool, fault, share, seed)

    def clear(self) -> None:
        """Remove every device's fault."""
        for device in self.devices.values():
            device.clear()

    async def settled(self) -> None:
        """Wait for every reboot a fault started."""
        for device in self.devices.values():
            await device.settled()

    def physical_power_mw(self) -> float:
        """What the whole fleet really injects now [MW, + injection] (the truth)."""
        return sum(device.physical_power_mw() for device in self.devices.values())


def apply_outage(
    devices: Iterable[SimulatedDevice], share: float, seed: int = 0, silent: bool = True
) -> list[str]:
    """Silence (or, with silent=False, revive) a random `share` [0..1] of the devices.

    Returns the affected asset ids (sorted), reproducible for a given seed (the same
    devices as `inject_share` with that seed).
    """
    chosen = choose_share(devices, share, seed)
    for device in chosen:
        device.set_silent(silent)
    return [device.asset_id for device in chosen]
