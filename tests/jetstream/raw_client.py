"""A raw NATS client on asyncio streams for the durability tests: pipelined acked publishes and
pipelined requests, every reply matched to its request by its own reply subject.

nats-py hides what the crash tests must see exactly: which publish an ack answers and which acks
arrived before the connection died. Here every publish `i` carries the reply subject
`<inbox>.<i>`, so `acks[i]` is the sequence the server gave publish `i`, and nothing else counts
as acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

_ACK_SEQ = re.compile(rb'^\{"stream":"[^"]*",\s*"seq":(\d+)')
CONNECT = b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1}\r\n'


def frame(subject: str, reply: str, payload: bytes, headers: bytes | None = None) -> bytes:
    """A PUB (or HPUB, with a header block) frame."""
    if headers is None:
        return b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), reply.encode(), len(payload), payload)
    total = len(headers) + len(payload)
    head = b"HPUB %s %s %d %d\r\n" % (subject.encode(), reply.encode(), len(headers), total)
    return head + headers + payload + b"\r\n"


class RawClient:
    """One connection; replies arrive on `<inbox>.<n>` and go to whoever waits for `n`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.inbox = "_RAW." + secrets.token_hex(6)
        self._handlers: dict[int, Callable[[bytes, bool], None]] = {}
        self._next = 0
        self.closed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        """Connect to 127.0.0.1:`port`: CONNECT, SUB on the inbox, PING/PONG, then read in a task."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        info = await reader.readuntil(b"\r\n")
        assert info.startswith(b"INFO "), info
        writer.write(CONNECT + b"SUB %s.* 1\r\nPING\r\n" % client.inbox.encode())
        while (line := await reader.readuntil(b"\r\n")) != b"PONG\r\n":
            assert not line.startswith(b"-ERR"), line
        client._task = asyncio.create_task(client._read())
        return client

    def subscribe(self, subject: str, sid: int) -> None:
        """Also receive `subject` (messages outside the inbox are read and dropped)."""
        self._writer.write(b"SUB %s %d\r\n" % (subject.encode(), sid))

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _read(self) -> None:
        """Dispatch MSG/HMSG frames on the inbox to their handlers until the connection ends."""
        reader = self._reader
        prefix = self.inbox.encode() + b"."
        try:
            while True:
                line = await reader.readuntil(b"\r\n")
                if line.startswith(b"PING"):
                    self._writer.write(b"PONG\r\n")
                    continue
                if not (line.startswith(b"MSG ") or line.startswith(b"HMSG ")):
                    continue
                parts = line.split()
                body = await reader.readexactly(int(parts[-1]) + 2)
                status = parts[0] == b"HMSG"  # replies to our requests carry no headers
                reply_to = parts[1]
                if reply_to.startswith(prefix):
                    handler = self._handlers.pop(int(reply_to[len(prefix) :]), None)
                    if handler is not None:
                        handler(body[:-2], status)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.closed.set()

    def _reply_subject(self, handler: Callable[[bytes, bool], None]) -> str:
        n = self._next
        self._next += 1
        self._handlers[n] = handler
        return f"{self.inbox}.{n}"

    async def publish_acked(
        self,
        count: int,
        message: Callable[[int], tuple[str, bytes | None, bytes]],
        acks: dict[int, int],
        window: int = 256,
        batch: int = 32,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Publish `message(i)` (subject, headers, payload) for i < count, at most `window`
        unacknowledged; `acks[i]` gets the sequence of each acknowledged publish. Returns when
        everything is acknowledged or the connection is gone; the number of publishes sent.
        `progress(sent, acked)` is called after each batch is written and after each ack.
        An error ack fails the test."""
        room = asyncio.Event()
        room.set()
        pending = 0
        errors: list[bytes] = []

        def on_ack(i: int) -> Callable[[bytes, bool], None]:
            def handle(body: bytes, status: bool) -> None:
                nonlocal pending
                pending -= 1
                room.set()
                found = None if status else _ACK_SEQ.match(body)
                if found is None:
                    errors.append(body)
                else:
                    acks[i] = int(found.group(1))
                if progress is not None:
                    progress(sent, len(acks))

            return handle

        sent = 0
        while sent < count and not self.closed.is_set():
            if pending + batch > window:
                room.clear()
                await _first(room.wait(), self.closed.wait())
                continue
            out = []
            for i in range(sent, min(count, sent + batch)):
                subject, headers, payload = message(i)
                out.append(frame(subject, self._reply_subject(on_ack(i)), payload, headers))
            pending += len(out)
            sent += len(out)
            self._writer.write(b"".join(out))
            if progress is not None:
                progress(sent, len(acks))
            try:
                await self._writer.drain()
            except (ConnectionError, OSError):
                break
        while pending and not self.closed.is_set():
            room.clear()
            await _first(room.wait(), self.closed.wait())
        assert not errors, errors[:3]
        return sent

    async def requests(self, items: list[tuple[str, bytes]], window: int = 256) -> list[dict[str, Any]]:
        """Send every (subject, body) request, at most `window` in flight; the JSON replies in order."""
        replies: list[dict[str, Any] | None] = [None] * len(items)
        room = asyncio.Event()
        pending = 0

        def on_reply(k: int) -> Callable[[bytes, bool], None]:
            def handle(body: bytes, status: bool) -> None:
                nonlocal pending
                pending -= 1
                room.set()
                replies[k] = {"status": True} if status else json.loads(body)

            return handle

        for k, (subject, body) in enumerate(items):
            while pending >= window:
                room.clear()
                await asyncio.wait_for(_first(room.wait(), self.closed.wait()), 10)
                assert not self.closed.is_set(), "connection lost"
            pending += 1
            self._writer.write(frame(subject, self._reply_subject(on_reply(k)), body))
        while pending:
            room.clear()
            await asyncio.wait_for(_first(room.wait(), self.closed.wait()), 10)
            assert not self.closed.is_set(), "connection lost"
        return replies  # type: ignore[return-value]

    async def request(self, subject: str, body: Any = b"") -> dict[str, Any]:
        """One JSON request (a dict body is encoded)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return (await self.requests([(subject, data)]))[0]


async def _first(*waits: Any) -> None:
    """Wait until the first of some coroutines finishes; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
