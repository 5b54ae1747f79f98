"""`pynats account` (alias `a`): account info."""

from __future__ import annotations

import click

from nats_cli import render, terminal
from nats_cli.app import AliasGroup, App
from nats_cli.commands._common import json_option, pass_app, print_json


@click.group(cls=AliasGroup)
def account() -> None:
    """Account information."""


@account.command("info", aliases=("nfo",))
@json_option
@pass_app
def info(app: App, as_json: bool) -> None:
    """JetStream usage and limits of the account: memory, storage, streams, consumers."""

    async def run() -> None:
        async with app.client() as c:
            reply = await c.account_info()
        if as_json:
            print_json(render.without_envelope(reply))
        else:
            terminal.out(render.account_info(reply))

    app.run(run())
