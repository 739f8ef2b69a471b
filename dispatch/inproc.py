"""In-process simulated devices: the physics of `dispatch.devices.physics` behind the
`DeviceAdapter` interface, with the same faults as the Modbus simulator.

No sockets, so ten thousand of them run in one process on a `VirtualClock`, faster than
real time. Each device advances its physics to the clock's now on every call. Faults (set
with `inject`, cleared with `clear`):

- ``silence``: every call fails as a timeout would (the device does not answer);
- ``ack_no_exec``: writes are acknowledged and read back, but the power never moves;
- ``partial``: the device goes only to `partial_share` of each setpoint;
- ``slow_ramp``: the device ramps at a tenth of its rate;
- ``firmware``: the device now identifies as another firmware: every call raises
  `MapMismatchError` and no write reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dispatch.clock import DispatchClock
from dispatch.device import (
    DeviceLimits,
    DeviceTimeoutError,
    Identity,
    MapMismatchError,
    Telemetry,
    WriteAck,
)
from dispatch.devices.physics import Battery, Chp, Pv


class Fault(StrEnum):
    """A fault a simulated device can be given."""

    SILENCE = "silence"
    ACK_NO_EXEC = "ack_no_exec"
    PARTIAL = "partial"
    SLOW_RAMP = "slow_ramp"
    FIRMWARE = "firmware"


Physics = Battery | Pv | Chp


@dataclass
class InProcessDevice:
    """A `DeviceAdapter` over a physics model, on the dispatcher's clock."""

    asset_id: str
    physics: Physics
    clock: DispatchClock
    kind: str
    firmware: str = "1.0.0"
    partial_share: float = 0.6
    protocol: str = "inproc"
    fault: Fault | None = None
    writes: int = 0
    _last_t: float | None = None
    _normal_ramp: float | None = None

    # --- faults --------------------------------------------------------------------------

    def inject(self, fault: Fault | str) -> None:
        """Give the device `fault` from now on."""
        self.fault = Fault(fault)
        if self.fault is Fault.SLOW_RAMP:
            self._normal_ramp = self.physics.ramp_mw_per_s
            self.physics.ramp_mw_per_s /= 10.0

    def clear(self) -> None:
        """Remove the fault."""
        if self._normal_ramp is not None:
            self.physics.ramp_mw_per_s = self._normal_ramp
            self._normal_ramp = None
        self.fault = None

    # --- DeviceAdapter -------------------------------------------------------------------

    async def identify(self) -> Identity:
        """The simulated identity; a firmware fault is a map mismatch."""
        self._check()
        return Identity("vpp-engine", f"sim-{self.kind}", self.asset_id, self.firmware)

    async def read(self) -> Telemetry:
        """Advance the physics to now and read it [MW, SoC 0..1]."""
        self._check()
        self._advance()
        p = self.physics
        if isinstance(p, Battery):
            return Telemetry(self.clock.utc(), p.power_mw, p.target_mw, p.soc, p.max_mw, p.min_mw)
        if isinstance(p, Pv):
            return Telemetry(self.clock.utc(), p.power_mw, p.target_mw, None, p.available_mw, 0.0)
        return Telemetry(self.clock.utc(), p.power_mw, p.target_mw, None, p.max_mw, 0.0)

    async def write_setpoint(self, setpoint_mw: float) -> WriteAck:
        """Take a setpoint [MW]; acknowledged at once (faults permitting)."""
        self._check()
        self._advance()
        self.writes += 1
        if self.fault is Fault.PARTIAL:
            self.physics.set_setpoint(setpoint_mw * self.partial_share)
        elif self.fault is not Fault.ACK_NO_EXEC:
            self.physics.set_setpoint(setpoint_mw)
        return WriteAck(self.clock.utc(), setpoint_mw, setpoint_mw, 0.0)

    async def close(self) -> None:
        """Nothing to close."""

    def _check(self) -> None:
        if self.fault is Fault.SILENCE:
            raise DeviceTimeoutError(self.asset_id, "simulated silence: no answer")
        if self.fault is Fault.FIRMWARE:
            raise MapMismatchError(
                self.asset_id,
                f"firmware changed from {self.firmware} to 9.9.9: no register map chosen for it",
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
    return DeviceLimits(physics.max_mw, 0.0, physics.ramp_mw_per_s, response_s)
