"""Which store a stream gets, and where: the one place jetstream/ touches devserver/store.

Owns `open_store()`: a `MemoryStore` for memory streams and for every stream of a memory-only
server (`--memory`, or a DevServer without store_dir), otherwise a `FileStore` in the stream's
`msgs/` folder with the server's fsync policy. Both follow `devserver.store.base.StreamStore`;
streams, consumers and the API use that protocol directly (`store`, `load`, `load_next(start,
filter)`, `load_last`, `remove`, `purge`, `compact`, `expire_before`, counters as attributes).
`msg_size()` is the accounted size of a message before it is stored, as the store will count it.
`export_batch()` / `import_batch()` move messages as batches of store records (records.py) with
their index columns for snapshots and restores: a file store copies both as stored
(store/bulk.py), any other store goes message by message.
May import: devserver.store.
"""

from __future__ import annotations

from array import array
from pathlib import Path

from devserver.store import bulk, records
from devserver.store.atomic import fsync_dir
from devserver.store.base import (
    SequenceMismatch,
    StoredMsg,
    StoreError,
    StreamStore,
    file_msg_size,
    memory_msg_size,
)
from devserver.store.bulk import Batch, Subjects
from devserver.store.file import FileStore
from devserver.store.memory import MemoryStore

__all__ = [
    "MSGS_DIR",
    "Batch",
    "FileStore",
    "StoreError",
    "StoredMsg",
    "StreamStore",
    "Subjects",
    "export_batch",
    "fsync_dir",
    "import_batch",
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


def export_batch(
    store: StreamStore, start: int, stop: int, max_bytes: int, sent: Subjects
) -> tuple[Batch, int]:
    """The messages from `start` to `stop`, about `max_bytes` of them, as a batch of records with
    their index columns; and the sequence to go on from (past `stop` when done). `sent` holds
    the subject ids earlier batches named."""
    if isinstance(store, FileStore):
        return bulk.raw_batch(store, start, stop, max_bytes, sent)
    out: list[bytes] = []
    seqs, words, sids = array("Q"), array("I"), array("I")
    ids = {name: sid for sid, name in sent.names.items()}
    size = 0
    msg = store.load_next(start)
    while msg is not None and msg.seq <= stop and size < max_bytes:
        record = records.pack_msg(msg.seq, msg.ts, msg.subject.encode(), msg.headers, msg.data)
        out.append(record)
        size += len(record)
        seqs.append(msg.seq)
        words.append(len(record) | (records.F_HDR if msg.headers else 0))
        sids.append(ids.setdefault(msg.subject, len(ids)))
        msg = store.load_next(msg.seq + 1)
    present = set(sids)
    names = sent.news({sid: name for name, sid in ids.items() if sid in present})
    batch = Batch(seqs, words, sids, names, b"".join(out))
    return batch, stop + 1 if msg is None else min(msg.seq, stop + 1)


def import_batch(store: StreamStore, batch: Batch, subjects: Subjects) -> None:
    """Append a batch's messages with their own sequences; `subjects` carries the sender's subject
    ids from batch to batch. StoreError when a record is damaged or the batch does not hold
    together, SequenceMismatch when it is out of order."""
    if isinstance(store, FileStore):
        bulk.store_batch(store, batch, subjects)
        return
    subjects.names.update(batch.names)
    buf, head, hlen = batch.records, records.HEAD.unpack_from, records.HLEN.unpack_from
    pos, n = 0, len(buf)
    if not len(batch.seqs) == len(batch.words) == len(batch.sids):
        raise StoreError("batch columns do not match its records")
    for seq, word, sid in zip(batch.seqs, batch.words, batch.sids, strict=True):
        end = pos + (word & records.LEN_MASK)
        if end > n or end - pos < records.MARKER_LEN or not records.intact(buf, pos, end):
            raise StoreError(f"message sequence {seq} failed its checksum")
        flags, got, ts, slen = head(buf, pos)
        if got != seq or flags != word:
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
        if subjects.names.get(sid) != subject:
            raise StoreError(f"message sequence {seq} is not on the subject its batch names")
        data = buf[at + slen + (len(headers) if headers else 0) : end - 8]
        store.store_at(seq, subject, headers, data, ts)
        pos = end
    if pos != n:
        raise StoreError("batch columns do not match its records")
