"""Register maps as data: load, validate, select by (vendor, model, firmware), decode points.

A map file (YAML, in `dispatch/protocols/maps/`) describes one device model over one firmware
range. SunSpec points name a model id and an offset inside that model's body (after its ID
and L registers); their addresses are found at run time by walking the model chain, never
written down. Non-SunSpec points carry an absolute PDU address (0-based).

Each point: `type` (codec type), `scale` (fixed power of ten, or the name of an SF point),
`unit` (W, kW, MW, %, ...), `sign` (+1/-1: multiply the device's value by it to get ours,
+ injection), `access` (R or RW), `range` ([min, max] valid engineering values in the device's
unit and sign, inclusive), optional `word_order` (big/little).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dispatch.device import Identity, MapMismatchError
from dispatch.protocols import codec

MAPS_DIR = Path(__file__).parent / "maps"

#: Factor from a point's unit to the dispatcher's MW.
UNIT_TO_MW: dict[str, float] = {"W": 1e-6, "kW": 1e-3, "MW": 1.0}


@dataclass(frozen=True)
class Point:
    """One register point of a map (see module docstring for the fields' meaning)."""

    name: str
    type: str
    access: str = "R"
    model: int | None = None
    offset: int | None = None
    address: int | None = None
    scale: int | str = 0
    unit: str = ""
    sign: int = 1
    range: tuple[float, float] | None = None
    word_order: codec.WordOrder = "big"
    length: int = 1
    """Registers occupied (strings: their length; others: from the type)."""


@dataclass(frozen=True)
class RegisterMap:
    """A device model's register map for one firmware range [fw_from, fw_below)."""

    map_id: str
    vendor: str
    model: str
    fw_from: tuple[int, ...]
    fw_below: tuple[int, ...]
    identity: str
    """How the device identifies itself: "sunspec" (common model 1) or "fc43"."""
    profile: str
    """Name of the control profile in `dispatch.protocols.profiles` this map drives."""
    points: dict[str, Point]
    sunspec_models: dict[int, int] = field(default_factory=dict)
    """Required SunSpec models: id -> expected length L."""
    constants: dict[str, float] = field(default_factory=dict)
    source: str = ""

    def matches(self, identity: Identity) -> bool:
        """True if vendor, model and firmware range fit the identity."""
        version = parse_version(identity.firmware)
        return (
            identity.vendor == self.vendor
            and identity.model == self.model
            and version is not None
            and self.fw_from <= version < self.fw_below
        )

    def chain_problem(self, identity: Identity) -> str | None:
        """Why the device's SunSpec chain does not fit this map, or None if it does."""
        chain = dict(identity.models)
        for model_id, length in self.sunspec_models.items():
            if model_id not in chain:
                return f"map {self.map_id} needs SunSpec model {model_id}, device has none"
            if chain[model_id] != length:
                return (
                    f"map {self.map_id} expects model {model_id} length {length}, "
                    f"device says {chain[model_id]}"
                )
        return None


def parse_version(text: str) -> tuple[int, ...] | None:
    """'2.1.0' -> (2, 1, 0); None if any dotted part is not a number."""
    parts = text.strip().lstrip("vV").split(".")
    try:
        return tuple(int(part) for part in parts)
    except ValueError:
        return None


def _point(name: str, raw: dict[str, Any]) -> Point:
    type_name = raw["type"]
    if type_name == "string":
        length = int(raw["length"])
    elif type_name in codec.TYPE_SIZES:
        length = codec.TYPE_SIZES[type_name]
    else:
        raise ValueError(f"point {name}: unknown type {type_name!r}")
    has_model = "model" in raw and "offset" in raw
    if has_model == ("address" in raw):
        raise ValueError(f"point {name}: give either model+offset or address")
    access = raw.get("access", "R")
    if access not in {"R", "RW"}:
        raise ValueError(f"point {name}: access must be R or RW, not {access!r}")
    sign = int(raw.get("sign", 1))
    if sign not in {1, -1}:
        raise ValueError(f"point {name}: sign must be +1 or -1")
    valid = raw.get("range")
    return Point(
        name=name,
        type=type_name,
        access=access,
        model=raw.get("model"),
        offset=raw.get("offset"),
        address=raw.get("address"),
        scale=raw.get("scale", 0),
        unit=raw.get("unit", ""),
        sign=sign,
        range=(float(valid[0]), float(valid[1])) if valid else None,
        word_order=raw.get("word_order", "big"),
        length=length,
    )


def parse_map(data: dict[str, Any], source: str = "") -> RegisterMap:
    """Build a RegisterMap from a parsed map file; ValueError names what is wrong."""
    points = {name: _point(name, raw) for name, raw in data["points"].items()}
    for point in points.values():
        if isinstance(point.scale, str) and point.scale not in points:
            raise ValueError(f"{source}: point {point.name} scale {point.scale!r} is no point")
        if point.model is not None and point.model not in data.get("sunspec_models", {}):
            raise ValueError(f"{source}: point {point.name} uses undeclared model {point.model}")
    fw_from = parse_version(str(data["firmware"]["from"]))
    fw_below = parse_version(str(data["firmware"]["below"]))
    if fw_from is None or fw_below is None or not fw_from < fw_below:
        raise ValueError(f"{source}: bad firmware range {data['firmware']}")
    identity = data.get("identity", "sunspec")
    if identity not in {"sunspec", "fc43"}:
        raise ValueError(f"{source}: identity must be sunspec or fc43")
    return RegisterMap(
        map_id=data["id"],
        vendor=data["vendor"],
        model=data["model"],
        fw_from=fw_from,
        fw_below=fw_below,
        identity=identity,
        profile=data["profile"],
        points=points,
        sunspec_models={int(k): int(v) for k, v in data.get("sunspec_models", {}).items()},
        constants={k: float(v) for k, v in data.get("constants", {}).items()},
        source=str(data.get("source", "")),
    )


def load_maps(directory: Path = MAPS_DIR) -> tuple[RegisterMap, ...]:
    """Every *.yaml map in `directory`, sorted by file name; ValueError on overlaps."""
    maps = tuple(
        parse_map(yaml.safe_load(path.read_text(encoding="utf-8")), source=path.name)
        for path in sorted(directory.glob("*.yaml"))
    )
    for i, first in enumerate(maps):
        for second in maps[i + 1 :]:
            same_device = (first.vendor, first.model) == (second.vendor, second.model)
            if same_device and first.fw_from < second.fw_below and second.fw_from < first.fw_below:
                raise ValueError(f"maps {first.map_id} and {second.map_id} overlap in firmware")
    return maps


@functools.cache
def registry() -> tuple[RegisterMap, ...]:
    """The shipped maps, loaded once."""
    return load_maps()


def select_map(
    identity: Identity, maps: tuple[RegisterMap, ...] | None = None, asset_id: str = "?"
) -> RegisterMap:
    """The map for this identity; MapMismatchError naming vendor/model/firmware if none fits."""
    candidates = registry() if maps is None else maps
    for register_map in candidates:
        if register_map.matches(identity):
            problem = register_map.chain_problem(identity) if register_map.sunspec_models else None
            if problem:
                raise MapMismatchError(asset_id, problem)
            return register_map
    known = sorted(
        {
            f"{m.vendor} {m.model} fw {'.'.join(map(str, m.fw_from))}.."
            f"<{'.'.join(map(str, m.fw_below))}"
            for m in candidates
            if (m.vendor, m.model) == (identity.vendor, identity.model)
        }
    )
    hint = f"; known: {', '.join(known)}" if known else "; no map for this vendor/model"
    raise MapMismatchError(
        asset_id,
        f"no register map for vendor {identity.vendor!r} model {identity.model!r} "
        f"firmware {identity.firmware!r}{hint}",
    )
