"""`pynats events` (every JetStream advisory and metric) and `pynats con events` (one consumer's).

Events are printed as they arrive: a heading `[time] [id] What happened` with the event's fields
below it (the seed's layout), or with --json the event's JSON as the server sent it. Subjects come
from `schemas.subjects`. Runs until interrupted, or until --count events were shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import click

from nats_cli import render, terminal
from nats_cli.app import App
from nats_cli.commands._common import consumer_name, json_option, pass_app, stream_name
from nats_cli.errors import CliError
from nats_cli.units import format_duration, format_int, format_size
from schemas import subjects as S

Rows = list[tuple[str, str]]

count_option = click.option("--count", type=click.IntRange(1), metavar="N", help="Stop after N events")


def _consumer(e: dict) -> Rows:
    return [("Consumer", f"{e.get('stream', '')} > {e.get('consumer', '')}")]


def _delivery(e: dict) -> Rows:
    rows = _consumer(e) + [("Stream Sequence", format_int(e.get("stream_seq"))),
                           ("Deliveries", format_int(e.get("deliveries")))]  # fmt: skip
    if e.get("reason"):
        rows.append(("Reason", str(e["reason"])))
    return rows


def _ack_sample(e: dict) -> Rows:
    return _consumer(e) + [
        ("Stream Sequence", format_int(e.get("stream_seq"))),
        ("Consumer Sequence", format_int(e.get("consumer_seq"))),
        ("Deliveries", format_int(e.get("deliveries"))),
        ("Delay", format_duration(e.get("ack_time") or 0)),
    ]


def _client(e: dict) -> Rows:
    c = e.get("client") or {}
    said = " ".join(f"{k}={c[k]}" for k in ("user", "acc", "host", "name", "lang", "ver") if c.get(k))
    return [("Client", said)] if said else []


def _audit(e: dict) -> Rows:
    rows = [("Server", str(e.get("server", ""))), ("Subject", str(e.get("subject", "")))] + _client(e)
    rows.append(("Request", e.get("request") or "(empty)"))
    rows.append(("Response", e.get("response") or "(empty)"))
    return rows


def _stream(e: dict) -> Rows:
    rows = [("Stream", str(e.get("stream", "")))]
    if e.get("template"):
        rows.append(("Template", str(e["template"])))
    return rows


def _consumer_action(e: dict) -> Rows:
    return [("Stream", str(e.get("stream", ""))), ("Consumer", str(e.get("consumer", "")))]


def _snapshot(e: dict) -> Rows:
    rows = _stream(e)
    if "num_blks" in e:
        rows += [("Blocks", format_int(e["num_blks"])), ("Block Size", format_size(e.get("blk_size") or 0))]
    if "bytes" in e:
        rows.append(("Bytes", format_size(e["bytes"])))
    for key, label in (("start", "Start"), ("end", "End")):
        if e.get(key):
            rows.append((label, render.format_time(e[key])))
    return rows + _client(e)


def _pause(e: dict) -> Rows:
    rows = _consumer_action(e) + [("Paused", render.yes_no(e.get("paused")))]
    if e.get("paused") and e.get("pause_until"):
        rows.append(("Until", render.format_time(e["pause_until"])))
    return rows


# event type suffix -> (heading, rows); the heading may use {action}
KINDS: dict[str, tuple[str, Callable[[dict], Rows]]] = {
    "metric.v1.consumer_ack": ("Acknowledgement Sample", _ack_sample),
    "advisory.v1.max_deliver": ("Delivery Attempts Exceeded", _delivery),
    "advisory.v1.nak": ("Delivery NAKed", _delivery),
    "advisory.v1.terminated": ("Delivery Terminated", _delivery),
    "advisory.v1.api_audit": ("JetStream API Access", _audit),
    "advisory.v1.stream_action": ("Stream {action} Action", _stream),
    "advisory.v1.consumer_action": ("Consumer {action} Action", _consumer_action),
    "advisory.v1.consumer_pause": ("Consumer Pause", _pause),
    "advisory.v1.snapshot_create": ("Stream Snapshot Created", _snapshot),
    "advisory.v1.snapshot_complete": ("Stream Snapshot Completed", _snapshot),
    "advisory.v1.restore_create": ("Stream Restore Created", _snapshot),
    "advisory.v1.restore_complete": ("Stream Restore Completed", _snapshot),
}
_SKIP = {"type", "id", "timestamp"}


def _generic(e: dict) -> Rows:
    return [(k.replace("_", " ").title(), str(v)) for k, v in e.items()
            if k not in _SKIP and isinstance(v, str | int | float | bool)]  # fmt: skip


def event_text(event: dict) -> str:
    """One event as the seed shows it: `[15:08:31] [id] Acknowledgement Sample` and its fields."""
    kind = str(event.get("type", ""))
    suffix = kind.removeprefix("io.nats.jetstream.")
    title, rows_of = KINDS.get(suffix, (None, _generic))
    if title is None:
        title = kind.rsplit(".", 1)[-1].replace("_", " ").title() or "Unknown Event"
    title = title.format(action=str(event.get("action", "")).title())
    when = render.parse_time(event.get("timestamp"))
    clock = when.astimezone().strftime("%H:%M:%S") if when else "--:--:--"
    rows = rows_of(event)
    width = max((len(label) for label, _ in rows), default=0)
    lines = [f"[{clock}] [{event.get('id', '')}] {title}"]
    for label, value in rows:
        first, *more = str(value).splitlines() or [""]
        lines.append(f"  {label.rjust(width)}: {first}")
        lines += [f"  {' ' * width}  {line}" for line in more]
    return "\n".join(lines) + "\n"


class Filter:
    """Which events to show: by schema type, stream, and a regular expression over the JSON."""

    def __init__(self, types: tuple[str, ...], stream: str | None, pattern: str | None) -> None:
        self.types = types
        self.stream = stream
        try:
            self.pattern = re.compile(pattern, re.IGNORECASE) if pattern else None
        except re.error as e:
            raise CliError(f"invalid --filter: {e}") from None

    def wants(self, event: dict, raw: str) -> bool:
        kind = str(event.get("type", ""))
        if self.types and not any(_type_matches(kind, t) for t in self.types):
            return False
        if self.stream is not None and event.get("stream") != self.stream:
            return False
        return self.pattern is None or bool(self.pattern.search(raw))


def _type_matches(kind: str, wanted: str) -> bool:
    """`io.nats.jetstream.advisory.v1.api_audit` is matched by itself, `api_audit` and `advisory`."""
    return kind == wanted or kind.endswith("." + wanted) or f".{wanted}." in f".{kind}."


async def listen(app: App, listening: list[tuple[str, str]], as_json: bool, count: int | None,
                 keep: Filter | None = None) -> None:  # fmt: skip
    """Subscribe to each (label, subject), say so on stderr, then print events until done."""
    import asyncio

    queue: asyncio.Queue[Any] = asyncio.Queue()
    async with app.client() as c:
        for _, subject in listening:
            await c.nc.subscribe(subject, cb=queue.put, pending_msgs_limit=0, pending_bytes_limit=0)
        await c.nc.flush()
        for label, subject in listening:
            terminal.err(f"Listening for {label} on {subject}")
        terminal.err()
        shown = 0
        while count is None or shown < count:
            msg = await queue.get()
            raw = msg.data.decode(errors="replace")
            try:
                event = json.loads(raw)
            except ValueError:
                event = None
            if not isinstance(event, dict):
                terminal.err(f"Event error: not a JSON object on {msg.subject}: {raw[:200]}")
                continue
            if keep is not None and not keep.wants(event, raw):
                continue
            terminal.out(render.to_json(event) if as_json else event_text(event))
            shown += 1


@click.command("events")
@click.argument("stream_arg", metavar="[STREAM]", required=False)
@click.argument("consumer_arg", metavar="[CONSUMER]", required=False)
@json_option
@count_option
@pass_app
def consumer_events(app: App, stream_arg, consumer_arg, as_json, count) -> None:
    """Show a consumer's advisories and acknowledgement samples as they happen.

    Samples are sent for the share of acknowledgements set by the consumer's --sample (0-100).
    """

    async def run() -> None:
        async with app.client() as c:
            stream = await stream_name(c, stream_arg)
            name = await consumer_name(c, stream, consumer_arg)
            await c.consumer_info(stream, name)  # a clear error for a name that does not exist
        advisories, metrics = S.consumer_events(stream, name)
        await listen(app, [("Advisories", advisories), ("Metrics", metrics)], as_json, count)

    app.run(run())


@click.command("events")
@click.option(
    "--subject", "subjects", multiple=True, metavar="SUBJECT",
    help="Listen on SUBJECT (wildcards allowed), not every advisory and metric; repeat",
)  # fmt: skip
@click.option(
    "--type", "types", multiple=True, metavar="TYPE",
    help="Only events of TYPE: a schema type, its end (api_audit), advisory or metric; repeat",
)  # fmt: skip
@click.option("--stream", metavar="STREAM", help="Only events about STREAM")
@click.option("--filter", "pattern", metavar="REGEX", help="Only events whose JSON matches REGEX (any case)")
@json_option
@count_option
@pass_app
def events(app: App, subjects, types, stream, pattern, as_json, count) -> None:
    """Show JetStream advisories and metrics as they happen.

    API access, stream and consumer changes, acknowledgement samples, deliveries exceeded,
    snapshots and restores, and any other event on $JS.EVENT.ADVISORY.> and $JS.EVENT.METRIC.>.

    Example: pynats events --type consumer_action --stream ORDERS
    """
    keep = Filter(types, stream, pattern)
    if subjects:
        listening = [("Events", s) for s in subjects]
    else:
        listening = [("Advisories", f"{S.ADVISORY_PREFIX}.>"), ("Metrics", f"{S.METRIC_PREFIX}.>")]
    app.run(listen(app, listening, as_json, count, keep))
