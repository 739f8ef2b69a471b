"""Register maps: the shipped files load, selection by (vendor, model, firmware), refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dispatch.device import Identity, MapMismatchError
from dispatch.protocols.negotiation import Probe, resolve, select_map
from dispatch.protocols.registermap import MAPS_DIR, load_maps, parse_map

BX_FW1_CHAIN = ((1, 66), (103, 50), (124, 24))
BX_FW2_CHAIN = ((1, 66), (64999, 10), (124, 24), (103, 50))


def bx(firmware: str, chain: tuple[tuple[int, int], ...]) -> Identity:
    return Identity("Voltaris", "VoltaStor BX-500", "VB5-1", firmware, chain)


@pytest.mark.parametrize(
    ("identity", "map_id"),
    [
        (bx("1.4.2", BX_FW1_CHAIN), "voltaris-bx500-fw1"),
        (bx("1.0", BX_FW1_CHAIN), "voltaris-bx500-fw1"),
        (bx("2.0.1", BX_FW2_CHAIN), "voltaris-bx500-fw2"),
        (bx("2.99.99", BX_FW2_CHAIN), "voltaris-bx500-fw2"),
        (bx("V01.04.02", BX_FW1_CHAIN), "voltaris-bx500-fw1"),
        (bx("v1.4", BX_FW1_CHAIN), "voltaris-bx500-fw1"),
        (bx("FW 2.0.1 (build 77)", BX_FW2_CHAIN), "voltaris-bx500-fw2"),
        (bx("1.4.2", ((1, 65), (103, 50), (124, 24))), "voltaris-bx500-fw1"),
        (
            Identity("Helion", "HelioMax 60", "H1", "1.2.0", ((1, 66), (103, 50), (123, 24))),
            "helion-heliomax60-fw1",
        ),
        (
            Identity(
                "Helion", "HelioMax 60", "H1", "1.2.0", ((1, 66), (103, 50), (123, 24), (64210, 4))
            ),
            "helion-heliomax60-fw1",
        ),
        (Identity("Thermogen", "KWK-Control 2", "", "2.3.1"), "thermogen-kwk2-fw2"),
    ],
)
def test_select_map_picks_the_map_for_model_and_firmware(identity: Identity, map_id: str) -> None:
    assert select_map(identity).map_id == map_id


@pytest.mark.parametrize(
    ("identity", "words"),
    [
        (
            bx("3.0.0", BX_FW2_CHAIN),
            ["Voltaris", "VoltaStor BX-500", "3.0.0", "ranges tried", ">=1.0,<2.0", ">=2.0,<3.0"],
        ),
        (bx("0.9", BX_FW1_CHAIN), ["0.9"]),
        (bx("1.4.2-rc1", BX_FW1_CHAIN), ["read as 1.4.2rc1", "prereleases: true"]),
        (bx("2.0.0-rc1", BX_FW2_CHAIN), ["2.0.0-rc1"]),
        (bx("beta-7", BX_FW1_CHAIN), ["beta-7", "no version in it"]),
        (Identity("Acme", "Box", "", "1.0"), ["Acme", "Box", "no map for this vendor/model"]),
        (Identity("Thermogen", "KWK-Control 2", "", "1.9"), ["KWK-Control 2", "1.9"]),
    ],
)
def test_unknown_firmware_or_device_is_refused_with_a_reason(
    identity: Identity, words: list[str]
) -> None:
    with pytest.raises(MapMismatchError) as info:
        select_map(identity, asset_id="bat-7")
    assert info.value.asset_id == "bat-7"
    for word in words:
        assert word in info.value.reason


def test_firmware_1_chain_on_firmware_2_is_refused() -> None:
    """A 2.x firmware string with a 1.x-style chain: the map's required models are missing."""
    with pytest.raises(MapMismatchError, match="64999"):
        select_map(bx("2.1.0", BX_FW1_CHAIN))


def test_wrong_model_length_is_refused() -> None:
    chain = ((1, 66), (103, 50), (124, 26))
    with pytest.raises(MapMismatchError, match="model 124 length 24, device says 26"):
        select_map(bx("1.4.2", chain))


def test_an_optional_model_is_used_where_present_and_checked_for_its_length() -> None:
    """Helion's vendor model 64210 (available power): resolved where the chain has it,
    left out where it does not, a wrong length refused like a required model's."""
    base = ((1, 66), (103, 50), (123, 24))
    plain = Identity("Helion", "HelioMax 60", "H1", "1.2.0", base)
    helion = select_map(plain)
    assert helion.optional_models == {64210: frozenset({4})}
    without = resolve(Probe(plain, "sunspec", {1: 40004, 103: 40072, 123: 40124}), helion)
    assert "WAvail" not in without
    assert without["W"] == 40072 + 12
    full = Identity("Helion", "HelioMax 60", "H1", "1.2.0", (*base, (64210, 4)))
    bodies = {1: 40004, 103: 40072, 123: 40124, 64210: 40150}
    assert resolve(Probe(full, "sunspec", bodies), helion)["WAvail"] == 40150
    wrong = Identity("Helion", "HelioMax 60", "H1", "1.2.0", (*base, (64210, 9)))
    with pytest.raises(MapMismatchError, match="optional model 64210 length 4, device says 9"):
        select_map(wrong)


def test_a_point_of_an_undeclared_model_or_a_model_both_required_and_optional_is_named() -> None:
    data = yaml.safe_load((MAPS_DIR / "helion_heliomax60_fw1.yaml").read_text(encoding="utf-8"))
    del data["optional_models"]
    with pytest.raises(ValueError, match=r"points.WAvail.model.*64210, not declared"):
        parse_map(data, "test.yaml")
    data["optional_models"] = {64210: 4, 123: 24}
    with pytest.raises(ValueError, match=r"optional_models.*\[123\] also required"):
        parse_map(data, "test.yaml")


def test_the_two_battery_firmwares_resolve_to_different_addresses_and_signs() -> None:
    fw1, fw2 = select_map(bx("1.4.2", BX_FW1_CHAIN)), select_map(bx("2.0.1", BX_FW2_CHAIN))
    probe1 = Probe(bx("1.4.2", BX_FW1_CHAIN), "sunspec", {1: 40004, 103: 40072, 124: 40124})
    probe2 = Probe(
        bx("2.0.1", BX_FW2_CHAIN), "sunspec", {1: 40004, 64999: 40072, 124: 40084, 103: 40110}
    )
    addresses1, addresses2 = resolve(probe1, fw1), resolve(probe2, fw2)
    assert addresses1["W"] == 40072 + 12
    assert addresses2["W"] == 40110 + 12
    assert addresses1["StorCtl_Mod"] != addresses2["StorCtl_Mod"]
    assert (fw1.points["W"].sign, fw2.points["W"].sign) == (1, -1)


def test_every_shipped_map_is_complete() -> None:
    maps = load_maps()
    assert len(maps) >= 4
    for register_map in maps:
        assert register_map.source
        for point in register_map.points.values():
            assert point.access in {"R", "RW"}
            if point.access == "RW":
                assert point.range is not None, f"{register_map.map_id}.{point.name}: no range"
        if register_map.identity == "sunspec":
            assert all(p.address is None for p in register_map.points.values()), (
                "SunSpec maps must not use absolute addresses"
            )


def test_overlapping_firmware_ranges_are_refused(tmp_path: Path) -> None:
    for name in ("voltaris_bx500_fw1.yaml", "voltaris_bx500_fw2.yaml"):
        data = yaml.safe_load((MAPS_DIR / name).read_text(encoding="utf-8"))
        data["firmware"] = {"from": "1.0", "below": "2.5"}
        (tmp_path / name).write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ValueError, match="overlap"):
        load_maps(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scale": "NO_SUCH_SF"}, "is no point"),
        ({"access": "W"}, "access"),
        ({"sign": 2}, "sign"),
        ({"address": 5}, "either model"),
        ({"type": "int8"}, "unknown type"),
    ],
)
def test_bad_points_are_named(change: dict[str, object], message: str) -> None:
    data = yaml.safe_load((MAPS_DIR / "voltaris_bx500_fw1.yaml").read_text(encoding="utf-8"))
    data["points"]["W"].update(change)
    with pytest.raises(ValueError, match=message):
        parse_map(data, "test.yaml")
