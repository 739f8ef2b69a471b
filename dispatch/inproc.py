"""In-process simulated devices: the physics of `dispatch.devices.physics` behind the
`DeviceAdapter` interface, with the same faults as the Modbus simulator.

No sockets, so ten thousand of them run in one process on a `VirtualClock`, faster than
real time. Each device advances its physics to the clock's now on every call (and on
`inject`, `clear` and `physical_power_mw`, so a fault acts from the instant it is given).

Faults (`dispatch.devices.faults.Fault`, given with `inject`, removed with `clear`; any
time, also before the first contact). "Says" is what the dispatcher sees through this
adapter, "does" is the physics (`physical_power_mw`, the truth):

- ``trip``: does 0 MW at once, ignores setpoints; says nothing (every call raises
  `DeviceTimeoutError`).
- ``silence``: says nothing (`DeviceTimeoutError`); does what it did (physics runs on at
  the last setpoint).
- ``ack_no_exec``: writes acknowledged and read back (telemetry's `setpoint_mw` is the
  written value); the power never follows them.
- ``partial``: each new setpoint is executed at `partial_share` (0.6) of its value; the
  written value is what telemetry shows as the setpoint.
- ``slow_ramp``: ramps at a tenth of its rated rate.
- ``stuck``: power frozen where it was; setpoints acknowledged; telemetry shows the frozen
  power (and the written setpoint).
- ``fake_meter``: physics frozen like ``stuck`` (it no longer follows setpoints), but
  telemetry reports the last written setpoint as the measured power. A battery's SoC follows
  its REAL power, so reported power against SoC change gives it away; for PV and CHP a site
  meter (`dispatch.devices.site_meter`) does.
- ``firmware``: identify, read and write raise `MapMismatchError` (another firmware, no map);
  no write reaches the physics. The update rebooted the device, which lost its setpoint and
  runs idle, as the Modbus simulator's fresh registers command: battery and CHP 0 MW, PV
  uncurtailed (clearing the fault is another reboot: idle again until written).
- ``firmware_inplace``: identify answers the unchanged identity; read and write raise
  `DeviceFaultError` naming the changed scale factor (as the Modbus adapter's layout check
  would); no write reaches the physics, which runs on.

Timeouts are raised at once (no waiting on the clock): the dispatcher's own deadline is
what a real timeout costs, and the in-process fleet is about the controller's logic.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.clock import DispatchClock
from dispatch.device import (
    DeviceFaultError,
    DeviceLimits,
    DeviceTimeoutError,
    Identity,
    MapMismatchError,
    Telemetry,
    WriteAck,
)
from dispatch.devices.faults import OUTAGE_ALIAS, Fault
from dispatch.devices.fencing import Fence, FenceGuard
from dispatch.devices.physics import Battery, Chp, Pv

Physics = Battery | Pv | Chp

SLOW_RAMP_FACTOR = 0.1
"""A ``slow_ramp`` device ramps at this share of its rated rate."""
PARTIAL_SHARE = 0.6
"""A ``partial`` device executes this share of each new setpoint."""
FIRMWARE_AFTER_UPDATE = "9.9.9"
"""What a ``firmware`` fault makes the device identify as (no map fits it)."""
_MUTE = frozenset({Fault.TRIP, Fault.SILENCE})
_HOLD = frozenset({Fault.STUCK, Fault.FAKE_METER})
_NO_WRITE = frozenset({Fault.ACK_NO_EXEC, Fault.FIRMWARE, Fault.FIRMWARE_INPLACE}) | _HOLD
_RESYNC = frozenset({Fault.ACK_NO_EXEC, Fault.PARTIAL}) | _HOLD
"""Faults after which a healthy device follows the setpoint it holds again."""


def parse_fault(fault: Fault | str) -> Fault:
    """`fault` as a `Fault`; the older name "outage" is `Fault.SILENCE`.

    Raises `ValueError` for an unknown name.
    """
    if isinstance(fault, Fault):
        return fault
    return Fault.SILENCE if fault == OUTAGE_ALIAS else Fault(fault)


@dataclass
class InProcessDevice:
    """A `DeviceAdapter` over a physics model, on the dispatcher's clock."""

    asset_id: str
    physics: Physics
    clock: DispatchClock
    kind: str
    firmware: str = "1.0.0"
    partial_share: float = PARTIAL_SHARE
    protocol: str = "inproc"
    fault: Fault | None = None
    writes: int = 0
    _last_t: float | None = None
    _normal_ramp: float | None = None
    _written_mw: float | None = None
    """The last setpoint written [MW] (what the device's setpoint register holds)."""
    fence: FenceGuard | None = None
    """The device's fencing-token memory (`dispatch.devices.fencing`); made at creation."""

    def __post_init__(self) -> None:
        self._last_t = self.clock.now()  # physics runs from creation, contact or not
        if self.fence is None:
            self.fence = FenceGuard(self.asset_id)

    # --- faults --------------------------------------------------------------------------

    def inject(self, fault: Fault | str) -> None:
        """Give the device `fault` from now on (replacing any other; see the module doc)."""
        kind = parse_fault(fault)
        self.clear()
        self.fault = kind
        if kind is Fault.TRIP:
            self.physics.trip()
        elif kind is Fault.SLOW_RAMP:
            self._normal_ramp = self.physics.ramp_mw_per_s
            self.physics.ramp_mw_per_s *= SLOW_RAMP_FACTOR
        elif kind in _HOLD:
            if self._written_mw is None:
                self._written_mw = self.physics.target_mw  # the setpoint it holds now
            self.physics.hold()
        elif kind is Fault.FIRMWARE:
            self._reboot_idle()

    def clear(self) -> None:
        """Remove the fault: a tripped device is reset (idle at 0 MW until told), a firmware
        one reboots (idle), a slow one ramps at its rated rate, and one that did not execute
        its setpoint (held, ack_no_exec, partial) now follows the last one written."""
        self._advance()
        if self._normal_ramp is not None:
            self.physics.ramp_mw_per_s = self._normal_ramp
            self._normal_ramp = None
        if self.fault is Fault.TRIP:
            self.physics.reset()
        if self.fault in _HOLD:
            self.physics.release()
        if self.fault is Fault.FIRMWARE:
            self._reboot_idle()
        elif self.fault in _RESYNC and self._written_mw is not None:
            self.physics.set_setpoint(self._written_mw)  # healthy: follows what it holds
        self.fault = None

    def _reboot_idle(self) -> None:
        """After a reboot the setpoint is lost: idle (PV: no curtailment; others: 0 MW)."""
        idle = self.physics.rated_mw if isinstance(self.physics, Pv) else 0.0
        self.physics.set_setpoint(idle)
        self._written_mw = None

    # --- the truth -----------------------------------------------------------------------

    def physical_power_mw(self) -> float:
        """What the device really injects now [MW, + injection] (0 when tripped), whatever
        it says; advances the physics to the clock's now. The simulator's side, not the
        dispatcher's."""
        self._advance()
        return self.physics.power_mw

    def metered_power_mw(self) -> float:
        """What the device's own measurement says it injects now [MW, + injection], link
        faults aside (a fake meter: its last setpoint; otherwise its real power). The
        simulator's side: the truth's view of a lie."""
        self._advance()
        if self.fault is Fault.FAKE_METER:
            return self._written_mw if self._written_mw is not None else self.physics.target_mw
        return self.physics.power_mw

    soc_resolution = 1e-4
    """The step of the state of charge a real device reports [0..1] (SunSpec's ChaState in
    0.01 %, as the Modbus simulator's): the simulation counts a lying battery's fault as
    observable once its lie reaches one such step (`simulation.truth_sampler`). This device
    itself reports its state of charge exactly, so the detector may see it sooner."""

    def physical_soc(self) -> float | None:
        """The real state of charge now [0..1] for a battery, else None."""
        self._advance()
        return self.physics.soc if isinstance(self.physics, Battery) else None

    # --- DeviceAdapter -------------------------------------------------------------------

    async def identify(self) -> Identity:
        """The simulated identity; a firmware fault is a map mismatch (an in-place firmware
        change is not visible here: same identity)."""
        self._check(identifying=True)
        return Identity("vpp-engine", f"sim-{self.kind}", self.asset_id, self.firmware)

    async def read(self) -> Telemetry:
        """Advance the physics to now and read it [MW, SoC 0..1] as the device reports it."""
        self._check()
        self._advance()
        p = self.physics
        power = p.power_mw
        if self.fault is Fault.FAKE_METER:
            power = self._written_mw if self._written_mw is not None else p.target_mw
        setpoint = self._written_mw if self._written_mw is not None else p.target_mw
        at = self.clock.utc()
        if isinstance(p, Battery):
            return Telemetry(at, power, setpoint, p.soc, p.max_mw, p.min_mw)
        if isinstance(p, Pv):
            return Telemetry(at, power, setpoint, None, p.available_mw, 0.0)
        return Telemetry(at, power, setpoint, None, p.max_mw, 0.0)

    async def write_setpoint(self, setpoint_mw: float, fence: Fence | None = None) -> WriteAck:
        """Take a setpoint [MW]; acknowledged at once (faults permitting). `fence`: the
        sender's partition and lease token; an older token than one this device accepted
        is refused (`DeviceFencedError`) and nothing is executed."""
        self._check()
        self._advance()
        assert self.fence is not None
        self.fence.admit(fence)
        self.writes += 1
        self._written_mw = setpoint_mw
        if self.fault is Fault.PARTIAL:
            self.physics.set_setpoint(setpoint_mw * self.partial_share)
        elif self.fault not in _NO_WRITE:
            self.physics.set_setpoint(setpoint_mw)
        return WriteAck(self.clock.utc(), setpoint_mw, setpoint_mw, 0.0)

    async def close(self) -> None:
        """Nothing to close."""

    def _check(self, *, identifying: bool = False) -> None:
        if self.fault in _MUTE:
            self._advance()
            raise DeviceTimeoutError(self.asset_id, f"simulated {self.fault}: no answer")
        if self.fault is Fault.FIRMWARE:
            raise MapMismatchError(
                self.asset_id,
                f"firmware changed from {self.firmware} to {FIRMWARE_AFTER_UPDATE}: "
                "no register map chosen for it",
            )
        if self.fault is Fault.FIRMWARE_INPLACE and not identifying:
            raise DeviceFaultError(
                self.asset_id,
                f"layout changed under firmware {self.firmware}: W_SF reads -2, "
                "the map says -3 (scale factor changed in place)",
            )

    def _advance(self) -> None:
        now = self.clock.now()
        if self._last_t is not None and now > self._last_t:
            self.physics.step(now - self._last_t)
        self._last_t = now


def limits_of(physics: Physics, response_s: float) -> DeviceLimits:
    """The static limits [MW, MW/s, s] of a simulated device."""
    if isinstance(physics, Battery):
        return DeviceLimits(physics.max_mw, physics.min_mw, physics.ramp_mw_per_s, response_s)
    if isinstance(physics, Pv):
        return DeviceLimits(
            physics.rated_mw, 0.0, physics.ramp_mw_per_s, response_s, setpoint_is_limit=True
        )
    return DeviceLimits(
        physics.max_mw, 0.0, physics.ramp_mw_per_s, response_s, min_stable_mw=physics.min_load_mw
    )


__all__ = [
    "FIRMWARE_AFTER_UPDATE",
    "PARTIAL_SHARE",
    "SLOW_RAMP_FACTOR",
    "Fault",
    "InProcessDevice",
    "limits_of",
    "parse_fault",
]
