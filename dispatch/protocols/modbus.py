"""`ModbusAdapter`: a `DeviceAdapter` for Modbus TCP devices (SunSpec or fixed registers).

Firmware-change safety (the map is only valid for the identity it was chosen for):

- `identify()` negotiates (probe + map selection) and remembers the identity's fingerprint.
- After EVERY reconnect (a new TCP session, detected by the transport's `generation`), the
  next read or write first re-probes fully (SunSpec: marker, chain headers, model 1 - about
  3 + n_models requests, measured p50 0.7 ms on loopback for a 3-model chain; FC43: one
  request).
- Before a write, and before a read, if the last check is older than `identity_check_s`, a
  cheap check re-reads model 1 Vr (one 8-register read: p50 0.1 ms loopback, one round trip
  on a real network) or the FC43 basic
  identification. With the default `identity_check_s = 1.0` a write costs at most one extra
  round trip; `identity_check_s = 0` checks before every operation.
- The layout is checked too (`points.PointIO`): the SunSpec scale factors read when the map
  was bound are compared on every read (they travel with the values they scale, so at no
  extra cost) and on every re-probe; a changed one (firmware changed in place, same version
  string) raises `MapMismatchError` naming register, old and new value. For fixed-scale
  points, a setpoint register that no longer holds what was written, a value outside its
  declared range, or registers that cannot be decoded raise `DeviceFaultError`.
- If the fingerprint or the layout differs, the adapter is QUARANTINED: every read and write
  raises `MapMismatchError` and nothing is written through the old map. Only an explicit
  `identify()` (the control layer's decision) negotiates again and may adopt a new map.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from dispatch.device import (
    DeviceError,
    DeviceFaultError,
    DeviceRefusedError,
    DeviceTimeoutError,
    DeviceUnreachableError,
    Identity,
    MapMismatchError,
    Telemetry,
    WriteAck,
)
from dispatch.protocols.negotiation import Negotiated, negotiate, probe, still_same
from dispatch.protocols.points import PointIO
from dispatch.protocols.profiles import PROFILES, Profile
from dispatch.protocols.registermap import RegisterMap, RegisterMapError
from dispatch.protocols.transport import ModbusTransport

T = TypeVar("T")

#: Error kinds counted in `ModbusAdapter.errors`, most specific first.
ERROR_KINDS: tuple[tuple[str, type[DeviceError]], ...] = (
    ("map_mismatch", MapMismatchError),
    ("device_fault", DeviceFaultError),
    ("timeout", DeviceTimeoutError),
    ("unreachable", DeviceUnreachableError),
    ("refused", DeviceRefusedError),
)


class ModbusAdapter:
    """One Modbus TCP device as a `DeviceAdapter` (units: MW, + injection, UTC times).

    `timeout_s`: deadline per request [s]; `identity_check_s`: maximum age [s] of the last
    identity check before a read or write (see module docstring for costs); `maps`: the
    register maps to choose from (default: `dispatch.protocols.mapsources.registry()`).

    Counters for metrics (plain attributes, read by the dispatcher's observability):

    - `reconnects: int`: successful reconnections after the first connect (each one is
      followed by a full identity re-probe before anything else);
    - `errors: dict[str, int]`: failed operations (identify, read, write) by kind:
      "timeout" (no answer within the deadline), "refused" (a Modbus exception or our own
      range/access refusal), "unreachable" (no connection), "map_mismatch" (identity or
      layout no longer fits the map: quarantine), "device_fault" (an answer that cannot be
      true or decoded). Every kind is present from the start, at 0.
    - `identity_checks`, `reprobes`: cheap identity checks and full re-probes done.
    """

    protocol = "modbus"

    def __init__(
        self,
        asset_id: str,
        host: str,
        port: int,
        device_id: int = 1,
        timeout_s: float = 1.0,
        identity_check_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        maps: tuple[RegisterMap, ...] | None = None,
    ) -> None:
        self.asset_id = asset_id
        self.maps = maps
        self.transport = ModbusTransport(asset_id, host, port, device_id, timeout_s, timeout_s)
        self.identity_check_s = identity_check_s
        self._clock = clock
        self._negotiated: Negotiated | None = None
        self._generation = -1
        self._last_check = -math.inf
        self._quarantine: str | None = None
        self.identity_checks = 0
        """Cheap checks done so far (for metrics and tests)."""
        self.reprobes = 0
        """Full re-probes done so far (after reconnects or a failed cheap check)."""
        self.errors: dict[str, int] = {kind: 0 for kind, _ in ERROR_KINDS}
        """Failed operations by error kind (see class docstring)."""
        self._held: dict[str, list[int]] = {}
        self._landing: dict[str, list[list[int]]] = {}
        """Writes not acknowledged, per point: they may land late (`points.PointIO`)."""

    @property
    def reconnects(self) -> int:
        """Successful reconnections after the first connect."""
        return max(0, self.transport.generation - 1)

    @property
    def negotiated(self) -> Negotiated | None:
        """The identity and map in use, None before `identify()`."""
        return self._negotiated

    @property
    def quarantined(self) -> str | None:
        """Why the adapter refuses to work, or None."""
        return self._quarantine

    async def identify(self) -> Identity:
        """Negotiate afresh (clears a quarantine if a map fits); MapMismatchError if none."""
        return await self._counted(self._identify())

    async def read(self) -> Telemetry:
        """Measured power, setpoint read back, SoC and limits [MW, + injection]."""
        return await self._counted(self._read())

    async def write_setpoint(self, setpoint_mw: float) -> WriteAck:
        """Write [MW, + injection] through the map, then read the setpoint back.

        Raises MapMismatchError (nothing written) if the device may have changed;
        DeviceFaultError if the read-back does not hold what was written; a
        `DeviceTimeoutError` during the write means the outcome is unknown: read back before
        re-sending.
        """
        return await self._counted(self._write_setpoint(setpoint_mw))

    async def _identify(self) -> Identity:
        if not self.transport.connected:
            await self.transport.connect()
        negotiated = await negotiate(self.transport, self.maps)
        identity = negotiated.identity
        if "serial" in negotiated.register_map.points:
            serial = (await PointIO(self.transport, negotiated).read(["serial"]))["serial"]
            identity = replace(identity, serial="" if serial is None else str(serial))
            negotiated = replace(negotiated, probe=replace(negotiated.probe, identity=identity))
        sf_names = [n for n in negotiated.register_map.sf_points if negotiated.has(n)]
        if sf_names:
            found = await PointIO(self.transport, negotiated).read(sf_names)
            scale_factors = {
                name: value if isinstance(value, int) else None for name, value in found.items()
            }
            negotiated = replace(negotiated, scale_factors=scale_factors)
        self._negotiated = negotiated
        self._generation = self.transport.generation
        self._last_check = self._clock()
        self._quarantine = None
        self._held = {}
        self._landing = {}
        return identity

    async def _read(self) -> Telemetry:
        negotiated = await self._bound()
        io = PointIO(self.transport, negotiated, self._held, self._landing)
        reading = await self._profile(negotiated).read(io)
        return Telemetry(
            at=datetime.now(UTC),
            power_mw=reading.power_mw,
            setpoint_mw=reading.setpoint_mw,
            soc=reading.soc,
            max_mw=reading.max_mw,
            min_mw=reading.min_mw,
        )

    async def _write_setpoint(self, setpoint_mw: float) -> WriteAck:
        negotiated = await self._bound()
        io = PointIO(self.transport, negotiated, self._held, self._landing)
        profile = self._profile(negotiated)
        started = time.perf_counter()
        await profile.write(io, setpoint_mw)
        latency = time.perf_counter() - started
        reading = await profile.read(io)
        return WriteAck(
            at=datetime.now(UTC),
            setpoint_mw=setpoint_mw,
            read_back_mw=reading.setpoint_mw,
            latency_s=latency,
        )

    async def _counted(self, operation: Awaitable[T]) -> T:
        """Run one public operation: count its failure by kind, quarantine on a mismatch,
        and turn an escaping codec error (ValueError) into a device fault."""
        try:
            return await operation
        except MapMismatchError as exc:
            if self._negotiated is not None and self._quarantine is None:
                self._quarantine = exc.reason
            self._count(exc)
            raise
        except DeviceError as exc:
            self._count(exc)
            raise
        except RegisterMapError:
            raise  # a bad map file is the operator's configuration error, not the device's
        except ValueError as exc:
            fault = DeviceFaultError(self.asset_id, f"answer cannot be decoded: {exc}")
            self._count(fault)
            raise fault from exc

    def _count(self, error: DeviceError) -> None:
        for kind, error_type in ERROR_KINDS:
            if isinstance(error, error_type):
                self.errors[kind] += 1
                return

    async def close(self) -> None:
        """Drop the connection; the next operation reconnects and re-probes."""
        await self.transport.close()

    def _profile(self, negotiated: Negotiated) -> Profile:
        return PROFILES[negotiated.register_map.profile]

    async def _bound(self) -> Negotiated:
        """The negotiated map, verified still valid (see module docstring)."""
        if self._quarantine is not None:
            raise MapMismatchError(self.asset_id, self._quarantine)
        if self._negotiated is None:
            await self.identify()
            assert self._negotiated is not None
            return self._negotiated
        if not self.transport.connected:
            await self.transport.connect()
        if self.transport.generation != self._generation:
            await self._reprobe()
        elif self._clock() - self._last_check >= self.identity_check_s:
            self.identity_checks += 1
            try:
                same = await still_same(self.transport, self._negotiated)
            except DeviceUnreachableError:
                await self.transport.connect()  # dropped under us (a reboot?): re-probe once
                same = False
            if not same:
                await self._reprobe()
            self._last_check = self._clock()
        return self._negotiated

    async def _reprobe(self) -> None:
        """Full probe; quarantine and raise if the fingerprint, the SunSpec base or a model's
        address, or a scale factor changed."""
        assert self._negotiated is not None
        self.reprobes += 1
        old = self._negotiated.identity
        old_probe = self._negotiated.probe
        try:
            new_probe = await probe(self.transport)
            new = new_probe.identity
        except MapMismatchError as exc:
            self._quarantine = f"re-probe failed: {exc.reason}"
            raise MapMismatchError(self.asset_id, self._quarantine) from exc
        if new.fingerprint != old.fingerprint:
            self._quarantine = (
                f"identity changed since map {self._negotiated.register_map.map_id} was chosen: "
                f"{old.vendor} {old.model} fw {old.firmware} {list(old.models)} -> "
                f"{new.vendor} {new.model} fw {new.firmware} {list(new.models)}"
            )
            raise MapMismatchError(self.asset_id, self._quarantine)
        if (new_probe.base, new_probe.bodies) != (old_probe.base, old_probe.bodies):
            self._quarantine = (
                f"SunSpec layout moved since map {self._negotiated.register_map.map_id} was "
                f"chosen: marker at {old_probe.base}, bodies {old_probe.bodies} -> marker at "
                f"{new_probe.base}, bodies {new_probe.bodies}"
            )
            raise MapMismatchError(self.asset_id, self._quarantine)
        self._held = {}  # a new session (a reboot?) may legitimately reset setpoints
        self._landing = {}
        sf_names = [n for n in self._negotiated.register_map.sf_points if self._negotiated.has(n)]
        if sf_names:  # raises MapMismatchError naming the register if one changed
            await PointIO(self.transport, self._negotiated).read(sf_names)
        self._generation = self.transport.generation
        self._last_check = self._clock()
