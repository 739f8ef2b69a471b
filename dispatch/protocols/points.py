"""Read and write named map points through a transport, in the device's units and sign.

Reads group the wanted points (and the SF points their scales name) into as few contiguous
requests as possible (at most 125 registers each, gaps up to `MAX_GAP` registers read and
ignored). Writes check access and valid range locally first: an out-of-range or read-only
write is refused before anything goes on the wire.

What a device answers is checked too (the layout check):

- a SunSpec scale factor that differs from the one read when the map was bound (a firmware
  changed in place, same version string) -> `MapMismatchError` naming the register, the old
  and the new value: the map no longer fits, the asset is quarantined. Every read carries
  the SF registers of the points it reads, so this costs nothing extra;
- a value outside its point's declared `range`, registers that cannot be decoded, or a point
  written through this `PointIO` that reads back as another value (the read-back of a
  setpoint write) -> `DeviceFaultError` naming the asset, the point, its register and the
  value: a device fault, handled like a drifting device.

A write whose answer never came (the caller's deadline cancelled it, or the link dropped it)
may still land on the device later: on a busy host a CHP's setpoint write answered after its
deadline landed a second later, and the read-back of the value before it called 1 to 82
honest CHPs per 400-device run faulty. Such registers are kept as *landing* (`landing`,
owned by the caller like `held`): a read-back that shows one of them is that write landing
late, adopted as what the device holds, never a fault.
"""

from __future__ import annotations

import math

from dispatch.device import DeviceFaultError, DeviceRefusedError, MapMismatchError
from dispatch.protocols import codec
from dispatch.protocols.negotiation import Negotiated
from dispatch.protocols.registermap import UNIT_TO_MW, Point
from dispatch.protocols.transport import ModbusTransport

MAX_READ = 125
MAX_GAP = 16
MAX_LANDING = 4
"""Unanswered writes per point remembered as possibly landing late (the latest ones)."""

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

    def __init__(
        self,
        transport: ModbusTransport,
        negotiated: Negotiated,
        held: dict[str, list[int]] | None = None,
        landing: dict[str, list[list[int]]] | None = None,
    ) -> None:
        self.transport = transport
        self.negotiated = negotiated
        self.written: dict[str, list[int]] = {}
        """Registers written per point through this instance (checked when read back)."""
        self.held = {} if held is None else held
        """Registers last written to fixed-scale points, kept by the caller across reads: a
        device holding something else there (a scale changed in place) is at fault."""
        self.landing = {} if landing is None else landing
        """Registers sent to each point whose write was not (yet) acknowledged, oldest
        first, kept by the caller across reads: they may land late (module docstring)."""

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
        ordered = sorted(names, key=lambda n: self.negotiated.point(n).type != "sunssf")
        for name in ordered:  # scale factors first: a changed layout is a map mismatch
            point = self.negotiated.point(name)
            regs = [raw[addresses[name] + i] for i in range(point.length)]
            self._check_read_back(name, regs)
            if point.type == "string":
                unscaled[name] = codec.decode_string(regs)
                continue
            try:
                unscaled[name] = codec.decode(point.type, regs, point.word_order)
            except ValueError as exc:
                raise self._fault(name, regs, str(exc)) from exc
            if point.type == "sunssf":
                self._check_scale_factor(name, unscaled[name])
        values = {name: self._scaled(name, unscaled) for name in names}
        for name, value in values.items():
            self._check_range(name, value)
        return values

    def _fault(self, name: str, regs: list[int], why: str) -> DeviceFaultError:
        address = self.negotiated.addresses[name]
        shown = " ".join(f"0x{reg:04X}" for reg in regs)
        return DeviceFaultError(
            self.transport.asset_id, f"point {name} at register {address} = [{shown}]: {why}"
        )

    def _check_read_back(self, name: str, regs: list[int]) -> None:
        written = self.written.get(name, self.held.get(name))
        if written is None or written == regs:
            return
        sent = self.landing.get(name, [])
        if regs in sent:  # a write whose answer was lost landed late: the device holds it
            del sent[: sent.index(regs) + 1]
            if name in self.written:
                self.written[name] = regs
            if name in self.held:
                self.held[name] = regs
            return
        shown = " ".join(f"0x{reg:04X}" for reg in written)
        raise self._fault(name, regs, f"written as [{shown}], reads back otherwise")

    def _check_scale_factor(self, name: str, value: Value) -> None:
        bound = self.negotiated.scale_factors
        if name in bound and bound[name] != value:
            raise MapMismatchError(
                self.transport.asset_id,
                f"scale factor {name} at register {self.negotiated.addresses[name]} changed "
                f"from {bound[name]} to {value} since map {self.negotiated.register_map.map_id} "
                "was bound (layout changed in place)",
            )

    def _check_range(self, name: str, value: Value) -> None:
        point = self.negotiated.point(name)
        if point.range is None or not isinstance(value, int | float):
            return
        low, high = point.range
        slack = 1e-9 * max(abs(low), abs(high), 1.0)  # decimal steps are not exact in binary
        if not (low - slack <= value <= high + slack) or math.isnan(value):
            address = self.negotiated.addresses[name]
            raise DeviceFaultError(
                self.transport.asset_id,
                f"point {name} at register {address} = {value:g} {point.unit} outside its "
                f"declared range [{low:g}, {high:g}]",
            )

    def _scaled(self, name: str, unscaled: dict[str, Value]) -> Value:
        point = self.negotiated.point(name)
        value = unscaled[name]
        if point.type in {"string", "sunssf", "enum16", "bitfield16"} or value is None:
            return value
        if isinstance(point.scale, str):
            sf = unscaled[point.scale]
            scale: int | None = sf if isinstance(sf, int) else None
        else:
            scale = point.scale
        try:
            return codec.apply_scale(value, scale) if scale or scale is None else value
        except ValueError as exc:
            address = self.negotiated.addresses[name]
            raise DeviceFaultError(
                self.transport.asset_id,
                f"point {name} at register {address} = {value}: {exc}",
            ) from exc

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
        """Write points that sit back to back in one FC16 request.

        Only once the device acknowledged are the registers remembered for the read-back
        check; until then they are *landing* (a write whose answer was lost may or may not
        have landed, now or later).
        """
        names = sorted(values, key=lambda n: self.negotiated.addresses[n])
        registers: list[int] = []
        encoded: dict[str, list[int]] = {}
        first = self.negotiated.addresses[names[0]]
        for name in names:
            if self.negotiated.addresses[name] != first + len(registers):
                raise LocalRefusalError(
                    self.transport.asset_id, f"points {names} are not contiguous"
                )
            encoded[name] = self.encode(name, values[name], scales)
            registers += encoded[name]
        for name, regs in encoded.items():  # before sending: a cancelled wait keeps them
            sent = self.landing.setdefault(name, [])
            sent.append(regs)
            del sent[:-MAX_LANDING]
        await self.transport.write_registers(first, registers)
        self.written.update(encoded)
        for name, regs in encoded.items():
            sent = self.landing.get(name, [])
            if regs in sent:  # acknowledged: it landed
                sent.remove(regs)
            if not isinstance(self.negotiated.point(name).scale, str):
                self.held[name] = regs
