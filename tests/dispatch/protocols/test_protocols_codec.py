"""Codec: round trips, sentinels, word order, scale factors and strings (hypothesis)."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dispatch.protocols import codec

RANGES = {
    "int16": (-32767, 32767),  # -32768 is the sentinel
    "uint16": (0, 0xFFFE),
    "int32": (-(2**31) + 1, 2**31 - 1),
    "uint32": (0, 2**32 - 2),
    "acc32": (1, 2**32 - 1),  # 0 = not accumulated
    "sunssf": (-10, 10),
}
registers = st.integers(0, 0xFFFF)


@pytest.mark.parametrize("type_name", sorted(RANGES))
@given(data=st.data())
def test_integer_round_trip(type_name: str, data: st.DataObject) -> None:
    value = data.draw(st.integers(*RANGES[type_name]))
    for order in ("big", "little"):
        regs = codec.encode(type_name, value, order)
        assert all(0 <= r <= 0xFFFF for r in regs)
        assert len(regs) == codec.TYPE_SIZES[type_name]
        assert codec.decode(type_name, regs, order) == value


@given(st.floats(width=32, allow_nan=False))
def test_float32_round_trip_both_word_orders(value: float) -> None:
    for order in ("big", "little"):
        assert codec.decode("float32", codec.encode("float32", value, order), order) == value


@given(st.integers(0, 2**32 - 2))
def test_word_order_swaps_words(raw: int) -> None:
    big = codec.encode("uint32", raw, "big")
    little = codec.encode("uint32", raw, "little")
    assert little == big[::-1]
    assert big == [raw >> 16, raw & 0xFFFF]


@pytest.mark.parametrize(
    ("type_name", "regs"),
    [
        ("int16", [0x8000]),
        ("sunssf", [0x8000]),
        ("uint16", [0xFFFF]),
        ("enum16", [0xFFFF]),
        ("bitfield16", [0xFFFF]),
        ("int32", [0x8000, 0x0000]),
        ("uint32", [0xFFFF, 0xFFFF]),
        ("acc32", [0, 0]),
        ("float32", [0x7FC0, 0x0000]),
    ],
)
def test_sentinels_decode_to_none_and_none_encodes_them(type_name: str, regs: list[int]) -> None:
    assert codec.decode(type_name, regs) is None
    assert codec.decode(type_name, codec.encode(type_name, None)) is None
    if type_name != "float32":
        assert codec.encode(type_name, None) == regs


@given(st.sampled_from(sorted(RANGES)), st.integers(-(2**40), 2**40))
def test_encode_never_wraps(type_name: str, value: int) -> None:
    low, high = RANGES[type_name] if type_name != "sunssf" else (-32767, 32767)
    if low <= value <= high:
        assert codec.decode(type_name, codec.encode(type_name, value)) == value
    else:
        with pytest.raises(ValueError, match="fit"):
            codec.encode(type_name, value)


@given(registers)
def test_int16_is_twos_complement(reg: int) -> None:
    assume(reg != 0x8000)
    expected = struct.unpack(">h", reg.to_bytes(2, "big"))[0]
    assert codec.decode("int16", [reg]) == expected


@given(st.integers(-32767, 32767), st.integers(-10, 10))
def test_scale_round_trip(raw: int, sf: int) -> None:
    value = codec.apply_scale(raw, sf)
    assert value is not None
    assert codec.unscale(value, sf) == raw
    assert math.isclose(value, raw * 10.0**sf)


def test_scale_with_missing_parts_is_none() -> None:
    assert codec.apply_scale(None, 0) is None
    assert codec.apply_scale(5, None) is None
    with pytest.raises(ValueError, match="scale factor"):
        codec.apply_scale(5, 11)


@given(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=16), st.data())
def test_string_round_trip_nul_padded(text: str, data: st.DataObject) -> None:
    text = text.rstrip()
    size = len(text.encode("utf-8"))
    n_regs = data.draw(st.integers((size + 1) // 2, max(20, (size + 1) // 2)))
    regs = codec.encode_string(text, n_regs)
    assert len(regs) == n_regs
    assert codec.decode_string(regs) == (text or None)


def test_string_details() -> None:
    assert codec.encode_string("AB", 2) == [0x4142, 0x0000]
    assert codec.decode_string([0x5375, 0x6E53]) == "SunS"
    assert codec.decode_string([0, 0, 0]) is None
    assert codec.decode_string([0x4100, 0x4242]) == "A"  # stops at the first NUL
    with pytest.raises(ValueError, match="registers"):
        codec.encode_string("ABCDE", 2)


def test_wrong_register_count_or_value_is_refused() -> None:
    with pytest.raises(ValueError, match="register"):
        codec.decode("int32", [1])
    with pytest.raises(ValueError, match="outside"):
        codec.decode("uint16", [0x10000])
    with pytest.raises(ValueError, match="unknown"):
        codec.decode("int8", [1])
