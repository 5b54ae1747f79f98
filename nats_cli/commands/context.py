"""`pynats context` (alias `ctx`): add, ls, info, select, unselect, rm natscli-compatible contexts."""

from __future__ import annotations

import os
from typing import Any

import click

from nats_cli import contexts, prompts, render, terminal
from nats_cli.app import AliasGroup, App
from nats_cli.commands._common import force_option, json_option, pass_app, print_json
from nats_cli.errors import CliError

# context add flag -> context JSON key
_FIELDS = {
    "server": "url",
    "user": "user",
    "password": "password",
    "token": "token",
    "creds": "creds",
    "nkey": "nkey",
    "tlscert": "cert",
    "tlskey": "key",
    "tlsca": "ca",
    "description": "description",
    "jetstream_domain": "jetstream_domain",
    "jetstream_api_prefix": "jetstream_api_prefix",
    "inbox_prefix": "inbox_prefix",
}


@click.group(cls=AliasGroup)
def context() -> None:
    """Manage connection contexts (shared with natscli)."""


def _wrap(f):
    try:
        return f()
    except contexts.ContextError as e:
        raise CliError(str(e)) from None


def _checks(data: dict) -> dict[str, str]:
    out = {}
    for key in ("creds", "nkey", "cert", "key", "ca"):
        value = data.get(key)
        if value:
            path = contexts.expand(str(value))
            out[key] = "OK" if os.path.isfile(path) else "ERROR: file not found"
    return out


def _info_text(name: str, data: dict) -> str:
    return render.context_info(name, data, _checks(data))


@context.command("add", aliases=("create", "save"))
@click.argument("name")
@click.option("-s", "--server", metavar="URL", help="NATS server URLs, comma separated")
@click.option("--user", help="Username")
@click.option("--password", help="Password")
@click.option("--token", help="Authentication token")
@click.option("--creds", metavar="FILE", help="User credentials file")
@click.option("--nkey", metavar="FILE", help="User NKey seed file")
@click.option("--tlscert", metavar="FILE", help="TLS client certificate")
@click.option("--tlskey", metavar="FILE", help="TLS client private key")
@click.option("--tlsca", metavar="FILE", help="TLS certificate authority chain")
@click.option("--description", help="A description of the context")
@click.option("--jetstream-domain", metavar="DOMAIN", help="JetStream domain")
@click.option("--jetstream-api-prefix", metavar="PREFIX", help="JetStream API prefix")
@click.option("--inbox-prefix", metavar="PREFIX", help="Prefix for reply inboxes")
@click.option("--select", "select_", is_flag=True, help="Select the context after saving it")
@pass_app
def add(app: App, name: str, select_: bool, **flags: Any) -> None:
    """Save connection settings as context NAME (flags, else the global options)."""
    values: dict[str, Any] = {}
    for flag, key in _FIELDS.items():
        value = flags.get(flag)
        if value is None:
            value = app.options.get(flag)
        if value is not None:
            values[key] = value
    path = _wrap(lambda: contexts.save(name, values))
    if select_:
        _wrap(lambda: contexts.select(name))
    terminal.err(f'Saved context "{name}" in {path}')
    terminal.out(_info_text(name, _wrap(lambda: contexts.load(name))))


@context.command("ls", aliases=("list", "l"))
@click.option("-n", "--names", is_flag=True, help="Only the names, one per line")
@json_option
def ls(names: bool, as_json: bool) -> None:
    """List the known contexts; * marks the selected one."""
    known = contexts.names()
    if as_json:
        print_json(known)
        return
    if names:
        for n in known:
            terminal.out(n)
        return
    if not known:
        terminal.err("No contexts defined")
        return
    current = contexts.selected()
    rows = []
    for n in known:
        try:
            description = str(contexts.load(n).get("description") or "")
        except contexts.ContextError:
            description = "(unreadable)"
        rows.append((n, description, n == current))
    terminal.table(render.contexts_table(rows))


@context.command("info", aliases=("show", "view"))
@click.argument("name", required=False)
@json_option
@pass_app
def info(app: App, name: str | None, as_json: bool) -> None:
    """Show a context (the selected one by default)."""
    name = name or app.options.get("context") or contexts.selected()
    if not name:
        raise CliError("no context is selected: give a NAME")
    data = _wrap(lambda: contexts.load(name))
    if as_json:
        print_json(data)
        return
    terminal.out(_info_text(name, data))
    for option, env in contexts.ENV.items():
        if option in contexts.OPTION_FIELDS and os.environ.get(env):
            terminal.warning(f"{env} is set and overrides the context's {contexts.OPTION_FIELDS[option]}")


@context.command("select", aliases=("switch", "set"))
@click.argument("name", required=False)
@pass_app
def select(app: App, name: str | None) -> None:
    """Make NAME the context used by default (a picker when NAME is missing)."""
    if not name:
        known = contexts.names()
        name = app.run(prompts.pick("Context", known, argument="the NAME argument"))
    _wrap(lambda: contexts.select(name))
    terminal.err(f'Selected context "{name}"')


@context.command("unselect")
def unselect() -> None:
    """Use no context by default."""
    contexts.unselect()
    terminal.err("No context is selected")


@context.command("rm", aliases=("remove", "delete"))
@click.argument("name")
@force_option
@pass_app
def rm(app: App, name: str, force: bool) -> None:
    """Delete context NAME."""
    if not contexts.exists(name):
        raise CliError(f'unknown context "{name}"')
    app.run(prompts.really(f"Really delete context {name}", force))
    was_selected = contexts.selected() == name
    _wrap(lambda: contexts.remove(name))
    terminal.err(f'Deleted context "{name}"' + (" and unselected it" if was_selected else ""))
