"""A raw-socket client for the snapshot, restore, template and advisory tests.

The same byte-level flow runs against devserver and nats-server: requests with their own
inboxes, snapshot chunks acked by an empty publish to their reply subject, restore chunks sent
as requests. Control lines are split on runs of whitespace (nats-server 2.15.1 writes
`MSG <inbox> <sid>  0`, with an empty reply field, for restore chunk acks).
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from dataclasses import dataclass
from typing import Any

import schemas

CONNECT = (
    b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,'
    b'"name":"snap-test","lang":"python","version":"1.0"}\r\n'
)


@dataclass
class Msg:
    subject: str
    reply: str | None
    headers: bytes
    data: bytes

    @property
    def status(self) -> str:
        """`204`, `408 No Flow Response`, ... from a status header line; "" without one."""
        first = self.headers.split(b"\r\n", 1)[0].decode()
        return first[len("NATS/1.0 ") :].strip() if first.startswith("NATS/1.0") else ""


class RawClient:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self._sids = itertools.count(1)
        assert self._line().startswith(b"INFO ")
        self.sock.sendall(CONNECT + b"PING\r\n")
        assert self._line() == b"PONG"

    def close(self) -> None:
        self.sock.close()

    # -- wire

    def _fill(self, deadline: float) -> None:
        self.sock.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self, deadline: float | None = None) -> bytes:
        deadline = deadline or time.monotonic() + 10
        while (end := self.buf.find(b"\r\n")) < 0:
            self._fill(deadline)
        line = bytes(self.buf[:end])
        del self.buf[: end + 2]
        return line

    def sub(self, subject: str) -> int:
        sid = next(self._sids)
        self.sock.sendall(b"SUB %s %d\r\n" % (subject.encode(), sid))
        return sid

    def unsub(self, sid: int) -> None:
        self.sock.sendall(b"UNSUB %d\r\n" % sid)

    def pub(self, subject: str, data: bytes = b"", reply: str | None = None, headers: bytes = b"") -> None:
        target = subject.encode() + (b" " + reply.encode() if reply else b"")
        if headers:
            size = len(headers) + len(data)
            frame = b"HPUB %s %d %d\r\n%s%s\r\n" % (target, len(headers), size, headers, data)
        else:
            frame = b"PUB %s %d\r\n%s\r\n" % (target, len(data), data)
        self.sock.sendall(frame)

    def flush(self) -> None:
        """Round trip: everything sent before has been processed."""
        self.sock.sendall(b"PING\r\n")
        self.next_msg(expect_pong=True)

    def next_msg(self, timeout: float = 10.0, expect_pong: bool = False) -> Msg | None:
        deadline = time.monotonic() + timeout
        while True:
            line = self._line(deadline)
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")
                continue
            if line == b"PONG":
                if expect_pong:
                    return None
                continue
            parts = line.split()
            if parts[0] == b"MSG":
                size, hsize = int(parts[-1]), 0
                reply = parts[3].decode() if len(parts) == 5 else None
            elif parts[0] == b"HMSG":
                size, hsize = int(parts[-1]), int(parts[-2])
                reply = parts[3].decode() if len(parts) == 6 else None
            else:
                raise AssertionError(f"unexpected {line!r}")
            while len(self.buf) < size + 2:
                self._fill(deadline)
            body = bytes(self.buf[:size])
            del self.buf[: size + 2]
            return Msg(parts[1].decode(), reply, body[:hsize], body[hsize:])

    # -- requests

    def request_raw(self, subject: str, data: bytes = b"", timeout: float = 10.0) -> Msg:
        inbox = f"_INBOX.{next(self._sids)}x{time.monotonic_ns()}"
        sid = self.sub(inbox)
        self.sock.sendall(b"UNSUB %d 1\r\n" % sid)
        self.pub(subject, data, inbox)
        msg = self.next_msg(timeout)
        assert msg is not None and msg.subject == inbox, msg
        return msg

    def request(self, subject: str, body: Any = b"", timeout: float = 10.0) -> dict[str, Any]:
        """A JSON API request; the reply is checked against the schema its type names."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        doc = json.loads(self.request_raw(subject, data, timeout).data)
        if "type" in doc:
            problems = schemas.validate(doc["type"], doc)
            assert not problems, f"{doc['type']}: {problems}\n{doc}"
        return doc

    def ok(self, subject: str, body: Any = b"") -> dict[str, Any]:
        doc = self.request(subject, body)
        assert "error" not in doc, doc
        return doc


# -- the backup and restore flows of `nats stream backup` / `nats stream restore`


@dataclass
class Snapshot:
    reply: dict[str, Any]
    chunks: list[Msg]
    end: Msg

    @property
    def data(self) -> bytes:
        return b"".join(chunk.data for chunk in self.chunks)

    def backup(self) -> dict[str, Any]:
        """backup.json: what the restore request sends."""
        return {"config": self.reply["config"], "state": self.reply["state"]}


def snapshot(client: RawClient, stream: str, deliver: str = "snap.deliver", **options: Any) -> Snapshot:
    """Request a snapshot and receive it, acking every chunk that asks for it. (nats-server may
    send the first chunks before its reply: both arrive on the same connection, in any order.)"""
    sid = client.sub(deliver)
    inbox = f"_INBOX.snap{time.monotonic_ns()}"
    reply_sid = client.sub(inbox)
    body = json.dumps({"deliver_subject": deliver, **options}).encode()
    client.pub(f"$JS.API.STREAM.SNAPSHOT.{stream}", body, inbox)
    reply: dict[str, Any] | None = None
    chunks: list[Msg] = []
    end: Msg | None = None
    while reply is None or end is None:
        msg = client.next_msg()
        assert msg is not None
        if msg.subject == inbox:
            reply = json.loads(msg.data)
            assert "error" not in reply and not schemas.validate(reply["type"], reply), reply
        elif not msg.data:
            end = msg
        else:
            chunks.append(msg)
            if msg.reply:
                client.pub(msg.reply)
    client.unsub(sid)
    client.unsub(reply_sid)
    return Snapshot(reply, chunks, end)


def restore(
    client: RawClient, stream: str, backup: dict[str, Any], data: bytes, chunk: int = 64 * 1024
) -> dict[str, Any]:
    """Upload an archive as `nats stream restore` does; the final stream_create_response."""
    deliver = client.ok(f"$JS.API.STREAM.RESTORE.{stream}", backup)["deliver_subject"]
    for start in range(0, len(data), chunk):
        ack = client.request_raw(deliver, data[start : start + chunk])
        assert ack.data == b"" and ack.headers == b"", ack
    return client.request(deliver, b"")


def publish_acked(client: RawClient, messages: list[tuple[str, bytes, bytes]]) -> list[dict[str, Any]]:
    """Publish (subject, payload, headers) messages pipelined; their PubAcks, in order."""
    inbox = f"_INBOX.acks{time.monotonic_ns()}"
    sid = client.sub(inbox)
    for subject, data, headers in messages:
        client.pub(subject, data, inbox, headers)
    acks = [json.loads(client.next_msg().data) for _ in messages]
    client.unsub(sid)
    return acks
