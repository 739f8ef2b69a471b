"""Imports flow one way: regulatory <- markets <- trading -> dispatch -> regulatory."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "regulatory": {"markets", "trading", "dispatch"},
    "markets": {"trading", "dispatch"},
    "dispatch": {"markets", "trading"},
    "trading": set(),
}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_lower_layers(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {sorted(_imported_packages(path) & FORBIDDEN[package])}"
        for path in sorted((ROOT / package).rglob("*.py"))
        if _imported_packages(path) & FORBIDDEN[package]
    ]
    assert not offenders, "\n".join(offenders)


C104_IMPORTER = ROOT / "dispatch" / "protocols" / "iec104" / "transport.py"
"""The only module that imports c104 (GPL-3.0, the optional extra ``iec104``)."""
IEC104 = ROOT / "dispatch" / "protocols" / "iec104"
NEEDS_C104 = {"transport", "station", "tso", "links"}
"""Modules of the iec104 package that import the transport (and so c104)."""


def test_only_the_iec104_transport_imports_c104_and_the_core_imports_without_it() -> None:
    importers = sorted(
        str(path.relative_to(ROOT))
        for package in FORBIDDEN
        for path in (ROOT / package).rglob("*.py")
        if "c104" in _imported_packages(path)
    )
    assert importers == [str(C104_IMPORTER.relative_to(ROOT))]
    # Nothing outside the iec104 package imports its c104-bound modules.
    bound = {f"dispatch.protocols.iec104.{name}" for name in NEEDS_C104}
    outside = [
        str(path.relative_to(ROOT))
        for package in FORBIDDEN
        for path in (ROOT / package).rglob("*.py")
        if IEC104 not in path.parents and _imported_modules(path) & bound
    ]
    assert not outside, outside
    # Every core module (and the iec104 package's c104-free parts) imports with c104
    # made unimportable, in a fresh interpreter.
    script = (
        "import importlib, pkgutil, sys\n"
        "sys.modules['c104'] = None  # import c104 now raises ImportError\n"
        f"skip = {sorted(bound)!r}\n"
        "for package in ('regulatory', 'markets', 'dispatch', 'trading'):\n"
        "    root = importlib.import_module(package)\n"
        "    for info in pkgutil.walk_packages(root.__path__, package + '.'):\n"
        "        if info.name in skip or info.name.endswith('__main__'):\n"
        "            continue\n"
        "        if '.migrations' not in info.name:\n"
        "            importlib.import_module(info.name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names
