"""Negotiation: who is this device, which register map fits it, is it still the same device.

`probe()` reads the identity (SunSpec common model 1 plus the model chain, found at base
40000, 0 or 50000, or FC43/14 Read Device Identification for non-SunSpec devices);
`select_map()` picks the map from the registry (`dispatch.protocols.mapsources`: shipped,
operators' directories, entry points) by vendor, model and the map's explicit firmware range;
`negotiate()` does both and resolves every point to a PDU address. `still_same()` is the
cheap check run before writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dispatch.device import DeviceRefusedError, Identity, MapMismatchError
from dispatch.protocols import sunspec
from dispatch.protocols.mapsources import registry
from dispatch.protocols.registermap import Point, RegisterMap
from dispatch.protocols.registermap import select_map as _select_from
from dispatch.protocols.transport import ModbusTransport

# FC43 object ids (basic stream).
_VENDOR_NAME, _PRODUCT_CODE, _REVISION = 0, 1, 2


@dataclass(frozen=True)
class Probe:
    """What a probe read: the identity and, for SunSpec, where each model body starts."""

    identity: Identity
    kind: str
    """"sunspec" or "fc43"."""
    bodies: dict[int, int]
    base: int | None = None
    """PDU address of the 'SunS' marker (40000, 0 or 50000); None for FC43 devices."""


@dataclass(frozen=True)
class Negotiated:
    """A device bound to its map: identity, map, and every point's PDU address."""

    probe: Probe
    register_map: RegisterMap
    addresses: dict[str, int]
    scale_factors: dict[str, int | None] = field(default_factory=dict)
    """SunSpec scale-factor points as read at connect: the layout the map was bound to."""

    @property
    def identity(self) -> Identity:
        """The identity the map was chosen for."""
        return self.probe.identity

    def point(self, name: str) -> Point:
        """The named point of the map."""
        return self.register_map.points[name]

    def has(self, name: str) -> bool:
        """True if this device has the named point (a point of an optional model the
        device lacks is not resolved)."""
        return name in self.addresses


async def probe(transport: ModbusTransport) -> Probe:
    """Read the identity: SunSpec if 'SunS' is at 40000, 0 or 50000, else FC43/14.

    Cost for SunSpec at 40000: 3 + number of models reads (marker, model 1 body, each
    header, end); p50 0.7 ms on loopback for a 3-model chain; each base tried before the
    marker is found adds one read. FC43: three marker reads, then one request.
    """
    base = await sunspec.find_base(transport)
    if base is not None:
        chain = await sunspec.walk_chain(transport, base)
        if not chain.models or chain.models[0][0] != 1:
            raise MapMismatchError(
                transport.asset_id, f"SunSpec chain at {base} does not start with model 1"
            )
        common = await sunspec.read_common(transport, chain.bodies[1])
        identity = Identity(
            vendor=common["Mn"],
            model=common["Md"],
            serial=common["SN"],
            firmware=common["Vr"],
            models=chain.models,
        )
        return Probe(identity, "sunspec", dict(chain.bodies), base)
    try:
        info = await transport.read_device_identification(read_code=1)
    except DeviceRefusedError as exc:
        raise MapMismatchError(
            transport.asset_id,
            f"no SunSpec marker at {', '.join(map(str, sunspec.BASE_ADDRESSES))} and no "
            f"FC43 device identification ({exc.reason})",
        ) from exc
    identity = Identity(
        vendor=info.get(_VENDOR_NAME, ""),
        model=info.get(_PRODUCT_CODE, ""),
        serial="",
        firmware=info.get(_REVISION, ""),
    )
    return Probe(identity, "fc43", {})


def select_map(
    identity: Identity, asset_id: str = "?", maps: tuple[RegisterMap, ...] | None = None
) -> RegisterMap:
    """The map for this identity among `maps` (default: the registry); MapMismatchError
    naming vendor, model, the firmware read and the ranges tried."""
    return _select_from(identity, registry() if maps is None else maps, asset_id)


def resolve(probe_result: Probe, register_map: RegisterMap) -> dict[str, int]:
    """Every point's PDU address: model body start + offset (SunSpec) or the absolute one;
    the points of an optional model the device lacks have none."""
    addresses: dict[str, int] = {}
    for name, point in register_map.points.items():
        if point.model is not None and point.offset is not None:
            if point.model not in probe_result.bodies:
                continue  # an optional model this device does not have
            addresses[name] = probe_result.bodies[point.model] + point.offset
        elif point.address is not None:
            addresses[name] = point.address
    return addresses


async def negotiate(
    transport: ModbusTransport, maps: tuple[RegisterMap, ...] | None = None
) -> Negotiated:
    """Probe, select the map, resolve addresses; MapMismatchError if no map fits."""
    found = await probe(transport)
    register_map = select_map(found.identity, transport.asset_id, maps)
    if register_map.identity != found.kind:
        raise MapMismatchError(
            transport.asset_id,
            f"map {register_map.map_id} expects {register_map.identity} identity, "
            f"device answered {found.kind}",
        )
    return Negotiated(found, register_map, resolve(found, register_map))


async def still_same(transport: ModbusTransport, negotiated: Negotiated) -> bool:
    """Cheap check that the device still runs the firmware its map was chosen for.

    SunSpec: re-read model 1 Vr (one 8-register read). FC43: re-read the basic identification
    (one request). A firmware update that leaves Vr unchanged is not caught here: it is caught
    by the full re-probe after the reboot (new TCP session) such an update causes, and a
    changed layout by the scale-factor and range checks of every read (`points.PointIO`).
    """
    identity = negotiated.identity
    if negotiated.probe.kind == "sunspec":
        version = await sunspec.read_version(transport, negotiated.probe.bodies[1])
        return version == identity.firmware
    info = await transport.read_device_identification(read_code=1)
    return (
        info.get(_VENDOR_NAME, "") == identity.vendor
        and info.get(_PRODUCT_CODE, "") == identity.model
        and info.get(_REVISION, "") == identity.firmware
    )
