"""Removals (nats-server's removeMsg/eraseMsg/removeMsgBlock): markers, erasure, empty blocks.

Owns `Removals`, mixed into `FileStore`. Removals append markers (F_DEL per message, F_FLOOR for
compact/purge/expiry, F_LAST for skipped sequences) to the newest block; a block whose messages
are all gone is deleted, after copying any F_DEL it holds that older blocks still need. `erase`
also overwrites the record in place.

May import: devserver.store.*.
"""

from __future__ import annotations

import os

from devserver.store import records
from devserver.store.blocks import mapped
from devserver.store.layout import HAS_HEADERS, Block


class Removals:
    """The store's removal hooks, persisted as markers in the newest block."""

    def _persist_delete(self, pos: int, erase: bool) -> None:
        self._del_marker(self._seqs[pos])
        if erase:
            self._erase(pos)

    def _del_marker(self, seq: int) -> None:
        """An F_DEL in the newest block, noted for its index (checkpoint.py)."""
        self._marker(records.F_DEL, seq)
        self._active.dels += 1
        self._dels.append(seq)

    def _persist_floor(self) -> None:
        self._marker(records.F_FLOOR, self.first_seq)

    def _persist_skip(self) -> None:
        self._marker(records.F_LAST, self.last_seq)

    def _erase(self, pos: int) -> None:
        """Overwrite the record in place: same length, F_ERASED, random body, fresh checksum."""
        num, off = self._block_of(self._seqs[pos]).num, self._extra[pos] & ~HAS_HEADERS
        buf, start = self._span(pos, self._sizes[pos])
        rec = records.erased(buf[start : start + self._sizes[pos]])
        self._reader.forget(num)
        if num == self._active.num and off >= self._flushed:
            start = off - self._flushed
            self._wbuf[start : start + len(rec)] = rec
            return
        self._write_out()  # the F_DEL first: a torn overwrite is then known to be a deletion
        if num == self._active.num:
            os.pwrite(self._fd, rec, off)
            self._dirty = True
            self._wcrc = None
        else:
            self._drop_block_index(num)  # its checksum no longer holds: a crash scans the block
            fd = os.open(self._path(num), os.O_WRONLY)
            try:
                os.pwrite(fd, rec, off)
                os.fsync(fd)
            finally:
                os.close(fd)
        self._blocks[num].crc = None

    def _dropped(self, pos: int) -> None:
        seq = self._seqs[pos]
        self._recent.discard(seq)
        self._ahead.pop(seq, None)
        blk = self._block_of(seq)
        blk.live -= 1
        if not blk.live and blk is not self._active:
            self._empty.append(blk.num)

    def _cleared(self) -> None:
        self._recent.clear()
        self._ahead.clear()
        for blk in self._blocks.values():
            blk.live = 0
        if self._active.size:
            self._rotate()
        self._empty = [num for num in self._blocks if num != self._active.num]

    def _mutated(self) -> None:
        empty, self._empty = self._empty, []
        for num in empty:
            blk = self._blocks.get(num)
            if blk is not None and not blk.live and blk is not self._active:
                self._reap(blk)

    def _reap(self, blk: Block) -> None:
        """Delete a block with no messages left, keeping the F_DEL markers older blocks need."""
        if blk.dels:
            older = [b for b in self._blocks.values() if b.num < blk.num and b.live]
            with mapped(self._path(blk.num)) as buf:
                needed = [
                    seq
                    for _off, flags, seq, _ts, _slen in records.scan(buf)
                    if flags & records.F_DEL and any(b.lo <= seq <= b.hi for b in older)
                ]
            for seq in needed:
                self._del_marker(seq)
        self.flush()  # the markers that make this block unnecessary are written before it goes
        self._reader.forget(blk.num)
        self._drop_block_index(blk.num)  # first: a block without its index is scanned, never wrong
        os.unlink(self._path(blk.num))
        del self._blocks[blk.num]
        self._index_blocks()
        self._dir_dirty = True

    def _drop_block_index(self, num: int) -> None:
        """Remove a block's `<n>.idx` (the block changed or went)."""
        try:
            os.unlink(self._idx_path(num))
        except FileNotFoundError:
            return
        self._dir_dirty = True
