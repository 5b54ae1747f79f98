"""Stream stores: where a stream's messages live, chosen by the stream's `storage` setting.

Both kinds follow the `StreamStore` protocol (base.py): `MemoryStore` (memory.py) and
`FileStore` (file.py, one directory per stream, put together from writer.py, removal.py,
checkpoint.py and recovery.py, with layout.py, records.py, blocks.py, fileindex.py and cache.py).
The shared index and nats-server's store semantics live in index.py and indexed.py.

May import: devserver.subjects and the standard library.
"""

from __future__ import annotations

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
from devserver.store.file import FileStore
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
    "write_atomic",
]
