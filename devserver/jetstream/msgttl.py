"""Per-message TTLs (`Nats-TTL`) and subject delete markers: nats-server's thw/ and sdm.go.

Owns reading the header (`parse_ttl`), rewriting it (`with_ttl`, when a stream's marker TTL
raises a shorter one), the marker's header block, telling a marker from a message, and
`TTLSchedule`: a stream's TTL deadlines. The schedule is a heap of (deadline, seq) from which
due sequences are taken; a message removed otherwise keeps its entry until it falls due and is
then found gone, which costs less than finding it on every removal. A store carries no TTL
state: the schedule is rebuilt from the messages' headers when a stream opens.

May import: devserver.protocol, devserver.jetstream.timefmt.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from devserver.jetstream.timefmt import go_duration, parse_duration
from devserver.protocol.headers import get as header

if TYPE_CHECKING:
    from devserver.jetstream.storage import StreamStore

TTL = b"Nats-TTL"
MARKER_REASON = b"Nats-Marker-Reason"
KV_OPERATION = b"KV-Operation"
KV_PURGE = b"PURGE"
REASON_MAX_AGE = "MaxAge"  # the only reason nats-server places (purge/remove markers are unused)
NEVER = -1  # a TTL that also exempts the message from max_age
SECOND = 1_000_000_000
_MAX_DURATION = 2**63 - 1  # Go durations are int64 nanoseconds


def parse_ttl(value: bytes) -> int | None:
    """A Nats-TTL value in whole seconds: NEVER for `never`, 0 for none, None when invalid.

    Like nats-server: a Go duration must be at least 1s (`1.9s` counts as 1); failing that,
    plain digits are seconds, where `00` means no TTL but `0` (a Go duration) is invalid."""
    text = value.decode(errors="replace")
    if not text:
        return 0
    if text.lower() == "never":
        return NEVER
    try:
        ns = parse_duration(text)
    except ValueError:
        return int(text) if text.isascii() and text.isdigit() else None
    if ns < SECOND or ns > _MAX_DURATION:
        return None
    return ns // SECOND


def msg_ttl(headers: bytes | None) -> int:
    """The TTL a stored message carries (0 when none or unreadable)."""
    if not headers:
        return 0
    raw = header(headers, TTL)
    return (parse_ttl(raw) or 0) if raw is not None else 0


def with_ttl(block: bytes, seconds: int) -> bytes:
    """The header block with every Nats-TTL line dropped and `Nats-TTL: <seconds>` appended."""
    lines = [line for line in block[:-4].split(b"\r\n") if not line.startswith(TTL + b":")]
    lines.append(TTL + b": %d" % seconds)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def marker_headers(ttl_seconds: int) -> bytes:
    """The header block of the marker left when max_age or a TTL removes a subject's last message."""
    return (
        f"NATS/1.0\r\nNats-Marker-Reason: {REASON_MAX_AGE}\r\n"
        f"Nats-TTL: {go_duration(ttl_seconds * SECOND)}\r\nNats-Rollup: sub\r\n\r\n"
    ).encode()


def is_marker(headers: bytes | None) -> bool:
    """A delete marker, or a KV purge: expiring one leaves no marker behind."""
    if not headers:
        return False
    return bool(header(headers, MARKER_REASON)) or header(headers, KV_OPERATION) == KV_PURGE


class TTLSchedule:
    """When each message with a TTL is due: (deadline ns, seq) pairs on a heap."""

    __slots__ = ("_heap",)

    def __init__(self) -> None:
        self._heap: list[tuple[int, int]] = []

    @classmethod
    def of_store(cls, store: StreamStore) -> TTLSchedule:
        """The deadlines of the messages already stored (recovery, restore, TTLs turned on)."""
        schedule = cls()
        msg = store.load_next_with_headers(store.first_seq)
        while msg is not None:
            ttl = msg_ttl(msg.headers)
            if ttl > 0:
                schedule.add(msg.seq, msg.ts + ttl * SECOND)
            msg = store.load_next_with_headers(msg.seq + 1)
        return schedule

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, seq: int, deadline: int) -> None:
        heapq.heappush(self._heap, (deadline, seq))

    def next_deadline(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: int) -> list[int]:
        """The sequences due by `now`, in order (removed from the schedule)."""
        heap, due = self._heap, []
        while heap and heap[0][0] <= now:
            due.append(heapq.heappop(heap)[1])
        due.sort()
        return due
