"""`pynats str template` (alias `templ`, `t`): add, ls, info, rm of Stream Templates.

A template holds a stream configuration; the server creates a stream (`<template>_<token>`) for
each new subject matching it, up to --max-streams, and deletes them with the template. Templates
were removed from nats-server, which does not answer their API at all: every call here then ends
in one line saying the server does not support them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from nats_cli import render, terminal
from nats_cli.app import AliasGroup, App
from nats_cli.commands._common import force_option, json_option, pass_app, print_json
from nats_cli.errors import ApiError, CliError
from nats_cli.stream_config import apply_flags, ask_missing, config_options, fresh_config
from nats_cli.units import format_duration

if TYPE_CHECKING:
    from nats_cli.client import Client

UNSUPPORTED = "the server does not support Stream Templates: no reply on {} (nats-server removed them)"
PROBE_TIMEOUT = 1.0  # `pynats backup` asks for templates this long before taking "no" for an answer


class Unsupported(CliError):
    """The server does not answer template calls."""


@click.group("template", cls=AliasGroup)
def template() -> None:
    """Stream Templates: stream configurations the server applies to new subjects."""


async def _api(c: Client, subject: str, body: dict | None = None, timeout: float | None = None) -> dict:
    """One template API call; no reply at all means the server has no template support."""
    try:
        return await c.api(subject, body, timeout=timeout)
    except ApiError:
        raise
    except CliError as e:
        if "no responders" in str(e) or "timeout" in str(e):
            raise Unsupported(UNSUPPORTED.format(subject)) from None
        raise


async def names(c: Client, timeout: float | None = None) -> list[str]:
    found: list[str] = []
    while True:
        reply = await _api(c, c.subjects.stream_template_names(), {"offset": len(found)}, timeout)
        page = reply.get("streams") or []
        found += page
        if not page or len(found) >= int(reply.get("total", 0)):
            return sorted(found)


async def info(c: Client, name: str) -> dict:
    return await _api(c, c.subjects.stream_template_info(name))


async def create(c: Client, cfg: dict) -> dict:
    """Create a template; its stream configuration goes without a name (the server names the streams)."""
    body = {**cfg, "config": {**cfg["config"], "name": ""}}
    return await _api(c, c.subjects.stream_template_create(cfg["name"]), body)


async def configs_if_supported(c: Client) -> list[dict]:
    """Every template's configuration, or none when the server does not answer template calls."""
    try:
        found = await names(c, timeout=min(PROBE_TIMEOUT, c.timeout))
    except Unsupported:
        return []
    return [(await info(c, name))["config"] for name in found]


def _raw(value: object) -> str:
    return str(value if value is not None else -1)


def template_info_text(reply: dict) -> str:
    """The seed's block: the template's stream settings, Maximum Streams, then its streams."""
    tc = reply.get("config") or {}
    cfg = tc.get("config") or {}
    storage = render.title_word(cfg.get("storage", "file"))
    rows = [
        ("Subjects", ", ".join(cfg.get("subjects") or [])),
        ("Acknowledgements", render.yes_no(not cfg.get("no_ack"))),
        ("Retention", f"{storage} - {render.title_word(cfg.get('retention', 'limits'))}"),
        ("Replicas", str(cfg.get("num_replicas", 1))),
        ("Maximum Messages", _raw(cfg.get("max_msgs"))),
        ("Maximum Bytes", _raw(cfg.get("max_bytes"))),
        ("Maximum Age", format_duration(cfg.get("max_age") or 0)),
        ("Maximum Message Size", _raw(cfg.get("max_msg_size"))),
        ("Maximum Consumers", _raw(cfg.get("max_consumers"))),
        ("Maximum Streams", _raw(tc.get("max_streams"))),
    ]
    text = render.kv_block(f"Information for Stream Template {tc.get('name', '')}", [("Configuration", rows)])
    streams = sorted(reply.get("streams") or [])
    managed = [f"    {s}" for s in streams] or ["  No Streams have been defined by this template"]
    return "\n".join([text, "", "Managed Streams:", "", *managed])


def _show(reply: dict, as_json: bool) -> None:
    if as_json:
        print_json(render.without_envelope(reply))
    else:
        terminal.out(template_info_text(reply))


@template.command("add", aliases=("create", "new"))
@click.argument("name", metavar="TEMPLATE")
@config_options()
@click.option("--max-streams", type=click.IntRange(0, 2**32 - 1), metavar="N",
              help="How many streams the template may create")  # fmt: skip
@click.option("--defaults", is_flag=True, help="Take the default for every setting not given")
@json_option
@pass_app
def add(app: App, name, max_streams, defaults, as_json, **opts) -> None:
    """Create a Stream Template: a stream configuration for every new subject that matches it.

    Takes the `str add` flags, asking for settings no flag gives (at a terminal), plus
    --max-streams. Each stream is named `<TEMPLATE>_<subject token>`.

    Example: pynats str template add CLIENTS --subjects 'CLIENT.*' --max-age 1y --max-streams 1024 --defaults
    """
    from nats_cli import prompts

    async def run() -> None:
        cfg = apply_flags(fresh_config(""), opts)
        await ask_missing(cfg, opts, defaults)
        limit = max_streams
        if limit is None:
            text = await prompts.text(
                "Maximum Streams", flag="--max-streams", required=True,
                help="How many streams this template may create.", validate=_count,
            )  # fmt: skip
            limit = _count(text)
        async with app.client() as c:
            await create(c, {"name": name, "config": cfg, "max_streams": limit})
            reply = await info(c, name)
        if not as_json:
            terminal.err(f"Stream Template {name} was created\n")
        _show(reply, as_json)

    app.run(run())


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f'"{text}" is not a number') from None
    if not 0 <= value < 2**32:
        raise ValueError("Maximum Streams must be between 0 and 4294967295")
    return value


@template.command("ls", aliases=("list", "l"))
@click.option("-n", "--names", "only_names", is_flag=True, help="Only the names, one per line")
@json_option
@pass_app
def ls(app: App, only_names, as_json) -> None:
    """List Stream Templates: name, subjects, streams made and the limit."""

    async def run() -> None:
        async with app.client() as c:
            found = await names(c)
            infos = [] if (only_names or as_json) else [await info(c, n) for n in found]
        if as_json:
            print_json(found)
        elif only_names:
            for n in found:
                terminal.out(n)
        elif not found:
            terminal.err("No Stream Templates defined")
        else:
            headers = ["Name", "Subjects", "Streams", "Maximum Streams"]
            t = render.Table("Stream Templates", headers, right={2, 3})
            for reply in infos:
                tc = reply.get("config") or {}
                subjects = ", ".join((tc.get("config") or {}).get("subjects") or [])
                count = len(reply.get("streams") or [])
                t.rows.append([tc.get("name", ""), subjects, str(count), _raw(tc.get("max_streams"))])
            terminal.table(t)

    app.run(run())


@template.command("info", aliases=("nfo", "i"))
@click.argument("name", metavar="TEMPLATE")
@json_option
@pass_app
def info_cmd(app: App, name, as_json) -> None:
    """Show a Stream Template's configuration and the streams it made."""

    async def run() -> None:
        async with app.client() as c:
            reply = await info(c, name)
        _show(reply, as_json)

    app.run(run())


@template.command("rm", aliases=("delete", "del"))
@click.argument("name", metavar="TEMPLATE")
@force_option
@pass_app
def rm(app: App, name, force) -> None:
    """Delete a Stream Template and every stream it created."""
    from nats_cli import prompts

    async def run() -> None:
        async with app.client() as c:
            await info(c, name)
            await prompts.really(
                f"Really delete Stream Template {name}, this will remove all managed Streams this template "
                "created as well", force,
            )  # fmt: skip
            await _api(c, c.subjects.stream_template_delete(name))
        terminal.err(f"Stream Template {name} was deleted")

    app.run(run())
