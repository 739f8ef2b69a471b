"""`vpp --help` stays light: heavy libraries load only when a command that needs them runs.

Each check starts the real entry point (``python -m trading.cli``) in a fresh interpreter
with ``-X importtime``, which names every module the process imported.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "highspy", "pyomo", "fastapi", "sqlalchemy", "pymodbus", "scipy")


def imported_modules(*args: str, exit_code: int = 0) -> tuple[set[str], str]:
    """Top-level packages imported by ``vpp *args`` (and its help text, stdout or stderr)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "trading.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == exit_code, done.stderr[-2000:]
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names, done.stdout + done.stderr


@pytest.mark.parametrize(("args", "exit_code"), [(("--help",), 0), ((), 2)])
def test_vpp_help_lists_every_command_without_heavy_imports(
    args: tuple[str, ...], exit_code: int
) -> None:
    """``vpp --help`` (and bare ``vpp``, which shows the help) import none of `HEAVY`."""
    names, out = imported_modules(*args, exit_code=exit_code)
    assert not names & set(HEAVY), sorted(names & set(HEAVY))
    for command in ("optimise", "serve", "keys", "markets", "backtest", "devices"):
        assert f"  {command} " in out


def test_the_probe_sees_heavy_imports_when_a_command_loads() -> None:
    """The same probe on `vpp optimise --help` sees the optimiser's libraries load."""
    names, out = imported_modules("optimise", "--help")
    assert {"pandas", "highspy"} <= names
    assert "--time-limit" in out


def test_summaries_in_vpp_help_match_the_commands() -> None:
    """The one-line summaries `vpp --help` shows are those of the loaded commands."""
    import click
    import typer

    from trading.cli import _VppGroup, app

    group = typer.main.get_command(app)
    ctx = click.Context(group)
    for name, lazy in _VppGroup.lazy_commands.items():
        command = group.get_command(ctx, name)
        assert command is not None
        assert command.get_short_help_str(1000) == lazy.summary, name


def test_help_texts_keep_units_and_show_flags_as_flags() -> None:
    _, out = imported_modules("serve", "--help")
    assert "time between clearings [s]" in out
    _, out = imported_modules("markets", "list", "--help")
    assert "--json " in out
    assert "<bool>" not in out
