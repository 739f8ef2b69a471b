"""Where register maps come from: the package, operators' directories, entry points.

Operators add maps without touching the package:

- a directory of YAML map files named by the environment variable `VPP_REGISTER_MAPS`
  (several directories separated by the OS path separator, ":" on Linux), or passed as
  `extra_dirs` (e.g. `vpp devices probe --maps DIR`);
- an installed distribution declaring an entry point in the group `vpp.register_maps`
  whose object is a directory (str or Path), one map's data (a mapping), a list of map
  data, or a callable returning one of these.

All maps are validated together: a bad file fails with `RegisterMapError` naming the file,
the field and the rule; two maps with one id, or overlapping firmware ranges for one device
model, are refused naming both (an operator map does not silently replace a shipped one).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from dispatch.protocols.registermap import (
    MAPS_DIR,
    RegisterMap,
    RegisterMapError,
    check_unique,
    load_file,
    parse_map,
)
from dispatch.settings import DispatchSettings

ENV_VAR = "VPP_REGISTER_MAPS"
ENTRY_POINT_GROUP = "vpp.register_maps"


def _directory_maps(directory: Path, origin: str) -> list[RegisterMap]:
    if not directory.is_dir():
        raise RegisterMapError(origin, "(directory)", f"{directory} is not a directory")
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    return [load_file(path) for path in paths]


def env_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The directories named by `VPP_REGISTER_MAPS` (empty parts ignored)."""
    value = DispatchSettings.from_environ(environ).register_maps
    return [Path(part) for part in value.split(os.pathsep) if part.strip()]


def _entry_point_maps(entry: EntryPoint) -> list[RegisterMap]:
    origin = f"entry point {ENTRY_POINT_GROUP}:{entry.name} ({entry.value})"
    try:
        loaded: Any = entry.load()
        if callable(loaded) and not isinstance(loaded, type):
            loaded = loaded()
    except Exception as exc:  # a plugin's own failure, reported as the plugin's
        raise RegisterMapError(origin, "(entry point)", f"cannot be loaded: {exc!r}") from exc
    if isinstance(loaded, str | Path):
        found = _directory_maps(Path(loaded), origin)
        return [replace(m, origin=f"{m.origin} (from {origin})") for m in found]
    if isinstance(loaded, Mapping):
        return [parse_map(dict(loaded), source=origin)]
    if isinstance(loaded, Iterable):
        return [
            parse_map(dict(item) if isinstance(item, Mapping) else item, f"{origin}[{i}]")
            for i, item in enumerate(loaded)
        ]
    raise RegisterMapError(
        origin, "(entry point)", "must give a directory, map data or a list of map data"
    )


def discover(
    extra_dirs: Iterable[Path] = (),
    environ: Mapping[str, str] | None = None,
    entries: Callable[[], Iterable[EntryPoint]] | None = None,
) -> tuple[RegisterMap, ...]:
    """Shipped maps, then `VPP_REGISTER_MAPS` directories, `extra_dirs`, entry points.

    `entries` replaces the entry point lookup (tests); RegisterMapError on any bad map.
    """
    maps = _directory_maps(MAPS_DIR, str(MAPS_DIR))
    for directory in [*env_dirs(environ), *extra_dirs]:
        maps += _directory_maps(directory, str(directory))
    found = entries() if entries is not None else entry_points(group=ENTRY_POINT_GROUP)
    for entry in sorted(found, key=lambda e: e.name):
        maps += _entry_point_maps(entry)
    result = tuple(maps)
    check_unique(result)
    return result


_CACHE: dict[str, tuple[RegisterMap, ...]] = {}


def registry() -> tuple[RegisterMap, ...]:
    """All maps (see `discover`), loaded once per value of `VPP_REGISTER_MAPS`."""
    key = DispatchSettings.from_environ().register_maps
    if key not in _CACHE:
        _CACHE[key] = discover()
    return _CACHE[key]


def reload() -> None:
    """Forget loaded maps: the next `registry()` reads every source again."""
    _CACHE.clear()
