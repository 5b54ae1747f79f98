"""The block writer (nats-server's writeMsgRecord/newMsgBlockForWrite): appends and rotation.

Owns `BlockWriter`, mixed into `FileStore`. `store()` encodes a record into a write buffer;
`flush()` hands the buffer to the OS (and, with `sync_always`, fsyncs it). The server appends a
batch, calls `flush()` once, then sends the PubAcks for the whole batch: that is the group
commit, one write (and one fsync) shared by every publish in the batch. With the default policy
the server calls `maybe_sync(now_ns)` from a timer and the store fsyncs every `sync_interval_ns`
(2 minutes, as nats-server). A block that reaches `block_size` is sealed (fsynced, its index
written: checkpoint.py) and the next begins with the sequence bounds (F_FLOOR, F_LAST). The
crc32 of the newest block is kept as it is written, so a seal need not read the block back.

May import: devserver.store.*.
"""

from __future__ import annotations

import os
from array import array
from zlib import crc32

from devserver.store import fileindex, records
from devserver.store.atomic import fsync_dir
from devserver.store.base import StoreError
from devserver.store.layout import HAS_HEADERS, WRITE_BUFFER, Block


class BlockWriter:
    """Appending records to the newest block, and handing them to the OS."""

    def _new_block(self, num: int) -> None:
        self._fd = os.open(self._path(num), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self._active = self._blocks[num] = Block(num)
        self._flushed = 0
        self._wcrc = 0
        self._dels = array("Q")
        self._dir_dirty = True

    def _rotate(self) -> None:
        """Seal the newest block and start the next one, which first records the sequence bounds."""
        old = self._active
        self._write_out()
        if self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        os.close(self._fd)
        old.crc = self._wcrc if self._wcrc is not None else fileindex.file_crc(self._path(old.num), old.size)
        if old.live:
            self._seal_index(old)
        self._new_block(old.num + 1)
        if self.first_seq:
            self._marker(records.F_FLOOR, self.first_seq)
        if self.last_seq:
            self._marker(records.F_LAST, self.last_seq)
        if not old.live:
            self._reap(old)

    def _marker(self, flag: int, seq: int) -> None:
        self._wbuf += records.pack_marker(flag, seq, self.last_ts)
        self._active.size += records.MARKER_LEN

    def _persist_msg(
        self, seq: int, subject: str, headers: bytes | None, data: bytes, ts: int
    ) -> tuple[int, int]:
        """Append a message's record to the newest block (sealing it first when full) and hold
        the message in the write-through cache; returns its size and `_extra` value. One call
        per publish: the record's placement is written out here rather than in a helper."""
        try:
            rec = records.pack_msg(seq, ts, subject.encode(), headers, data)
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        size, blk = len(rec), self._active
        if blk.size + size > self._block_size and blk.size:
            self._rotate()
            blk = self._active
        off = blk.size
        self._wbuf += rec
        blk.size = off + size
        blk.live += 1
        blk.hi = seq
        if not blk.lo:
            self._first_in_block(blk, seq)
        if len(self._wbuf) >= WRITE_BUFFER:
            self._write_out()
        if type(data) is not bytes:
            data = bytes(data)  # a view of a buffer the caller may reuse
        if headers is not None and type(headers) is not bytes:
            headers = bytes(headers)
        sid = self._sid_of.get(subject)
        if sid is not None:
            subject = self._subj[sid]  # the index's str, rather than one more per message
        self._recent.put(seq, (seq, subject, headers, data, ts), size)
        return size, off | HAS_HEADERS if headers else off

    def _write_out(self) -> None:
        """Hand the write buffer to the OS."""
        if not self._wbuf:
            return
        with memoryview(self._wbuf) as view:
            done = 0
            while done < len(view):
                done += os.pwrite(self._fd, view[done:], self._flushed + done)
        self._flushed += done
        if self._wcrc is not None:
            self._wcrc = crc32(self._wbuf, self._wcrc)
        self._wbuf.clear()
        self._dirty = True

    def _fsync(self) -> None:
        if self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        if self._dir_dirty:
            fsync_dir(self.directory)
            self._dir_dirty = False

    def flush(self) -> None:
        """Hand everything stored so far to the OS (and fsync it with `sync_always`).

        Call once per batch of stores, before sending their PubAcks.
        """
        self._write_out()
        if self._sync_always:
            self._fsync()

    def sync(self) -> None:
        """Flush and fsync now."""
        self._write_out()
        self._fsync()

    def maybe_sync(self, now_ns: int) -> bool:
        """Sync when `sync_interval_ns` has passed since the last sync (the first call starts the clock)."""
        if self._last_sync_ns is None:
            self._last_sync_ns = now_ns
        if now_ns - self._last_sync_ns < self._sync_interval_ns:
            return False
        self.sync()
        self._last_sync_ns = now_ns
        return True
