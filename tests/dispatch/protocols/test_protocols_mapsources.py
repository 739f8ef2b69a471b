"""Operators' register maps: from directories (VPP_REGISTER_MAPS) and entry points, and the
errors a bad map gets (file, field, rule)."""

from __future__ import annotations

import sys
from dataclasses import replace
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
import yaml

from dispatch.device import Identity
from dispatch.protocols import mapsources
from dispatch.protocols.mapsources import ENTRY_POINT_GROUP, ENV_VAR, discover, registry, reload
from dispatch.protocols.negotiation import select_map
from dispatch.protocols.registermap import MAPS_DIR, RegisterMapError

ACME = Identity("Acme", "Flux 10", "A-1", "3.2.1", ((1, 65), (103, 50), (124, 24)))


def acme_map(**changes: Any) -> dict[str, Any]:
    """An operator's map for a battery the package does not know (same layout as the BX-500)."""
    data = yaml.safe_load((MAPS_DIR / "voltaris_bx500_fw1.yaml").read_text(encoding="utf-8"))
    data.update(id="acme-flux10-fw3", vendor="Acme", model="Flux 10", firmware=">=3.0,<4.0")
    data.update(changes)
    return data


def write_map(directory: Path, name: str, data: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def fresh_registry() -> Any:
    reload()
    yield
    reload()


def test_a_directory_named_by_the_environment_adds_maps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: None
) -> None:
    with pytest.raises(Exception, match="no map for this vendor/model"):
        select_map(ACME)
    path = write_map(tmp_path / "maps", "acme.yaml", acme_map())
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "maps"))
    chosen = select_map(ACME)
    assert chosen.map_id == "acme-flux10-fw3"
    assert chosen.origin == str(path)
    assert {m.map_id for m in registry()} >= {"voltaris-bx500-fw1", "acme-flux10-fw3"}


def test_several_directories_and_extra_ones_add_up(tmp_path: Path) -> None:
    write_map(tmp_path / "a", "acme.yaml", acme_map())
    write_map(tmp_path / "b", "acme4.yaml", acme_map(id="acme-flux10-fw4", firmware=">=4.0,<5"))
    write_map(tmp_path / "c", "acme5.yaml", acme_map(id="acme-flux10-fw5", firmware="~=5.1"))
    environ = {ENV_VAR: f"{tmp_path / 'a'}:{tmp_path / 'b'}"}
    maps = discover(extra_dirs=[tmp_path / "c"], environ=environ, entries=list)
    ids = [m.map_id for m in maps]
    assert ids[-3:] == ["acme-flux10-fw3", "acme-flux10-fw4", "acme-flux10-fw5"]
    assert select_map(replace(ACME, firmware="5.3"), maps=maps).map_id == "acme-flux10-fw5"
    assert select_map(replace(ACME, firmware="4.0.7"), maps=maps).map_id == "acme-flux10-fw4"


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"firmware": "1.x"}, "firmware", "no version range"),
        ({"firmware": {"from": "1.0"}}, "firmware", "version range"),
        ({"prereleases": "yes"}, "prereleases", "true or false"),
        ({"points": {"W": {"model": 103, "offset": 12, "type": "int8"}}}, "points.W.type", "int8"),
        ({"points": {"W": {"model": 103, "type": "int16"}}}, "points.W", "model+offset"),
        ({"points": {"W": {"address": 3, "type": "int16"}}}, "points", "model+offset"),
        ({"sunspec_models": {1: "sixty-six"}}, "sunspec_models.1", "length"),
        ({"identity": "snmp"}, "identity", "sunspec or fc43"),
        ({"profile": None, "points": None}, "points", "point names"),
    ],
)
def test_a_bad_map_file_is_named_with_its_field_and_rule(
    tmp_path: Path, change: dict[str, Any], field: str, rule: str
) -> None:
    data = acme_map(**change)
    path = write_map(tmp_path, "acme.yaml", data)
    with pytest.raises(RegisterMapError) as info:
        discover(extra_dirs=[tmp_path], environ={}, entries=list)
    assert info.value.origin == str(path)
    assert info.value.field == field
    assert rule in info.value.rule
    assert str(path) in str(info.value)


def test_a_missing_field_and_a_file_that_is_no_yaml_are_named(tmp_path: Path) -> None:
    data = acme_map()
    del data["profile"]
    write_map(tmp_path, "a.yaml", data)
    with pytest.raises(RegisterMapError, match=r"a\.yaml: field 'profile': is required"):
        discover(extra_dirs=[tmp_path], environ={}, entries=list)
    (tmp_path / "a.yaml").write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(RegisterMapError, match=r"a\.yaml: field '\(file\)': cannot be read"):
        discover(extra_dirs=[tmp_path], environ={}, entries=list)


def test_an_operator_map_overlapping_a_shipped_one_is_refused_naming_both(tmp_path: Path) -> None:
    data = yaml.safe_load((MAPS_DIR / "voltaris_bx500_fw1.yaml").read_text(encoding="utf-8"))
    data.update(id="my-bx500", firmware=">=1.4,<1.5")
    path = write_map(tmp_path, "mine.yaml", data)
    with pytest.raises(RegisterMapError) as info:
        discover(extra_dirs=[tmp_path], environ={}, entries=list)
    assert info.value.origin == str(path)
    assert "voltaris-bx500-fw1 (>=1.0,<2.0) and my-bx500 (>=1.4,<1.5) overlap" in info.value.rule
    data.update(id="voltaris-bx500-fw1", vendor="Other")
    write_map(tmp_path, "mine.yaml", data)
    with pytest.raises(RegisterMapError, match="'voltaris-bx500-fw1' is also the id of"):
        discover(extra_dirs=[tmp_path], environ={}, entries=list)


def test_a_directory_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RegisterMapError, match="is not a directory"):
        discover(environ={ENV_VAR: str(tmp_path / "nowhere")}, entries=list)


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real importable module (as an installed plugin distribution would ship)."""
    maps_dir = tmp_path / "vpp_maps_acme_data"
    write_map(maps_dir, "acme.yaml", acme_map())
    data = acme_map(id="acme-flux10-fw4", firmware=">=4.0,<5.0")
    source = (
        "from pathlib import Path\n"
        f"MAPS_DIR = Path({str(maps_dir)!r})\n"
        f"ONE_MAP = {data!r}\n"
        "def maps():\n"
        "    return [ONE_MAP]\n"
        "BROKEN = 42\n"
    )
    (tmp_path / "vpp_maps_acme.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "vpp_maps_acme"
    sys.modules.pop("vpp_maps_acme", None)


@pytest.mark.parametrize(
    ("attribute", "ids"),
    [
        ("MAPS_DIR", ["acme-flux10-fw3"]),  # a directory
        ("ONE_MAP", ["acme-flux10-fw4"]),  # one map's data
        ("maps", ["acme-flux10-fw4"]),  # a callable returning a list of map data
    ],
)
def test_an_entry_point_adds_maps(plugin_module: str, attribute: str, ids: list[str]) -> None:
    entry = EntryPoint("acme", f"{plugin_module}:{attribute}", ENTRY_POINT_GROUP)
    maps = discover(environ={}, entries=lambda: [entry])
    added = [m for m in maps if m.vendor == "Acme"]
    assert [m.map_id for m in added] == ids
    assert f"entry point {ENTRY_POINT_GROUP}:acme ({plugin_module}:{attribute})" in added[0].origin


def test_the_registry_asks_importlib_metadata_for_the_group(
    plugin_module: str, monkeypatch: pytest.MonkeyPatch, fresh_registry: None
) -> None:
    asked: list[str] = []

    def fake_entry_points(*, group: str) -> list[EntryPoint]:
        asked.append(group)
        return [EntryPoint("acme", f"{plugin_module}:MAPS_DIR", group)]

    monkeypatch.setattr(mapsources, "entry_points", fake_entry_points)
    assert select_map(ACME).map_id == "acme-flux10-fw3"
    assert asked == [ENTRY_POINT_GROUP]


def test_a_broken_entry_point_is_named(plugin_module: str) -> None:
    for value, rule in [
        (f"{plugin_module}:BROKEN", "must give a directory"),
        (f"{plugin_module}:MISSING", "cannot be loaded"),
    ]:
        entry = EntryPoint("acme", value, ENTRY_POINT_GROUP)
        with pytest.raises(RegisterMapError) as info:
            discover(environ={}, entries=lambda entry=entry: [entry])
        assert f"entry point {ENTRY_POINT_GROUP}:acme ({value})" in str(info.value)
        assert rule in info.value.rule
