"""Firmware versions: lenient reading, explicit ranges, overlap detection between maps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from dispatch.protocols.versions import FirmwareRange, overlap, parse_firmware


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.4.2", "1.4.2"),
        ("V01.04.02", "1.4.2"),
        ("1.4.2-rc1", "1.4.2rc1"),
        ("v1.4", "1.4"),
        (" 2.0.1 ", "2.0.1"),
        ("FW 2.0.1 (build 77)", "2.0.1"),
        ("KWK2 firmware 2.3-beta2", "2.3b2"),
    ],
)
def test_firmware_strings_are_read_leniently(text: str, expected: str) -> None:
    assert parse_firmware(text) == Version(expected)


@pytest.mark.parametrize("text", ["", "beta-7", "1.x", "unknown"])
def test_text_without_a_version_reads_as_none(text: str) -> None:
    assert parse_firmware(text) is None


def test_a_pre_release_needs_a_range_that_admits_it() -> None:
    plain = FirmwareRange.parse(">=1.0,<2.0")
    assert plain.admits(Version("1.4.2"))
    assert not plain.admits(Version("1.4.2rc1"))
    assert FirmwareRange.parse(">=1.0,<2.0", prereleases=True).admits(Version("1.4.2rc1"))
    assert FirmwareRange.parse("==1.4.2rc1").admits(Version("1.4.2rc1"))
    assert not plain.admits(Version("2.0.0rc1"))  # a 2.0 candidate is no 1.x firmware
    assert str(plain) == ">=1.0,<2.0"


@pytest.mark.parametrize("text", ["1.4", ">=1.4,<", "from 1.0", ""])
def test_a_range_that_is_no_specifier_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="range"):
        FirmwareRange.parse(text)


releases = st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)).map(
    lambda parts: Version(".".join(map(str, parts)))
)


@given(releases, releases, releases)
def test_a_range_admits_exactly_the_releases_between_its_bounds(
    low: Version, high: Version, version: Version
) -> None:
    firmware = FirmwareRange.parse(f">={low},<{high}")
    assert firmware.admits(version) == (low <= version < high)


bounds = st.tuples(
    st.sampled_from([">=", ">", "<=", "<", "=="]), st.integers(0, 3), st.integers(0, 3)
).map(lambda b: f"{b[0]}{b[1]}.{b[2]}")
ranges = st.lists(bounds, min_size=1, max_size=2).map(lambda parts: ",".join(parts))


@given(ranges, ranges)
def test_overlap_is_found_exactly_when_the_ranges_share_a_version(first: str, second: str) -> None:
    """Bounds on an x.y grid: any common interval holds an x.y or an x.y.5 version."""
    a, b = FirmwareRange.parse(first), FirmwareRange.parse(second)
    grid = [Version(f"{i}.{j}{tail}") for i in range(5) for j in range(5) for tail in ("", ".5")]
    shared = any(a.admits(v) and b.admits(v) for v in grid)
    found = overlap(a, b)
    assert (found is not None) == shared
    if found is not None:
        assert a.admits(found)
        assert b.admits(found)
