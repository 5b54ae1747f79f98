"""Helpers shared by the command modules: common options, pickers, JSON output, diffs."""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING

import click

from nats_cli import prompts, render, terminal

if TYPE_CHECKING:
    from nats_cli.client import Client

pass_app = click.pass_obj
json_option = click.option("-j", "--json", "as_json", is_flag=True, help="Print the server's JSON")
force_option = click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation")


_ADD_OPTIONS = (
    click.option(
        "--config", "config_file", metavar="FILE", help="JSON config: a bare config or `info -j` output"
    ),
    click.option("--defaults", is_flag=True, help="Take the default for every setting not given"),
    click.option(
        "--validate", is_flag=True, help="Check the configuration against the schema; create nothing"
    ),
    click.option("--output", metavar="FILE", help="Write the checked configuration to FILE; create nothing"),
)
_EDIT_OPTIONS = (
    click.option(
        "--config", "config_file", metavar="FILE", help="Replace the configuration with this JSON file"
    ),
    click.option("--dry-run", is_flag=True, help="Only show the differences (exit 1 when there are some)"),
)


def _stack(options: tuple, command):
    for option in reversed(options):  # the first listed shows first in --help
        command = option(command)
    return command


def add_options(command):
    """The options `str add` and `con add` share: a config file, defaults, schema checks."""
    return _stack(_ADD_OPTIONS, command)


def edit_options(command):
    """The options `str edit` and `con edit` share."""
    return _stack(_EDIT_OPTIONS, command)


def print_json(obj: object) -> None:
    terminal.out(render.to_json(obj))


async def stream_name(c: Client, name: str | None) -> str:
    """The stream argument, or a picker at a terminal."""
    if name:
        return name
    return await prompts.pick("Stream", await c.stream_names(), argument="the STREAM argument")


async def consumer_name(c: Client, stream: str, name: str | None) -> str:
    if name:
        return name
    return await prompts.pick("Consumer", await c.consumer_names(stream), argument="the CONSUMER argument")


def config_diff(old: dict, new: dict) -> list[str]:
    """-old +new lines of two configs' JSON (sorted keys), without file headers."""
    a = json.dumps(old, indent=2, sort_keys=True).splitlines()
    b = json.dumps(new, indent=2, sort_keys=True).splitlines()
    return [
        line
        for line in difflib.unified_diff(a, b, lineterm="", n=1)
        if not line.startswith(("---", "+++", "@@"))
    ]


def show_diff(lines: list[str]) -> None:
    terminal.out("Differences (-old +new):")
    for line in lines:
        terminal.out(line)


def write_json_file(path: str, obj: object) -> None:
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(render.to_json(obj) + "\n")
