"""Register codec: Python values <-> 16-bit Modbus registers.

Pure functions, no I/O. Registers are ints in 0..65535. Multi-register values use big-endian
byte order inside each register; the word order is a parameter ("big" = high word first, the
SunSpec and Modbus convention; "little" = low word first, seen on some vendor devices).

Not-implemented sentinels (SunSpec) decode to None:
int16 0x8000, uint16 0xFFFF, int32 0x80000000, uint32 0xFFFFFFFF, acc32 0 ("not
accumulated"), sunssf 0x8000, float32 NaN, string all NUL.
"""

from __future__ import annotations

import math
import struct
from typing import Literal

WordOrder = Literal["big", "little"]

#: Number of registers each fixed-size type occupies.
TYPE_SIZES: dict[str, int] = {
    "int16": 1,
    "uint16": 1,
    "sunssf": 1,
    "enum16": 1,
    "bitfield16": 1,
    "int32": 2,
    "uint32": 2,
    "acc32": 2,
    "float32": 2,
}

_SENTINELS: dict[str, int] = {
    "int16": 0x8000,
    "sunssf": 0x8000,
    "uint16": 0xFFFF,
    "enum16": 0xFFFF,
    "bitfield16": 0xFFFF,
    "int32": 0x80000000,
    "uint32": 0xFFFFFFFF,
    "acc32": 0,
}

_SIGNED = {"int16", "sunssf", "int32"}


def _check_registers(regs: list[int] | tuple[int, ...], size: int) -> None:
    if len(regs) != size:
        raise ValueError(f"expected {size} register(s), got {len(regs)}")
    for reg in regs:
        if not 0 <= reg <= 0xFFFF:
            raise ValueError(f"register value {reg} outside 0..65535")


def _join(regs: list[int] | tuple[int, ...], word_order: WordOrder) -> int:
    """Two registers -> unsigned 32-bit int."""
    high, low = (regs[0], regs[1]) if word_order == "big" else (regs[1], regs[0])
    return (high << 16) | low


def _split(raw: int, word_order: WordOrder) -> list[int]:
    """Unsigned 32-bit int -> two registers in the given word order."""
    high, low = (raw >> 16) & 0xFFFF, raw & 0xFFFF
    return [high, low] if word_order == "big" else [low, high]


def decode(
    type_name: str, regs: list[int] | tuple[int, ...], word_order: WordOrder = "big"
) -> int | float | None:
    """Decode one raw (unscaled) value; None for the type's not-implemented sentinel."""
    if type_name == "float32":
        _check_registers(regs, 2)
        value = struct.unpack(">f", struct.pack(">I", _join(regs, word_order)))[0]
        return None if math.isnan(value) else value
    size = TYPE_SIZES.get(type_name)
    if size is None:
        raise ValueError(f"unknown register type {type_name!r}")
    _check_registers(regs, size)
    raw = regs[0] if size == 1 else _join(regs, word_order)
    if raw == _SENTINELS[type_name]:
        return None
    if type_name in _SIGNED:
        bits = 16 * size
        if raw >= 1 << (bits - 1):
            raw -= 1 << bits
    return raw


def encode(type_name: str, value: int | float | None, word_order: WordOrder = "big") -> list[int]:
    """Encode one raw (unscaled) value; None encodes the not-implemented sentinel.

    Raises ValueError if the value does not fit the type (never wraps silently).
    """
    if type_name == "float32":
        number = math.nan if value is None else float(value)
        raw = struct.unpack(">I", struct.pack(">f", number))[0]
        return _split(raw, word_order)
    size = TYPE_SIZES.get(type_name)
    if size is None:
        raise ValueError(f"unknown register type {type_name!r}")
    if value is None:
        raw = _SENTINELS[type_name]
    else:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{type_name} needs an integer, got {value}")
        number = int(value)
        bits = 16 * size
        low, high = (
            (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
            if type_name in _SIGNED
            else (0, (1 << bits) - 1)
        )
        if not low <= number <= high or number == _signed_view(_SENTINELS[type_name], type_name):
            raise ValueError(f"{number} does not fit {type_name} (or is its sentinel)")
        raw = number & ((1 << bits) - 1)
    return [raw] if size == 1 else _split(raw, word_order)


def _signed_view(raw: int, type_name: str) -> int:
    """The sentinel as the number a caller would pass (e.g. -32768 for int16)."""
    bits = 16 * TYPE_SIZES[type_name]
    if type_name in _SIGNED and raw >= 1 << (bits - 1):
        return raw - (1 << bits)
    return raw


def apply_scale(raw: int | float | None, sf: int | None) -> float | None:
    """Raw value times 10**sf (SunSpec scale factor); None if either is not implemented."""
    if raw is None or sf is None:
        return None
    if not -10 <= sf <= 10:
        raise ValueError(f"scale factor {sf} outside -10..10")
    return raw * 10.0**sf


def unscale(value: float, sf: int) -> int:
    """Engineering value -> raw integer for scale factor sf (rounded to nearest)."""
    if not -10 <= sf <= 10:
        raise ValueError(f"scale factor {sf} outside -10..10")
    return round(value / 10.0**sf)


def decode_string(regs: list[int] | tuple[int, ...]) -> str | None:
    """Registers -> text: two bytes per register, high byte first, NUL padded.

    Returns None if every byte is NUL (SunSpec: not implemented). Trailing NULs and spaces are
    stripped; invalid UTF-8 is replaced rather than raised (device text is informative only).
    """
    data = b"".join(reg.to_bytes(2, "big") for reg in regs)
    text = data.split(b"\x00", 1)[0].decode("utf-8", errors="replace").rstrip()
    return text or None


def encode_string(text: str, n_regs: int) -> list[int]:
    """Text -> n_regs registers, NUL padded; ValueError if it does not fit or contains NUL."""
    data = text.encode("utf-8")
    if b"\x00" in data:
        raise ValueError("string must not contain NUL")
    if len(data) > 2 * n_regs:
        raise ValueError(f"{text!r} needs more than {n_regs} registers")
    data = data.ljust(2 * n_regs, b"\x00")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
