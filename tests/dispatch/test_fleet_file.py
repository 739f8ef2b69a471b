"""The fleet file of `vpp serve --fleet`: a good file loads; a bad one names every broken
rule by field, value and rule at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.fleet_file import MISSING, FleetFileError, load_fleet, parse_fleet

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fleet_sample_nl.yaml"


def device(asset_id: str, port: int = 502, **extra: object) -> dict[str, object]:
    return {"asset_id": asset_id, "host": "10.0.0.1", "port": port, **extra}


def test_the_example_fleet_file_loads_with_defaults_filled_in() -> None:
    fleet = load_fleet(EXAMPLE)
    assert fleet.portfolio == "nl-part"
    devices = fleet.by_asset()
    assert sorted(devices) == ["bat-nl-rotterdam-01", "chp-nl-westland", "wind-nl-groningen"]
    assert devices["chp-nl-westland"].unit_id == 3
    assert devices["chp-nl-westland"].timeout_s == 0.3
    assert devices["bat-nl-rotterdam-01"].timeout_s == 0.4  # the default
    fleet.check_covers(devices)  # every asset has a device and no device is foreign


def test_every_bad_entry_is_named_by_field_value_and_rule() -> None:
    data = {
        "version": 1,
        "portfolio": "p",
        "assets": [
            device("bat-1", port=70000),
            device("pv-1", unit_id=300),
            {"asset_id": "chp-1", "port": 502},
            device("bat-1", port=503),
            device("wind-1", timeout_s=0.6, colour="red"),
            device("wind-2", host="10.0.0.1 "),
        ],
    }
    with pytest.raises(FleetFileError) as caught:
        parse_fleet(data, "fleet.yaml")
    found = {(p.field, p.value) for p in caught.value.problems}
    assert ("assets[0].port", 70000) in found
    assert ("assets[1].unit_id", 300) in found
    assert ("assets[2].host", MISSING) in found
    assert ("assets[4].timeout_s", 0.6) in found
    assert ("assets[4].colour", "red") in found
    assert ("assets[5].host", "10.0.0.1 ") in found
    text = str(caught.value)
    assert "fleet.yaml" in text
    assert "assets[0].port=70000: Input should be less than or equal to 65535" in text
    assert "assets[1].unit_id=300: Input should be less than or equal to 255" in text
    assert "assets[2].host: Field required" in text
    assert "assets[4].timeout_s=0.6: Input should be less than 0.5" in text
    assert "assets[5].host='10.0.0.1 ': must not contain whitespace" in text


def test_one_asset_twice_and_one_device_for_two_assets_are_refused_naming_both() -> None:
    data = {
        "portfolio": "p",
        "assets": [device("bat-1"), device("bat-1", port=503), device("pv-1", port=503)],
    }
    with pytest.raises(FleetFileError) as caught:
        parse_fleet(data)
    messages = [str(p) for p in caught.value.problems]
    assert "assets[1].asset_id='bat-1': must be unique: also assets[0]" in messages
    assert "assets[2]='10.0.0.1:503 unit 1': one device per asset: also assets[1]" in messages


def test_a_fleet_must_cover_the_portfolio_and_name_only_its_assets() -> None:
    fleet = parse_fleet({"portfolio": "p", "assets": [device("bat-1"), device("ev-1", 503)]})
    with pytest.raises(FleetFileError) as caught:
        fleet.check_covers(["bat-1", "pv-1"])
    messages = [str(p) for p in caught.value.problems]
    assert messages == [
        "assets='pv-1': the portfolio's asset has no device in the fleet file",
        "assets[1].asset_id='ev-1': is not a dispatchable asset of portfolio p (battery, pv, "
        "wind or chp in service)",
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("assets: [unclosed", ["is not YAML"]),
        ("- just\n- a list\n", ["(file)='list': must be a mapping"]),
        ("portfolio: p\nassets: []\n", ["assets=[]", "at least 1 item"]),
        ("version: 2\nportfolio: p\nassets: [{asset_id: a, host: h, port: 1}]\n", ["version=2"]),
    ],
)
def test_a_file_that_is_no_fleet_says_why(tmp_path: Path, text: str, words: list[str]) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FleetFileError) as caught:
        load_fleet(path)
    for word in words:
        assert word in str(caught.value)


def test_a_missing_file_is_named() -> None:
    with pytest.raises(FleetFileError, match="cannot be read"):
        load_fleet(Path("/nonexistent/fleet.yaml"))
