"""`pynats consumer` (alias `con`): add, ls, info, next, rm, edit, pause, resume, unpin."""

from __future__ import annotations

import datetime as _dt

import click

from nats_cli import consumer_config, prompts, render, render_consumer, terminal
from nats_cli.app import AliasGroup, App
from nats_cli.commands._common import (
    add_options,
    config_diff,
    consumer_name,
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
from nats_cli.stream_config import load_config_file, schema_errors, strip_system_metadata

CONSUMER_CONFIG_TYPE = "io.nats.jetstream.api.v1.consumer_configuration"


@click.group(cls=AliasGroup)
def consumer() -> None:
    """JetStream Consumer management."""


def _show(info: dict, as_json: bool) -> None:
    if as_json:
        print_json(render.without_envelope(info))
    else:
        terminal.out(render_consumer.consumer_info(info))


@consumer.command("add", aliases=("create", "new"))
@click.argument("stream_arg", metavar="[STREAM]", required=False)
@click.argument("name", metavar="[CONSUMER]", required=False)
@consumer_config.consumer_options()
@add_options
@json_option
@pass_app
def add(app: App, stream_arg, name, config_file, defaults, validate, output, as_json, **opts) -> None:
    """Create a consumer, asking for each setting no flag gives.

    Pull consumers: --pull; push consumers: --target SUBJECT. Every prompt has a flag (press ? at
    a prompt to see it); --defaults takes the default for any setting not given. Without a
    terminal nothing is asked: a setting no flag gives is an error unless --defaults is given.

    Example: pynats con add ORDERS DISPATCH --pull --filter ORDERS.processed --max-deliver 20 --defaults
    """

    async def run() -> None:
        async with app.client() as c:
            stream = await stream_name(c, stream_arg)
            if config_file:
                cfg = consumer_config.apply_flags(consumer_config.from_file(config_file, name), opts)
            else:
                cfg = await consumer_config.build(name, opts, defaults)
            if validate or output:
                _check_or_write(cfg, validate, output)
                return
            info = await c.consumer_create(stream, cfg)
        _show(info, as_json)

    app.run(run())


def _check_or_write(cfg: dict, validate: bool, output: str | None) -> None:
    errors = schema_errors(CONSUMER_CONFIG_TYPE, cfg)
    if validate:
        print_json(cfg)
    if errors:
        for error in errors:
            terminal.err(f"  {error}")
        raise CliError(f"the configuration is not a valid {CONSUMER_CONFIG_TYPE}")
    if output:
        write_json_file(output, cfg)
        terminal.err(f"Wrote the consumer configuration to {output}")
    elif validate:
        terminal.err(f"The configuration is a valid {CONSUMER_CONFIG_TYPE}")


@consumer.command("ls", aliases=("list", "l"))
@click.argument("stream_arg", metavar="[STREAM]", required=False)
@click.option("-n", "--names", is_flag=True, help="Only the names, one per line")
@json_option
@pass_app
def ls(app: App, stream_arg, names, as_json) -> None:
    """List a stream's consumers."""

    async def run() -> None:
        async with app.client() as c:
            stream = await stream_name(c, stream_arg)
            if names:
                for n in await c.consumer_names(stream):
                    terminal.out(n)
                return
            infos = await c.consumer_list(stream)
        if as_json:
            print_json(sorted(infos, key=lambda i: i["name"]))
        elif not infos:
            terminal.err("No Consumers defined")
        else:
            terminal.table(render_consumer.consumers_table(stream, infos))

    app.run(run())


@consumer.command("info", aliases=("nfo", "i"))
@click.argument("stream_arg", metavar="[STREAM]", required=False)
@click.argument("name", metavar="[CONSUMER]", required=False)
@click.option("--state", is_flag=True, help="Only the state")
@json_option
@pass_app
def info(app: App, stream_arg, name, state, as_json) -> None:
    """Show a consumer's configuration and state."""

    async def run() -> None:
        async with app.client() as c:
            stream = await stream_name(c, stream_arg)
            info = await c.consumer_info(stream, await consumer_name(c, stream, name))
        if as_json:
            print_json(render.without_envelope(info))
        else:
            show = render_consumer.consumer_state if state else render_consumer.consumer_info
            terminal.out(show(info))

    app.run(run())


@consumer.command("edit", aliases=("update",))
@click.argument("stream_arg", metavar="[STREAM]", required=False)
@click.argument("name", metavar="[CONSUMER]", required=False)
@consumer_config.consumer_options(edit=True)
@edit_options
@force_option
@json_option
@pass_app
def edit(app: App, stream_arg, name, config_file, dry_run, force, as_json, **opts) -> None:
    """Change a durable consumer's configuration, showing the differences first."""

    async def run() -> None:
        async with app.client() as c:
            stream = await stream_name(c, stream_arg)
            name_ = await consumer_name(c, stream, name)
            current = await c.consumer_info(stream, name_)
            old = strip_system_metadata(dict(current["config"]))
            if not old.get("durable_name"):
                raise CliError(f"{stream} > {name_} is ephemeral: only durable consumers can be edited")
            new = strip_system_metadata(load_config_file(config_file)) if config_file else dict(old)
            new.setdefault("durable_name", name_)
            consumer_config.apply_flags(new, opts)
            diff = config_diff(old, new)
            if not diff:
                terminal.err(f"Consumer {stream} > {name_} is already up to date: no differences")
                return
            show_diff(diff)
            if dry_run:
                raise Cancelled(1)
            await prompts.really(f"Really edit Consumer {stream} > {name_}", force)
            info = await c.consumer_create(stream, new, action="update")
        if not as_json:
            terminal.err(f"Consumer {stream} > {name_} was updated\n")
        _show(info, as_json)

    app.run(run())


@consumer.command("rm", aliases=("delete", "del"))
@click.argument("stream_arg", metavar="[STREAM]", required=False)
@click.argument("name", metavar="[CONSUMER]", required=False)
@force_option
@pass_app
def rm(app: App, stream_arg, name, force) -> None:
    """Delete a consumer."""
    if force and not (stream_arg and name):
        app.abort("--force needs the STREAM and CONSUMER arguments")

    async def run() -> None:
        async with app.client() as c:
            stream = await stream_name(c, stream_arg)
            name_ = await consumer_name(c, stream, name)
            await prompts.really(f"Really delete Consumer {stream} > {name_}", force)
            await c.consumer_delete(stream, name_)
        terminal.err(f"Consumer {stream} > {name_} was deleted")

    app.run(run())


@consumer.command("next")
@click.argument("stream_arg", metavar="[STREAM]", required=False)
@click.argument("name", metavar="[CONSUMER]", required=False)
@click.option("--ack/--no-ack", default=True, help="Acknowledge the message (default) or leave it pending")
@click.option("--count", type=click.IntRange(1), default=1, help="How many messages to fetch, one at a time")
@click.option("-r", "--raw", is_flag=True, help="Only the message bodies")
@click.option("--group", metavar="GROUP", help="Pull for this priority group (needed when there are several)")
@pass_app
def next_(app: App, stream_arg, name, ack, count, raw, group) -> None:
    """Fetch, print and acknowledge the next message of a pull consumer."""

    async def run() -> None:
        async with app.client() as c:
            stream = await stream_name(c, stream_arg)
            name_ = await consumer_name(c, stream, name)
            info = await c.consumer_info(stream, name_)
            cfg = info.get("config") or {}
            if cfg.get("deliver_subject"):
                target = cfg["deliver_subject"]
                raise CliError(f"{stream} > {name_} is a push consumer: read it with `pynats sub {target}`")
            can_ack = cfg.get("ack_policy", "explicit") != "none"
            group_ = group or _only_group(cfg, f"{stream} > {name_}")
            for _ in range(count):
                msg = await c.next_message(stream, name_, app.timeout, group_)
                if raw:
                    terminal.out_bytes(msg.data + b"\n")
                else:
                    terminal.out(f"--- received on {msg.subject}")
                    for key, value in (msg.headers or {}).items():
                        terminal.out(f"{key}: {value}")
                    if msg.headers:
                        terminal.out()
                    terminal.out(msg.data.decode(errors="replace"))
                    terminal.out()
                if ack and can_ack:
                    await c.ack(msg)
                    if not raw:
                        terminal.err("Acknowledged message")
                        if count > 1:
                            terminal.err()

    app.run(run())


def _only_group(cfg: dict, which: str) -> str | None:
    """The priority group a pull needs when --group is not given: the one group, if there is one."""
    groups = cfg.get("priority_groups") or []
    if len(groups) > 1:
        raise CliError(f"{which} has priority groups {', '.join(groups)}: pass --group")
    return groups[0] if groups else None


PAUSE_HELP = "The consumer delivers nothing until then; `pynats con resume` ends the pause early."


@consumer.command("pause")
@click.argument("stream_arg", metavar="[STREAM]", required=False)
@click.argument("name", metavar="[CONSUMER]", required=False)
@click.argument("until", metavar="[UNTIL]", required=False)
@force_option
@json_option
@pass_app
def pause(app: App, stream_arg, name, until, force, as_json) -> None:
    """Pause a consumer until a later time.

    UNTIL is a local time (2030-01-31 17:00:00) or a duration from now (1h30m); asked for at a
    terminal when not given, an hour from now by default.
    """

    async def run() -> None:
        async with app.client() as c:
            stream = await stream_name(c, stream_arg)
            name_ = await consumer_name(c, stream, name)
            when = _pause_time(until or await _ask_until())
            shown = consumer_config.local_time(when)
            await prompts.really(f"Really pause Consumer {stream} > {name_} until {shown}", force, PAUSE_HELP)
            reply = await c.consumer_pause(stream, name_, consumer_config.api_time(when))
        if not reply.get("paused"):
            raise CliError(f"Consumer {stream} > {name_} was not paused: {shown} has passed")
        if as_json:
            print_json(render.without_envelope(reply))
        else:
            terminal.err(render_consumer.paused_line(stream, name_, reply))

    app.run(run())


def _pause_time(text: str) -> _dt.datetime:
    try:
        return consumer_config.parse_pause_until(text)
    except ValueError as e:
        raise CliError(str(e)) from None


async def _ask_until() -> str:
    later = consumer_config.local_time(_dt.datetime.now() + _dt.timedelta(hours=1))
    return await prompts.text(
        "Pause until (time or duration)",
        flag="the UNTIL argument",
        help=f"A local time like {later} or a duration from now like 1h30m.",
        default=later,
        validate=consumer_config.parse_pause_until,
    )


@consumer.command("resume")
@click.argument("stream_arg", metavar="[STREAM]", required=False)
@click.argument("name", metavar="[CONSUMER]", required=False)
@force_option
@pass_app
def resume(app: App, stream_arg, name, force) -> None:
    """Resume a paused consumer before its pause ends."""

    async def run() -> None:
        async with app.client() as c:
            stream = await stream_name(c, stream_arg)
            name_ = await consumer_name(c, stream, name)
            info = await c.consumer_info(stream, name_)
            if not info.get("paused"):
                raise CliError(f"Consumer {stream} > {name_} is not paused")
            help_ = "Deliveries start again now; `pynats con pause` pauses it again."
            await prompts.really(f"Really resume Consumer {stream} > {name_}", force, help_)
            await c.consumer_pause(stream, name_, None)
        until = render.format_time(info["config"].get("pause_until"))
        terminal.err(f"Consumer {stream} > {name_} was resumed while previously paused until {until}")

    app.run(run())


@consumer.command("unpin")
@click.argument("stream_arg", metavar="[STREAM]", required=False)
@click.argument("name", metavar="[CONSUMER]", required=False)
@click.argument("group", metavar="[GROUP]", required=False)
@force_option
@pass_app
def unpin(app: App, stream_arg, name, group, force) -> None:
    """Unpin the pinned client of a priority group.

    The group's next pull request is pinned instead. At a terminal, GROUP is picked from the
    groups that have a pinned client.
    """

    async def run() -> None:
        async with app.client() as c:
            stream = await stream_name(c, stream_arg)
            name_ = await consumer_name(c, stream, name)
            which = f"{stream} > {name_}"
            pinned = _pinned_clients(await c.consumer_info(stream, name_), which)
            group_ = group or await prompts.select(
                "Select a Group", sorted(pinned), flag="the GROUP argument", help="The group to unpin."
            )
            if group_ not in pinned:
                raise CliError(
                    f"group {group_} of {which} has no pinned client (pinned: {', '.join(sorted(pinned))})"
                )
            help_ = "The client loses its pin; the group's next pull request is pinned instead."
            await prompts.really(f"Really unpin client from group {which} > {group_}", force, help_)
            await c.consumer_unpin(stream, name_, group_)
        terminal.err(f"Unpinned client {pinned[group_]} from Priority Group {which} > {group_}")

    app.run(run())


def _pinned_clients(info: dict, which: str) -> dict[str, str]:
    """group -> pinned client id, for the groups that have one."""
    if (info.get("config") or {}).get("priority_policy") != "pinned_client":
        raise CliError(f"{which} is not a pinned client priority consumer")
    pinned = {
        g["group"]: g["pinned_client_id"]
        for g in info.get("priority_groups") or []
        if g.get("pinned_client_id")
    }
    if not pinned:
        raise CliError(f"no priority group of {which} has a pinned client")
    return pinned


from nats_cli.commands.events import consumer_events  # noqa: E402 - kept in its own module (issue 8)

consumer.add_command(consumer_events)
