"""The root `pynats` group: global options, the App object on ctx.obj, and lazy command loading.

Command modules are imported only when their command runs (or when help lists them), so
`pynats --help` stays fast: rich, questionary, nats-py and jsonschema load inside the commands
that use them. Every command stops through `App.abort()` or by raising CliError; the root group
turns those into one `pynats: error: ...` line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, NoReturn

import click

from nats_cli import __version__
from nats_cli.contexts import ENV, Settings
from nats_cli.errors import Cancelled, CliError

if TYPE_CHECKING:
    from nats_cli.client import Client

# command name -> (module under nats_cli.commands, attribute, one-line help for the listing)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "account": ("account", "account", "Account information"),
    "apply": ("apply", "apply", "Make streams and consumers match the JSON files in a folder"),
    "backup": ("backup", "backup", "Back up all stream and consumer configuration (and data)"),
    "bench": ("bench", "bench", "Benchmark core NATS and JetStream publishers and consumers"),
    "completion": ("completion", "completion", "Print the shell completion script for bash, zsh or fish"),
    "consumer": ("consumer", "consumer", "JetStream Consumer management (alias: con)"),
    "context": ("context", "context", "Manage connection contexts"),
    "devserver": ("devserver", "devserver", "Run a local pure-Python NATS server with JetStream"),
    "diff": ("apply", "diff", "Show how the server differs from the JSON files in a folder"),
    "events": ("events", "events", "Show JetStream advisories and metrics as they happen"),
    "pub": ("pubsub", "pub", "Publish a message (alias: publish)"),
    "req": ("pubsub", "req", "Send a request and wait for the reply (alias: request)"),
    "restore": ("backup", "restore", "Recreate streams and consumers from a `pynats backup` folder"),
    "stream": ("stream", "stream", "JetStream Stream management (alias: str)"),
    "sub": ("pubsub", "sub", "Subscribe to subjects and print messages (alias: subscribe)"),
}
ALIASES: dict[str, str] = {
    "a": "account",
    "con": "consumer",
    "obs": "consumer",
    "c": "consumer",
    "ctx": "context",
    "publish": "pub",
    "request": "req",
    "str": "stream",
    "st": "stream",
    "s": "stream",
    "subscribe": "sub",
}

DEFAULT_TIMEOUT = "5s"
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class App:
    """What every command needs: resolved settings, a client factory, abort()."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from nats_cli import contexts, terminal

            try:
                self._settings = contexts.resolve(
                    self.options.get("context"), bool(self.options.get("no_context")), self.options
                )
            except contexts.ContextError as e:
                raise CliError(str(e)) from None
            for notice in self._settings.notices:
                terminal.err(notice)
        return self._settings

    @property
    def timeout(self) -> float:
        from nats_cli.units import parse_duration

        raw = str(self.options.get("timeout") or DEFAULT_TIMEOUT).strip()
        try:
            seconds = float(raw) if raw.replace(".", "", 1).isdigit() else parse_duration(raw) / 1e9
        except ValueError as e:
            raise CliError(f"invalid --timeout: {e}") from None
        if seconds <= 0:
            raise CliError("invalid --timeout: must be positive")
        return seconds

    @property
    def trace(self) -> bool:
        return bool(self.options.get("trace"))

    def client(self) -> Client:
        """An unconnected client; use as `async with app.client() as c:`."""
        from nats_cli import terminal
        from nats_cli.client import Client

        return Client(self.settings, timeout=self.timeout, trace=self.trace, echo=terminal.err)

    def abort(self, message: str = "", code: int = 1) -> NoReturn:
        if message:
            from nats_cli import terminal

            terminal.error(message)
        raise click.exceptions.Exit(code)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run one command's coroutine to completion."""
        import asyncio

        try:
            return asyncio.run(coro)
        except Exception as e:
            if type(e).__module__.startswith("nats."):  # nats-py's own errors: say what it said
                text = str(e).removeprefix("nats: ").strip() or type(e).__name__
                raise CliError(text) from None
            raise


class AliasGroup(click.Group):
    """A group whose subcommands may be called by aliases (`ls`, `list`)."""

    def __init__(self, *args: Any, aliases: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases: dict[str, str] = dict(aliases or {})

    def command(self, *args: Any, aliases: tuple[str, ...] = (), **kwargs: Any):  # type: ignore[override]
        decorator = super().command(*args, **kwargs)

        def wrap(f):
            cmd = decorator(f)
            for alias in aliases:
                self.aliases[alias] = cmd.name
            return cmd

        return wrap

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(name, name))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.commands[name]
            aliases = sorted(a for a, target in self.aliases.items() if target == name)
            label = f"{name} ({', '.join(aliases)})" if aliases else name
            rows.append((label, cmd.get_short_help_str(limit=70)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        _, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd else None), cmd, rest


# global options that may also come after the subcommand, as natscli allows
_GLOBAL_WITH_VALUE = {"-s", "--server", "--user", "--password", "--token", "--creds", "--nkey", "--tlscert",
                      "--tlskey", "--tlsca", "--timeout", "--context"}  # fmt: skip
_GLOBAL_FLAGS = {"--no-context", "--trace"}


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options found after the subcommand to the front (`pynats str ls -s URL`)."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    seen_command = False
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        name = arg.split("=", 1)[0]
        if seen_command and name in _GLOBAL_FLAGS and "=" not in arg:
            front.append(arg)
        elif seen_command and name in _GLOBAL_WITH_VALUE:
            if "=" in arg or i + 1 >= len(args):
                front.append(arg)
            else:
                front += [arg, args[i + 1]]
                i += 1
        else:
            if not seen_command and not arg.startswith("-"):
                seen_command = True
            elif not seen_command and name in _GLOBAL_WITH_VALUE and "=" not in arg and i + 1 < len(args):
                rest += [arg, args[i + 1]]  # a global option before the command, with its value
                i += 2
                continue
            rest.append(arg)
        i += 1
    return front + rest


class LazyGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(list(args)))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        name = ALIASES.get(name, name)
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        try:
            mod = importlib.import_module(f"nats_cli.commands.{module}")
        except ModuleNotFoundError as e:
            if e.name == f"nats_cli.commands.{module}":
                return None
            raise
        cmd = getattr(mod, attr)
        if ctx.resilient_parsing:  # shell completion: STREAM/CONSUMER arguments ask the server
            from nats_cli.commands.completion import attach

            attach(cmd)
        return cmd

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list:
        """Command names from COMMANDS (importing no command module), then the global options."""
        from click.shell_completion import CompletionItem

        names = self.list_commands(ctx)
        items = [CompletionItem(n, help=COMMANDS[n][2]) for n in names if n.startswith(incomplete)]
        return items + click.Command.shell_complete(self, ctx, incomplete)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        _, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd else None), cmd, rest

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Cancelled as e:
            ctx.exit(e.code)
        except CliError as e:
            _fail(ctx, str(e))
        except KeyboardInterrupt:
            click.echo("", err=True)
            ctx.exit(130)
        except Exception as e:  # the last line of defence: one line, no traceback
            if os.environ.get("PYNATS_DEBUG"):
                raise
            _fail(ctx, f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)


def _fail(ctx: click.Context, message: str) -> NoReturn:
    click.echo(f"pynats: error: {message}", err=True)
    ctx.exit(1)


def _opt(*decls: str, env: str | None = None, help: str, **kw: Any):
    if env:
        help = f"{help} [env: {env}]"
    return click.option(*decls, envvar=env, show_envvar=False, help=help, **kw)


@click.group("pynats", cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@_opt("-s", "--server", env=ENV["server"], metavar="URL", help="NATS server URLs, comma separated")
@_opt("--user", env=ENV["user"], help="Username (without --password it is used as a token)")
@_opt("--password", env=ENV["password"], help="Password")
@_opt("--token", env=ENV["token"], help="Authentication token")
@_opt("--creds", env=ENV["creds"], metavar="FILE", help="User credentials file")
@_opt("--nkey", env=ENV["nkey"], metavar="FILE", help="User NKey seed file")
@_opt("--tlscert", env=ENV["tlscert"], metavar="FILE", help="TLS client certificate")
@_opt("--tlskey", env=ENV["tlskey"], metavar="FILE", help="TLS client private key")
@_opt("--tlsca", env=ENV["tlsca"], metavar="FILE", help="TLS certificate authority chain")
@_opt("--timeout", env=ENV["timeout"], metavar="DURATION", help="Time to wait for API replies (default 5s)")
@_opt("--context", env=ENV["context"], metavar="NAME", help="Context to use instead of the selected one")
@_opt("--no-context", is_flag=True, help="Ignore all stored contexts")
@_opt("--trace", is_flag=True, help="Print every API request and response to stderr")
@click.version_option(__version__, "--version", prog_name="pynats")
@click.pass_context
def cli(ctx: click.Context, **options: Any) -> None:
    """pynats: NATS JetStream administration from the command line."""
    ctx.obj = App(options)


def main() -> None:
    try:
        cli.main(prog_name="pynats")
    except BrokenPipeError:
        # the reader went away (`pynats str ls | head`); stay quiet like other tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
