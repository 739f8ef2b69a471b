"""A command group whose subcommands are imported only when they run.

`vpp --help` lists every command from the one-line summaries held here, without importing
the modules behind them (pandas, highspy, pyomo, fastapi, sqlalchemy, pymodbus...). A
subcommand's module is imported when the user names it (to run it or to show its help).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import ClassVar

import click
import typer
from typer.core import TyperGroup

MARKUP_MODE = None
"""Help texts are plain text, not rich markup: ``[s]``, ``[MW]`` stay as written, and bool
options show as flags (``--json``), not ``--json <bool>``. Every `typer.Typer` of the CLI
uses it."""


@dataclass(frozen=True)
class LazyCommand:
    """Where a subcommand lives and the summary `vpp --help` shows for it.

    `target` is ``"module:attribute"``; the attribute is a `typer.Typer` (a command group)
    or a function (a single command).
    """

    target: str
    summary: str

    def load(self, name: str) -> click.Command:
        """Import the module and build the click command named `name`."""
        module_name, attribute = self.target.split(":")
        obj = getattr(importlib.import_module(module_name), attribute)
        if isinstance(obj, typer.Typer):
            return typer.main.get_group(obj)
        single = typer.Typer(rich_markup_mode=MARKUP_MODE, add_completion=False)
        single.command(name)(obj)
        return typer.main.get_command(single)


class LazyGroup(TyperGroup):
    """A `TyperGroup` that also holds `LazyCommand` entries (`lazy_commands`, set by a subclass)."""

    lazy_commands: ClassVar[dict[str, LazyCommand]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *self.lazy_commands]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            if cmd_name not in self.commands:
                self.commands[cmd_name] = self.lazy_commands[cmd_name].load(cmd_name)
            return self.commands[cmd_name]
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help`` from the summaries, importing nothing."""
        rows = [(name, lazy.summary) for name, lazy in self.lazy_commands.items()]
        rows += [
            (name, command.get_short_help_str(formatter.width))
            for name, command in self.commands.items()
            if name not in self.lazy_commands and not command.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
