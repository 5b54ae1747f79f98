"""Which store a stream gets, and where: the one place jetstream/ touches devserver/store.

Owns `open_store()`: a `MemoryStore` for memory streams and for every stream of a memory-only
server (`--memory`, or a DevServer without store_dir), otherwise a `FileStore` in the stream's
`msgs/` folder with the server's fsync policy. Both follow `devserver.store.base.StreamStore`;
streams, consumers and the API use that protocol directly (`store`, `load`, `load_next(start,
filter)`, `load_last`, `remove`, `purge`, `compact`, `expire_before`, counters as attributes).
`msg_size()` is the accounted size of a message before it is stored, as the store will count it.
`export_records()` / `import_records()` move messages as store records (records.py) for
snapshots and restores: a file store copies them as stored (store/bulk.py), any other store
goes message by message.
May import: devserver.store.
"""

from __future__ import annotations

from pathlib import Path

from devserver.store import bulk, records
from devserver.store.base import (
    SequenceMismatch,
    StoredMsg,
    StoreError,
    StreamStore,
    file_msg_size,
    memory_msg_size,
)
from devserver.store.file import FileStore
from devserver.store.memory import MemoryStore

__all__ = [
    "MSGS_DIR",
    "StoreError",
    "StoredMsg",
    "StreamStore",
    "export_records",
    "import_records",
    "msg_size",
    "open_store",
]

MSGS_DIR = "msgs"  # the store's folder inside the stream's folder
SECOND = 1_000_000_000


def open_store(directory: Path | None, first_seq: int, sync: float | str) -> StreamStore:
    """A memory store when `directory` is None, else the file store in `<directory>/msgs`."""
    if directory is None:
        store: StreamStore = MemoryStore()
    elif sync == "always":
        store = FileStore(directory / MSGS_DIR, sync_always=True)
    else:
        store = FileStore(directory / MSGS_DIR, sync_interval_ns=int(float(sync) * SECOND))
    if first_seq > 1 and store.last_seq == 0 and not store.msgs:
        store.compact(first_seq)  # the first message gets first_seq
    return store


def msg_size(file: bool, subject: str, headers: bytes | None, data: bytes) -> int:
    """The accounted size of a message in a file (or memory) stream."""
    hlen = len(headers) if headers else 0
    if file:
        return file_msg_size(len(subject), hlen, len(data))
    return memory_msg_size(len(subject), hlen, len(data))


def export_records(store: StreamStore, start: int, stop: int, max_bytes: int) -> tuple[bytes, int]:
    """Records of the messages from `start` to `stop`, about `max_bytes` of them, and the
    sequence to go on from (past `stop` when done)."""
    if isinstance(store, FileStore):
        return bulk.raw_records(store, start, stop, max_bytes)
    out: list[bytes] = []
    size = 0
    msg = store.load_next(start)
    while msg is not None and msg.seq <= stop and size < max_bytes:
        record = records.pack_msg(msg.seq, msg.ts, msg.subject.encode(), msg.headers, msg.data)
        out.append(record)
        size += len(record)
        msg = store.load_next(msg.seq + 1)
    return b"".join(out), stop + 1 if msg is None else min(msg.seq, stop + 1)


def import_records(store: StreamStore, buf: bytes) -> int:
    """Append the message records at the start of `buf` with their own sequences, up to the
    first one not complete or not a message (a marker); how many bytes that took. StoreError
    when a record is damaged or out of order."""
    if isinstance(store, FileStore):
        return bulk.store_raw(store, buf)
    head, hlen = records.HEAD.unpack_from, records.HLEN.unpack_from
    pos, n = 0, len(buf)
    while pos + records.MARKER_LEN <= n:
        flags, seq, ts, slen = head(buf, pos)
        end = pos + (flags & records.LEN_MASK)
        if flags & records.NOT_MSG or end > n:
            break
        if end - pos < records.MARKER_LEN or not records.intact(buf, pos, end):
            raise StoreError(f"message sequence {seq} failed its checksum")
        if seq <= store.last_seq:
            raise SequenceMismatch(f"message sequence {seq} out of order")
        at = pos + records.HEAD_LEN
        headers = None
        if flags & records.F_HDR:
            size = hlen(buf, at)[0]
            at += 4
            headers = buf[at + slen : at + slen + size]
        subject = buf[at : at + slen].decode()
        data = buf[at + slen + (len(headers) if headers else 0) : end - 8]
        store.store_at(seq, subject, headers, data, ts)
        pos = end
    return pos
