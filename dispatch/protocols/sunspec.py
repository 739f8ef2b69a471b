"""SunSpec discovery over a `ModbusTransport`: the 'SunS' marker, the model chain, model 1.

The marker may sit at any of the three base addresses SunSpec allows: PDU addresses 40000,
0 and 50000 (registers 40001, 1 and 50001 in 1-based numbering), tried in that order - the
order of the SunSpec Alliance's reference client, pysunspec2 1.3.7
(`sunspec2/modbus/client.py`, `base_addr_list = [40000, 0, 50000]`), 40000 being the
preferred base. Addresses are found by walking the chain from the marker; nothing here (or
anywhere) assumes where a model sits. Model lengths are validated the way pysunspec2
validates them: a model whose declared length differs from its definition is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.device import DeviceRefusedError, MapMismatchError
from dispatch.protocols import codec
from dispatch.protocols.transport import ModbusTransport

BASE_ADDRESSES: tuple[int, ...] = (40000, 0, 50000)
"""SunSpec base addresses (0-based PDU), in the order they are tried."""
BASE_ADDRESS = BASE_ADDRESSES[0]
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

    base: int
    """PDU address of the 'SunS' marker."""
    models: tuple[tuple[int, int], ...]
    """(model id, length) pairs in the device's order."""
    bodies: dict[int, int]
    """Model id -> PDU address of its first body register (after ID and L)."""


async def has_marker(transport: ModbusTransport, base: int = BASE_ADDRESS) -> bool:
    """True if the 'SunS' marker sits at `base` (a refusal there means 'not here')."""
    try:
        regs = await transport.read_holding_registers(base, 2)
    except DeviceRefusedError:
        return False
    return tuple(regs) == SUNS_MARKER


async def find_base(transport: ModbusTransport) -> int | None:
    """The first of `BASE_ADDRESSES` holding 'SunS', None if none does (not SunSpec).

    Cost: one 2-register read per base tried (a device without SunSpec: three).
    A timeout or lost connection is raised, not taken for 'not SunSpec'.
    """
    for base in BASE_ADDRESSES:
        if await has_marker(transport, base):
            return base
    return None


async def walk_chain(transport: ModbusTransport, base: int = BASE_ADDRESS) -> SunSpecChain:
    """Walk the model chain from base + 2; MapMismatchError on a malformed chain.

    Cost: one 2-register read per model plus one for the end marker.
    """
    models: list[tuple[int, int]] = []
    bodies: dict[int, int] = {}
    address = base + 2
    for _ in range(MAX_MODELS):
        model_id, length = await transport.read_holding_registers(address, 2)
        if model_id == END_MODEL_ID:
            return SunSpecChain(base, tuple(models), bodies)
        known = KNOWN_MODEL_LENGTHS.get(model_id)
        if known is not None and length not in known:
            raise MapMismatchError(
                transport.asset_id,
                f"SunSpec model {model_id} at {address}: length {length}, "
                f"definition says {' or '.join(str(n) for n in sorted(known))}",
            )
        models.append((model_id, length))
        bodies.setdefault(model_id, address + 2)
        address += 2 + length
        if address + 2 > 0x10000:
            break
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
