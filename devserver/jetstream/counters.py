"""Message counters (`allow_msg_counter`, nats-server 2.12): `Nats-Incr` adds to a subject's total.

Owns reading the increment (`incr`), the checks on a publish that carries one (`check`), and
turning it into the stored message (`count`): the body is `{"val":"<total>"}`, the published
headers are kept. A counter sourced from another stream carries its origin's total, not a step:
the step is the difference from that origin's last total, which the aggregate keeps per origin
stream and subject in the `Nats-Counter-Sources` header (JSON, keys sorted as Go marshals a map),
and `Nats-Incr` is rewritten to that step. Totals are Python ints, so any size, like Go's big.Int.

May import: devserver.protocol, devserver.gojson.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from devserver import gojson
from devserver.protocol.headers import get as header
from devserver.protocol.headers import put

if TYPE_CHECKING:
    from devserver.store.base import StoredMsg

INCR = b"Nats-Incr"
COUNTER_SOURCES = b"Nats-Counter-Sources"
STREAM_SOURCE = b"Nats-Stream-Source"
# headers that make no sense on an increment: each one is refused as an invalid increment
_INCOMPATIBLE = (
    b"Nats-Rollup",
    b"Nats-Expected-Stream",
    b"Nats-Expected-Last-Msg-Id",
    b"Nats-Expected-Last-Subject-Sequence-Subject",
    b"Nats-Expected-Last-Sequence",
    b"Nats-Expected-Last-Subject-Sequence",
)
_DECIMAL = re.compile(rb"[+-]?[0-9]+")  # what Go's big.Int SetString(s, 10) takes


class CounterError(Exception):
    """A refused increment: the nats-server error constant's name."""


def incr(block: bytes | None) -> int | None:
    """The `Nats-Incr` value, None when absent or empty; CounterError when not an integer."""
    value = header(block, INCR) if block else None
    if not value:
        return None
    if _DECIMAL.fullmatch(value) is None:
        raise CounterError("JSMessageIncrInvalidErr")
    return int(value)


def check(block: bytes, data: bytes, allowed: bool) -> None:
    """A client's increment (not a sourced one): allowed, with no body and no conflicting header."""
    if not allowed:
        raise CounterError("JSMessageIncrDisabledErr")
    if data:
        raise CounterError("JSMessageIncrPayloadErr")
    if any(header(block, key) is not None for key in _INCOMPATIBLE):
        raise CounterError("JSMessageIncrInvalidErr")


def count(
    last: StoredMsg | None, subject: str, block: bytes, data: bytes, step: int
) -> tuple[bytes, bytes, int]:
    """(header block, body, new total) of the message to store for an increment of `subject`,
    whose newest message is `last`."""
    total, sources = _state(last)
    origin = header(block, STREAM_SOURCE)
    if origin:
        fields = origin.decode().split(" ")
        stream, origin_subject = fields[0], fields[4] if len(fields) >= 5 else subject
        sourced = _total(_body_value(data))
        seen = sources.setdefault(stream, {})
        step = sourced - _total(seen.get(origin_subject, ""))
        seen[origin_subject] = str(sourced)
        block = put(block, INCR, str(step).encode())
    total += step
    if sources:
        block = put(block, COUNTER_SOURCES, gojson.dumps(_sorted(sources), indent=False))
    return block, b'{"val":"%d"}' % total, total


def _state(last: StoredMsg | None) -> tuple[int, dict[str, dict[str, str]]]:
    """The subject's total and its per-origin totals so far."""
    if last is None:
        return 0, {}
    total = _total(_body_value(last.data))
    raw = header(last.headers, COUNTER_SOURCES) if last.headers else None
    if not raw:
        return total, {}
    try:
        sources = json.loads(raw)
    except ValueError:
        raise CounterError("JSMessageCounterBrokenErr") from None
    if not isinstance(sources, dict) or not all(isinstance(v, dict) for v in sources.values()):
        raise CounterError("JSMessageCounterBrokenErr")
    return total, sources


def _body_value(data: bytes) -> str:
    """The `val` of a counter body; CounterError when the body is not one (Go's Unmarshal)."""
    try:
        doc = json.loads(data)
    except ValueError:
        raise CounterError("JSMessageCounterBrokenErr") from None
    if doc is None:
        return ""
    value = doc.get("val", "") if isinstance(doc, dict) else None
    if not isinstance(value, str):
        raise CounterError("JSMessageCounterBrokenErr")
    return value


def _total(text: str) -> int:
    """A stored total; one that is not a number counts as zero."""
    return int(text) if _DECIMAL.fullmatch(text.encode()) else 0


def _sorted(sources: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {stream: dict(sorted(subjects.items())) for stream, subjects in sorted(sources.items())}
