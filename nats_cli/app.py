"""The root `pynats` group: global options and lazy loading of command groups.

Command modules are imported only when their command runs (or when help lists them), so
`pynats --help` stays fast: heavy libraries load inside the commands that use them.
"""

from __future__ import annotations

import importlib

import click

from nats_cli import __version__

# command name -> (module under nats_cli.commands, attribute, one-line help for the listing)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "devserver": ("devserver", "devserver", "Run a local pure-Python NATS server with JetStream"),
}
ALIASES: dict[str, str] = {}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        name = ALIASES.get(name, name)
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"nats_cli.commands.{module}"), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="pynats")
def cli() -> None:
    """pynats: NATS JetStream administration from the command line."""


def main() -> None:
    cli()
