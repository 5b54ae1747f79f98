"""`pynats str backup|restore` (one stream's data) and `pynats backup|restore` (an account's configuration).

Stream backups use natscli's directory layout (see nats_cli/snapshot.py) with a progress bar of
bytes, rate and ETA, or log lines with --no-progress or without a terminal. Account backups write
one file per stream, consumer and stream template in natscli's format (`stream_<S>.json`,
`stream_<S>_consumer_<C>.json`, `stream_template_<T>.json`: type, time, base64 configuration and
its sha256), and with --data a stream backup directory per stream (`stream_<S>/`).
"""

from __future__ import annotations

import json
import os
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import click

from nats_cli import render, terminal
from nats_cli.app import App
from nats_cli.commands._common import json_option, pass_app, print_json
from nats_cli.errors import ApiError, CliError
from nats_cli.units import format_int, format_size, parse_size

if TYPE_CHECKING:
    from nats_cli.client import Client
    from nats_cli.snapshot import Progress

LOG_EVERY = 1.0  # seconds between progress lines without a bar


def log(text: str) -> None:
    """A status line on stderr with the time, like natscli's log lines."""
    terminal.err(f"{time.strftime('%H:%M:%S')} {text}")


def _seconds(value: float) -> str:
    return render.compact_duration(int(value * 1e9))


def _size_option(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    try:
        size = parse_size(value)
    except ValueError as e:
        raise CliError(f"invalid {flag}: {e}") from None
    if size <= 0:
        raise CliError(f"invalid {flag}: must be a positive size")
    return size


class Reporter:
    """Shows a transfer: the start line, then a bar (at a terminal) or a log line a second."""

    def __init__(self, stack: ExitStack, bar: bool, start: str, verb: str) -> None:
        self.stack = stack
        self.bar = bar and terminal.stderr_is_terminal()
        self.start = start
        self.verb = verb
        self.update = None
        self.started = False
        self.last_log = time.monotonic()

    def __call__(self, p: Progress) -> None:
        if not self.started:
            self.started = True
            terminal.err(self.start.format(size=format_size(p.expected)))
            if self.bar and p.expected:
                terminal.err()
                self.update = self.stack.enter_context(terminal.bytes_progress(p.expected))
        if self.update is not None:
            self.update(p.done)
            return
        now = time.monotonic()
        if now - self.last_log >= LOG_EVERY:
            self.last_log = now
            share = f" ({min(100, p.done * 100 // p.expected)}%)" if p.expected else ""
            rate = format_size(p.bytes / max(p.elapsed, 1e-9))
            log(f"{self.verb} {format_size(p.done)} of {format_size(p.expected)}{share} in "
                f"{format_int(p.chunks)} chunks, {rate}/s")  # fmt: skip


def _summary(stream: str, p: Progress) -> str:
    text = (
        f"Received {format_size(p.bytes)} compressed data in {format_int(p.chunks)} chunks for stream "
        f'"{stream}" in {_seconds(p.elapsed)}'
    )
    if p.uncompressed is not None:
        text += f", {format_size(p.uncompressed)} uncompressed"
    return text


@click.command("backup")
@click.argument("name", metavar="STREAM")
@click.argument("directory", metavar="DIR")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar (or log lines)")
@click.option("--consumers/--no-consumers", default=True, help="Include consumers and their state")
@click.option("--chunk-size", metavar="SIZE", help="Size of each data message (server allows 1KiB-1MiB)")
@click.option("--window-size", metavar="SIZE", help="Data the server may send ahead of acknowledgements")
@click.option("--check", is_flag=True, help="Have the server check the data first (slow, no progress)")
@pass_app
def stream_backup(app: App, name, directory, progress, consumers, chunk_size, window_size, check) -> None:
    """Back up a stream's data, configuration and consumers into DIR over the NATS connection.

    DIR gets backup.json (configuration and state) and stream.tar.s2 (the data exactly as the
    server sent it), natscli's layout; `pynats str restore DIR` puts it back. Servers that cannot
    snapshot memory storage refuse such streams.

    Example: pynats str backup ORDERS /data/js-backup/ORDERS
    """
    from nats_cli import snapshot

    chunk = _size_option(chunk_size, "--chunk-size")
    window = _size_option(window_size, "--window-size")
    for existing in (snapshot.META_FILE, snapshot.DATA_FILE):
        if os.path.exists(os.path.join(directory, existing)):
            raise CliError(f"{directory} already holds a backup ({existing}): choose an empty directory")
    snapshot.widen_reads()

    async def run() -> None:
        async with app.client() as c:
            with ExitStack() as stack:
                start = f'Starting backup of Stream "{name}" with {{size}}'
                report = Reporter(stack, progress, start, "Received")
                _, figures = await snapshot.backup(
                    c, name, directory, consumers=consumers, chunk_size=chunk, window_size=window,
                    check=check, notify=report,
                )  # fmt: skip
        terminal.err()
        terminal.err(_summary(name, figures))

    app.run(run())


@click.command("restore")
@click.argument("args", metavar="[STREAM] DIR", nargs=-1, required=True)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar (or log lines)")
@click.option("--config", "config_file", metavar="FILE", help="Use this configuration (same stream name)")
@json_option
@pass_app
def stream_restore(app: App, args, progress, config_file, as_json) -> None:
    """Restore a stream backup made by `pynats str backup` (data, configuration and consumers).

    The stream must not exist. --config takes a JSON configuration (bare or `str info -j` output)
    to use instead of the backup's; it must keep the stream's name, which the data is tied to.

    Example: pynats str restore ORDERS /data/js-backup/ORDERS
    """
    from nats_cli import snapshot
    from nats_cli.stream_config import load_config_file, strip_system_metadata

    if len(args) > 2:
        raise CliError(f"too many arguments: {' '.join(args)} (want [STREAM] DIR)")
    directory = args[-1]
    name = snapshot.read_meta(directory)["config"]["name"]
    if len(args) == 2 and args[0] != name:
        raise CliError(
            f'the backup in {directory} is of Stream "{name}", not "{args[0]}": streams cannot be renamed'
        )
    config = strip_system_metadata(load_config_file(config_file)) if config_file else None

    async def run() -> None:
        async with app.client() as c:
            with ExitStack() as stack:
                start = f'Starting restore of Stream "{name}" from file "{directory}"'
                report = Reporter(stack, progress, start, "Sent")
                _, figures = await snapshot.restore(c, directory, config=config, notify=report)
                if not report.started:  # an empty data file sends nothing
                    report(figures)
            info = await c.stream_info(name)
        terminal.err()
        terminal.err(f'Restored stream "{name}" in {_seconds(figures.elapsed)}')
        terminal.err()
        if as_json:
            print_json(render.without_envelope(info))
        else:
            terminal.out(render.stream_info(info))

    app.run(run())


# account configuration backup -------------------------------------------------------------------


def _pack(kind: str, obj: object) -> dict:
    """natscli's BackupData: the configuration as indented JSON bytes (base64), with its sha256."""
    import base64
    import hashlib

    raw = json.dumps(obj, indent=2).encode()
    return {
        "type": kind,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "configuration": base64.b64encode(raw).decode(),
        "checksum": hashlib.sha256(raw).hexdigest(),
    }


def _unpack(path: str) -> tuple[str, dict]:
    import base64
    import hashlib

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        raw = base64.b64decode(data["configuration"], validate=True)
        kind = str(data["type"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CliError(f"{path} is not a pynats/natscli backup file: {e}") from None
    if hashlib.sha256(raw).hexdigest() != data.get("checksum"):
        raise CliError(f"data checksum failed for {path}")
    try:
        return kind, json.loads(raw)
    except ValueError as e:
        raise CliError(f"{path}: the configuration is not JSON: {e}") from None


def _write(path: str, kind: str, obj: object) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(_pack(kind, obj), f, indent=2)


@click.command("backup")
@click.argument("directory", metavar="DIR")
@click.option("--data", is_flag=True, help="Also back up each stream's data into DIR/stream_<name>/")
@pass_app
def backup(app: App, directory, data) -> None:
    """Back up the configuration of every stream, consumer and stream template into DIR.

    One file per item; --data adds a `pynats str backup` directory per stream (memory streams are
    skipped with a line when the server cannot snapshot them).
    `pynats restore DIR` puts the configuration back, `pynats str restore DIR/stream_<name>` the data.
    """
    if os.path.exists(directory) and (not os.path.isdir(directory) or os.listdir(directory)):
        raise CliError(f"{directory} already exists: choose a new or empty directory")
    if data:
        from nats_cli import snapshot

        snapshot.widen_reads()

    async def run() -> None:
        from nats_cli.commands import template

        async with app.client() as c:
            os.makedirs(directory, mode=0o750, exist_ok=True)
            log(f"Creating JetStream backup into {directory}")
            for tpl in await template.configs_if_supported(c):
                path = os.path.join(directory, f"stream_template_{tpl['name']}.json")
                log(f"Stream Template {tpl['name']} to {path}")
                _write(path, "stream_template", tpl)
            for info in sorted(await c.stream_list(), key=lambda i: i["config"]["name"]):
                await _backup_stream(c, directory, info, data)
            log("Configuration backup complete")

    app.run(run())


async def _backup_stream(c: Client, directory: str, info: dict, data: bool) -> None:
    from nats_cli import snapshot

    name = info["config"]["name"]
    path = os.path.join(directory, f"stream_{name}.json")
    log(f"Stream {name} to {path}")
    _write(path, "stream", info["config"])
    for consumer in sorted(await c.consumer_list(name), key=lambda i: i["name"]):
        cname = consumer["name"]
        if not consumer["config"].get("durable_name"):
            log(f"Consumer {name} > {cname} skipped")
            continue
        path = os.path.join(directory, f"stream_{name}_consumer_{cname}.json")
        log(f"Consumer {name} > {cname} to {path}")
        _write(path, "consumer", {"name": cname, "stream": name, "config": consumer["config"]})
    if not data:
        return
    target = os.path.join(directory, f"stream_{name}")
    try:
        _, figures = await snapshot.backup(c, name, target)
    except CliError as e:
        if info["config"].get("storage") != "memory":
            raise
        log(f"Skipping data backup for Stream {name}: {e}")
        return
    size, chunks = format_size(figures.bytes), format_int(figures.chunks)
    log(f"Stream {name} data to {target}: {size} in {chunks} chunks")


@click.command("restore")
@click.argument("directory", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option("--update-streams", is_flag=True, help="Update existing streams to the backup's configuration")
@pass_app
def restore(app: App, directory, update_streams) -> None:
    """Recreate the streams, consumers and stream templates saved by `pynats backup DIR`.

    Streams that exist are an error unless --update-streams changes them to match the backup.
    Data is not restored here: use `pynats str restore DIR/stream_<name>` for that.
    """
    items: dict[str, list[dict]] = {"stream_template": [], "stream": [], "consumer": []}
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if not entry.endswith(".json") or not os.path.isfile(path):
            continue
        log(f"Reading file {path}")
        kind, cfg = _unpack(path)
        if kind not in items:
            raise CliError(f'{path}: unknown backup type "{kind}"')
        items[kind].append(cfg)

    async def run() -> None:
        from nats_cli.commands import template
        from nats_cli.stream_config import strip_system_metadata

        async with app.client() as c:
            for tpl in items["stream_template"]:
                log(f"Restoring Stream Template {tpl['name']}")
                await template.create(c, tpl)
            known = set(await c.stream_names())
            for cfg in items["stream"]:
                if await _restore_stream(c, strip_system_metadata(cfg), cfg["name"] in known, update_streams):
                    known.add(cfg["name"])
            for item in items["consumer"]:
                stream, name = item["stream"], item["name"]
                if stream not in known:
                    log(f"Restoring Consumer {stream} > {name} skipped - stream does not exist, possibly "
                        "managed by a Stream Template")  # fmt: skip
                    continue
                log(f"Restoring Consumer {stream} > {name}")
                await c.consumer_create(stream, strip_system_metadata(dict(item["config"])), action="")

    app.run(run())


async def _restore_stream(c: Client, cfg: dict[str, Any], exists: bool, update: bool) -> bool:
    """Create or update one stream; False when it was skipped (a template makes it)."""
    name = cfg["name"]
    if cfg.get("template_owner"):
        log(f"Skipping Template managed Stream {name}")
        return False
    if exists and not update:
        raise CliError(f"Stream {name} exists and --update-streams was not given")
    if exists:
        log(f"Updating Stream {name} configuration")
        await c.stream_update(cfg)
    else:
        log(f"Restoring Stream {name}")
        try:
            await c.stream_create(cfg)
        except ApiError as e:
            raise CliError(f"could not restore Stream {name}: {e}") from None
    return True
