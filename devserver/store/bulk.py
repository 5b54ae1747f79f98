"""Bulk copies of a file store's records, for stream snapshots and restores.

Owns the two fast paths of `devserver/jetstream/snapshot.py` and `restore.py` for file streams:
`raw_records` reads the records (records.py) of live messages as they lie in the block files,
whole runs at once, and `store_raw` appends such records to a store with their own sequences,
checking each one's checksum, without decoding and re-encoding the messages. Any store can
do the same slowly through `load_next` / `store_at`; these work on `FileStore` internals and
live beside it.

May import: devserver.store.*.
"""

from __future__ import annotations

from zlib import crc32

from devserver.store import records
from devserver.store.base import SequenceMismatch, StoreError
from devserver.store.file import HAS_HEADERS, WRITE_BUFFER, FileStore
from devserver.store.index import DEAD


def raw_records(store: FileStore, start: int, stop: int, max_bytes: int) -> tuple[bytes, int]:
    """The records of the live messages from `start` to `stop` as stored, one after the other,
    about `max_bytes` of them; and the sequence to go on from (past `stop` when done)."""
    store.flush()
    seqs, sids, sizes, offs = store._seqs, store._sids, store._sizes, store._extra
    n = len(seqs)
    p = store._pos_ge(start)
    out: list[bytes] = []
    total, num, run_off, run_end, blk = 0, -1, 0, 0, None
    while p < n and total < max_bytes:
        seq = seqs[p]
        if seq > stop:
            break
        if sids[p] != DEAD:
            if blk is None or seq > blk.hi:
                blk = store._block_of(seq)
            off, size = offs[p] & ~HAS_HEADERS, sizes[p]
            if blk.num != num or off != run_end:  # a new run: the last one is read whole
                if num >= 0:
                    out.append(_span(store, num, run_off, run_end))
                num, run_off, run_end = blk.num, off, off
            run_end += size
            total += size
        p += 1
    if num >= 0:
        out.append(_span(store, num, run_off, run_end))
    nxt = seqs[p] if p < n else store.last_seq + 1
    return b"".join(out), min(nxt, stop + 1)


def _span(store: FileStore, num: int, start: int, end: int) -> bytes:
    fd = store._fd if num == store._active.num else -1
    buf, at = store._reader.read(num, start, end - start, fd)
    return buf[at : at + end - start]


def store_raw(store: FileStore, buf: bytes) -> int:
    """Append the message records (as `raw_records` gives them) at the start of `buf` with their
    own sequences, each above the last, up to the first record not complete or not a message;
    how many bytes that took. StoreError on a damaged or misplaced record. Records go to the
    block in runs, so a restore costs one index entry per message and one copy per run."""
    head, trailer = records.HEAD.unpack_from, records.TRAILER.unpack_from
    fixed, mask, not_msg, f_hdr = records.MARKER_LEN, records.LEN_MASK, records.NOT_MSG, records.F_HDR
    magic, limit, names = records.MAGIC, store._block_size, {}
    append = store._append
    view = memoryview(buf)
    blk = store._active
    pos, n = 0, len(buf)
    seg, base = 0, blk.size  # buf[seg:pos] is not in the block yet; it goes at offset `base`
    while pos + fixed <= n:
        flags, seq, ts, slen = head(buf, pos)
        size = flags & mask
        end = pos + size
        if flags & not_msg or end > n:
            break
        if size < fixed:
            raise StoreError(f"bad record for sequence {seq}")
        crc, mark = trailer(buf, end - 8)
        if mark != magic or crc != crc32(view[pos : end - 8]):
            raise StoreError(f"message sequence {seq} failed its checksum")
        if seq <= store.last_seq:
            raise SequenceMismatch(f"message sequence {seq} out of order")
        off = base + pos - seg
        if off + size > limit and off:  # the block is full: what is pending goes, then a new one
            _write(store, blk, view[seg:pos], off)
            store._rotate()
            blk = store._active
            seg, base = pos, blk.size
            off = base
        if not blk.lo:
            store._first_in_block(blk, seq)
        h0 = pos + records.HEAD_LEN + (4 if flags & f_hdr else 0)
        raw_subject = buf[h0 : h0 + slen]
        subject = names.get(raw_subject)
        if subject is None:
            subject = names[raw_subject] = raw_subject.decode()
        append(seq, subject, ts, size, off | HAS_HEADERS if flags & f_hdr else off)
        blk.live += 1
        blk.hi = seq
        pos = end
    _write(store, blk, view[seg:pos], base + pos - seg)
    view.release()
    return pos


def _write(store: FileStore, blk, data: memoryview, size: int) -> None:
    """Queue a run of records for the block; `size` is the block's size with them."""
    store._wbuf += data
    blk.size = size
    if len(store._wbuf) >= WRITE_BUFFER:
        store._write_out()
