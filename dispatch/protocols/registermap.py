"""Register maps as data: parse, validate, select by (vendor, model, firmware range).

A map file (YAML; shipped in `dispatch/protocols/maps/`, operators' own from elsewhere, see
`dispatch.protocols.mapsources`) describes one device model over one firmware range, given
explicitly as a PEP 440 specifier set (`firmware: ">=1.0,<2.0"`; `prereleases: true` admits
release candidates inside it; see `dispatch.protocols.versions`). SunSpec points name a
model id and an offset inside that model's body (after its ID and L registers); their
addresses are found at run time by walking the model chain, never written down.
Non-SunSpec points carry an absolute PDU address (0-based).

`optional_models` (same form as `sunspec_models`) are models the map uses where the device
has them and does without where it does not (a vendor model some units lack): their points
are resolved only on a device whose chain holds the model (`Negotiated.has`), and a profile
reads them only then.

Each point: `type` (codec type), `scale` (fixed power of ten, or the name of an SF point),
`unit` (W, kW, MW, %, ...), `sign` (+1/-1: multiply the device's value by it to get ours,
+ injection), `access` (R or RW), `range` ([min, max] valid engineering values in the device's
unit and sign, inclusive), optional `word_order` (big/little).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dispatch.device import Identity, MapMismatchError
from dispatch.protocols import codec
from dispatch.protocols.versions import FirmwareRange, overlap, parse_firmware

MAPS_DIR = Path(__file__).parent / "maps"

#: Factor from a point's unit to the dispatcher's MW.
UNIT_TO_MW: dict[str, float] = {"W": 1e-6, "kW": 1e-3, "MW": 1.0}

_REQUIRED = ("id", "vendor", "model", "firmware", "profile", "points")


class RegisterMapError(ValueError):
    """A map file breaks a rule: names the file, the field and the rule."""

    def __init__(self, origin: str, field_name: str, rule: str) -> None:
        super().__init__(f"register map {origin}: field {field_name!r}: {rule}")
        self.origin = origin
        self.field = field_name
        self.rule = rule


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
    """A device model's register map for one explicit firmware range."""

    map_id: str
    vendor: str
    model: str
    firmware: FirmwareRange
    identity: str
    """How the device identifies itself: "sunspec" (common model 1) or "fc43"."""
    profile: str
    """Name of the control profile in `dispatch.protocols.profiles` this map drives."""
    points: dict[str, Point]
    sunspec_models: dict[int, frozenset[int]] = field(default_factory=dict)
    """Required SunSpec models: id -> the lengths L accepted (model 1: 65 or 66)."""
    optional_models: dict[int, frozenset[int]] = field(default_factory=dict)
    """SunSpec models used where the device has them (same form as `sunspec_models`)."""
    constants: dict[str, float] = field(default_factory=dict)
    source: str = ""
    """Where the map's facts come from (datasheet, standard), as written in the map."""
    origin: str = ""
    """Where the map was loaded from: a file path, or an entry point."""

    def matches(self, identity: Identity) -> bool:
        """True if vendor and model are this map's and the firmware lies in its range."""
        version = parse_firmware(identity.firmware)
        return (
            identity.vendor == self.vendor
            and identity.model == self.model
            and version is not None
            and self.firmware.admits(version)
        )

    def chain_problem(self, identity: Identity) -> str | None:
        """Why the device's SunSpec chain does not fit this map, or None if it does."""
        chain = dict(identity.models)
        for model_id, lengths in self.sunspec_models.items():
            if model_id not in chain:
                return f"map {self.map_id} needs SunSpec model {model_id}, device has none"
            if chain[model_id] not in lengths:
                expected = " or ".join(str(n) for n in sorted(lengths))
                return (
                    f"map {self.map_id} expects model {model_id} length {expected}, "
                    f"device says {chain[model_id]}"
                )
        for model_id, lengths in self.optional_models.items():
            if model_id in chain and chain[model_id] not in lengths:
                expected = " or ".join(str(n) for n in sorted(lengths))
                return (
                    f"map {self.map_id} expects optional model {model_id} length {expected}, "
                    f"device says {chain[model_id]}"
                )
        return None

    @property
    def sf_points(self) -> tuple[str, ...]:
        """Names of the map's SunSpec scale-factor points (type sunssf)."""
        return tuple(name for name, point in self.points.items() if point.type == "sunssf")


def _point(origin: str, name: str, raw: Any) -> Point:
    where = f"points.{name}"
    if not isinstance(raw, dict):
        raise RegisterMapError(origin, where, "must be a mapping of point fields")
    type_name = raw.get("type")
    if type_name == "string":
        if not isinstance(raw.get("length"), int) or raw["length"] < 1:
            raise RegisterMapError(origin, f"{where}.length", "a string needs a length >= 1")
        length = int(raw["length"])
    elif type_name in codec.TYPE_SIZES:
        length = codec.TYPE_SIZES[type_name]
    else:
        known = ", ".join(sorted([*codec.TYPE_SIZES, "string"]))
        raise RegisterMapError(origin, f"{where}.type", f"unknown type {type_name!r} ({known})")
    has_model = "model" in raw and "offset" in raw
    if has_model == ("address" in raw):
        raise RegisterMapError(origin, where, "give either model+offset or address")
    for key in ("model", "offset", "address"):
        if key in raw and (not isinstance(raw[key], int) or raw[key] < 0):
            raise RegisterMapError(origin, f"{where}.{key}", "must be an integer >= 0")
    access = raw.get("access", "R")
    if access not in {"R", "RW"}:
        raise RegisterMapError(origin, f"{where}.access", f"must be R or RW, not {access!r}")
    sign = raw.get("sign", 1)
    if sign not in {1, -1}:
        raise RegisterMapError(origin, f"{where}.sign", f"must be +1 or -1, not {sign!r}")
    unit = raw.get("unit", "")
    scale = raw.get("scale", 0)
    if not isinstance(scale, int | str) or (isinstance(scale, int) and not -10 <= scale <= 10):
        raise RegisterMapError(origin, f"{where}.scale", "an integer in -10..10 or an SF point")
    valid = raw.get("range")
    if valid is not None and (
        not isinstance(valid, list | tuple)
        or len(valid) != 2
        or not all(isinstance(v, int | float) for v in valid)
        or valid[0] > valid[1]
    ):
        raise RegisterMapError(origin, f"{where}.range", "must be [min, max] numbers, min <= max")
    word_order = raw.get("word_order", "big")
    if word_order not in {"big", "little"}:
        raise RegisterMapError(origin, f"{where}.word_order", "must be big or little")
    return Point(
        name=name,
        type=type_name,
        access=access,
        model=raw.get("model"),
        offset=raw.get("offset"),
        address=raw.get("address"),
        scale=scale,
        unit=unit,
        sign=sign,
        range=(float(valid[0]), float(valid[1])) if valid else None,
        word_order=word_order,
        length=length,
    )


def _firmware(origin: str, data: dict[str, Any]) -> FirmwareRange:
    raw = data["firmware"]
    prereleases = data.get("prereleases", False)
    if not isinstance(prereleases, bool):
        raise RegisterMapError(origin, "prereleases", "must be true or false")
    if isinstance(raw, dict) and set(raw) == {"from", "below"}:
        text = f">={raw['from']},<{raw['below']}"  # the older form, kept readable
    elif isinstance(raw, str):
        text = raw
    else:
        raise RegisterMapError(
            origin, "firmware", "must be a version range such as '>=1.4,<2.0' (PEP 440)"
        )
    try:
        return FirmwareRange.parse(text, prereleases)
    except ValueError as exc:
        raise RegisterMapError(origin, "firmware", str(exc)) from exc


def _models(origin: str, raw: Any, key_name: str = "sunspec_models") -> dict[int, frozenset[int]]:
    if not isinstance(raw, dict):
        raise RegisterMapError(origin, key_name, "must map model id -> length(s)")
    models: dict[int, frozenset[int]] = {}
    for key, value in raw.items():
        lengths = value if isinstance(value, list) else [value]
        if not isinstance(key, int) or not all(isinstance(n, int) and n > 0 for n in lengths):
            raise RegisterMapError(
                origin, f"{key_name}.{key}", "model id -> length or list of lengths (ints)"
            )
        models[key] = frozenset(lengths)
    return models


def parse_map(data: Any, source: str = "") -> RegisterMap:
    """Build a RegisterMap from a parsed map file; RegisterMapError names file, field, rule.

    `source` is where the data came from (a path or an entry point), kept as `origin`.
    """
    origin = source or "<map data>"
    if not isinstance(data, dict):
        raise RegisterMapError(origin, "(top level)", "a map file is one YAML mapping")
    for key in _REQUIRED:
        if key not in data:
            raise RegisterMapError(origin, key, "is required")
    if not isinstance(data["points"], dict) or not data["points"]:
        raise RegisterMapError(origin, "points", "must map point names to their fields")
    points = {name: _point(origin, str(name), raw) for name, raw in data["points"].items()}
    models = _models(origin, data.get("sunspec_models", {}))
    optional = _models(origin, data.get("optional_models", {}), "optional_models")
    both = sorted(set(models) & set(optional))
    if both:
        raise RegisterMapError(
            origin, "optional_models", f"model(s) {both} also required in sunspec_models"
        )
    for point in points.values():
        if isinstance(point.scale, str) and point.scale not in points:
            raise RegisterMapError(
                origin, f"points.{point.name}.scale", f"{point.scale!r} is no point of this map"
            )
        if point.model is not None and point.model not in models | optional:
            raise RegisterMapError(
                origin,
                f"points.{point.name}.model",
                f"uses model {point.model}, not declared in sunspec_models or optional_models",
            )
        if point.unit in UNIT_TO_MW or point.unit == "":
            continue
        if point.unit not in {"%", "Hz", "s", "V", "A", "var", "VA", "Wh", "kWh", "degC"}:
            raise RegisterMapError(
                origin, f"points.{point.name}.unit", f"unknown unit {point.unit!r}"
            )
    identity = data.get("identity", "sunspec")
    if identity not in {"sunspec", "fc43"}:
        raise RegisterMapError(origin, "identity", "must be sunspec or fc43")
    if identity == "sunspec" and any(p.address is not None for p in points.values()):
        raise RegisterMapError(origin, "points", "SunSpec maps locate points by model+offset")
    constants = data.get("constants", {})
    if not isinstance(constants, dict) or not all(
        isinstance(v, int | float) for v in constants.values()
    ):
        raise RegisterMapError(origin, "constants", "must map names to numbers")
    return RegisterMap(
        map_id=str(data["id"]),
        vendor=str(data["vendor"]),
        model=str(data["model"]),
        firmware=_firmware(origin, data),
        identity=identity,
        profile=str(data["profile"]),
        points=points,
        sunspec_models=models,
        optional_models=optional,
        constants={k: float(v) for k, v in constants.items()},
        source=str(data.get("source", "")),
        origin=origin,
    )


def load_file(path: Path) -> RegisterMap:
    """One map file; RegisterMapError naming the file if it is no YAML or breaks a rule."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegisterMapError(str(path), "(file)", f"cannot be read as YAML: {exc}") from exc
    return parse_map(data, source=str(path))


def check_unique(maps: tuple[RegisterMap, ...]) -> None:
    """RegisterMapError if two maps share an id or overlap in firmware for one device."""
    for i, first in enumerate(maps):
        for second in maps[i + 1 :]:
            if first.map_id == second.map_id:
                raise RegisterMapError(
                    second.origin, "id", f"{first.map_id!r} is also the id of {first.origin}"
                )
            if (first.vendor, first.model) != (second.vendor, second.model):
                continue
            common = overlap(first.firmware, second.firmware)
            if common is not None:
                raise RegisterMapError(
                    second.origin,
                    "firmware",
                    f"maps {first.map_id} ({first.firmware}) and {second.map_id} "
                    f"({second.firmware}) overlap in firmware (both admit {common})",
                )


def load_maps(directory: Path = MAPS_DIR) -> tuple[RegisterMap, ...]:
    """Every *.yaml / *.yml map in `directory`, sorted by file name; checked for overlaps."""
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    maps = tuple(load_file(path) for path in paths)
    check_unique(maps)
    return maps


def describe_range(register_map: RegisterMap) -> str:
    """'<map id> fw <range> (<origin>)' for messages."""
    return f"{register_map.map_id} fw {register_map.firmware} ({register_map.origin})"


def select_map(
    identity: Identity, maps: tuple[RegisterMap, ...], asset_id: str = "?"
) -> RegisterMap:
    """The map for this identity; MapMismatchError naming the version and the ranges tried."""
    for register_map in maps:
        if register_map.matches(identity):
            problem = register_map.chain_problem(identity) if register_map.sunspec_models else None
            if problem:
                raise MapMismatchError(asset_id, problem)
            return register_map
    tried = [
        describe_range(m) for m in maps if (m.vendor, m.model) == (identity.vendor, identity.model)
    ]
    version = parse_firmware(identity.firmware)
    read_as = f" (read as {version})" if version is not None else " (no version in it)"
    hint = f"; ranges tried: {'; '.join(tried)}" if tried else "; no map for this vendor/model"
    if version is not None and version.is_prerelease and tried:
        hint += (
            "; a pre-release is admitted only by a map with 'prereleases: true' or a range "
            "naming a pre-release"
        )
    raise MapMismatchError(
        asset_id,
        f"no register map for vendor {identity.vendor!r} model {identity.model!r} "
        f"firmware {identity.firmware!r}{read_as}{hint}",
    )
