"""Which store a stream gets, and where: the one place jetstream/ touches devserver/store.

Owns `open_store()`: a `MemoryStore` for memory streams and for every stream of a memory-only
server (`--memory`, or a DevServer without store_dir), otherwise a `FileStore` in the stream's
`msgs/` folder with the server's fsync policy. Both follow `devserver.store.base.StreamStore`;
streams, consumers and the API use that protocol directly (`store`, `load`, `load_next(start,
filter)`, `load_last`, `remove`, `purge`, `compact`, `expire_before`, counters as attributes).
`msg_size()` is the accounted size of a message before it is stored, as the store will count it.
May import: devserver.store.
"""

from __future__ import annotations

from pathlib import Path

from devserver.store.base import StoredMsg, StreamStore, file_msg_size, memory_msg_size
from devserver.store.file import FileStore
from devserver.store.memory import MemoryStore

__all__ = ["MSGS_DIR", "StoredMsg", "StreamStore", "msg_size", "open_store"]

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
