"""A market plugin shipped as its own package, as compliance staff would ship a new country.

`write_skeleton` writes the package for CZ, pip installs it into a directory of its own (no
network: hatchling comes from this environment), and vpp-engine finds it through the
``vpp.markets`` entry point, from the command line and in-process, and it is conformant.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from markets.conformance import assert_conformant
from markets.plugin import MarketPlugin
from markets.registry import BUILTIN_COUNTRIES, default_registry, load_entry_point_plugins
from markets.skeleton import SkeletonError, write_skeleton

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "trading.cli"]
ORIGIN = "vpp-markets-cz 0.1.0"
FILES = [
    "pyproject.toml",
    "vpp_markets_cz/__init__.py",
    "tests/test_conformance.py",
    "README.md",
]


def _pip_install(package: Path, site: Path) -> None:
    """Install `package` into `site` as its own distribution, offline."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--quiet",
            "--target",
            str(site),
            str(package),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _env(site: Path) -> dict[str, str]:
    """The environment of a fresh Python that sees `site` before anything else."""
    paths = [str(site), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _vpp(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(site),
        cwd=site.parent,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(skeleton directory, site directory it is installed in) for CZ."""
    root = tmp_path_factory.mktemp("external_plugin")
    package = root / "vpp-markets-cz"
    write_skeleton("CZ", package, name="Czechia", timezone="Europe/Prague", bidding_zone="CZ")
    site = root / "site"
    _pip_install(package, site)
    return package, site


@pytest.fixture
def on_path(installed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The installed package importable in this process; the registry rebuilt around it."""
    site = installed[1]
    monkeypatch.syspath_prepend(str(site))
    default_registry.cache_clear()
    yield site
    default_registry.cache_clear()
    sys.modules.pop("vpp_markets_cz", None)


# --- the installed package, seen from the command line -------------------------------------


def test_cli_lists_cz_with_its_package_as_origin(installed: tuple[Path, Path]) -> None:
    site = installed[1]
    table = _vpp(site, "markets", "list")
    assert table.returncode == 0, table.stdout + table.stderr
    rows = [line for line in table.stdout.splitlines() if " CZ " in line]
    assert rows, table.stdout
    assert ORIGIN in rows[0]
    assert "Czechia" in rows[0]
    listed = _vpp(site, "markets", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    by_country = {row["country"]: row for row in json.loads(listed.stdout)}
    assert by_country["CZ"]["origin"] == ORIGIN
    assert by_country["DE"]["origin"] == "vpp-engine (built-in)"


def test_cli_check_passes_on_the_generated_package(installed: tuple[Path, Path]) -> None:
    checked = _vpp(installed[1], "markets", "check", "CZ", "--year", "2026")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "CZ: all" in checked.stdout
    assert "checks passed" in checked.stdout
    assert "marked uncertain" in checked.stdout
    guide = (REPO_ROOT / "docs" / "adding-a-country.md").read_text(encoding="utf-8")
    for line in checked.stdout.strip().splitlines():
        assert line in guide, f"docs/adding-a-country.md no longer shows {line!r}"


def test_cli_check_fails_and_names_the_check_when_a_rule_is_wrong(tmp_path: Path) -> None:
    package = tmp_path / "vpp-markets-cz"
    write_skeleton("CZ", package, name="Czechia", timezone="Europe/Prague")
    module = package / "vpp_markets_cz" / "__init__.py"
    text = module.read_text(encoding="utf-8")
    # A local gate that closes before the cross-border one: the kit must refuse it.
    broken = text.replace("OffsetGate(minutes_before=60)", "OffsetGate(minutes_before=90)")
    assert broken != text
    module.write_text(broken, encoding="utf-8")
    site = tmp_path / "site"
    _pip_install(package, site)
    checked = _vpp(site, "markets", "check", "CZ")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "FAIL gates" in checked.stdout
    assert "cross-border closure after the local one" in checked.stdout
    assert "checks failed" in checked.stdout


# --- the installed package, in-process --------------------------------------------------------


def test_entry_point_loads_cz_with_its_distribution_as_origin(on_path: Path) -> None:
    found = {r.plugin.country: r for r in load_entry_point_plugins()}
    assert found["CZ"].origin == ORIGIN
    assert isinstance(found["CZ"].plugin, MarketPlugin)
    registry = default_registry()
    assert "CZ" in registry
    assert registry.origin("CZ") == ORIGIN
    assert registry.get("CZ") is found["CZ"].plugin


def test_generated_plugin_is_conformant_and_shows_its_placeholders(on_path: Path) -> None:
    plugin = default_registry().get("CZ")
    report = assert_conformant(plugin)
    assert report.passed
    placeholders = [line for line in report.uncertain_rules if "skeleton placeholder" in line]
    assert len(placeholders) == 4, report.uncertain_rules
    assert [m.market.value for m in plugin.markets] == [
        "day_ahead",
        "intraday_auction",
        "intraday_continuous",
    ]
    for _, name, entry in plugin.rules():
        if entry.uncertain:
            assert entry.note, f"{name} from {entry.valid_from} is uncertain without a note"


def test_generated_package_runs_its_own_tests(installed: tuple[Path, Path]) -> None:
    package, site = installed
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(site),
        cwd=package,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


# --- write_skeleton itself ----------------------------------------------------------------


def test_skeleton_writes_the_package_files(tmp_path: Path) -> None:
    target = tmp_path / "new" / "vpp-markets-cz"
    written = write_skeleton("CZ", target, name="Czechia", timezone="Europe/Prague")
    assert written == [target / f for f in FILES]
    assert all(path.is_file() for path in written)
    pyproject = (target / "pyproject.toml").read_text(encoding="utf-8")
    assert 'name = "vpp-markets-cz"' in pyproject
    assert 'build-backend = "hatchling.build"' in pyproject
    assert 'requires-python = ">=3.11"' in pyproject
    assert 'dependencies = ["vpp-engine"]' in pyproject
    assert '[project.entry-points."vpp.markets"]\nCZ = "vpp_markets_cz:PLUGIN"' in pyproject
    assert "docs/adding-a-country.md" in (target / "README.md").read_text(encoding="utf-8")
    assert "assert_conformant" in (target / "tests" / "test_conformance.py").read_text()


def test_skeleton_defaults_name_and_zone_to_the_country_code(tmp_path: Path) -> None:
    write_skeleton("PL", tmp_path / "pl", timezone="Europe/Warsaw")
    source = (tmp_path / "pl" / "vpp_markets_pl" / "__init__.py").read_text(encoding="utf-8")
    assert 'COUNTRY, ZONE, TZ = "PL", "PL", "Europe/Warsaw"' in source
    assert 'name="PL"' in source


def test_skeleton_accepts_an_existing_empty_directory(tmp_path: Path) -> None:
    assert len(write_skeleton("CZ", tmp_path)) == len(FILES)


def test_skeleton_warns_where_the_time_zone_is_not_cet(tmp_path: Path) -> None:
    write_skeleton("FI", tmp_path / "fi", name="Finland", timezone="Europe/Helsinki")
    write_skeleton("CZ", tmp_path / "cz", name="Czechia", timezone="Europe/Prague")
    assert "does not follow CET/CEST" in (tmp_path / "fi" / "README.md").read_text()
    assert "does not follow CET/CEST" not in (tmp_path / "cz" / "README.md").read_text()


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed")
def test_generated_code_is_ruff_clean(tmp_path: Path) -> None:
    longest = "Ab " * 19 + "Abc"
    write_skeleton("CZ", tmp_path / "cz", name="Česko", timezone="Europe/Prague")
    write_skeleton(
        "XK",
        tmp_path / "xk",
        name=longest,
        timezone="America/Argentina/ComodRivadavia",
        bidding_zone="A" * 20,
    )
    for package in ("cz", "xk"):
        for command in (["check"], ["format", "--check"]):
            done = subprocess.run(
                [sys.executable, "-m", "ruff", *command, "."],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=tmp_path / package,
            )
            assert done.returncode == 0, f"{package} {command}: {done.stdout}{done.stderr}"


@pytest.mark.parametrize(
    ("kwargs", "field", "value", "rule"),
    [
        ({"country": "cz"}, "country", "cz", "two upper-case letters"),
        ({"country": "CZE"}, "country", "CZE", "two upper-case letters"),
        ({"country": "C1"}, "country", "C1", "two upper-case letters"),
        ({"country": "CZ\n"}, "country", "CZ\n", "two upper-case letters"),
        ({"timezone": "Europe/Nowhere"}, "timezone", "Europe/Nowhere", "IANA time zone"),
        ({"timezone": "+01:00"}, "timezone", "+01:00", "IANA time zone"),
        ({"bidding_zone": "CZ ZONE"}, "bidding_zone", "CZ ZONE", "letters, digits"),
        ({"name": ""}, "name", "", "printable characters"),
        ({"name": 'Cz"ech'}, "name", 'Cz"ech', "without quotes"),
        ({"name": "x" * 61}, "name", "x" * 61, "1-60"),
    ],
)
def test_skeleton_refuses_a_bad_argument(
    tmp_path: Path, kwargs: dict[str, str], field: str, value: str, rule: str
) -> None:
    target = tmp_path / "out"
    arguments = {"country": "CZ", "timezone": "Europe/Prague", **kwargs}
    country = arguments.pop("country")
    with pytest.raises(SkeletonError) as refused:
        write_skeleton(country, target, **arguments)
    assert isinstance(refused.value, ValueError)
    assert (refused.value.field, refused.value.value) == (field, value)
    message = str(refused.value)
    assert message.startswith(f"{field}={value!r}")
    assert rule in message
    assert not target.exists(), "nothing may be written when an argument is refused"


@pytest.mark.parametrize("country", BUILTIN_COUNTRIES)
def test_skeleton_refuses_a_builtin_country(tmp_path: Path, country: str) -> None:
    with pytest.raises(SkeletonError, match=rf"country='{country}'.*built into vpp-engine"):
        write_skeleton(country, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_skeleton_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SkeletonError, match=r"path=.*exists and is not empty") as refused:
        write_skeleton("CZ", tmp_path)
    assert refused.value.field == "path"
    assert refused.value.value == str(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_skeleton_refuses_a_file_as_path(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("", encoding="utf-8")
    with pytest.raises(SkeletonError, match=r"path=.*is a file"):
        write_skeleton("CZ", target)


# --- the sixth country written from docs/adding-a-country.md alone ------------------------


def test_the_slovenia_example_package_is_listed_checked_and_trades_92_quarter_hours(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    _pip_install(REPO_ROOT / "examples" / "vpp-markets-si", site)
    listed = _vpp(site, "markets", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    by_country = {row["country"]: row for row in json.loads(listed.stdout)}
    assert by_country["SI"]["origin"] == "vpp-markets-si 0.1.0"
    assert "fcr_capacity" in by_country["SI"]["markets"]
    for year in ("2026", "2027"):
        checked = _vpp(site, "markets", "check", "SI", "--year", year)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "SI: all" in checked.stdout
    products = _vpp(site, "markets", "products", "SI", "2026-03-29", "--market", "day_ahead")
    assert products.returncode == 0, products.stderr
    day_ahead = json.loads(
        _vpp(
            site, "markets", "products", "SI", "2026-03-29", "--market", "day_ahead", "--json"
        ).stdout
    )
    assert len(day_ahead) == 92
    assert {p["gate_closure"] for p in day_ahead} == {"2026-03-28T11:00:00Z"}


def test_cli_new_refuses_a_country_whose_package_is_installed(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    site = installed[1]
    refused = _vpp(site, "markets", "new", "CZ", "--path", str(tmp_path / "again"))
    assert refused.returncode == 2
    assert "CZ is installed already, from vpp-markets-cz 0.1.0" in refused.stderr
    assert "--replace-installed" in refused.stderr
    assert not (tmp_path / "again").exists()
    written = _vpp(
        site, "markets", "new", "CZ", "--path", str(tmp_path / "next"), "--replace-installed"
    )
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "next" / "pyproject.toml").exists()


def test_the_skeletons_test_extra_brings_its_test_and_lint_tools(tmp_path: Path) -> None:
    """A plugin author installs one extra and can run the package's tests and linter."""
    write_skeleton("CZ", tmp_path / "cz", name="Czechia", timezone="Europe/Prague")
    project = tomllib.loads((tmp_path / "cz" / "pyproject.toml").read_text(encoding="utf-8"))
    tools = {re.split(r"[<>=]", d)[0] for d in project["project"]["optional-dependencies"]["test"]}
    assert tools == {"pytest", "ruff"}
    readme = (tmp_path / "cz" / "README.md").read_text(encoding="utf-8")
    assert '[test]"` (pytest and ruff)' in readme
    assert "ruff check ." in readme
