"""`pynats apply DIR` and `pynats diff DIR`: make a server's streams and consumers match a folder.

The folder holds one JSON file per stream or consumer (the `str info -j` / `con info -j` output,
or a bare configuration); `nats_cli.plan` reads it and compares it with the server. This module
fetches the server's current configurations, shows the plan, asks, and carries it out.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import click

from nats_cli import plan as planning
from nats_cli import prompts, terminal
from nats_cli.app import App
from nats_cli.commands._common import force_option, json_option, pass_app, print_json
from nats_cli.errors import ApiError, Cancelled, CliError

if TYPE_CHECKING:
    from nats_cli.client import Client

FOLDER = click.Path(exists=True, file_okay=False, dir_okay=True)
prune_option = click.option(
    "--prune", is_flag=True, help="Also delete streams and durable consumers the folder does not define"
)
LAYOUT = """

\b
Each *.json file under DIR (subfolders too) is one of:
  pynats str info ORDERS -j         a stream (its "config" is used)
  pynats con info ORDERS NEW -j     a consumer ("stream_name" and "config")
  a bare stream configuration       {"name": "ORDERS", "subjects": ["ORDERS.*"], ...}
  a bare consumer configuration     {"durable_name": "NEW", ...} in a folder named
                                    after its stream (DIR/ORDERS/NEW.json)

A file manages the settings it has: settings left out keep the server's values. With --prune,
streams and durable consumers (on the folder's streams) that no file defines are deleted;
Key-Value and Object Store streams and ephemeral consumers are always kept.
"""


def _load(folder: str) -> list[planning.Desired]:
    try:
        return planning.load_folder(folder)
    except planning.FolderError as e:
        for problem in e.problems[:-1]:
            terminal.error(problem)
        raise


async def _plan(c: Client, desired: list[planning.Desired], prune: bool) -> list[planning.Step]:
    """Fetch the server's streams, and the consumers of the streams the folder mentions; compare."""
    streams = {info["config"]["name"]: info["config"] for info in await c.stream_list()}
    consumers = {}
    for stream in sorted({d.stream for d in desired} & streams.keys()):
        consumers[stream] = {info["name"]: info["config"] for info in await c.consumer_list(stream)}
    return planning.plan(desired, streams, consumers, prune)


async def _carry_out(c: Client, step: planning.Step) -> str:
    if step.kind == "stream":
        if step.action == "delete":
            await c.stream_delete(step.name)
        elif step.action == "create":
            await c.stream_create(step.config)
        else:
            await c.stream_update(step.config)
    elif step.action == "delete":
        await c.consumer_delete(step.stream, step.name)
    else:
        await c.consumer_create(step.stream, step.config, action=step.action)
    return f"{step.label} was {step.action}d"


@click.command("apply")
@click.argument("folder", metavar="DIR", type=FOLDER)
@prune_option
@force_option
@pass_app
def apply(app: App, folder: str, prune: bool, force: bool) -> None:
    """Create and update streams and consumers to match the JSON files in DIR.

    Shows the plan first (+ create, ~ update with the changed settings, = unchanged, - delete,
    ! not possible), then asks unless -f is given. Settings the server cannot change in place
    (a stream's storage, a consumer's ack policy, ...) stop the whole plan before anything is
    changed: delete and re-create those by hand.
    """
    desired = _load(folder)

    async def run() -> None:
        async with app.client() as c:
            steps = await _plan(c, desired, prune)
            terminal.out(planning.render(steps))
            blocked = [s for s in steps if s.action == "blocked"]
            if blocked:
                names = ", ".join(s.label for s in blocked)
                raise CliError(
                    f"the server cannot make these changes: {names}; nothing was changed "
                    "(to change such settings, delete and re-create the stream or consumer)"
                )
            todo = planning.pending(steps)
            if not todo:
                terminal.err(f"Nothing to do: the server matches {folder}")
                return
            count = f"{len(todo)} change{'s' if len(todo) != 1 else ''}"
            await prompts.really(f"Really apply {count} to {app.settings.url}", force)
            for done, step in enumerate(todo):
                try:
                    terminal.err(await _carry_out(c, step))
                except ApiError as e:
                    where = f" [{step.path}]" if step.path else ""
                    made = f"{done} of {len(todo)} changes were made"
                    raise CliError(f"{step.label}{where}: {e}; {made}") from None
        terminal.err(f"Applied {count}")

    app.run(run())


@click.command("diff")
@click.argument("folder", metavar="DIR", type=FOLDER)
@prune_option
@json_option
@pass_app
def diff(app: App, folder: str, prune: bool, as_json: bool) -> None:
    """Show what `pynats apply DIR` would change; exit 1 when the server differs from DIR.

    Exit status 0 means every stream and consumer in DIR matches the server (and, with --prune,
    that nothing would be deleted). -j prints the plan as JSON, one object per stream or consumer.
    """
    desired = _load(folder)

    async def run() -> list[planning.Step]:
        async with app.client() as c:
            return await _plan(c, desired, prune)

    steps = app.run(run())
    if as_json:
        print_json([step.to_json() for step in steps])
    else:
        terminal.out(planning.render(steps))
    if planning.pending(steps) or any(s.action == "blocked" for s in steps):
        raise Cancelled(1)


for command in (apply, diff):  # both explain the folder's layout
    command.help = inspect.cleandoc(command.help or "") + LAYOUT
