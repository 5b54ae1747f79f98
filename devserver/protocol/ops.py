"""The client-to-server operations the parser yields, and the protocol error it raises.

Ops are plain tuples tagged with an int in position 0 because the publish path builds one per
message; the named constructors below document each shape.
"""

from __future__ import annotations

PUB = 0  # (PUB, subject, reply | None, header_size, payload)  header_size -1 = no headers
SUB = 1  # (SUB, subject, queue | None, sid)
UNSUB = 2  # (UNSUB, sid, max_msgs | None)
PING = 3  # (PING,)
PONG = 4  # (PONG,)
CONNECT = 5  # (CONNECT, options: dict)
INFO = 6  # (INFO, raw json bytes)  clients may send it; servers ignore it

# -ERR texts, word for word as nats-server sends them.
ERR_UNKNOWN_OP = "Unknown Protocol Operation"
ERR_MAX_PAYLOAD = "Maximum Payload Violation"
ERR_MAX_CONTROL_LINE = "maximum control line exceeded"
ERR_AUTH = "Authorization Violation"
ERR_AUTH_TIMEOUT = "Authentication Timeout"
ERR_INVALID_SUBJECT = "Invalid Subject"
ERR_INVALID_PUB_SUBJECT = "Invalid Publish Subject"
ERR_INVALID_PROTOCOL = "invalid client protocol"
ERR_NO_RESPONDERS_NEEDS_HEADERS = "no responders requires headers support"
ERR_STALE = "Stale Connection"
ERR_SLOW_CONSUMER = "Slow Consumer"
ERR_MAX_CONNECTIONS = "maximum connections exceeded"
ERR_MAX_SUBSCRIPTIONS = "maximum subscriptions exceeded"
ERR_TLS_REQUIRED = "Secure Connection - TLS Required"


class ProtocolError(Exception):
    """A frame the server refuses; the connection closes.

    `text` is the -ERR text to send first, or None when nats-server closes without a word
    (wrong argument counts, malformed CONNECT JSON). `ops` holds the ops parsed from the
    same input before the bad frame: the server still processes them, in order.
    """

    def __init__(self, text: str | None, reason: str = "", ops: list | None = None) -> None:
        super().__init__(text or reason)
        self.text = text
        self.reason = reason or text or ""
        self.ops = ops or []
