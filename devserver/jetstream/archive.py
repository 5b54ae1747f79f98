"""The snapshot archive: the bytes a devserver snapshot sends and a devserver restore reads.

Owns the archive format (see the README, "Snapshot archive format"). Clients treat it as opaque,
but `nats stream backup` decodes it as an S2 stream to show progress, so the outer layer is S2
framing (the Snappy framing format with S2's stream identifier) made of uncompressed chunks only:

    ff 06 00 00 "S2sTwO"                               stream identifier
    01 <u24 len> <u32 masked CRC-32C> <data>            at most 64 KiB of data per chunk

Inside, the archive is one stream of bytes, little-endian:

    "DEVSNAP1"                                          magic, 8 bytes
    <u32 size> <u32 crc32> <JSON header>                config, created, state, consumers
    <message> ...                                       every message, ascending sequence
    <end>                                               the stream's last sequence and time

    message: <u64 seq> <i64 ts ns> <u16 subject len> <u32 header len> <u32 payload len>
             subject, header block (length 0 = no headers), payload
    end:     a message with seq 0, the last timestamp, no subject or headers, and as payload
             the u64 last sequence (sequences deleted at the end are kept as a gap)

Every 64 KiB of it is covered by the CRC-32C of its S2 chunk, the header by its own crc32.

`frame()` writes the outer layer and `header()`, `message()`, `end()` the inner records;
`Reader` undoes both layers incrementally (a frame or record may be cut anywhere between two
uploaded chunks) and raises `ArchiveError` with the text a failed restore reports.
May import: the standard library and google_crc32c.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any
from zlib import crc32

import google_crc32c

MAGIC = b"DEVSNAP1"
STREAM_ID = b"\xff\x06\x00\x00S2sTwO"
FRAME_DATA = 64 * 1024  # data bytes in one S2 chunk (the Snappy framing limit)
_UNCOMPRESSED = 0x01
_COMPRESSED = 0x00
_FRAME_HEAD = struct.Struct("<I")  # chunk type (low byte) and length (high 24 bits)
_CRC = struct.Struct("<I")
_HEADER = struct.Struct("<II")  # size and crc32 of the JSON header
RECORD = struct.Struct("<QqHII")  # seq, ts, subject length, header length, payload length
_LAST = struct.Struct("<Q")
CORRUPT = "s2: corrupt input"  # nats-server's words for a stream its S2 reader cannot read
FOREIGN = "snapshot archive was not written by devserver"

Message = tuple[int, str, "bytes | None", bytes, int]  # seq, subject, headers, payload, ts


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


def message(seq: int, subject: str, headers: bytes | None, data: bytes, ts: int) -> bytes:
    subj = subject.encode()
    hdr = headers or b""
    return RECORD.pack(seq, ts, len(subj), len(hdr), len(data)) + subj + hdr + data


def end(last_seq: int, last_ts: int) -> bytes:
    return RECORD.pack(0, last_ts, 0, 0, _LAST.size) + _LAST.pack(last_seq)


class Reader:
    """Both layers undone as the bytes arrive: `feed()`, then `header` and `messages()`.

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
        value = google_crc32c.value
        n = len(raw)
        while pos + 4 <= n:
            word = _FRAME_HEAD.unpack_from(raw, pos)[0]
            kind, size = word & 0xFF, word >> 8
            if pos + 4 + size > n:
                break
            body = bytes(raw[pos + 4 : pos + 4 + size])
            pos += 4 + size
            if kind == _UNCOMPRESSED:
                data = body[4:]
                if size < 4 or _CRC.unpack_from(body)[0] != _masked(value(data)):
                    raise ArchiveError(CORRUPT + ", crc mismatch")
                self._data += data
            elif kind == _COMPRESSED:
                raise ArchiveError(FOREIGN)
            elif kind == 0xFF:
                if body != STREAM_ID[4:]:
                    raise ArchiveError(CORRUPT)
            elif kind < 0x80:
                raise ArchiveError(CORRUPT)
            # 0x80-0xfe: skippable and padding chunks carry nothing for us
        del raw[:pos]

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

    def messages(self) -> Iterator[Message]:
        """The complete message records decoded so far (none before the header is in)."""
        if self.done or (self.header is None and not self._parse_header()):
            return
        data = self._data
        buf = bytes(data)
        n = len(buf)
        pos = 0
        unpack = RECORD.unpack_from
        fixed = RECORD.size
        try:
            while pos + fixed <= n:
                seq, ts, slen, hlen, dlen = unpack(buf, pos)
                start = pos + fixed
                stop = start + slen + hlen + dlen
                if stop > n:
                    break
                pos = stop
                if not seq:
                    if slen or hlen or dlen != _LAST.size:
                        raise ArchiveError("bad end record")
                    self.done, self.last_ts = True, ts
                    self.last_seq = _LAST.unpack_from(buf, start)[0]
                    break
                h0 = start + slen
                d0 = h0 + hlen
                yield seq, buf[start:h0].decode(), buf[h0:d0] if hlen else None, buf[d0:stop], ts
        finally:
            del data[:pos]

    def leftover(self) -> bool:
        """Bytes after the end record, or an unfinished frame or record?"""
        return bool(self._data) or bool(self._raw)
