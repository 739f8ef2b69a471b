"""Our own decoder of IEC 60870-5-104 APDUs, for the few ASDU types of the aFRR link.

The simulated TSO records what it reads back from the raw frames, decoded here, and not
only from c104's point values: an independent reading of the wire (c104's own booleans are
not protocol facts, see ../shared/docs/protocol-notes.md). Layout (IEC 60870-5-104 and
-101): start 0x68, length, four control octets (I format: bit 0 of the first is 0), then
the ASDU: type id, variable structure qualifier (bit 7: sequence, bits 0-6: number of
objects), cause of transmission (bits 0-5; bit 6: negative confirm; bit 7: test),
originator address, common address (2 octets, little endian), then the objects, each a
3-octet address (only the first in a sequence) and its elements.

Decoded types: M_SP_NA_1 (1), M_ME_NC_1 (13), M_ME_TF_1 (36), C_SE_NC_1 (50); other
frames are returned without objects.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

M_SP_NA_1 = 1
M_ME_NC_1 = 13
M_ME_TF_1 = 36
C_SE_NC_1 = 50
COT_ACTIVATION_CON = 7
_ELEMENT_SIZE = {M_SP_NA_1: 1, M_ME_NC_1: 5, M_ME_TF_1: 12, C_SE_NC_1: 5}


class FrameError(ValueError):
    """Bytes that are not an APDU of this link; the message says what is wrong."""


@dataclass(frozen=True)
class InfoObject:
    """One decoded object: address, value (MW or bool) and time tag (UTC) if any."""

    ioa: int
    value: float | bool
    time_tag: datetime | None = None
    quality: int = 0
    """The quality descriptor's bits (IV 0x80, NT 0x40, SB 0x20, BL 0x10, OV 0x01)."""

    @property
    def good(self) -> bool:
        """No quality bit set (valid, topical, not substituted, blocked or overflowed)."""
        return self.quality & 0xF1 == 0


@dataclass(frozen=True)
class Frame:
    """A decoded I-format APDU (`type_id` 0 for S and U frames)."""

    type_id: int
    cot: int = 0
    negative: bool = False
    common_address: int = 0
    objects: tuple[InfoObject, ...] = ()


def cp56time2a(octets: bytes) -> datetime:
    """The 7-octet CP56Time2a time tag as a UTC datetime (the link carries UTC)."""
    if len(octets) != 7:
        raise FrameError(f"CP56Time2a needs 7 octets, got {len(octets)}")
    ms = octets[0] | octets[1] << 8
    minute, hour = octets[2] & 0x3F, octets[3] & 0x1F
    day, month, year = octets[4] & 0x1F, octets[5] & 0x0F, 2000 + (octets[6] & 0x7F)
    base = datetime(year, month, day, hour, minute, tzinfo=UTC)
    return base + timedelta(milliseconds=ms)


def decode(apdu: bytes) -> Frame:
    """One APDU (see the module docstring); `FrameError` if it is not one."""
    if len(apdu) < 6 or apdu[0] != 0x68 or apdu[1] != len(apdu) - 2:
        raise FrameError(f"not an IEC 104 APDU: {apdu[:8].hex(' ')}")
    if apdu[2] & 0x01:  # S or U format: no ASDU
        return Frame(0)
    asdu = apdu[6:]
    if len(asdu) < 6:
        raise FrameError(f"ASDU too short ({len(asdu)} octets)")
    type_id, vsq, cot_octet = asdu[0], asdu[1], asdu[2]
    common_address = asdu[4] | asdu[5] << 8
    count, sequence = vsq & 0x7F, bool(vsq & 0x80)
    frame = Frame(type_id, cot_octet & 0x3F, bool(cot_octet & 0x40), common_address)
    size = _ELEMENT_SIZE.get(type_id)
    if size is None:
        return frame
    body, objects, ioa = asdu[6:], [], 0
    for k in range(count):
        if not sequence or k == 0:
            ioa, body = int.from_bytes(body[:3], "little"), body[3:]
        elif sequence:
            ioa += 1
        element, body = body[:size], body[size:]
        if len(element) != size:
            raise FrameError(f"type {type_id}: object {k} truncated")
        objects.append(_element(type_id, ioa, element))
    return Frame(type_id, frame.cot, frame.negative, common_address, tuple(objects))


def _element(type_id: int, ioa: int, element: bytes) -> InfoObject:
    if type_id == M_SP_NA_1:
        return InfoObject(ioa, bool(element[0] & 0x01), quality=element[0] & 0xF0)
    value = struct.unpack("<f", element[:4])[0]
    if type_id == M_ME_TF_1:
        return InfoObject(ioa, value, cp56time2a(element[5:12]), element[4])
    if type_id == C_SE_NC_1:
        return InfoObject(ioa, value)  # its fifth octet is the qualifier, not a quality
    return InfoObject(ioa, value, quality=element[4])
