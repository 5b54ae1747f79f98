"""`pynats stream` (alias `str`): add, ls, info, cp, edit, purge, rmm, rm, get, subjects, report."""

from __future__ import annotations

from typing import Any

import click

from nats_cli import prompts, render, terminal
from nats_cli.app import AliasGroup, App
from nats_cli.commands._common import (
    add_options,
    config_diff,
    edit_options,
    force_option,
    json_option,
    pass_app,
    print_json,
    show_diff,
    stream_name,
    write_json_file,
)
from nats_cli.errors import Cancelled, CliError
from nats_cli.stream_config import (
    apply_edit_flags,
    apply_flags,
    ask_missing,
    config_options,
    fresh_config,
    load_config_file,
    schema_errors,
    strip_system_metadata,
)

STREAM_CONFIG_TYPE = "io.nats.jetstream.api.v1.stream_configuration"


@click.group(cls=AliasGroup)
def stream() -> None:
    """JetStream Stream management."""


def _show(info: dict, as_json: bool) -> None:
    if as_json:
        print_json(render.without_envelope(info))
    else:
        terminal.out(render.stream_info(info))


async def build_config(
    name: str | None, config_file: str | None, defaults: bool, opts: dict[str, Any]
) -> dict:
    """A new stream's config: the --config file or fresh defaults, then flags, then prompts."""
    if config_file:
        cfg = strip_system_metadata(load_config_file(config_file))
        if name:
            cfg["name"] = name
    else:
        cfg = fresh_config(name or "")
    apply_flags(cfg, opts)
    if not cfg.get("name"):
        cfg["name"] = await prompts.text(
            "Stream Name",
            flag="the STREAM argument",
            help="A name for the new stream, like ORDERS.",
            required=True,
        )
    if not config_file:
        await ask_missing(cfg, opts, defaults)
    if cfg.get("mirror") and cfg.get("subjects"):
        raise CliError("a mirror cannot have subjects of its own: drop --subjects or --mirror")
    return cfg


def _check_or_write(cfg: dict, validate: bool, output: str | None) -> None:
    errors = schema_errors(STREAM_CONFIG_TYPE, cfg)
    if validate:
        print_json(cfg)
    if errors:
        for error in errors:
            terminal.err(f"  {error}")
        raise CliError(f"the configuration is not a valid {STREAM_CONFIG_TYPE}")
    if output:
        write_json_file(output, cfg)
        terminal.err(f"Wrote the configuration of Stream {cfg['name']} to {output}")
    elif validate:
        terminal.err(f"The configuration is a valid {STREAM_CONFIG_TYPE}")


@stream.command("add", aliases=("create", "new"))
@click.argument("name", metavar="[STREAM]", required=False)
@config_options()
@add_options
@json_option
@pass_app
def add(app: App, name, config_file, defaults, validate, output, as_json, **opts) -> None:
    """Create a stream, asking for each setting no flag gives.

    Every prompt has a flag (press ? at a prompt to see it); --defaults takes the default for any
    setting not given. Without a terminal nothing is asked: a setting no flag gives is an error
    unless --defaults is given. --config takes a JSON configuration, either bare or the whole
    `pynats str info X -j` output; flags given with it override the file.

    Example: pynats str add ORDERS --subjects 'ORDERS.*' --max-age 1y --defaults
    """

    async def run() -> None:
        cfg = await build_config(name, config_file, defaults, opts)
        if validate or output:
            _check_or_write(cfg, validate, output)
            return
        async with app.client() as c:
            info = await c.stream_create(cfg)
        if not as_json:
            terminal.err(f"Stream {cfg['name']} was created\n")
        _show(info, as_json)

    app.run(run())


@stream.command("ls", aliases=("list", "l"))
@click.option("-n", "--names", is_flag=True, help="Only the names, one per line")
@click.option("--subject", metavar="SUBJECT", help="Only streams that listen on SUBJECT")
@json_option
@pass_app
def ls(app: App, names, subject, as_json) -> None:
    """List streams: name, subjects, messages, size, last message."""

    async def run() -> None:
        async with app.client() as c:
            if names:
                for n in await c.stream_names(subject):
                    terminal.out(n)
                return
            infos = await c.stream_list()
            if subject:
                wanted = set(await c.stream_names(subject))
                infos = [i for i in infos if i["config"]["name"] in wanted]
        if as_json:
            print_json(sorted(infos, key=lambda i: i["config"]["name"]))
        elif not infos:
            terminal.err("No Streams defined")
        else:
            terminal.table(render.streams_table(infos))

    app.run(run())


@stream.command("info", aliases=("nfo", "i"))
@click.argument("name", metavar="[STREAM]", required=False)
@click.option("--state", is_flag=True, help="Only the state")
@json_option
@pass_app
def info(app: App, name, state, as_json) -> None:
    """Show a stream's configuration and state."""

    async def run() -> None:
        async with app.client() as c:
            info = await c.stream_info(await stream_name(c, name))
        if as_json:
            print_json(render.without_envelope(info) if not state else info.get("state"))
        else:
            terminal.out(render.stream_state(info) if state else render.stream_info(info))

    app.run(run())


@stream.command("cp", aliases=("copy",))
@click.argument("source_name", metavar="SOURCE")
@click.argument("dest", metavar="DEST")
@config_options()
@json_option
@pass_app
def cp(app: App, source_name, dest, as_json, **opts) -> None:
    """Copy a stream's configuration (not its messages) to a new stream.

    Flags given change the copy, e.g. `pynats str cp ORDERS ARCHIVE --subjects 'ARCHIVE.*' --max-age 2y`.
    """

    async def run() -> None:
        async with app.client() as c:
            cfg = strip_system_metadata(dict((await c.stream_info(source_name))["config"]))
            cfg["name"] = dest
            apply_flags(cfg, opts)
            info = await c.stream_create(cfg)
        if not as_json:
            terminal.err(f"Stream {dest} was created\n")
        _show(info, as_json)

    app.run(run())


@stream.command("edit", aliases=("update",))
@click.argument("name", metavar="[STREAM]", required=False)
@config_options(edit=True)
@edit_options
@force_option
@json_option
@pass_app
def edit(app: App, name, config_file, dry_run, force, as_json, **opts) -> None:
    """Change a stream's configuration, showing the differences first.

    Flags change single settings; --config replaces the whole configuration with a JSON file
    (`pynats str info ORDERS -j | jq .config` output). Asks before changing unless -f is given.
    """

    async def run() -> None:
        async with app.client() as c:
            name_ = await stream_name(c, name)
            current = (await c.stream_info(name_))["config"]
            old = strip_system_metadata(dict(current))
            if config_file:
                new = strip_system_metadata(load_config_file(config_file))
                new.setdefault("name", name_)
                if new["name"] != name_:
                    raise CliError(f"the configuration is for stream {new['name']}, not {name_}")
            else:
                new = dict(old)
            apply_edit_flags(new, opts)
            diff = config_diff(old, new)
            if not diff:
                terminal.err(f"Stream {name_} is already up to date: no differences")
                return
            show_diff(diff)
            if dry_run:
                raise Cancelled(1)
            await prompts.really(f"Really edit Stream {name_}", force)
            info = await c.stream_update(new)
        if not as_json:
            terminal.err(f"Stream {name_} was updated\n")
        _show(info, as_json)

    app.run(run())


@stream.command("purge")
@click.argument("name", metavar="[STREAM]", required=False)
@click.option("--subject", metavar="SUBJECT", help="Only purge messages on SUBJECT (wildcards allowed)")
@click.option("--seq", type=int, metavar="N", help="Purge messages below sequence N")
@click.option("--keep", type=int, metavar="N", help="Keep the N newest messages")
@force_option
@json_option
@pass_app
def purge(app: App, name, subject, seq, keep, force, as_json) -> None:
    """Remove messages from a stream, keeping the stream."""
    if seq is not None and keep is not None:
        app.abort("--seq and --keep cannot be used together")

    async def run() -> None:
        async with app.client() as c:
            name_ = await stream_name(c, name)
            what = f" on {subject}" if subject else ""
            await prompts.really(f"Really purge Stream {name_}{what}", force)
            request: dict[str, Any] = {}
            if subject:
                request["filter"] = subject
            if seq is not None:
                request["seq"] = seq
            if keep is not None:
                request["keep"] = keep
            reply = await c.stream_purge(name_, request)
            info = await c.stream_info(name_)
        purged = reply.get("purged", 0)
        terminal.err(f"Purged {purged:,} message{'s' if purged != 1 else ''} from {name_}\n")
        _show(info, as_json)

    app.run(run())


@stream.command("rmm")
@click.argument("name", metavar="[STREAM]", required=False)
@click.argument("seq", metavar="[SEQ]", type=int, required=False)
@click.option("--no-erase", is_flag=True, help="Remove without overwriting the data")
@force_option
@pass_app
def rmm(app: App, name, seq, no_erase, force) -> None:
    """Remove one message by sequence (its data is overwritten unless --no-erase)."""

    async def run() -> None:
        async with app.client() as c:
            name_ = await stream_name(c, name)
            number = seq
            if number is None:
                text = await prompts.text(
                    "Message Sequence to remove", flag="the SEQ argument", help="The stream sequence.",
                    required=True, validate=_sequence,
                )  # fmt: skip
                number = _sequence(text)
            await prompts.really(f"Really remove message {number} from Stream {name_}", force)
            await c.stream_msg_delete(name_, number, erase=not no_erase)
        terminal.err(f"Message {number} was removed from Stream {name_}")

    app.run(run())


def _sequence(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f'"{text}" is not a sequence number') from None
    if value < 1:
        raise ValueError("sequences start at 1")
    return value


@stream.command("rm", aliases=("delete", "del"))
@click.argument("name", metavar="[STREAM]", required=False)
@force_option
@pass_app
def rm(app: App, name, force) -> None:
    """Delete a stream with all its messages and consumers."""
    if force and not name:
        app.abort("--force needs the STREAM argument")

    async def run() -> None:
        async with app.client() as c:
            name_ = await stream_name(c, name)
            await prompts.really(f"Really delete Stream {name_}", force)
            await c.stream_delete(name_)
        terminal.err(f"Stream {name_} was deleted")

    app.run(run())


@stream.command("get")
@click.argument("name", metavar="[STREAM]", required=False)
@click.argument("seq", metavar="[SEQ]", type=int, required=False)
@click.option("-S", "--last-for", metavar="SUBJECT", help="Get the last message on SUBJECT")
@json_option
@pass_app
def get(app: App, name, seq, last_for, as_json) -> None:
    """Show one stored message: by sequence, or the last on a subject (--last-for)."""
    from nats_cli.client import decode_b64, parse_headers

    async def run() -> None:
        async with app.client() as c:
            name_ = await stream_name(c, name)
            if seq is not None:
                request: dict[str, Any] = {"seq": seq}
            elif last_for:
                request = {"last_by_subj": last_for}
            else:
                text = await prompts.text(
                    "Message Sequence to retrieve", flag="the SEQ argument or --last-for", required=True,
                    help="The stream sequence of the message.", validate=_sequence,
                )  # fmt: skip
                request = {"seq": _sequence(text)}
            reply = await c.stream_msg_get(name_, request)
        msg = reply.get("message") or {}
        if as_json:
            print_json(msg)
            return
        _, headers = parse_headers(decode_b64(msg.get("hdrs")))
        terminal.out(render.stored_message(name_, msg, headers, decode_b64(msg.get("data"))))

    app.run(run())


@stream.command("subjects", aliases=("subj",))
@click.argument("name", metavar="[STREAM]", required=False)
@click.argument("filter_", metavar="[FILTER]", default=">")
@json_option
@pass_app
def subjects(app: App, name, filter_, as_json) -> None:
    """List the subjects in a stream with their message counts."""

    async def run() -> None:
        async with app.client() as c:
            name_ = await stream_name(c, name)
            info = await c.stream_info(name_, subjects_filter=filter_)
        counts = (info.get("state") or {}).get("subjects") or {}
        if as_json:
            print_json(counts)
        elif not counts:
            terminal.err(f"No subjects found in Stream {name_} matching {filter_}")
        else:
            terminal.table(render.subjects_table(name_, counts))

    app.run(run())


@stream.command("report")
@pass_app
def report(app: App) -> None:
    """A table of every stream's storage, consumers, messages and size, then of mirrors and sources."""

    async def run() -> None:
        async with app.client() as c:
            infos = await c.stream_list()
        if not infos:
            terminal.err("No Streams defined")
            return
        terminal.table(render.stream_report(infos))
        replication = render.replication_report(infos)
        if replication:
            terminal.out()
            terminal.table(replication)

    app.run(run())


# subcommands kept in their own modules (issue 8)
from nats_cli.commands import backup as _backup  # noqa: E402
from nats_cli.commands import template as _template  # noqa: E402

for _cmd in (_backup.stream_backup, _backup.stream_restore, _template.template):
    stream.add_command(_cmd)
stream.aliases.update(snapshot="backup", templ="template", t="template")
