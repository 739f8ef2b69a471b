"""Shared output helpers of the command line: a console and exit codes."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import pendulum
import typer
from rich.console import Console

EXIT_OK = 0
EXIT_INVALID_INPUT = 2
"""Exit code for input the user must fix (invalid portfolio, malformed file, bad option)."""


def console(stderr: bool = False) -> Console:
    """A rich console; wide enough for tables when output is not a terminal.

    Markup is off: text from files and rule data (``[confirmed]``, an asset id with
    brackets) is printed as written, never read as styling.
    """
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160
    return Console(file=stream, width=width, soft_wrap=False, highlight=False, markup=False)


def print_json(data: Any) -> None:
    """Print `data` as indented JSON on stdout (no colour codes, stable key order)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def parse_day(value: str | None) -> date:
    """A ``YYYY-MM-DD`` option, or today's date in UTC when absent."""
    if value is None:
        return pendulum.now("UTC").date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"--on={value!r} is not a date of the form YYYY-MM-DD") from None
