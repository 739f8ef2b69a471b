"""Read and write named map points through a transport, in the device's units and sign.

Reads group the wanted points (and the SF points their scales name) into as few contiguous
requests as possible (at most 125 registers each, gaps up to `MAX_GAP` registers read and
ignored). Writes check access and valid range locally first: an out-of-range or read-only
write is refused before anything goes on the wire.
"""

from __future__ import annotations

from dispatch.device import DeviceRefusedError
from dispatch.protocols import codec
from dispatch.protocols.negotiation import Negotiated
from dispatch.protocols.registermap import UNIT_TO_MW, Point
from dispatch.protocols.transport import ModbusTransport

MAX_READ = 125
MAX_GAP = 16

Value = float | int | str | None


class LocalRefusalError(DeviceRefusedError):
    """Refused by our own map checks (range, access); nothing was sent to the device."""


def to_mw(point: Point, value: float | None) -> float | None:
    """A power point's device value -> MW in our sign (+ injection); None stays None."""
    if value is None:
        return None
    return value * point.sign * UNIT_TO_MW[point.unit]


class PointIO:
    """Named point access for one negotiated device."""

    def __init__(self, transport: ModbusTransport, negotiated: Negotiated) -> None:
        self.transport = transport
        self.negotiated = negotiated

    def _with_scales(self, names: list[str]) -> list[str]:
        wanted = dict.fromkeys(names)
        for name in names:
            scale = self.negotiated.point(name).scale
            if isinstance(scale, str):
                wanted[scale] = None
        return list(wanted)

    async def read(self, names: list[str]) -> dict[str, Value]:
        """Scaled values in the device's unit and sign (None = not implemented)."""
        names = self._with_scales(names)
        addresses = self.negotiated.addresses
        spans = sorted(
            (addresses[name], addresses[name] + self.negotiated.point(name).length)
            for name in names
        )
        raw: dict[int, int] = {}
        start, end = spans[0]
        blocks: list[tuple[int, int]] = []
        for first, last in spans[1:]:
            if first - end <= MAX_GAP and max(end, last) - start <= MAX_READ:
                end = max(end, last)
            else:
                blocks.append((start, end))
                start, end = first, last
        blocks.append((start, end))
        for first, last in blocks:
            regs = await self.transport.read_holding_registers(first, last - first)
            raw.update(zip(range(first, last), regs, strict=True))
        unscaled: dict[str, Value] = {}
        for name in names:
            point = self.negotiated.point(name)
            regs = [raw[addresses[name] + i] for i in range(point.length)]
            if point.type == "string":
                unscaled[name] = codec.decode_string(regs)
            else:
                unscaled[name] = codec.decode(point.type, regs, point.word_order)
        return {name: self._scaled(name, unscaled) for name in names}

    def _scaled(self, name: str, unscaled: dict[str, Value]) -> Value:
        point = self.negotiated.point(name)
        value = unscaled[name]
        if point.type in {"string", "sunssf", "enum16", "bitfield16"} or value is None:
            return value
        if isinstance(point.scale, str):
            sf = unscaled[point.scale]
            return codec.apply_scale(value, sf if isinstance(sf, int) else None)
        return codec.apply_scale(value, point.scale) if point.scale else value

    def encode(self, name: str, value: float, scales: dict[str, Value]) -> list[int]:
        """Registers for writing `value` (device unit and sign) to point `name`.

        `scales` gives the SF points' values where the point's scale names one.
        LocalRefusalError if the point is read-only, the value out of range, or its SF unknown.
        """
        point = self.negotiated.point(name)
        asset = self.transport.asset_id
        if point.access != "RW":
            raise LocalRefusalError(asset, f"point {name} is read-only")
        if point.range is not None and not point.range[0] <= value <= point.range[1]:
            raise LocalRefusalError(
                asset, f"{name} = {value} {point.unit} outside valid range {point.range}"
            )
        sf: int = 0
        if isinstance(point.scale, str):
            found = scales.get(point.scale)
            if not isinstance(found, int):
                raise LocalRefusalError(asset, f"{name}: scale factor {point.scale} unknown")
            sf = found
        elif point.scale:
            sf = int(point.scale)
        try:
            return codec.encode(point.type, codec.unscale(value, sf), point.word_order)
        except ValueError as exc:
            raise LocalRefusalError(asset, f"{name} = {value}: {exc}") from exc

    async def write(self, values: dict[str, float], scales: dict[str, Value]) -> None:
        """Write points that sit back to back in one FC16 request."""
        names = sorted(values, key=lambda n: self.negotiated.addresses[n])
        registers: list[int] = []
        first = self.negotiated.addresses[names[0]]
        for name in names:
            if self.negotiated.addresses[name] != first + len(registers):
                raise LocalRefusalError(
                    self.transport.asset_id, f"points {names} are not contiguous"
                )
            registers += self.encode(name, values[name], scales)
        await self.transport.write_registers(first, registers)
