"""Firmware versions: read leniently, matched only by ranges a register map declares.

Devices write their firmware version however their vendor likes ("1.4.2", "V01.04.02",
"1.4.2-rc1", "v1.4", "FW 2.0.1 (build 77)"). `parse_firmware` turns such text into a
`packaging.version.Version` (PEP 440 ordering: leading zeros and a leading "v" do not
matter, "1.4.2-rc1" is the pre-release 1.4.2rc1, before 1.4.2). Parsing never decides which
map fits: a map declares its range explicitly (`firmware: ">=1.4,<2.0"`, PEP 440 specifier
syntax) and `FirmwareRange.admits` is the only test. A pre-release is admitted only where the
map says so (`prereleases: true`) or its range itself names a pre-release: a release
candidate is not the firmware a map was verified against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

# The first thing in a text that looks like a version: at least two dotted numbers, an optional
# pre-release tag ("-rc1", "beta2", ".a1") and an optional local part ignored by matching.
_VERSION_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])[vV]?(\d+(?:\.\d+)+(?:[-_.]?(?:alpha|beta|preview|pre|rc|a|b|c)\.?\d*)?)"
)


def parse_firmware(text: str) -> Version | None:
    """A device's firmware text -> comparable version; None if no version is in it.

    PEP 440 text as is (case-insensitive, "v" prefix, leading zeros); otherwise the first
    dotted version in the text ("FW 2.0.1 (build 77)" -> 2.0.1; "beta-7" -> None).
    """
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return Version(stripped)
    except InvalidVersion:
        pass
    found = _VERSION_IN_TEXT.search(stripped)
    if found is None:
        return None
    try:
        return Version(found.group(1))
    except InvalidVersion:
        return None


@dataclass(frozen=True)
class FirmwareRange:
    """The firmware versions a map was written for: a PEP 440 specifier set, e.g. ">=1.4,<2.0".

    `prereleases`: whether pre-releases (rc, beta...) inside the range are admitted; if
    False they are admitted only when the specifier itself names a pre-release.
    """

    spec: SpecifierSet
    prereleases: bool = False
    text: str = ""
    """The range as the map wrote it."""

    @classmethod
    def parse(cls, text: str, prereleases: bool = False) -> FirmwareRange:
        """ValueError (saying why) if `text` is no PEP 440 specifier set or is empty."""
        try:
            spec = SpecifierSet(text)
        except InvalidSpecifier as exc:
            raise ValueError(f"{text!r} is no version range (PEP 440, e.g. '>=1.4,<2.0')") from exc
        if not str(spec):
            raise ValueError("an empty version range would admit any firmware")
        return cls(spec, prereleases, ",".join(part.strip() for part in text.split(",")))

    @property
    def names_prerelease(self) -> bool:
        """True if a bound of the range is itself a pre-release (e.g. '>=2.0rc1')."""
        return any(_bound(item.version).is_prerelease for item in self.spec)

    def admits(self, version: Version) -> bool:
        """True if `version` lies in the range (pre-releases as the class docstring says)."""
        allow_pre = self.prereleases or self.names_prerelease
        if version.is_prerelease and not allow_pre:
            return False
        return self.spec.contains(version, prereleases=allow_pre)

    def probe_versions(self) -> list[Version]:
        """Versions at and just above every bound (for overlap checks between ranges)."""
        found: list[Version] = []
        for item in self.spec:
            bound = _bound(item.version)
            found += [bound, Version(f"{bound.base_version}.0.0.0.1")]
        return found

    def __str__(self) -> str:
        text = self.text or ",".join(sorted(str(item) for item in self.spec))
        return f"{text} (pre-releases admitted)" if self.prereleases else text


def _bound(text: str) -> Version:
    """A specifier's version ('1.4.*' -> 1.4)."""
    return Version(text.removesuffix(".*"))


def overlap(first: FirmwareRange, second: FirmwareRange) -> Version | None:
    """A version both ranges admit, or None.

    Exact for ranges made of bounds (>=, >, <=, <, ==, ~=, wildcards): two intervals that
    intersect share a point at or just above one of their bounds, and version 0 covers two
    ranges without lower bounds.
    """
    candidates = [Version("0"), *first.probe_versions(), *second.probe_versions()]
    for version in candidates:
        for candidate in (version, Version(f"{version.base_version}rc1")):
            if first.admits(candidate) and second.admits(candidate):
                return candidate
    return None
