"""`pynats consumer` (alias `con`): add, ls, info, next, rm, edit."""

from __future__ import annotations

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
@pass_app
def next_(app: App, stream_arg, name, ack, count, raw) -> None:
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
            for _ in range(count):
                msg = await c.next_message(stream, name_, app.timeout)
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


from nats_cli.commands.events import consumer_events  # noqa: E402 - kept in its own module (issue 8)

consumer.add_command(consumer_events)
