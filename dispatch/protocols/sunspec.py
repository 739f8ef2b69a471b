"""SunSpec discovery over a `ModbusTransport`: the 'SunS' marker, the model chain, model 1.

Addresses are found by walking the chain from the marker at PDU address 40000; nothing here
(or anywhere) assumes where a model sits. Model lengths are validated the way pysunspec2
validates them: a model whose declared length differs from its definition is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.device import MapMismatchError
from dispatch.protocols import codec
from dispatch.protocols.transport import ModbusTransport

BASE_ADDRESS = 40000
SUNS_MARKER = (0x5375, 0x6E53)  # "SunS"
END_MODEL_ID = 0xFFFF
MAX_MODELS = 64

#: Lengths (L, registers after ID and L) of the SunSpec models this project knows, from the
#: SunSpec model definitions (pysunspec2 1.3.7 models/json). Model 1 has L=66 with its pad
#: register, 65 without. Vendor models (64000+) and unknown ids are accepted with any length.
KNOWN_MODEL_LENGTHS: dict[int, frozenset[int]] = {
    1: frozenset({65, 66}),
    101: frozenset({50}),
    102: frozenset({50}),
    103: frozenset({50}),
    120: frozenset({26}),
    121: frozenset({30}),
    123: frozenset({24}),
    124: frozenset({24}),
}

#: Model 1 (common) string points: name -> (offset in the body, length in registers).
COMMON_STRINGS: dict[str, tuple[int, int]] = {
    "Mn": (0, 16),
    "Md": (16, 16),
    "Opt": (32, 8),
    "Vr": (40, 8),
    "SN": (48, 16),
}


@dataclass(frozen=True)
class SunSpecChain:
    """What a chain walk found: models in device order and where each body starts."""

    models: tuple[tuple[int, int], ...]
    """(model id, length) pairs in the device's order."""
    bodies: dict[int, int]
    """Model id -> PDU address of its first body register (after ID and L)."""


async def has_marker(transport: ModbusTransport) -> bool:
    """True if the 'SunS' marker sits at 40000 (a refusal there means 'not SunSpec')."""
    regs = await transport.read_holding_registers(BASE_ADDRESS, 2)
    return tuple(regs) == SUNS_MARKER


async def walk_chain(transport: ModbusTransport) -> SunSpecChain:
    """Walk the model chain from 40002; MapMismatchError on a malformed chain.

    Cost: one 2-register read per model plus one for the end marker.
    """
    models: list[tuple[int, int]] = []
    bodies: dict[int, int] = {}
    address = BASE_ADDRESS + 2
    for _ in range(MAX_MODELS):
        model_id, length = await transport.read_holding_registers(address, 2)
        if model_id == END_MODEL_ID:
            return SunSpecChain(tuple(models), bodies)
        known = KNOWN_MODEL_LENGTHS.get(model_id)
        if known is not None and length not in known:
            raise MapMismatchError(
                transport.asset_id,
                f"SunSpec model {model_id} at {address}: length {length}, "
                f"definition says {sorted(known)}",
            )
        models.append((model_id, length))
        bodies.setdefault(model_id, address + 2)
        address += 2 + length
    raise MapMismatchError(transport.asset_id, f"no SunSpec end marker in {MAX_MODELS} models")


def decode_common(body: list[int]) -> dict[str, str]:
    """Model 1 body registers -> {Mn, Md, Opt, Vr, SN} text ('' where not implemented)."""
    return {
        name: codec.decode_string(body[offset : offset + length]) or ""
        for name, (offset, length) in COMMON_STRINGS.items()
    }


async def read_common(transport: ModbusTransport, body_address: int) -> dict[str, str]:
    """Read and decode model 1 (one 64-register read)."""
    return decode_common(await transport.read_holding_registers(body_address, 64))


async def read_version(transport: ModbusTransport, body_address: int) -> str:
    """Model 1 Vr only: the cheap firmware check (one 8-register read, ~0.5 ms on a LAN)."""
    offset, length = COMMON_STRINGS["Vr"]
    regs = await transport.read_holding_registers(body_address + offset, length)
    return codec.decode_string(regs) or ""
