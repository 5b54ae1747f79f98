"""The file store's on-disk layout: file names, sizes and limits, and what it knows of a block.

Each name is defined here once; file.py re-exports them for importers.

May import: devserver.store.records and the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

from devserver.store import records

BLOCK_SUFFIX = ".blk"
BLOCK_INDEX_SUFFIX = ".idx"  # a sealed block's own index, as nats-server's legacy %d.idx
INDEX_FILE = "index.db"
META_FILE = "meta.json"
FORMAT = 1
DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024
DEFAULT_SYNC_INTERVAL_NS = 120 * 1_000_000_000
WRITE_BUFFER = 1024 * 1024  # pending bytes handed to the OS without waiting for flush()
MAX_BLOCK_SIZE = 1 << 30  # offsets in a block are kept in 31 bits
HAS_HEADERS = records.F_HDR  # ... and the top bit of the offset column, as in the record, says it has headers
LOST_RANGE = 100_000  # report at most this many sequences for one damaged region
DEFAULT_CACHE_BYTES = 16 * 1024 * 1024  # the newest messages kept decoded in memory


@dataclass(slots=True)
class Block:
    """A block file (nats-server's msgBlock), as the index knows it."""

    num: int
    size: int = 0  # bytes in the file, plus pending ones for the newest block
    live: int = 0  # messages still in the stream
    lo: int = 0  # lowest and highest message sequence written to it
    hi: int = 0
    dels: int = 0  # F_DEL markers it holds
    crc: int | None = None  # crc32 of the whole file, when known
