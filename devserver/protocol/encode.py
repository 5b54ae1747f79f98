"""Server-to-client frames: INFO, MSG, HMSG, PING, PONG, +OK and -ERR."""

from __future__ import annotations

import json

PING = b"PING\r\n"
PONG = b"PONG\r\n"
OK = b"+OK\r\n"
CRLF = b"\r\n"


def info(fields: dict) -> bytes:
    # nats-server writes one space after the JSON; clients accept it either way.
    return b"INFO " + json.dumps(fields, separators=(",", ":")).encode() + b" \r\n"


def err(text: str) -> bytes:
    return b"-ERR '" + text.encode() + b"'\r\n"


def msg(subject: bytes, sid: bytes, reply: bytes | None, payload: bytes) -> bytes:
    """A MSG frame without headers."""
    if reply:
        return b"MSG %b %b %b %d\r\n%b\r\n" % (subject, sid, reply, len(payload), payload)
    return b"MSG %b %b %d\r\n%b\r\n" % (subject, sid, len(payload), payload)


def hmsg(subject: bytes, sid: bytes, reply: bytes | None, header_size: int, payload: bytes) -> bytes:
    """An HMSG frame; `payload` holds the header block followed by the body."""
    if reply:
        return b"HMSG %b %b %b %d %d\r\n%b\r\n" % (subject, sid, reply, header_size, len(payload), payload)
    return b"HMSG %b %b %d %d\r\n%b\r\n" % (subject, sid, header_size, len(payload), payload)
