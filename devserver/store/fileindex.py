"""The file store's index.db: its index columns and metadata saved at close, loaded at open.

Layout: magic, u32 length + JSON metadata, then per column a u64 byte count and the raw array
(native byte order, recorded in the metadata), then a crc32 of everything before it. Columns are
read straight into their arrays, so loading costs no more memory than the index itself.

The file is a cache: the store checks each listed block against the crc32 recorded for it and
falls back to scanning the blocks when anything differs.

May import: devserver.store.atomic and the standard library.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from array import array
from typing import Any, BinaryIO
from zlib import crc32

from devserver.store.atomic import write_atomic

MAGIC = b"PYNATSIX"
COLUMNS = "QIII"  # sequences, subject ids, sizes, offsets in their block
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class Stale(Exception):
    """index.db describes the blocks as they no longer are (a crash, or damage to report)."""


def file_crc(path: str, size: int) -> int:
    """crc32 of the first `size` bytes of a file (Stale if it is shorter)."""
    crc, left = 0, size
    buf = bytearray(1024 * 1024)
    with open(path, "rb", buffering=0) as f:
        while left:
            n = f.readinto(buf)
            if not n:
                raise Stale(f"{path} is shorter than recorded")
            n = min(n, left)
            crc = crc32(memoryview(buf)[:n], crc)
            left -= n
    return crc


def save(path: str, meta: dict[str, Any], columns: list[memoryview]) -> None:
    """Write index.db atomically; `columns` are views of the arrays, in COLUMNS order."""
    head = json.dumps({**meta, "byteorder": sys.byteorder}).encode()
    parts: list[bytes | memoryview] = [MAGIC, _U32.pack(len(head)), head]
    for col in columns:
        parts += [_U64.pack(col.nbytes), col]
    crc = 0
    for part in parts:
        crc = crc32(part, crc)
    write_atomic(path, b"".join(parts) + _U32.pack(crc))


def _read(f: BinaryIO, n: int) -> bytes:
    raw = f.read(n)
    if len(raw) != n:
        raise ValueError("truncated")
    return raw


def load(path: str) -> tuple[dict[str, Any], list[array]]:
    """Metadata and columns; ValueError (or OSError) when the file is damaged.

    Every length read from the file is checked against the bytes left before anything is
    allocated for it: a damaged length must not cost gigabytes of memory (or a MemoryError).
    """
    with open(path, "rb") as f:
        left = os.fstat(f.fileno()).st_size
        magic = f.read(len(MAGIC))
        if magic != MAGIC:
            raise ValueError("not an index file")
        raw_len = _read(f, 4)
        left -= len(MAGIC) + 4
        size = _U32.unpack(raw_len)[0]
        if size > left:
            raise ValueError("truncated")
        head = _read(f, size)
        left -= size
        crc = crc32(head, crc32(raw_len, crc32(magic)))
        meta = json.loads(head)
        if meta.get("byteorder") != sys.byteorder:
            raise ValueError("written on a machine of the other byte order")
        columns = []
        for code in COLUMNS:
            raw_len = _read(f, 8)
            size = _U64.unpack(raw_len)[0]
            left -= 8 + size
            if left < 4:
                raise ValueError("truncated")
            col = array(code, [0]) * (size // array(code).itemsize)
            with memoryview(col) as view:
                if f.readinto(view.cast("B")) != len(view) * col.itemsize:
                    raise ValueError("truncated")
            crc = crc32(col, crc32(raw_len, crc))
            columns.append(col)
        trailer = f.read(5)
    if len(trailer) != 4 or _U32.unpack(trailer)[0] != crc:
        raise ValueError("checksum mismatch")
    if len({len(c) for c in columns}) != 1:
        raise ValueError("columns of different lengths")
    return meta, columns
