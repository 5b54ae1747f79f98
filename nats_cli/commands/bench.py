"""`pynats bench`: throughput and latency of core NATS and JetStream, in the spirit of `nats bench`.

    pub SUBJECT       core publishers (fire and forget)
    sub SUBJECT       core subscribers; each receives every message
    js pub SUBJECT    JetStream publishers, each publish waits for its ack (--batch in flight)
    js pull SUBJECT   a shared durable pull consumer, fetching --batch at a time
    js push SUBJECT   a shared push consumer (a queue group of --clients subscribers)

Every mode prints a summary (msgs/s, bytes/s, latency percentiles where an operation has a
round trip to time) or, with --json, the same as one JSON object. Latency is measured per publish
ack (js pub), per fetch (js pull), and end to end for `sub` on the messages `bench pub` stamps
with their send time (one in STAMP_EVERY, so stamping costs nothing measurable).

Imports click; nats-py, the client and rich load inside the commands.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, nullcontext
from typing import TYPE_CHECKING, Any

import click

from nats_cli.app import App
from nats_cli.benchstats import (
    STAMP_EVERY,
    STAMP_SIZE,
    Run,
    Tally,
    payload,
    render,
    stamp_age,
    stamped,
    summarize,
)
from nats_cli.commands._common import pass_app, print_json
from nats_cli.errors import ApiError, CliError

if TYPE_CHECKING:
    from nats_cli.client import Client

BENCH_STREAM = "benchstream"
CONSUMER_PREFIX = "pynats-bench-"


# -- measuring ------------------------------------------------------------------------------------


@asynccontextmanager
async def connected(run: Run) -> AsyncIterator[list[Client]]:
    """One connection per client."""
    clients = [run.app.client() for _ in range(run.clients)]
    try:
        for c in clients:
            await c.connect()
        yield clients
    finally:
        for c in clients:
            await c.close()


async def measure(run: Run, total: int, work: list[Awaitable[None]], tallies: list[Tally]) -> None:
    """Run the clients' work together, with a progress bar over `total` operations when asked."""
    from nats_cli import terminal

    label = f"{run.mode} {run.subject}"
    with terminal.progress(total, label) if run.show_progress else nullcontext() as update:

        async def tick() -> None:
            while True:
                update(sum(t.msgs for t in tallies))
                await asyncio.sleep(0.25)

        ticker = asyncio.create_task(tick()) if update else None
        try:
            await asyncio.gather(*work)
        finally:
            if ticker is not None:
                ticker.cancel()
                update(sum(t.msgs for t in tallies))


async def until(done: asyncio.Event, tally: Tally, idle: float, first_wait: float | None) -> bool:
    """Wait for `done`; False when nothing arrives for `idle` seconds (`first_wait` before the first)."""
    seen = -1
    while not done.is_set():
        limit = first_wait if tally.msgs == 0 else idle
        try:
            await asyncio.wait_for(done.wait(), limit)
        except TimeoutError:
            if tally.msgs == seen or tally.msgs == 0:
                return False
        seen = tally.msgs
    return True


def report(run: Run, tallies: list[Tally], operation: str) -> None:
    from nats_cli import terminal

    summary = summarize(run, tallies, operation)
    for warning in run.warnings:
        terminal.warning(warning)
    if run.as_json:
        print_json(summary)
    else:
        terminal.out(render(summary))


def banner(run: Run, what: str) -> None:
    from nats_cli import terminal

    params = {"clients": run.clients, "msgs": run.msgs, "size": run.size, "subject": run.subject, **run.extra}
    shown = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
    terminal.err(f"Starting {what} benchmark [{shown}]")


# -- options --------------------------------------------------------------------------------------


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    from nats_cli.units import parse_size

    try:
        size = parse_size(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    if size < 0:
        raise click.BadParameter("must be 0 or more")
    return size


def common_options(f: Callable) -> Callable:
    """--msgs, --size, --clients, --progress, --json: what every mode takes."""
    options = [
        click.option("--msgs", type=click.IntRange(1), default=100_000, show_default=True,
                     help="Messages to send or receive in all"),
        click.option("--size", default="128", callback=_size, metavar="SIZE", show_default=True,
                     help="Message size, like 128 or 1KiB"),
        click.option("--clients", type=click.IntRange(1), default=1, show_default=True,
                     help="Concurrent clients, each with its own connection"),
        click.option("--progress/--no-progress", "show_progress", default=None,
                     help="Show a progress bar (default: when stderr is a terminal)"),
        click.option("-j", "--json", "as_json", is_flag=True, help="Print the summary as JSON"),
        click.argument("subject"),
    ]  # fmt: skip
    for option in reversed(options):
        f = option(f)
    return f


def make_run(app: App, mode: str, subject: str, opts: dict[str, Any], **extra: Any) -> Run:
    import sys

    show = opts["show_progress"]
    if show is None:
        show = sys.stderr.isatty()
    return Run(app, mode, subject, opts["msgs"], opts["size"], opts["clients"], show, opts["as_json"], extra)


# -- core -----------------------------------------------------------------------------------------


@click.group("bench")
def bench() -> None:
    """Benchmark core NATS and JetStream: publishers, subscribers, consumers.

    Start with small counts; every mode accepts --msgs, --size, --clients and --json. For core
    pub/sub start `pynats bench sub SUBJECT` first, then `pynats bench pub SUBJECT` elsewhere.
    """


@bench.command("pub")
@common_options
@pass_app
def pub(app: App, subject: str, **opts: Any) -> None:
    """Publish --msgs messages on SUBJECT as fast as possible (core NATS, no acks)."""
    run = make_run(app, "pub", subject, opts)
    if run.size < STAMP_SIZE:
        run.warnings.append(
            f"messages under {STAMP_SIZE} bytes carry no send time: `bench sub` shows no latency"
        )

    async def client(c: Client, tally: Tally, count: int) -> None:
        body = payload(run.size)
        stamp = run.size >= STAMP_SIZE
        tally.begin()
        for i in range(count):
            await c.nc.publish(subject, stamped(body) if stamp and i % STAMP_EVERY == 0 else body)
            if i % 1000 == 999:
                tally.count(1000)
                await asyncio.sleep(0)  # let the progress bar and the other clients run
        await c.nc.flush()
        tally.count(count % 1000)

    async def go() -> None:
        tallies = [Tally() for _ in range(run.clients)]
        async with connected(run) as clients:
            banner(run, "Core NATS publisher")
            work = [client(c, t, n) for c, t, n in zip(clients, tallies, run.shares(), strict=True)]
            await measure(run, run.msgs, work, tallies)
        report(run, tallies, "publish")

    app.run(go())


@bench.command("sub")
@common_options
@pass_app
def sub(app: App, subject: str, **opts: Any) -> None:
    """Receive --msgs messages on SUBJECT with each of --clients subscribers.

    The clock starts at the first message. End-to-end latency comes from the send times that
    `pynats bench pub` stamps on its messages. Stops early, with a warning, when messages stop
    arriving for --timeout.
    """
    run = make_run(app, "sub", subject, opts)

    async def go() -> None:
        tallies = [Tally() for _ in range(run.clients)]
        async with connected(run) as clients:
            events = [asyncio.Event() for _ in clients]
            subs = []
            for c, tally, done in zip(clients, tallies, events, strict=True):
                subs.append(await c.nc.subscribe(subject, cb=_receiver(tally, done, run.msgs)))
                await c.nc.flush()
            banner(run, "Core NATS subscriber")
            from nats_cli import terminal

            terminal.err(f"Waiting for {run.msgs:,} messages on {subject} per subscriber")
            work = [_finish(run, done, tally, None) for done, tally in zip(events, tallies, strict=True)]
            await measure(run, run.msgs * run.clients, work, tallies)
            for s in subs:
                await s.unsubscribe()
        report(run, tallies, "message, end to end")

    app.run(go())


def _receiver(tally: Tally, done: asyncio.Event, quota: int) -> Callable[[Any], Awaitable[None]]:
    async def on_msg(msg: Any) -> None:
        if done.is_set():
            return
        tally.begin()
        tally.count()
        age = stamp_age(msg.data)
        if age is not None:
            tally.latencies.append(age)
        if tally.msgs >= quota:
            done.set()

    return on_msg


async def _finish(run: Run, done: asyncio.Event, tally: Tally, first_wait: float | None) -> None:
    """Wait for a receiver to finish; note a warning when its messages stop coming."""
    if not await until(done, tally, run.app.timeout, first_wait):
        run.warnings.append(
            f"received {tally.msgs:,} of {run.msgs:,} messages: nothing more for {run.app.timeout:g}s"
        )
        done.set()


# -- JetStream ------------------------------------------------------------------------------------


@bench.group("js")
def js() -> None:
    """JetStream benchmarks: publish with acks, pull and push consumers."""


stream_option = click.option(
    "--stream", default=BENCH_STREAM, show_default=True, help="The stream to publish to or consume from"
)


@js.command("pub")
@common_options
@stream_option
@click.option("--storage", type=click.Choice(["file", "memory"]), default="file", show_default=True,
              help="Storage of the stream when it has to be created")  # fmt: skip
@click.option("--purge", is_flag=True, help="Purge the stream before publishing")
@click.option("--batch", type=click.IntRange(1), default=1, show_default=True,
              help="Publishes in flight per client (1: each waits for its ack)")  # fmt: skip
@pass_app
def js_pub(app: App, subject: str, stream: str, storage: str, purge: bool, batch: int, **opts: Any) -> None:
    """Publish --msgs messages on SUBJECT into a stream, each acknowledged by the server.

    Creates the stream (listening on SUBJECT) when it does not exist. Latency is the time from
    sending a message to its ack.
    """
    run = make_run(app, "js pub", subject, opts, stream=stream)

    async def client(c: Client, tally: Tally, count: int) -> None:
        body = payload(run.size)
        timeout = run.app.timeout
        tally.begin()

        async def one() -> None:
            start = time.perf_counter_ns()
            reply = await c.nc.request(subject, body, timeout=timeout)
            tally.latencies.append(time.perf_counter_ns() - start)
            error = json.loads(reply.data or b"{}").get("error")
            if error:
                raise ApiError(
                    int(error.get("code", 0)), int(error.get("err_code", 0)), error.get("description", "")
                )

        sent = 0
        while sent < count:
            window = min(batch, count - sent)
            await asyncio.gather(*(one() for _ in range(window)))
            sent += window
            tally.count(window)

    async def go() -> None:
        async with run.app.client() as admin:
            await _ensure_stream(admin, stream, subject, storage, purge)
        tallies = [Tally() for _ in range(run.clients)]
        async with connected(run) as clients:
            banner(run, "JetStream publisher")
            work = [client(c, t, n) for c, t, n in zip(clients, tallies, run.shares(), strict=True)]
            await measure(run, run.msgs, work, tallies)
        report(run, tallies, "publish ack")

    app.run(go())


async def _ensure_stream(c: Client, stream: str, subject: str, storage: str, purge: bool) -> None:
    from nats_cli import terminal
    from nats_cli.stream_config import fresh_config

    try:
        await c.stream_info(stream)
    except ApiError as e:
        if e.err_code != 10059:  # stream not found
            raise
        cfg = fresh_config(stream) | {"subjects": [subject], "storage": storage}
        await c.stream_create(cfg)
        terminal.err(f"Created stream {stream} ({storage}) on {subject}")
        return
    if stream not in await c.stream_names(subject):
        raise CliError(f"stream {stream} does not listen on {subject}: pick another --stream or subject")
    if purge:
        await c.stream_purge(stream)
        terminal.err(f"Purged stream {stream}")


@asynccontextmanager
async def bench_consumer(run: Run, stream: str, config: dict[str, Any]) -> AsyncIterator[str]:
    """A durable consumer for this run only, deleted afterwards."""
    import secrets

    name = CONSUMER_PREFIX + secrets.token_hex(4)
    cfg = {"durable_name": name, "ack_policy": "explicit", "deliver_policy": "all",
           "filter_subject": run.subject, **config}  # fmt: skip
    async with run.app.client() as admin:
        try:
            await admin.stream_info(stream)
        except ApiError as e:
            if e.err_code == 10059:
                raise CliError(
                    f"stream {stream} not found: fill it first with `pynats bench js pub`"
                ) from None
            raise
        await admin.consumer_create(stream, cfg)
        run.extra["consumer"] = name
        try:
            yield name
        finally:
            try:
                await admin.consumer_delete(stream, name)
            except CliError:
                run.warnings.append(f"could not delete the consumer {name}")


@js.command("pull")
@common_options
@stream_option
@click.option("--batch", type=click.IntRange(1), default=100, show_default=True, help="Messages per fetch")
@pass_app
def js_pull(app: App, subject: str, stream: str, batch: int, **opts: Any) -> None:
    """Consume --msgs messages on SUBJECT from a stream with a pull consumer, acking each.

    The clients share one durable consumer created for the run (and deleted after it); each
    fetches --batch messages at a time. Latency is the time from a fetch request to its last
    message. Stops early, with a warning, when a fetch comes back empty.
    """
    run = make_run(app, "js pull", subject, opts, stream=stream)

    async def client(c: Client, consumer: str, tally: Tally, count: int) -> None:
        inbox = c.nc.new_inbox()
        queue: asyncio.Queue = asyncio.Queue()
        sub = await c.nc.subscribe(inbox, cb=queue.put)
        next_subject = c.subjects.consumer_msg_next(stream, consumer)
        expires = run.app.timeout
        tally.begin()
        try:
            while tally.msgs < count:
                want = min(batch, count - tally.msgs)
                request = json.dumps({"batch": want, "expires": int(expires * 1e9)}).encode()
                start = time.perf_counter_ns()
                await c.nc.publish(next_subject, request, reply=inbox)
                got = await _drain(c, queue, want, expires + 1)
                tally.latencies.append(time.perf_counter_ns() - start)
                tally.count(got)
                if got < want:
                    run.warnings.append(f"a fetch of {want} returned {got}: the stream has no more messages")
                    return
        finally:
            await sub.unsubscribe()

    async def go() -> None:
        tallies = [Tally() for _ in range(run.clients)]
        async with bench_consumer(run, stream, {"max_waiting": 512}) as consumer:
            async with connected(run) as clients:
                banner(run, "JetStream pull consumer")
                work = [
                    client(c, consumer, t, n) for c, t, n in zip(clients, tallies, run.shares(), strict=True)
                ]
                await measure(run, run.msgs, work, tallies)
        report(run, tallies, f"fetch of up to {batch}")

    app.run(go())


async def _drain(c: Client, queue: asyncio.Queue, want: int, timeout: float) -> int:
    """Ack the messages of one fetch as they come; stop at `want` or a status message."""
    got = 0
    while got < want:
        try:
            msg = await asyncio.wait_for(queue.get(), timeout)
        except TimeoutError:
            break
        if msg.headers and msg.headers.get("Status") and not msg.data:
            if msg.headers["Status"] == "100":
                continue
            break  # 404 no messages, 408 expired, 409 ...
        await c.nc.publish(msg.reply, b"+ACK")
        got += 1
    return got


@js.command("push")
@common_options
@stream_option
@pass_app
def js_push(app: App, subject: str, stream: str, **opts: Any) -> None:
    """Consume --msgs messages on SUBJECT from a stream with a push consumer, acking each.

    The clients form a queue group on one push consumer created for the run (and deleted after
    it). Stops early, with a warning, when messages stop arriving for --timeout.
    """
    run = make_run(app, "js push", subject, opts, stream=stream)

    async def go() -> None:
        tallies = [Tally() for _ in range(run.clients)]
        async with connected(run) as clients:
            deliver = clients[0].nc.new_inbox()
            group = "pynats-bench"
            done = asyncio.Event()
            total = Tally()

            def on_msg(c: Client, tally: Tally) -> Callable[[Any], Awaitable[None]]:
                async def handle(msg: Any) -> None:
                    if done.is_set():
                        return
                    tally.begin()
                    total.begin()
                    await c.nc.publish(msg.reply, b"+ACK")
                    tally.count()
                    total.count()
                    if total.msgs >= run.msgs:
                        done.set()

                return handle

            subs = [await c.nc.subscribe(deliver, queue=group, cb=on_msg(c, t))
                    for c, t in zip(clients, tallies, strict=True)]  # fmt: skip
            for c in clients:
                await c.nc.flush()
            config = {"deliver_subject": deliver, "deliver_group": group, "max_ack_pending": 10_000}
            async with bench_consumer(run, stream, config):
                banner(run, "JetStream push consumer")
                await measure(run, run.msgs, [_finish(run, done, total, run.app.timeout)], tallies)
            for s in subs:
                await s.unsubscribe()
        report(run, tallies, "message")

    app.run(go())
