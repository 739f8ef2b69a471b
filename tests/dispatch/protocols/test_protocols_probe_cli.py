"""`vpp devices probe` against live independent peers (pyModbusTCP, pysunspec2 layouts)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sunspec_peer import Peer, battery_models, free_port, start_fc43_peer, start_sunspec_peer
from typer.testing import CliRunner

from dispatch.protocols.registermap import MAPS_DIR
from trading.cli import app
from trading.cli.devices import parse_address

runner = CliRunner()


@pytest.fixture
def battery_at_50000() -> Iterator[Peer]:
    peer = start_sunspec_peer(battery_models(common_length=65), base=50000)
    yield peer
    peer.stop()


def test_probe_prints_identity_base_models_and_the_map(battery_at_50000: Peer) -> None:
    result = runner.invoke(app, ["devices", "probe", f"127.0.0.1:{battery_at_50000.port}"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "vendor    Voltaris" in out
    assert "model     VoltaStor BX-500" in out
    assert "serial    VB5-PEER-1" in out
    assert "firmware  1.4.2 (read as 1.4.2)" in out
    assert "'SunS' at 50000; models 1 (L=65), 103 (L=50), 124 (L=24)" in out
    assert "map       voltaris-bx500-fw1 (firmware >=1.0,<2.0)" in out
    assert f"from      {MAPS_DIR / 'voltaris_bx500_fw1.yaml'}" in out


def test_probe_json(battery_at_50000: Peer) -> None:
    result = runner.invoke(
        app, ["devices", "probe", f"127.0.0.1:{battery_at_50000.port}", "--unit", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["identity"]["firmware"] == "1.4.2"
    assert report["identity"]["by"] == "sunspec"
    assert report["sunspec"]["base"] == 50000
    assert report["sunspec"]["models"][0] == {"id": 1, "length": 65}
    assert report["map"]["id"] == "voltaris-bx500-fw1"
    assert report["map"]["firmware_range"] == ">=1.0,<2.0"
    assert report["no_map"] is None


def test_probe_of_a_device_no_map_fits_says_why_and_exits_1() -> None:
    peer = start_sunspec_peer(battery_models(firmware="V03.01"))
    try:
        result = runner.invoke(app, ["devices", "probe", f"127.0.0.1:{peer.port}"])
        assert result.exit_code == 1, result.output
        assert "firmware  V03.01 (read as 3.1)" in result.stdout
        assert "map       none fits: " in result.stdout
        assert "firmware 'V03.01' (read as 3.1); ranges tried: voltaris-bx500-fw1" in result.stdout
        as_json = runner.invoke(app, ["devices", "probe", f"127.0.0.1:{peer.port}", "--json"])
        assert as_json.exit_code == 1
        assert json.loads(as_json.stdout)["map"] is None
    finally:
        peer.stop()


def test_probe_takes_an_operators_map_directory(tmp_path: Path) -> None:
    peer = start_sunspec_peer(battery_models(firmware="V03.01"))
    data = yaml.safe_load((MAPS_DIR / "voltaris_bx500_fw1.yaml").read_text(encoding="utf-8"))
    data.update(id="bx500-fw3-site", firmware=">=3.0,<3.2")
    (tmp_path / "bx500_fw3.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    try:
        args = ["devices", "probe", f"127.0.0.1:{peer.port}", "--maps", str(tmp_path)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "map       bx500-fw3-site (firmware >=3.0,<3.2)" in result.stdout
        assert f"from      {tmp_path / 'bx500_fw3.yaml'}" in result.stdout
    finally:
        peer.stop()


def test_probe_of_a_non_sunspec_device_uses_fc43_and_reads_the_serial() -> None:
    registers = {0: [30, 30, 25, 2, 0x0201, 50, 0x000A, 0x1234]}
    peer = start_fc43_peer(registers, "Thermogen", "KWK-Control 2", "2.1.0")
    try:
        result = runner.invoke(app, ["devices", "probe", f"127.0.0.1:{peer.port}", "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["identity"]["by"] == "fc43"
        assert report["identity"]["serial"] == str(0x000A1234)
        assert report["sunspec"] is None
        assert report["map"]["id"] == "thermogen-kwk2-fw2"
    finally:
        peer.stop()


def test_an_unreachable_device_exits_2_with_a_clear_message() -> None:
    port = free_port()  # nothing listens there
    result = runner.invoke(app, ["devices", "probe", f"127.0.0.1:{port}", "--timeout", "0.5"])
    assert result.exit_code == 2
    assert f"error: 127.0.0.1:{port} unit 1: cannot connect to 127.0.0.1:{port}" in result.stderr


@pytest.mark.parametrize(
    ("address", "message"),
    [("127.0.0.1:99999", "port must be a number"), (":502", "no host"), ("h:x", "port")],
)
def test_bad_addresses_exit_2(address: str, message: str) -> None:
    result = runner.invoke(app, ["devices", "probe", address])
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_broken_map_directory_exits_2_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: x\n", encoding="utf-8")
    result = runner.invoke(app, ["devices", "probe", "127.0.0.1:1", "--maps", str(tmp_path)])
    assert result.exit_code == 2
    assert f"register map {tmp_path / 'bad.yaml'}: field 'vendor': is required" in result.stderr


def test_addresses() -> None:
    assert parse_address("10.0.0.7:1502") == ("10.0.0.7", 1502)
    assert parse_address("inverter-3") == ("inverter-3", 502)
    assert parse_address("[::1]:5020") == ("::1", 5020)


def test_the_installed_vpp_command_probes_a_live_device(battery_at_50000: Peer) -> None:
    vpp = shutil.which("vpp", path=str(Path(sys.executable).parent))
    assert vpp is not None
    result = subprocess.run(
        [vpp, "devices", "probe", f"127.0.0.1:{battery_at_50000.port}", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["map"]["id"] == "voltaris-bx500-fw1"
