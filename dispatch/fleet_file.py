"""The fleet file: which Modbus TCP device is which asset of a portfolio.

A YAML file (JSON is YAML too) read by `vpp serve --fleet FILE`::

    version: 1
    portfolio: sample-vpp        # the stored portfolio whose assets these devices are
    assets:
      - asset_id: bat-nl-rotterdam-01
        host: 10.20.0.11         # host name or IP address of the device (or its gateway)
        port: 502                # Modbus TCP port, 1..65535
        unit_id: 1               # Modbus unit identifier, 0..255 (the device behind a gateway)
        timeout_s: 0.4           # optional: deadline per request [s], below 0.5
        identity_check_s: 5.0    # optional: re-check the firmware identity this often [s]

What each asset is (kind, ratings, energy) comes from the portfolio; the fleet file only
says where to reach it. The register map is chosen by the device's own identity (SunSpec
model 1 or FC43, `dispatch.protocols`), so the file names no map. Every bad entry is
reported at once, each naming its field (``assets[2].port``), the value and the rule
(`FleetFileError`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ACTOR_DEADLINE_S = 0.5
"""The dispatcher's deadline per device call [s] (`dispatch.actor.ActorConfig.io_timeout_s`):
a request timeout must be below it, so that the adapter sees (and counts) its timeouts."""


MISSING = "(missing)"
"""The value of a problem about a field that is not given."""


@dataclass(frozen=True)
class FleetProblem:
    """One broken rule: `field=value: rule` (`field: rule` for a missing field)."""

    field: str
    value: Any
    rule: str

    def __str__(self) -> str:
        if self.value is MISSING:
            return f"{self.field}: {self.rule}"
        return f"{self.field}={self.value!r}: {self.rule}"


class FleetFileError(ValueError):
    """A fleet file that cannot be used; `problems` lists every broken rule."""

    def __init__(self, source: str, problems: list[FleetProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"fleet file {source}: {len(problems)} problem(s)\n{lines}")


class FleetAsset(BaseModel):
    """Where one asset's device answers (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset_id: str = Field(min_length=1, max_length=100)
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=255)
    timeout_s: float = Field(default=0.4, gt=0.0, lt=ACTOR_DEADLINE_S)
    identity_check_s: float = Field(default=5.0, ge=0.0, le=3600.0)

    @field_validator("asset_id", "host")
    @classmethod
    def _no_blanks(cls, value: str) -> str:
        if value != value.strip() or any(c.isspace() for c in value):
            raise ValueError("must not contain whitespace")
        return value


class FleetFile(BaseModel):
    """A portfolio's devices (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    portfolio: str = Field(min_length=1, max_length=100)
    assets: tuple[FleetAsset, ...] = Field(min_length=1)

    def by_asset(self) -> dict[str, FleetAsset]:
        """Asset id -> its device."""
        return {a.asset_id: a for a in self.assets}

    def check_covers(self, asset_ids: Iterable[str]) -> None:
        """`FleetFileError` unless every asset of `asset_ids` (the portfolio's dispatchable
        assets) has a device and every device is one of them."""
        wanted = set(asset_ids)
        named = set(self.by_asset())
        problems = [
            FleetProblem("assets", asset, "the portfolio's asset has no device in the fleet file")
            for asset in sorted(wanted - named)
        ]
        problems += [
            FleetProblem(
                f"assets[{i}].asset_id",
                a.asset_id,
                f"is not a dispatchable asset of portfolio {self.portfolio} "
                "(battery, pv, wind or chp in service)",
            )
            for i, a in enumerate(self.assets)
            if a.asset_id not in wanted
        ]
        if problems:
            raise FleetFileError(f"for portfolio {self.portfolio}", problems)


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def parse_fleet(data: Any, source: str = "(data)") -> FleetFile:
    """The fleet file of already-parsed `data`; `FleetFileError` naming every problem."""
    if not isinstance(data, dict):
        raise FleetFileError(
            source, [FleetProblem("(file)", type(data).__name__, "must be a mapping")]
        )
    try:
        fleet = FleetFile.model_validate(data)
    except ValidationError as exc:
        problems = [
            FleetProblem(
                _location(err["loc"]),
                MISSING if err["type"] == "missing" else err.get("input"),
                err["msg"].removeprefix("Value error, "),
            )
            for err in exc.errors()
        ]
        raise FleetFileError(source, problems) from None
    problems = []
    seen_ids: dict[str, int] = {}
    seen_devices: dict[tuple[str, int, int], int] = {}
    for i, asset in enumerate(fleet.assets):
        if asset.asset_id in seen_ids:
            problems.append(
                FleetProblem(
                    f"assets[{i}].asset_id",
                    asset.asset_id,
                    f"must be unique: also assets[{seen_ids[asset.asset_id]}]",
                )
            )
        seen_ids.setdefault(asset.asset_id, i)
        device = (asset.host.lower(), asset.port, asset.unit_id)
        if device in seen_devices:
            problems.append(
                FleetProblem(
                    f"assets[{i}]",
                    f"{asset.host}:{asset.port} unit {asset.unit_id}",
                    f"one device per asset: also assets[{seen_devices[device]}]",
                )
            )
        seen_devices.setdefault(device, i)
    if problems:
        raise FleetFileError(source, problems)
    return fleet


def load_fleet(path: Path) -> FleetFile:
    """Read and validate a fleet file (YAML or JSON); `FleetFileError` naming every
    problem (an unreadable file or bad YAML is one problem naming the file)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FleetFileError(
            source, [FleetProblem("(file)", source, f"cannot be read: {exc}")]
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FleetFileError(
            source, [FleetProblem("(file)", source, f"is not YAML: {exc}")]
        ) from None
    return parse_fleet(data, source)


__all__ = [
    "MISSING",
    "FleetAsset",
    "FleetFile",
    "FleetFileError",
    "FleetProblem",
    "load_fleet",
    "parse_fleet",
]
