"""`pynats pub`, `sub` and `req`: core NATS messaging (JetStream is usable through these alone)."""

from __future__ import annotations

import json
import sys

import click

from nats_cli import terminal
from nats_cli.app import App
from nats_cli.commands._common import pass_app
from nats_cli.errors import ApiError, CliError
from schemas.subjects import ACK_PREFIX

_ACK_PREFIX = ACK_PREFIX + "."  # the reply subject of a JetStream delivery

header_option = click.option(
    "-H", "--header", "headers", multiple=True, metavar="K:V", help="Add a header (repeat)"
)


def parse_headers(values: tuple[str, ...]) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for item in values:
        sep = ":" if ":" in item else "="
        key, found, value = item.partition(sep)
        if not found or not key.strip():
            raise CliError(f'invalid header "{item}": use -H Name:Value')
        out[key.strip()] = value.strip()
    return out or None


def _body(body: str | None) -> bytes:
    if body is not None:
        return body.encode()
    if sys.stdin.isatty():
        terminal.err("Reading the message body from stdin; end it with Ctrl-D")
    stdin = getattr(sys.stdin, "buffer", None)
    return stdin.read() if stdin is not None else sys.stdin.read().encode()


def _fill(template: bytes, count: int) -> bytes:
    return template.replace(b"{{Count}}", str(count).encode())


def _pub_ack(data: bytes) -> str:
    try:
        ack = json.loads(data)
    except ValueError:
        return data.decode(errors="replace")
    if not isinstance(ack, dict):
        return data.decode(errors="replace")
    err = ack.get("error")
    if err:
        raise ApiError(int(err.get("code", 0)), int(err.get("err_code", 0)), str(err.get("description", "")))
    line = f"Stored in Stream: {ack.get('stream')} Sequence: {ack.get('seq'):,}"
    if ack.get("duplicate"):
        line += " Duplicate: true"
    if ack.get("domain"):
        line += f" Domain: {ack['domain']}"
    return line


@click.command("pub")
@click.argument("subject")
@click.argument("body", required=False)
@header_option
@click.option("--count", type=click.IntRange(1), default=1, help="Publish the message this many times")
@click.option("--reply", metavar="SUBJECT", help="Set a reply subject")
@click.option(
    "-J", "--wait", "--jetstream", "wait", is_flag=True, help="Wait for and print the JetStream PubAck"
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing for each message")
@pass_app
def pub(app: App, subject, body, headers, count, reply, wait, quiet) -> None:
    """Publish BODY (or stdin) to SUBJECT; {{Count}} in the body is the message number."""
    from nats import errors as nats_errors

    payload = _body(body)
    hdrs = parse_headers(headers)

    async def run() -> None:
        async with app.client() as c:
            for i in range(1, count + 1):
                data = _fill(payload, i)
                if wait:
                    try:
                        msg = await c.nc.request(subject, data, timeout=app.timeout, headers=hdrs)
                    except nats_errors.NoRespondersError:
                        raise CliError(f"no stream listens on {subject} (no responders)") from None
                    except nats_errors.TimeoutError:
                        raise CliError(f"no acknowledgement for {subject} within {app.timeout:g}s") from None
                    terminal.out(_pub_ack(msg.data))
                else:
                    await c.nc.publish(subject, data, reply=reply or "", headers=hdrs)
                    if not quiet:
                        terminal.err(f"Published {len(data)} bytes to {subject}")
            await c.nc.flush(timeout=app.timeout)

    app.run(run())


@click.command("req")
@click.argument("subject")
@click.argument("body", required=False, default="")
@header_option
@click.option("-r", "--raw", is_flag=True, help="Only the reply body")
@pass_app
def req(app: App, subject, body, headers, raw) -> None:
    """Send BODY to SUBJECT as a request and print the reply."""
    hdrs = parse_headers(headers)

    async def run() -> None:
        async with app.client() as c:
            if not raw:
                terminal.err(f"Sending request on {subject}")
            msg = await request(c, subject, body.encode(), hdrs, app.timeout)
            if not raw:
                terminal.err(f"Received with {len(msg.data)} bytes on {msg.subject}")
                for key, value in (msg.headers or {}).items():
                    terminal.out(f"{key}: {value}")
                if msg.headers:
                    terminal.out()
            terminal.out_bytes(msg.data + b"\n")

    app.run(run())


async def request(c, subject: str, data: bytes, headers: dict | None, timeout: float):
    """A request through an inbox of our own: replies keep their own subject (a JetStream pull
    request is answered with the stored message's subject, which nats-py's request() cannot match)."""
    from nats import errors as nats_errors

    inbox = c.nc.new_inbox()
    sub = await c.nc.subscribe(inbox, max_msgs=1)
    try:
        await c.nc.publish(subject, data, reply=inbox, headers=headers)
        try:
            msg = await sub.next_msg(timeout=timeout)
        except nats_errors.TimeoutError:
            raise CliError(f"no reply on {subject} within {timeout:g}s") from None
    finally:
        try:
            await sub.unsubscribe()
        except nats_errors.Error:
            pass
    if (msg.headers or {}).get("Status") == "503" and not msg.data:
        raise CliError(f"no responders for {subject}")
    return msg


@click.command("sub")
@click.argument("subjects", nargs=-1, required=True)
@click.option("--count", type=click.IntRange(1), help="Exit after this many messages")
@click.option("--queue", metavar="GROUP", help="Join this queue group")
@click.option("--ack", is_flag=True, help="Acknowledge JetStream messages as they arrive")
@click.option("-r", "--raw", is_flag=True, help="Only the message bodies")
@pass_app
def sub(app: App, subjects, count, queue, ack, raw) -> None:
    """Print messages on SUBJECTS (wildcards allowed) as they arrive, until --count or Ctrl-C."""
    import asyncio

    async def run() -> None:
        async with app.client() as c:
            queue_ = asyncio.Queue()
            for subject in subjects:
                await c.nc.subscribe(subject, queue=queue or "", cb=queue_.put)
            await c.nc.flush(timeout=app.timeout)
            terminal.err(f"Listening on [{', '.join(subjects)}]")
            seen = 0
            while count is None or seen < count:
                msg = await queue_.get()
                seen += 1
                _print_message(seen, msg, raw)
                if ack and msg.reply and msg.reply.startswith(_ACK_PREFIX):
                    await c.nc.publish(msg.reply, b"+ACK")
            await c.nc.flush(timeout=app.timeout)

    try:
        app.run(run())
    except KeyboardInterrupt:
        pass


def _print_message(number: int, msg, raw: bool) -> None:
    if raw:
        terminal.out_bytes(msg.data + b"\n")
        return
    line = f"[#{number}] Received on {msg.subject}"
    if msg.reply and not msg.reply.startswith(_ACK_PREFIX):
        line += f" with reply {msg.reply}"
    terminal.out(line)
    for key, value in (msg.headers or {}).items():
        terminal.out(f"{key}: {value}")
    if msg.headers:
        terminal.out()
    terminal.out(msg.data.decode(errors="replace"))
    terminal.out()
