"""What the dispatcher knows of a device: who it is, what it measures, how a write went.

A `DeviceAdapter` is the only way the dispatcher talks to an asset, whatever the protocol
(Modbus TCP in `dispatch.protocols`, an in-process simulation, later IEC 104). Everything
crossing this boundary is in the dispatcher's units and signs: MW, positive = injection into
the grid (a charging battery has negative power); times are timezone-aware UTC.

Two separate events, never one (see docs/dispatch.md): a `WriteAck` says the device took the
setpoint (the protocol answered, and read it back where it can); only later `Telemetry`
showing measured power at the setpoint says it executed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Identity:
    """Who a device says it is, as read on connect (SunSpec common model or vendor registers).

    `models` is the SunSpec model chain as (model id, length) pairs in the device's order,
    empty for a device without SunSpec.
    """

    vendor: str
    model: str
    serial: str
    firmware: str
    models: tuple[tuple[int, int], ...] = ()

    @property
    def fingerprint(self) -> str:
        """Hex SHA-256 of model, firmware and model chain: changes when the map may change."""
        text = f"{self.vendor}|{self.model}|{self.firmware}|{self.models}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Telemetry:
    """One reading of a device, converted to the dispatcher's units and signs.

    - `power_mw`: measured net active power [MW], + injection, - consumption.
    - `setpoint_mw`: the active-power setpoint the device holds [MW], None if unreadable.
    - `soc`: state of charge [0..1] for storage, else None.
    - `max_mw` / `min_mw`: what the device can do now [MW] (e.g. PV: available power and
      0; a battery: + discharge limit and - charge limit); None if the device does not say.
    """

    at: datetime
    power_mw: float
    setpoint_mw: float | None = None
    soc: float | None = None
    max_mw: float | None = None
    min_mw: float | None = None


@dataclass(frozen=True)
class WriteAck:
    """A device accepted a setpoint write: when, what, and what it read back [MW]."""

    at: datetime
    setpoint_mw: float
    read_back_mw: float | None
    latency_s: float


class DeviceError(Exception):
    """A device could not be read or written; `reason` says why in words."""

    def __init__(self, asset_id: str, reason: str) -> None:
        super().__init__(f"asset {asset_id}: {reason}")
        self.asset_id = asset_id
        self.reason = reason


class DeviceTimeoutError(DeviceError):
    """No answer within the deadline (the write may or may not have reached the device)."""


class DeviceUnreachableError(DeviceError):
    """No connection to the device."""


class DeviceRefusedError(DeviceError):
    """The device answered with a refusal (e.g. a Modbus exception code)."""


class SetpointOutsideLimitsError(DeviceRefusedError):
    """The setpoint lies where the device declares it cannot run (e.g. between 0 and a
    CHP's minimum stable load): refused before anything was sent. The dispatcher's request,
    not a failure of the device, which stays where it was."""


class MapMismatchError(DeviceError):
    """The device is not (or no longer) what its register map was chosen for: unknown or
    changed firmware. The asset must be quarantined; nothing may be written to it."""


class DeviceFaultError(DeviceError):
    """The device answered, but what it said cannot be true or cannot be decoded (a value
    out of its register's range, a scale factor other than the map's, a reading that
    contradicts physics). A device fault: the asset leaves the pool like a drifting one."""


@runtime_checkable
class DeviceAdapter(Protocol):
    """The dispatcher's connection to one device."""

    asset_id: str
    protocol: str
    """"modbus", "inproc", ... (a metrics label)."""

    async def identify(self) -> Identity:
        """Read the device's identity and pick its map; `MapMismatchError` if none fits."""
        ...

    async def read(self) -> Telemetry:
        """Read telemetry now; `DeviceError` if it cannot."""
        ...

    async def write_setpoint(self, setpoint_mw: float) -> WriteAck:
        """Write an active-power setpoint [MW, + injection]; `DeviceError` if refused,
        unanswered, or the map no longer fits."""
        ...

    async def close(self) -> None:
        """Drop the connection."""
        ...


@dataclass
class DeviceLimits:
    """Static limits of a device [MW, MW/s, s], from the portfolio or the device."""

    max_mw: float
    min_mw: float
    ramp_mw_per_s: float
    response_s: float = field(default=2.0)
    """How long a setpoint may take to be reached, from the write [s]."""
    setpoint_is_limit: bool = False
    """The setpoint caps the power rather than fixing it (PV curtailment): the device
    produces min(setpoint, what the weather allows)."""
    min_stable_mw: float = 0.0
    """A unit that runs only at or above this [MW] when on (a CHP's minimum stable load):
    0 < P < it is no setpoint for it (the device clamps or refuses it)."""
