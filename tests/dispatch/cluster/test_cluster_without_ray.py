"""The embedded default never needs Ray: the engine, the command line and the in-process
partitions import without it (Ray is the optional extra vpp-engine[cluster])."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "trading.cli",
    "trading.cli.simulate",
    "trading.cli.cluster",
    "dispatch.simulation",
    "dispatch.cluster.leases",
    "dispatch.cluster.partitions",
    "dispatch.cluster.coordinator",
    "dispatch.cluster.local",
    "dispatch.cluster.owner",
    "dispatch.cluster.field",
    "dispatch.cluster.link",
    "dispatch.cluster.wire",
    "dispatch.cluster.serve_zone",
    "trading.cli.serve",
    "trading.engine.live_day",
]


def test_core_modules_import_without_ray() -> None:
    code = (
        "import sys\n"
        "sys.modules['ray'] = None  # any 'import ray' now raises ImportError\n"
        f"for name in {MODULES!r}:\n"
        "    __import__(name)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_vpp_simulate_cluster_without_ray_says_how_to_install_it() -> None:
    code = (
        "import sys\n"
        "sys.modules['ray'] = None\n"
        "from trading.cli import app\n"
        "sys.argv = ['vpp', 'simulate', '--assets', '10', '--partitions', '2', "
        "'--cluster', 'local', '--duration', '5']\n"
        "app()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2
    assert "pip install 'vpp-engine[cluster]'" in result.stderr


def test_vpp_serve_cluster_without_ray_says_how_to_install_it(tmp_path) -> None:
    code = (
        "import sys\n"
        "sys.modules['ray'] = None\n"
        "from trading.cli import app\n"
        f"sys.argv = ['vpp', 'serve', '--db', 'sqlite:///{tmp_path}/serve.sqlite3', "
        "'--cluster', '127.0.0.1:6379']\n"
        "app()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2
    assert "pip install 'vpp-engine[cluster]'" in result.stderr
