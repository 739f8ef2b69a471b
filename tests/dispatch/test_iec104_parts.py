"""The c104-free parts of the aFRR link: the ramp, our frame decoder, the points map and
the TSO's step specification (they run without the iec104 extra)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.protocols.iec104.frames import FrameError, decode
from dispatch.protocols.iec104.points import PointsMap
from dispatch.protocols.iec104.ramp import AFRR_FAT_S, RAMP_SHARE, ActivationRamp
from dispatch.protocols.iec104.steps import Step, StepSpecError, parse_steps

RAMP_S = RAMP_SHARE * AFRR_FAT_S


@settings(max_examples=200, deadline=None)
@given(
    band=st.floats(0.1, 50.0),
    targets=st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=6),
    dt=st.floats(0.1, 5.0),
)
def test_a_setpoint_is_reached_within_the_ramp_time_never_overshot(
    band: float, targets: list[float], dt: float
) -> None:
    """Whatever came before, a new setpoint is reached within `ramp_time_s`, moving
    towards it without passing it, at least band / FAT fast until there."""
    ramp = ActivationRamp(RAMP_S)
    t = 0.0
    for share in targets:
        target = share * band
        start = ramp.follow(t, target, band)
        previous, changed = start, t
        while t < changed + RAMP_S:
            t_next = t + dt
            value = ramp.follow(t_next, target, band)
            low, high = sorted((start, target))
            assert low - 1e-9 <= value <= high + 1e-9  # between where it was and the target
            moved = abs(value - previous)
            assert moved >= min(abs(target - previous), band / AFRR_FAT_S * dt) - 1e-9
            previous, t = value, t_next
        assert ramp.follow(t, target, band) == target
        t += 7.0  # the next setpoint arrives a little later


def test_a_full_swing_across_the_band_ends_within_the_fat() -> None:
    ramp = ActivationRamp(RAMP_S)
    ramp.follow(0.0, 2.0, 2.0)
    assert ramp.follow(RAMP_S, 2.0, 2.0) == 2.0
    ramp.follow(RAMP_S, -2.0, 2.0)  # +band -> -band: twice the band in one ramp time
    assert ramp.follow(RAMP_S + RAMP_S / 2, -2.0, 2.0) == pytest.approx(0.0)
    assert ramp.follow(2 * RAMP_S, -2.0, 2.0) == -2.0


def test_a_ramp_needs_a_positive_time() -> None:
    with pytest.raises(ValueError, match="ramp_time_s=0"):
        ActivationRamp(0.0)


def _apdu(type_id: int, cot: int, objects: bytes, count: int = 1, negative: bool = False) -> bytes:
    """An I-format APDU built from the standard's layout (not by c104)."""
    asdu = bytes([type_id, count, cot | (0x40 if negative else 0), 0, 1, 0]) + objects
    return bytes([0x68, len(asdu) + 4, 0x02, 0x00, 0x04, 0x00]) + asdu


def test_decodes_a_time_tagged_measured_value() -> None:
    # IOA 200, 3.25 MW, quality NT, 2026-06-13 10:04:07.250 (CP56Time2a)
    element = struct.pack("<f", 3.25) + bytes([0x40])
    tag = struct.pack("<H", 7250) + bytes([4, 10, 13, 6, 26])
    frame = decode(_apdu(36, 3, (200).to_bytes(3, "little") + element + tag))
    assert (frame.type_id, frame.cot, frame.common_address) == (36, 3, 1)
    (obj,) = frame.objects
    assert obj.ioa == 200
    assert obj.value == pytest.approx(3.25)
    assert obj.time_tag == datetime(2026, 6, 13, 10, 4, 7, 250000, tzinfo=UTC)
    assert not obj.good  # not topical


def test_decodes_a_negative_setpoint_confirmation_and_single_points() -> None:
    confirm = decode(
        _apdu(50, 7, (100).to_bytes(3, "little") + struct.pack("<f", -6.0) + b"\x00", negative=True)
    )
    assert confirm.negative
    assert confirm.objects[0].value == pytest.approx(-6.0)
    singles = decode(_apdu(1, 20, (300).to_bytes(3, "little") + b"\x81\x00", count=0x82))
    assert (
        [(o.ioa, o.value, o.good) for o in singles.objects]
        == [
            (300, True, False),  # IV set
            (301, False, True),
        ][: len(singles.objects)]
    )


def test_refuses_what_is_not_an_apdu() -> None:
    with pytest.raises(FrameError, match="not an IEC 104 APDU"):
        decode(b"\x00\x04\x01\x00\x00\x00")
    assert decode(bytes([0x68, 4, 0x07, 0, 0, 0])).type_id == 0  # STARTDT act (U format)


def test_points_map_refuses_a_reused_address() -> None:
    with pytest.raises(ValueError, match="measured=100: IOA already used by setpoint"):
        PointsMap(measured=100)
    with pytest.raises(ValueError, match="common_address=0"):
        PointsMap(common_address=0)
    assert [s.type_id for s in PointsMap().specs()][:2] == ["C_SE_NC_1", "M_ME_TF_1"]


def test_parse_steps() -> None:
    assert parse_steps("2@5s, -2.5@205,drop@405s") == [
        Step(5.0, 2.0),
        Step(205.0, -2.5),
        Step(405.0, None),
    ]
    with pytest.raises(StepSpecError, match="'2MW@5s' is not MW@Ts"):
        parse_steps("2MW@5s")
    with pytest.raises(StepSpecError, match="drop must be the last step"):
        parse_steps("drop@5s,2@10s")
    with pytest.raises(StepSpecError, match="times must not decrease"):
        parse_steps("2@10s,1@5s")
