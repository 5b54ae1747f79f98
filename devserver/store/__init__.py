"""Stream stores: where a stream's messages live, chosen by the stream's `storage` setting.

`open_store("memory")` or `open_store("file", directory, ...)` returns a `StreamStore`
(base.py); `MemoryStore` (memory.py) and `FileStore` (file.py) are the two kinds.

May import: devserver.subjects and the standard library.
"""

from __future__ import annotations

import os

from devserver.store.atomic import write_atomic
from devserver.store.base import (
    LostData,
    SequenceMismatch,
    StoredMsg,
    StoreError,
    StreamState,
    StreamStore,
    file_msg_size,
    memory_msg_size,
)
from devserver.store.file import DEFAULT_SYNC_INTERVAL_NS, FileStore
from devserver.store.memory import MemoryStore

__all__ = [
    "FileStore",
    "LostData",
    "MemoryStore",
    "SequenceMismatch",
    "StoreError",
    "StoredMsg",
    "StreamState",
    "StreamStore",
    "file_msg_size",
    "memory_msg_size",
    "open_store",
    "write_atomic",
]


def open_store(
    storage: str,
    directory: str | os.PathLike[str] | None = None,
    *,
    sync_always: bool = False,
    sync_interval_ns: int = DEFAULT_SYNC_INTERVAL_NS,
) -> StreamStore:
    """The store for a stream's `storage` ("memory" or "file"; a file store needs `directory`)."""
    if storage == "memory":
        return MemoryStore()
    if storage != "file" or directory is None:
        raise StoreError(f"cannot open a {storage!r} store in {directory!r}")
    return FileStore(directory, sync_always=sync_always, sync_interval_ns=sync_interval_ns)
