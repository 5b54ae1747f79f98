"""The file store's record format: encode, check, erase and scan records in block files.

A record (little-endian) is laid out like nats-server's, so its length is exactly the accounted
size `fileStoreMsgSize`:

    u32 length | flags   length of the whole record (low 27 bits) and the kind (high 5 bits)
    u64 seq, i64 ts      sequence and timestamp (ns)
    u16 subject length
    [u32 header length]  only with F_HDR
    subject, headers, payload
    u32 crc32            over every byte before it
    u32 MAGIC            marks a record's end, so a scan can find its feet after damage

Markers are 30-byte records without subject or payload: F_DEL (message `seq` was removed),
F_FLOOR (every sequence below `seq` is gone, last_seq >= seq - 1), F_LAST (last_seq >= seq).
An erased message keeps its length and sequence, gets F_ERASED and random bytes for its body.

May import: the standard library only.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator
from zlib import crc32

HEAD = struct.Struct("<IQqH")
HLEN = struct.Struct("<I")
TRAILER = struct.Struct("<II")
MAGIC = 0x7E57_AB1E
MAGIC_BYTES = struct.pack("<I", MAGIC)

F_HDR = 1 << 31
F_DEL = 1 << 30
F_ERASED = 1 << 29
F_FLOOR = 1 << 28
F_LAST = 1 << 27
LEN_MASK = F_LAST - 1
NOT_MSG = F_DEL | F_ERASED | F_FLOOR | F_LAST

HEAD_LEN = HEAD.size  # 22
MARKER_LEN = HEAD_LEN + TRAILER.size  # 30, the smallest record
DAMAGED = 0  # the flags word scan() yields for a damaged region


def pack_msg(seq: int, ts: int, subject: bytes, headers: bytes | None, data: bytes) -> bytes:
    if headers:
        rl = len(subject) + len(headers) + len(data) + 34
        body = b"".join(
            (HEAD.pack(rl | F_HDR, seq, ts, len(subject)), HLEN.pack(len(headers)), subject, headers, data)
        )
    else:
        rl = len(subject) + len(data) + 30
        body = b"".join((HEAD.pack(rl, seq, ts, len(subject)), subject, data))
    if rl > LEN_MASK:
        raise ValueError(f"record of {rl} bytes is too large for the file store")
    return body + TRAILER.pack(crc32(body), MAGIC)


def pack_marker(flag: int, seq: int, ts: int) -> bytes:
    body = HEAD.pack(MARKER_LEN | flag, seq, ts, 0)
    return body + TRAILER.pack(crc32(body), MAGIC)


def intact(buf: bytes, start: int, end: int) -> bool:
    """Does the record in buf[start:end] (as read back) carry its checksum and end mark?"""
    crc, magic = TRAILER.unpack_from(buf, end - 8)
    return magic == MAGIC and crc == crc32(memoryview(buf)[start : end - 8])


def erased(record: bytes) -> bytes:
    """The same record with F_ERASED and random bytes in place of subject, headers and payload."""
    flags, seq, ts, slen = HEAD.unpack_from(record)
    start = HEAD_LEN + (HLEN.size if flags & F_HDR else 0)
    body = record[:start] + os.urandom(len(record) - 8 - start)
    body = HEAD.pack(flags | F_ERASED, seq, ts, slen) + body[HEAD_LEN:]
    return body + TRAILER.pack(crc32(body), MAGIC)


def _check(buf: bytes | mmap.mmap, view: memoryview, off: int, n: int) -> int:
    """Length of an intact record at `off`, or 0."""
    if off + MARKER_LEN > n:
        return 0
    flags, _seq, _ts, slen = HEAD.unpack_from(buf, off)
    rl = flags & LEN_MASK
    end = off + rl
    fixed = MARKER_LEN + (HLEN.size if flags & F_HDR else 0) + slen
    if rl < fixed or end > n:
        return 0
    crc, magic = TRAILER.unpack_from(buf, end - 8)
    if magic != MAGIC or crc != crc32(view[off : end - 8]):
        return 0
    return rl


def scan(buf: bytes | mmap.mmap, off: int = 0) -> Iterator[tuple[int, int, int, int, int]]:
    """Walk the records of a block from `off`: (offset, flags word, seq, ts, subject length).

    A damaged region is reported once as (offset, DAMAGED, end of the region, seq its header
    claims or 0, 0) and the walk resumes at the next intact record (found by its end mark).
    """
    n = len(buf)
    unpack = HEAD.unpack_from
    with memoryview(buf) as view:
        while off < n:
            rl = _check(buf, view, off, n)
            if rl:
                flags, seq, ts, slen = unpack(buf, off)
                yield off, flags, seq, ts, slen
                off += rl
                continue
            claimed = unpack(buf, off)[1] if off + HEAD_LEN <= n else 0
            nxt = _resync(buf, view, off, n)
            yield off, DAMAGED, nxt, claimed, 0
            off = nxt


def _resync(buf: bytes | mmap.mmap, view: memoryview, off: int, n: int) -> int:
    """Offset of the first intact record after a damaged one at `off` (n if none).

    The first intact record that follows an end mark bounds the search. The damaged record's
    own length, if it leads to an intact record no further than that, is believed (so nothing
    inside its payload is mistaken for records); otherwise every offset up to the bound is tried.
    """
    limit = n
    mark = buf.find(MAGIC_BYTES, off + 1)
    while mark >= 0 and mark + 4 < n:
        if _check(buf, view, mark + 4, n):
            limit = mark + 4
            break
        mark = buf.find(MAGIC_BYTES, mark + 1)
    if off + HEAD_LEN <= n:
        end = off + (HEAD.unpack_from(buf, off)[0] & LEN_MASK)
        if off + MARKER_LEN <= end <= limit and (end == n or _check(buf, view, end, n)):
            return end
    for start in range(off + 1, limit):
        if _check(buf, view, start, n):
            return start
    return limit
