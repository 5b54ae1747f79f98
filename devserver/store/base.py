"""The stream store contract: the message and state shapes and the `StreamStore` protocol.

Owns what every store shares: `StoredMsg`, `StreamState`, `LostData`, the accounted message sizes
(nats-server's `memStoreMsgSize` / `fileStoreMsgSize`, used for `bytes` and `max_bytes`) and the
store errors. Stores are synchronous and do no I/O scheduling of their own: the server calls them,
passes timestamps in (nanoseconds since the epoch) and decides when to `flush()` and `sync()`.

Filters: wherever a method takes `filter`, it accepts None, "" or ">" (every subject), one
subject that may hold wildcards, or a list of them (a message matches when any entry does).

May import: the standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

Filter = str | Sequence[str] | None


class StoreError(Exception):
    """A store operation that cannot be done (closed store, bad sequence, bad directory)."""


class SequenceMismatch(StoreError):
    """`store_at` was given a sequence at or below the stream's last sequence."""


class StoredMsg(NamedTuple):
    """A stored message. A named tuple rather than a frozen dataclass: stores make one for every
    message written (and the file store for every one read from a block), and a tuple is made in
    a third of the time."""

    seq: int
    subject: str
    headers: bytes | None
    data: bytes
    ts: int


@dataclass(slots=True)
class LostData:
    """Messages a file store found damaged at recovery (nats-server's `LostStreamData`)."""

    msgs: list[int] = field(default_factory=list)
    bytes: int = 0


@dataclass(slots=True)
class StreamState:
    """nats-server's StreamState as the store knows it (`consumer_count` is the stream's business).

    `first_ts`/`last_ts` are nanoseconds, 0 when unset; `deleted` is filled only on request.
    """

    msgs: int
    bytes: int
    first_seq: int
    first_ts: int
    last_seq: int
    last_ts: int
    num_deleted: int
    num_subjects: int
    deleted: list[int] | None = None
    lost: LostData | None = None


def memory_msg_size(subject_len: int, headers_len: int, data_len: int) -> int:
    """Accounted size in a memory stream: `memStoreMsgSize`."""
    return subject_len + headers_len + data_len + 16


def file_msg_size(subject_len: int, headers_len: int, data_len: int) -> int:
    """Accounted size in a file stream: `fileStoreMsgSize` (also our on-disk record length)."""
    if headers_len:
        return subject_len + headers_len + data_len + 34
    return subject_len + data_len + 30


class StreamStore(Protocol):
    """What a stream needs from its store. Sequences start at 1; 0 means "none".

    Counters are plain attributes for the hot path: `msgs`, `bytes`, `first_seq`, `last_seq`,
    `last_ts`; `first_ts` is a property. `state()` gives them all at once. `warnings` collects
    what the store found wrong (damaged records at recovery or on read) for the server to log;
    the server may clear it. A store is not thread-safe: call it from one thread.
    """

    warnings: list[str]
    msgs: int
    bytes: int
    first_seq: int
    last_seq: int
    last_ts: int

    @property
    def first_ts(self) -> int: ...

    # writes
    def store(self, subject: str, headers: bytes | None, data: bytes, ts: int) -> tuple[int, int]:
        """Append with the next sequence; returns (seq, ts)."""

    def store_at(self, seq: int, subject: str, headers: bytes | None, data: bytes, ts: int) -> None:
        """Append with an explicit sequence above `last_seq` (restore, sourcing); gaps are allowed."""

    def skip_msgs(self, num: int = 1, ts: int | None = None) -> int:
        """Use `num` sequences without storing anything; returns the last one used."""

    def remove(self, seq: int, erase: bool = False) -> bool:
        """Delete one message; `erase` also overwrites its bytes with random data."""

    def purge(self, subject: str | None = None, seq: int = 0, keep: int = 0) -> int:
        """nats-server's PurgeEx: the messages matching `subject` (wildcards; None = all) below
        `seq` (0 = no bound), all but the `keep` newest matching; returns how many went.
        Without a subject and keep it is `compact(seq)`, so everything goes and first_seq
        becomes last_seq + 1 (or `seq`)."""

    def compact(self, seq: int) -> int:
        """Remove everything below `seq`; past the end, the next message gets `seq`."""

    def expire_before(self, ts: int) -> int:
        """Remove messages from the head whose timestamp is at or before `ts` (max_age)."""

    # reads
    def load(self, seq: int) -> StoredMsg | None: ...

    def load_next(self, start: int, filter: Filter = None) -> StoredMsg | None: ...

    def load_next_with_headers(self, start: int) -> StoredMsg | None:
        """The first message at or after `start` that has headers; cheap over header-less ones."""

    def load_last(self, filter: Filter = None) -> StoredMsg | None: ...

    def seq_for_time(self, ts: int) -> int:
        """First live sequence whose timestamp is at or after `ts` (last_seq + 1 if none)."""

    def subject_count(self, subject: str) -> int: ...

    def subject_first(self, subject: str) -> int: ...

    def subjects(self, filter: Filter = None) -> dict[str, int]: ...

    def last_seqs(self, filter: Filter = None) -> list[int]:
        """The newest sequence of each matching subject, ascending (deliver last_per_subject)."""

    def num_subjects(self) -> int: ...

    def num_pending(self, start: int, filter: Filter = None, last_per_subject: bool = False) -> int: ...

    def deleted(self) -> list[int]: ...

    def state(self, deleted: bool = False) -> StreamState: ...

    # durability and lifecycle
    def flush(self) -> None: ...

    def sync(self) -> None: ...

    def maybe_sync(self, now_ns: int) -> bool: ...

    def close(self) -> None: ...

    def delete(self) -> None: ...
