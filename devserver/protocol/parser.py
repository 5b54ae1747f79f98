"""Incremental parser of the client side of the NATS protocol.

`Parser.feed(bytes)` returns the complete ops found so far and keeps any partial frame for the
next call, so input may be cut at any byte. Rules follow nats-server's parser.go as observed on
the wire: verbs are case-insensitive, arguments split on runs of spaces or tabs, a control line
ends at LF (a CR before it is dropped), a payload must be followed by exactly CRLF, and PING,
PONG and INFO ignore whatever follows the verb on their line.
"""

from __future__ import annotations

import json

from devserver.protocol.ops import (
    CONNECT,
    ERR_MAX_CONTROL_LINE,
    ERR_MAX_PAYLOAD,
    ERR_UNKNOWN_OP,
    INFO,
    PING,
    PONG,
    PUB,
    SUB,
    UNSUB,
    ProtocolError,
)

MAX_CONTROL_LINE = 4096
MAX_PAYLOAD = 1024 * 1024

_PING = (PING,)
_PONG = (PONG,)


class Parser:
    """Bytes in, ops out. Raises only ProtocolError, after which the parser must be dropped."""

    __slots__ = ("_buf", "_pending", "max_payload", "max_control_line")

    def __init__(self, max_payload: int = MAX_PAYLOAD, max_control_line: int = MAX_CONTROL_LINE) -> None:
        self._buf = b""
        # (subject, reply, header_size, total_size) of a PUB/HPUB whose payload has not all arrived
        self._pending: tuple | None = None
        self.max_payload = max_payload
        self.max_control_line = max_control_line

    def feed(self, data: bytes) -> list[tuple]:
        buf = self._buf + data if self._buf else data
        ops: list[tuple] = []
        pos = 0
        end = len(buf)
        max_line = self.max_control_line
        try:
            while pos < end:
                if self._pending is not None:
                    subject, reply, hdr, size = self._pending
                    stop = pos + size
                    if stop + 2 > end:
                        break
                    if buf[stop : stop + 2] != b"\r\n":
                        raise ProtocolError(ERR_UNKNOWN_OP, "payload not followed by CRLF")
                    ops.append((PUB, subject, reply, hdr, buf[pos:stop]))
                    pos = stop + 2
                    self._pending = None
                    continue
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    if end - pos > max_line:
                        raise ProtocolError(ERR_MAX_CONTROL_LINE)
                    break
                if nl - pos > max_line:
                    raise ProtocolError(ERR_MAX_CONTROL_LINE)
                stop = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
                if buf.startswith(b"PUB ", pos):
                    # the hot path, inline: upper-case PUB with its payload already here
                    args = buf[pos + 4 : stop].split()
                    if len(args) == 2 and args[1].isdigit():
                        subject, reply, size = args[0], None, int(args[1])
                    elif len(args) == 3 and args[2].isdigit():
                        subject, reply, size = args[0], args[1], int(args[2])
                    else:
                        self._control(buf[pos:stop], ops)  # raises the right error
                    if size > self.max_payload:
                        raise ProtocolError(ERR_MAX_PAYLOAD)
                    pos = nl + 1
                    stop = pos + size
                    if stop + 2 > end:
                        self._pending = (subject, reply, -1, size)
                        continue
                    if buf[stop : stop + 2] != b"\r\n":
                        raise ProtocolError(ERR_UNKNOWN_OP, "payload not followed by CRLF")
                    ops.append((PUB, subject, reply, -1, buf[pos:stop]))
                    pos = stop + 2
                    continue
                self._control(buf[pos:stop], ops)
                pos = nl + 1
        except ProtocolError as err:
            err.ops = ops
            self._buf = b""
            raise
        self._buf = buf[pos:] if pos < end else b""
        return ops

    def _control(self, line: bytes, ops: list[tuple]) -> None:
        head = line[:4].upper()
        if head == b"PUB " or head == b"PUB\t":
            self._pub(line[4:].split())
        elif head == b"PING":
            ops.append(_PING)
        elif head == b"PONG":
            ops.append(_PONG)
        elif head == b"SUB " or head == b"SUB\t":
            ops.append(_sub(line[4:].split()))
        else:
            verb, _, rest = line.replace(b"\t", b" ").partition(b" ")
            verb = verb.upper()
            if verb == b"HPUB" and rest:
                self._hpub(rest.split())
            elif verb == b"UNSUB" and rest:
                ops.append(_unsub(rest.split()))
            elif verb == b"CONNECT":
                ops.append((CONNECT, _connect_options(rest)))
            elif head == b"INFO":
                ops.append((INFO, rest))
            elif line[:3] == b"+OK":
                pass  # acknowledged and ignored, as nats-server does
            elif line[:4] == b"-ERR":
                raise ProtocolError(None, "client sent -ERR")
            else:
                raise ProtocolError(ERR_UNKNOWN_OP, f"unknown operation {line[:16]!r}")

    def _pub(self, args: list[bytes]) -> None:
        if len(args) == 2:
            subject, reply, size = args[0], None, _size(args[1])
        elif len(args) == 3:
            subject, reply, size = args[0], args[1], _size(args[2])
        else:
            raise ProtocolError(None, "PUB needs 2 or 3 arguments")
        if size > self.max_payload:
            raise ProtocolError(ERR_MAX_PAYLOAD)
        self._pending = (subject, reply, -1, size)

    def _hpub(self, args: list[bytes]) -> None:
        if len(args) == 3:
            subject, reply = args[0], None
        elif len(args) == 4:
            subject, reply = args[0], args[1]
        else:
            raise ProtocolError(None, "HPUB needs 3 or 4 arguments")
        hdr, size = _size(args[-2]), _size(args[-1])
        if hdr > size:
            raise ProtocolError(None, "HPUB header size larger than total size")
        if size > self.max_payload:
            raise ProtocolError(ERR_MAX_PAYLOAD)
        self._pending = (subject, reply, hdr, size)


def _size(arg: bytes) -> int:
    if not arg.isdigit():
        raise ProtocolError(None, f"bad size {arg[:16]!r}")
    return int(arg)


def _sub(args: list[bytes]) -> tuple:
    if len(args) == 2:
        return (SUB, args[0], None, args[1])
    if len(args) == 3:
        return (SUB, args[0], args[1], args[2])
    raise ProtocolError(None, "SUB needs 2 or 3 arguments")


def _unsub(args: list[bytes]) -> tuple:
    if len(args) == 1:
        return (UNSUB, args[0], None)
    if len(args) == 2:
        # A max that is not a number removes the subscription at once, as nats-server does.
        return (UNSUB, args[0], int(args[1]) if args[1].isdigit() else 0)
    raise ProtocolError(None, "UNSUB needs 1 or 2 arguments")


def _connect_options(raw: bytes) -> dict:
    try:
        options = json.loads(raw)
    except ValueError:
        options = None
    if not isinstance(options, dict):
        raise ProtocolError(None, "malformed CONNECT JSON")
    return options
