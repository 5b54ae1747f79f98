"""`pynats devserver`: run the pure-Python NATS server with JetStream on this machine.

It takes nats-server's own flags (`-p 4222`, `-sd=DIR`, `-DV`, `-m 8222` ...), so they pass
through untouched. Unlike nats-server it starts with JetStream on, listens on 127.0.0.1 and
keeps its store in the per-user data folder, unless flags say otherwise.
"""

from __future__ import annotations

import sys

import click


def _default_flags(args: tuple[str, ...]) -> list[str]:
    given = {a.lstrip("-").partition("=")[0] for a in args if a.startswith("-")}
    defaults = ["-js"]
    if not given & {"a", "addr", "net"}:
        defaults += ["-a", "127.0.0.1"]
    if not given & {"sd", "store_dir", "memory", "c", "config"}:
        from platformdirs import user_data_path

        store = user_data_path("pynats", appauthor=False)
        store.mkdir(parents=True, exist_ok=True)
        defaults += ["-sd", str(store)]
    return defaults


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def devserver(args: tuple[str, ...]) -> None:
    """Run a local pure-Python NATS server with JetStream (nats-server flags; -h for them)."""
    from devserver.__main__ import main

    sys.exit(main(list(args), defaults=_default_flags(args)))
