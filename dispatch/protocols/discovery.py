"""Probe one Modbus device for an operator: who it is, where SunSpec sits, which map fits.

Unlike `ModbusAdapter.identify()`, finding no map is an answer here, not an error: the
report says why (the firmware read and the ranges tried), so an operator can write the map.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from dispatch.device import Identity, MapMismatchError
from dispatch.protocols.mapsources import registry
from dispatch.protocols.negotiation import Negotiated, Probe, probe, resolve, select_map
from dispatch.protocols.points import PointIO
from dispatch.protocols.registermap import RegisterMap
from dispatch.protocols.transport import ModbusTransport
from dispatch.protocols.versions import parse_firmware


@dataclass(frozen=True)
class ProbeReport:
    """What a probe found. `register_map` is None when no map fits; `no_map` then says why."""

    host: str
    port: int
    unit: int
    probe: Probe
    register_map: RegisterMap | None
    no_map: str | None

    @property
    def identity(self) -> Identity:
        """The identity read from the device."""
        return self.probe.identity

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        identity = self.identity
        version = parse_firmware(identity.firmware)
        chosen = self.register_map
        return {
            "device": f"{self.host}:{self.port}",
            "unit": self.unit,
            "identity": {
                "vendor": identity.vendor,
                "model": identity.model,
                "serial": identity.serial,
                "firmware": identity.firmware,
                "firmware_parsed": None if version is None else str(version),
                "by": self.probe.kind,
            },
            "sunspec": None
            if self.probe.kind != "sunspec"
            else {
                "base": self.probe.base,
                "models": [{"id": mid, "length": length} for mid, length in identity.models],
            },
            "map": None
            if chosen is None
            else {
                "id": chosen.map_id,
                "origin": chosen.origin,
                "firmware_range": str(chosen.firmware),
                "profile": chosen.profile,
            },
            "no_map": self.no_map,
        }


async def probe_device(
    host: str,
    port: int,
    unit: int = 1,
    timeout_s: float = 1.0,
    maps: tuple[RegisterMap, ...] | None = None,
) -> ProbeReport:
    """Connect, probe and choose a map; `DeviceError` if the device cannot be reached.

    `maps`: the maps to choose from (default: the registry). A malformed SunSpec chain is
    reported as `no_map` with the probe's reason.
    """
    transport = ModbusTransport("probe", host, port, unit, timeout_s, timeout_s)
    await transport.connect()
    try:
        found = await probe(transport)
        candidates = registry() if maps is None else maps
        try:
            chosen = select_map(found.identity, transport.asset_id, candidates)
        except MapMismatchError as exc:
            return ProbeReport(host, port, unit, found, None, exc.reason)
        if chosen.identity != found.kind:
            why = f"map {chosen.map_id} expects {chosen.identity} identity, device has {found.kind}"
            return ProbeReport(host, port, unit, found, None, why)
        if "serial" in chosen.points and not found.identity.serial:
            negotiated = Negotiated(found, chosen, resolve(found, chosen))
            serial = (await PointIO(transport, negotiated).read(["serial"]))["serial"]
            identity = replace(found.identity, serial="" if serial is None else str(serial))
            found = replace(found, identity=identity)
        return ProbeReport(host, port, unit, found, chosen, None)
    finally:
        await transport.close()
