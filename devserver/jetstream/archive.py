"""The snapshot archive: the bytes a devserver snapshot sends and a devserver restore reads.

Owns the archive format (see the README, "Snapshot archive format"). Clients treat it as opaque,
but `nats stream backup` decodes it as an S2 stream to show progress, so the outer layer is S2
framing (the Snappy framing format with S2's stream identifier) made of uncompressed chunks only:

    ff 06 00 00 "S2sTwO"                               stream identifier
    01 <u24 len> <u32 masked CRC-32C> <data>            at most 64 KiB of data per chunk

Inside, the archive is one stream of bytes, little-endian:

    "DEVSNAP2"                                          magic, 8 bytes
    <u32 size> <u32 crc32> <JSON header>                config, created, state, consumers
    <batch> ...                                         every message, ascending sequence
    <end record>                                        the stream's last sequence and time

A batch (devserver/store/bulk.py) is a run of messages with the file store's index columns,
so a file stream's restore takes each part whole instead of message by message:

    "MSGS" <u32 count> <u32 names size> <u32 records size> <u32 crc32 of columns and names>
    <u64 seq> * count  <u32 length word> * count  <u32 subject id> * count
    <names>                                             "<id> <subject>" lines for the ids
                                                        not named (so) by an earlier batch
    <message record> * count

Message records are the file store's (devserver/store/records.py), so a file stream's records
travel as they lie on disk: u32 length and flags, u64 sequence, i64 timestamp (ns), u16 subject
length, [u32 header length], subject, header block, payload, u32 crc32, u32 end mark. The end
record is that format's F_LAST marker, holding the last sequence (sequences deleted at the end
stay a gap) and the last timestamp. Every 64 KiB is also covered by its S2 chunk's CRC-32C.

`frame()` writes the outer layer and `header()`, `batch()`, `end()` the inner parts;
`Reader` undoes both layers incrementally (a frame or batch may be cut anywhere between two
uploaded chunks) and raises `ArchiveError` with the text a failed restore reports.
May import: devserver.store.records, devserver.store.bulk, the standard library and
google_crc32c.
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from collections.abc import Iterator
from typing import Any
from zlib import crc32

import google_crc32c

from devserver.store import records
from devserver.store.bulk import Batch

MAGIC = b"DEVSNAP2"
STREAM_ID = b"\xff\x06\x00\x00S2sTwO"
FRAME_DATA = 64 * 1024  # data bytes in one S2 chunk (the Snappy framing limit)
_UNCOMPRESSED = 0x01
_COMPRESSED = 0x00
_FRAME_HEAD = struct.Struct("<I")  # chunk type (low byte) and length (high 24 bits)
_CRC = struct.Struct("<I")
_HEADER = struct.Struct("<II")  # size and crc32 of the JSON header
_BATCH = struct.Struct("<4sIIII")  # tag, count, names size, records size, crc32
BATCH_TAG = b"MSGS"
_COLUMNS = "QII"  # sequences, length words, subject ids
CORRUPT = "s2: corrupt input"  # nats-server's words for a stream its S2 reader cannot read
FOREIGN = "snapshot archive was not written by devserver"


class ArchiveError(Exception):
    """The uploaded bytes are not a complete, intact devserver archive."""


def _masked(crc: int) -> int:
    """The Snappy framing format's masked CRC-32C."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """`data` as uncompressed S2 chunks (the stream identifier, STREAM_ID, goes first once)."""
    out = []
    value = google_crc32c.value
    head, crc = _FRAME_HEAD.pack, _CRC.pack
    for start in range(0, len(data), FRAME_DATA):
        piece = data[start : start + FRAME_DATA]
        out.append(head(_UNCOMPRESSED | (len(piece) + 4) << 8))
        out.append(crc(_masked(value(piece))))
        out.append(piece)
    return b"".join(out)


def header(config: dict[str, Any], created: str, state: dict[str, Any], consumers: list[dict]) -> bytes:
    """The magic and the JSON header that open every archive."""
    doc = json.dumps({"config": config, "created": created, "state": state, "consumers": consumers}).encode()
    return MAGIC + _HEADER.pack(len(doc), crc32(doc)) + doc


def batch(b: Batch) -> bytes:
    """A batch of messages with its columns."""
    names = "\n".join(f"{sid} {name}" for sid, name in b.names.items()).encode()
    columns = [_little(col) for col in (b.seqs, b.words, b.sids)]
    check = crc32(names, crc32(columns[2], crc32(columns[1], crc32(columns[0]))))
    head = _BATCH.pack(BATCH_TAG, len(b.seqs), len(names), len(b.records), check)
    return b"".join((head, *columns, names, b.records))


def _little(col: array) -> bytes:
    if sys.byteorder == "big":
        col = array(col.typecode, col)
        col.byteswap()
    return col.tobytes()


def _column(code: str, data: memoryview) -> array:
    col = array(code)
    col.frombytes(data)
    if sys.byteorder == "big":
        col.byteswap()
    return col


def end(last_seq: int, last_ts: int) -> bytes:
    return records.pack_marker(records.F_LAST, last_seq, last_ts)


class Reader:
    """Both layers undone as the bytes arrive: `feed()`, then `header` and `batches()`.

    `done` turns True at the end record, which names `last_seq` and `last_ts`.
    """

    def __init__(self) -> None:
        self._raw = bytearray()  # framed bytes not yet decoded
        self._data = bytearray()  # decoded bytes not yet parsed
        self._started = False
        self.header: dict[str, Any] | None = None
        self.done = False
        self.last_seq = 0
        self.last_ts = 0

    def feed(self, chunk: bytes) -> None:
        """Take more uploaded bytes; ArchiveError when the framing is broken."""
        raw = self._raw
        raw += chunk
        pos = 0
        if not self._started:
            if len(raw) < len(STREAM_ID):
                return
            if raw[: len(STREAM_ID)] != STREAM_ID:
                raise ArchiveError(CORRUPT)
            self._started = True
            pos = len(STREAM_ID)
        with memoryview(raw) as view:
            pos = self._frames(view, pos)
        del raw[:pos]

    def _frames(self, view: memoryview, pos: int) -> int:
        """Decode the whole frames in `view` from `pos` (data is copied out once, as bytes: the
        crc32c takes nothing else); where the first incomplete one starts."""
        value, n = google_crc32c.value, len(view)
        while pos + 4 <= n:
            word = _FRAME_HEAD.unpack_from(view, pos)[0]
            kind, size = word & 0xFF, word >> 8
            if pos + 4 + size > n:
                break
            start, pos = pos + 4, pos + 4 + size
            if kind == _UNCOMPRESSED:
                data = bytes(view[start + 4 : pos])
                if size < 4 or _CRC.unpack_from(view, start)[0] != _masked(value(data)):
                    raise ArchiveError(CORRUPT + ", crc mismatch")
                self._data += data
            elif kind == _COMPRESSED:
                raise ArchiveError(FOREIGN)
            elif kind == 0xFF:
                if view[start:pos] != STREAM_ID[4:]:
                    raise ArchiveError(CORRUPT)
            elif kind < 0x80:
                raise ArchiveError(CORRUPT)
            # 0x80-0xfe: skippable and padding chunks carry nothing for us
        return pos

    def _parse_header(self) -> bool:
        data = self._data
        start = len(MAGIC) + _HEADER.size
        if len(data) < len(MAGIC):
            return False
        if data[: len(MAGIC)] != MAGIC:
            raise ArchiveError(FOREIGN)
        if len(data) < start:
            return False
        size, check = _HEADER.unpack_from(data, len(MAGIC))
        if len(data) < start + size:
            return False
        doc = bytes(data[start : start + size])
        if crc32(doc) != check:
            raise ArchiveError("snapshot header failed its checksum")
        try:
            self.header = json.loads(doc)
        except ValueError as exc:
            raise ArchiveError(f"snapshot header: {exc}") from None
        del data[: start + size]
        return True

    def batches(self) -> Iterator[Batch]:
        """The batches complete so far (none before the header is in); then the end record."""
        if self.done or (self.header is None and not self._parse_header()):
            return
        data = self._data
        while len(data) >= records.MARKER_LEN:
            if data[:4] != BATCH_TAG:
                self._end()
                return
            count, nsize, rsize, check = _BATCH.unpack_from(data)[1:]
            total = _BATCH.size + 16 * count + nsize + rsize
            if len(data) < total:
                return
            with memoryview(data) as view:
                got = self._batch(view[_BATCH.size : total], count, nsize, check)
            del data[:total]
            yield got

    def _batch(self, view: memoryview, count: int, nsize: int, check: int) -> Batch:
        at, columns = 0, []
        for code in _COLUMNS:
            size = count * array(code).itemsize
            columns.append(_column(code, view[at : at + size]))
            at += size
        names = bytes(view[at : at + nsize])
        if crc32(names, crc32(view[:at])) != check:
            raise ArchiveError("snapshot batch failed its checksum")
        table = {}
        for line in names.decode().split("\n") if names else ():
            sid, _, name = line.partition(" ")
            table[int(sid)] = name
        return Batch(*columns, table, bytes(view[at + nsize :]))

    def _end(self) -> None:
        """The end record, which must come last (bytes after it fail at the end of the upload)."""
        data = self._data
        flags, seq, ts, _slen = records.HEAD.unpack_from(data)
        if flags != records.MARKER_LEN | records.F_LAST or not records.intact(data, 0, records.MARKER_LEN):
            raise ArchiveError(f"bad record for sequence {seq}")
        self.done, self.last_seq, self.last_ts = True, seq, ts
        del data[: records.MARKER_LEN]

    def leftover(self) -> bool:
        """Bytes after the end record, or an unfinished frame or record?"""
        return bool(self._data) or bool(self._raw)
